package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// t0 is the base of the Shopify clocks in these tests; at(n) is n seconds
// after it.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// profileOnly is what a 2025-01 customers/update carries: the profile,
// versioned by updated_at, and no tags, consent or order stats.
func profileOnly(id int64, email, first string, updated time.Time) shopsync.Contact {
	c := shopsync.Contact{
		ShopifyID: id, Email: ptr(email), FirstName: ptr(first), LastName: ptr("Lovelace"),
		Phone: ptr("+14155550100"), State: ptr("enabled"),
		ShopifyCreatedAt: ptr(t0.Add(-time.Hour)), ShopifyUpdatedAt: ptr(updated),
		Fields: shopsync.AllFields &^ shopsync.FieldTags,
		Parts:  shopsync.Set(shopsync.PartProfile),
		Full:   shopsync.Set(shopsync.PartProfile),
		Attributes: shopsync.Attributes{
			shopsync.StringAttr("note", ptr("note of "+first)),
		},
	}
	c.Clocks[shopsync.PartProfile] = updatedAt(updated)
	return c
}

// emailConsent is a customers_email_marketing_consent/update: only the
// email consent part.
func emailConsent(id int64, state string, clock time.Time) shopsync.Contact {
	c := shopsync.Contact{
		ShopifyID: id, Tags: []string{},
		Parts: shopsync.Set(shopsync.PartEmailConsent), Full: shopsync.Set(shopsync.PartEmailConsent),
		Attributes: shopsync.Attributes{
			shopsync.BoolAttr("accepts_email_marketing", ptr(state == "subscribed")),
			shopsync.StringAttr("email_marketing_consent", ptr(state)),
		},
	}
	for i := range c.Attributes {
		c.Attributes[i].Part = shopsync.PartEmailConsent
	}
	c.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: clock, Kind: shopsync.ClockConsentUpdatedAt}
	return c
}

// upsert is a webhook's change, triggered at seen.
func upsert(c shopsync.Contact, seen time.Time, webhookID string) shopsync.Change {
	ch := shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: c.ShopifyID, Contact: &c, Seen: seen, Source: "customers/update"}
	if webhookID != "" {
		ch.Delivery = &shopsync.Delivery{WebhookID: webhookID, Topic: "customers/update", TriggeredAt: seen}
	}
	return ch
}

// read is a change of data read from the Admin API at seen (a sweep).
func read(c shopsync.Contact, seen time.Time) shopsync.Change {
	return shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: c.ShopifyID, Contact: &c, Seen: seen, Read: true,
		Source: shopsync.SourceReconcile}
}

func tagsChange(kind shopsync.ChangeKind, id int64, occurred, seen time.Time, tags ...string) shopsync.Change {
	return shopsync.Change{Kind: kind, ShopifyID: id, Tags: tags, Seen: seen, Source: "customer.tags",
		Clock: shopsync.Clock{Time: occurred, Kind: shopsync.ClockOccurredAt}}
}

// deleteChange is a read at seen that no longer found the customer (the
// re-fetch that confirms a customers/delete).
func deleteChange(id int64, seen time.Time) shopsync.Change {
	return shopsync.Change{Kind: shopsync.ChangeDelete, ShopifyID: id, Seen: seen, Read: true, Source: shopsync.SourceRefetch}
}

// apply applies changes in one call and fails on any error.
func apply(t *testing.T, db *store.DB, changes ...shopsync.Change) []shopsync.Result {
	t.Helper()
	res, err := db.ApplyChanges(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(changes) {
		t.Fatalf("got %d results for %d changes", len(res), len(changes))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("change %d: %v", i, r.Err)
		}
	}
	checkHashes(t, db)
	return res
}

// checkHashes fails t if a stored content hash is not the one read back.
func checkHashes(t *testing.T, db *store.DB) {
	t.Helper()
	if err := store.CheckContentHashes(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

func outcomes(res []shopsync.Result) []shopsync.Outcome {
	out := make([]shopsync.Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

func mustContact(t *testing.T, db *store.DB, id int64) *shopsync.Contact {
	t.Helper()
	c, err := db.Contact(context.Background(), id)
	if err != nil {
		t.Fatalf("contact %d: %v", id, err)
	}
	return c
}

func attrValue(c *shopsync.Contact, name string) any {
	a, ok := c.Attributes.Get(name)
	if !ok {
		return "<absent>"
	}
	return a.Value
}

// seed stores a full contact (all parts at updated) as an import would.
func seed(t *testing.T, db *store.DB, c shopsync.Contact, fetched time.Time) {
	t.Helper()
	run, cp := beginRun(t, db)
	if _, err := db.ApplyPage(context.Background(), run, cp, c.ShopifyID, fetched, []shopsync.Contact{c}); err != nil {
		t.Fatal(err)
	}
	if err := db.FailRun(context.Background(), run.ID, "test: partial import"); err != nil {
		t.Fatal(err)
	}
	checkHashes(t, db)
}

// rawDB opens the store's file read-only with plain SQL, for tables the
// store exposes no reader for.
func rawDB(t *testing.T, db *store.DB) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+db.Path()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func count(t *testing.T, raw *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPartsAreVersionedIndependently(t *testing.T) {
	db, _ := newDB(t)
	const id = 706405506930370084
	seed(t, db, contact(id, "bob@example.com", at(0), 1), at(1))

	// A consent change at 30, then a late customers/update carrying the
	// profile at 20 and the email consent from before the change (10): the
	// profile is taken, the consent kept.
	apply(t, db, upsert(emailConsent(id, "subscribed", at(30)), at(31), "w1"))
	update := contact(id, "new@example.com", at(20), 5)
	update.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: at(10), Kind: shopsync.ClockConsentUpdatedAt}
	withAttr(&update, inPart(shopsync.PartEmailConsent, shopsync.BoolAttr("accepts_email_marketing", ptr(false))))
	res := apply(t, db, upsert(update, at(21), "w2"))
	if res[0].Outcome != shopsync.OutcomeApplied {
		t.Errorf("got outcome %s, want applied", res[0].Outcome)
	}
	c := mustContact(t, db, id)
	if *c.Email != "new@example.com" {
		t.Errorf("got email %q, want the newer profile's", *c.Email)
	}
	if got := attrValue(c, "accepts_email_marketing"); got != true {
		t.Errorf("got accepts_email_marketing %v, want true (newer consent kept)", got)
	}
	if got := attrValue(c, "email_marketing_consent"); got != "subscribed" {
		t.Errorf("got email_marketing_consent %v, want subscribed", got)
	}
	if got := attrValue(c, "orders_count"); got != int64(5) {
		t.Errorf("got orders_count %v, want 5 (purchasing at 20 is newer than 0)", got)
	}

	// An older event never overwrites: every part it carries is stale.
	old := contact(id, "old@example.com", at(5), 99)
	res = apply(t, db, upsert(old, at(40), "w3"))
	if res[0].Outcome != shopsync.OutcomeStale {
		t.Errorf("got outcome %s, want stale", res[0].Outcome)
	}
	c = mustContact(t, db, id)
	if *c.Email != "new@example.com" || attrValue(c, "orders_count") != int64(5) {
		t.Errorf("stale event changed the contact: email %q orders %v", *c.Email, attrValue(c, "orders_count"))
	}
}

func TestTieBreakOnEqualClocks(t *testing.T) {
	db, _ := newDB(t)
	const id = 42
	// Two updates with the same updated_at, delivered in reverse order:
	// the one triggered later wins.
	later := profileOnly(id, "later@example.com", "Later", at(10))
	earlier := profileOnly(id, "earlier@example.com", "Earlier", at(10))
	got := outcomes(apply(t, db, upsert(later, at(12), "a"), upsert(earlier, at(11), "b")))
	if diff := cmp.Diff(got, []shopsync.Outcome{shopsync.OutcomeApplied, shopsync.OutcomeStale}); diff != "" {
		t.Errorf("outcomes (-got +want):\n%s", diff)
	}
	if c := mustContact(t, db, id); *c.Email != "later@example.com" {
		t.Errorf("got email %q, want the later trigger's", *c.Email)
	}
	// The same clock and tie again: nothing new.
	if res := apply(t, db, upsert(later, at(12), "c")); res[0].Outcome != shopsync.OutcomeUnchanged {
		t.Errorf("got outcome %s, want unchanged", res[0].Outcome)
	}
}

func TestAbsentKeysKeepAndNullsSet(t *testing.T) {
	db, _ := newDB(t)
	const id = 7
	full := contact(id, "keep@example.com", at(0), 3)
	full.Phone = ptr("+14155550123")
	seed(t, db, full, at(1))

	// A payload that carries only the email and first name (null), and a
	// null note: phone, last name and tags are absent and stay.
	in := shopsync.Contact{
		ShopifyID: id, Email: ptr("keep2@example.com"), FirstName: nil,
		Fields:     shopsync.FieldEmail | shopsync.FieldFirstName,
		Parts:      shopsync.Set(shopsync.PartProfile),
		Attributes: shopsync.Attributes{shopsync.StringAttr("note", nil)},
	}
	in.Clocks[shopsync.PartProfile] = updatedAt(at(5))
	if res := apply(t, db, upsert(in, at(6), "")); res[0].Outcome != shopsync.OutcomeApplied {
		t.Fatalf("got outcome %s, want applied", res[0].Outcome)
	}
	c := mustContact(t, db, id)
	if *c.Email != "keep2@example.com" {
		t.Errorf("got email %q, want keep2@example.com", *c.Email)
	}
	if c.FirstName != nil {
		t.Errorf("got first name %q, want null (explicit null)", *c.FirstName)
	}
	if c.Phone == nil || *c.Phone != "+14155550123" || c.LastName == nil || *c.LastName != *full.LastName {
		t.Errorf("absent keys erased data: phone %v last name %v", c.Phone, c.LastName)
	}
	if diff := cmp.Diff(c.Tags, full.Tags); diff != "" {
		t.Errorf("absent tags changed (-got +want):\n%s", diff)
	}
	if got, ok := c.Attributes.Get("note"); !ok || got.Value != nil {
		t.Errorf("got note %v (present %v), want null", got.Value, ok)
	}
	if got := attrValue(c, "orders_count"); got != int64(3) {
		t.Errorf("got orders_count %v, want 3 (absent, kept)", got)
	}
	if c.ShopifyUpdatedAt == nil || !c.ShopifyUpdatedAt.Equal(at(0)) {
		t.Errorf("got updated_at %v, want the stored one (absent from the payload)", c.ShopifyUpdatedAt)
	}
}

func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const id = 9
	first := profileOnly(id, "one@example.com", "One", at(10))
	// Same webhook id with other content (it cannot happen, but proves the
	// id alone decides), in the same batch and in a later one.
	second := profileOnly(id, "two@example.com", "Two", at(20))
	got := outcomes(apply(t, db, upsert(first, at(11), "dup"), upsert(second, at(21), "dup")))
	got = append(got, outcomes(apply(t, db, upsert(second, at(22), "dup")))...)
	want := []shopsync.Outcome{shopsync.OutcomeApplied, shopsync.OutcomeDuplicate, shopsync.OutcomeDuplicate}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("outcomes (-got +want):\n%s", diff)
	}
	if c := mustContact(t, db, id); *c.Email != "one@example.com" {
		t.Errorf("got email %q, want the first delivery's", *c.Email)
	}
	counts, err := db.DeliveryCounts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := []store.DeliveryCount{{Topic: "customers/update", Outcome: shopsync.OutcomeApplied, Count: 1}}
	if diff := cmp.Diff(counts, wantCounts); diff != "" {
		t.Errorf("delivery counts (-got +want):\n%s", diff)
	}
}

func TestFailedChangeRollsBackAlone(t *testing.T) {
	db, _ := newDB(t)
	bad := shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: 5, Seen: at(1), // no Contact
		Delivery: &shopsync.Delivery{WebhookID: "bad", Topic: "customers/update"}}
	good := upsert(profileOnly(6, "six@example.com", "Six", at(1)), at(2), "good")
	res, err := db.ApplyChanges(context.Background(), []shopsync.Change{bad, good})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err == nil || res[1].Err != nil || res[1].Outcome != shopsync.OutcomeApplied {
		t.Fatalf("got results %+v, want the first failed and the second applied", res)
	}
	mustContact(t, db, 6)
	// The failed delivery was not recorded: Shopify's retry is applied.
	bad.Contact = ptr(profileOnly(5, "five@example.com", "Five", at(1)))
	if r := apply(t, db, bad); r[0].Outcome != shopsync.OutcomeApplied {
		t.Errorf("retry of the failed delivery: got %s, want applied", r[0].Outcome)
	}
}

func TestTagDeltasAreVersionedPerTag(t *testing.T) {
	db, _ := newDB(t)
	const id = 11
	base := contact(id, "tags@example.com", at(0), 0)
	base.Tags = []string{"keep"}
	seed(t, db, base, at(1))

	steps := []struct {
		name    string
		change  shopsync.Change
		outcome shopsync.Outcome
		want    []string
	}{
		{"add a at 20", tagsChange(shopsync.ChangeTagsAdded, id, at(20), at(20), "a"), shopsync.OutcomeApplied, []string{"keep", "a"}},
		{"late add b at 10 still adds", tagsChange(shopsync.ChangeTagsAdded, id, at(10), at(10), "b"), shopsync.OutcomeApplied, []string{"keep", "a", "b"}},
		{"remove a at 30", tagsChange(shopsync.ChangeTagsRemoved, id, at(30), at(30), "a"), shopsync.OutcomeApplied, []string{"keep", "b"}},
		{"late add a at 25 is stale", tagsChange(shopsync.ChangeTagsAdded, id, at(25), at(25), "a"), shopsync.OutcomeStale, []string{"keep", "b"}},
		{"add before the list's clock is stale", tagsChange(shopsync.ChangeTagsAdded, id, at(-5), at(-5), "old"), shopsync.OutcomeStale, []string{"keep", "b"}},
		// Re-adding a present tag changes no data but moves its version.
		{"add existing tag again", tagsChange(shopsync.ChangeTagsAdded, id, at(40), at(40), "b"), shopsync.OutcomeApplied, []string{"keep", "b"}},
		{"late remove of b at 35 is stale", tagsChange(shopsync.ChangeTagsRemoved, id, at(35), at(35), "b"), shopsync.OutcomeStale, []string{"keep", "b"}},
		{"same add again", tagsChange(shopsync.ChangeTagsAdded, id, at(40), at(40), "b"), shopsync.OutcomeUnchanged, []string{"keep", "b"}},
		// A full list older than the events: the events are replayed on it.
		{"older full list", upsert(withTags(contact(id, "tags@example.com", at(15), 0), "keep", "a", "z"), at(16), ""),
			shopsync.OutcomeApplied, []string{"keep", "z", "b"}},
		// A full list newer than every event replaces them all.
		{"newer full list", upsert(withTags(contact(id, "tags@example.com", at(50), 0), "x"), at(51), ""),
			shopsync.OutcomeApplied, []string{"x"}},
		{"late remove of x at 45 is stale", tagsChange(shopsync.ChangeTagsRemoved, id, at(45), at(45), "x"), shopsync.OutcomeStale, []string{"x"}},
	}
	for _, s := range steps {
		res := apply(t, db, s.change)
		c := mustContact(t, db, id)
		if res[0].Outcome != s.outcome {
			t.Errorf("%s: got outcome %s, want %s", s.name, res[0].Outcome, s.outcome)
		}
		if diff := cmp.Diff(c.Tags, s.want); diff != "" {
			t.Errorf("%s: tags (-got +want):\n%s", s.name, diff)
		}
	}
}

func withTags(c shopsync.Contact, tags ...string) shopsync.Contact {
	c.Tags = tags
	return c
}

func TestDeleteIsFinal(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const id = 13
	seed(t, db, contact(id, "gone@example.com", at(0), 0), at(1))

	apply(t, db, deleteChange(id, at(100)))
	if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: got %v, want ErrNotFound", err)
	}
	// A late customers/update, triggered before the delete (with a newer
	// updated_at even), and late tag events never resurrect.
	late := []shopsync.Change{
		upsert(contact(id, "zombie@example.com", at(90), 1), at(95), "late-update"),
		tagsChange(shopsync.ChangeTagsAdded, id, at(96), at(96), "zombie"),
		upsert(emailConsent(id, "subscribed", at(97)), at(97), "late-consent"),
	}
	for i, r := range apply(t, db, late...) {
		if r.Outcome != shopsync.OutcomeStale {
			t.Errorf("late change %d: got %s, want stale", i, r.Outcome)
		}
	}
	if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after late update: got %v, want ErrNotFound", err)
	}
	// The same delete again changes nothing.
	if r := apply(t, db, deleteChange(id, at(100))); r[0].Outcome != shopsync.OutcomeUnchanged {
		t.Errorf("repeated delete: got %s, want unchanged", r[0].Outcome)
	}

	// An import page fetched before the deletion, applied after it, does
	// not bring it back.
	run, _ := beginRun(t, db)
	counts, err := db.ApplyPage(ctx, run, 0, id, at(99), []shopsync.Contact{contact(id, "early@example.com", at(98), 2)})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Unchanged != 1 {
		t.Errorf("page fetched before the delete: got counts %+v, want 1 unchanged", counts)
	}
	if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after an earlier page: got %v, want ErrNotFound", err)
	}

	// An import listing the customer after the deletion brings it back.
	counts, err = db.ApplyPage(ctx, run, 0, id, at(200), []shopsync.Contact{contact(id, "back@example.com", at(150), 2)})
	if err != nil {
		t.Fatal(err)
	}
	if counts.Created != 1 {
		t.Errorf("got counts %+v, want 1 created", counts)
	}
	if c := mustContact(t, db, id); *c.Email != "back@example.com" {
		t.Errorf("got email %q, want back@example.com", *c.Email)
	}
}

func TestDeleteBeforeCreateLeavesTombstone(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const id = 17
	create := upsert(profileOnly(id, "late@example.com", "Late", at(10)), at(10), "create")
	create.Need = shopsync.AllParts
	got := outcomes(apply(t, db, deleteChange(id, at(20))))
	got = append(got, outcomes(apply(t, db, create))...)
	if diff := cmp.Diff(got, []shopsync.Outcome{shopsync.OutcomeApplied, shopsync.OutcomeStale}); diff != "" {
		t.Errorf("outcomes (-got +want):\n%s", diff)
	}
	if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
	if active, deleted, _ := db.ContactCounts(ctx); active != 0 || deleted != 1 {
		t.Errorf("got %d active %d deleted, want 0 1", active, deleted)
	}
	if n, _ := db.RefetchPending(ctx); n != 0 {
		t.Errorf("got %d queued, want 0: a stale create queues nothing", n)
	}
}

func TestSlimCreateQueuesRefetch(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	slim := upsert(profileOnly(21, "slim@example.com", "Slim", at(10)), at(10), "slim")
	slim.Need = shopsync.AllParts
	full := upsert(contact(22, "full@example.com", at(10), 1), at(10), "full")
	full.Need = shopsync.AllParts
	res := apply(t, db, slim, full)
	if !res[0].Queued || !res[0].Created || res[1].Queued || !res[1].Created {
		t.Fatalf("got results %+v, want both created, only the slim one queued", res)
	}

	ids, taken, err := db.RefetchBatch(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids, []int64{21}); diff != "" {
		t.Errorf("refetch batch (-got +want):\n%s", diff)
	}
	// The re-fetch completes the contact: no longer queued when it comes
	// again, and dequeued.
	refetched := upsert(contact(21, "slim@example.com", at(10), 0), at(11), "")
	refetched.Need, refetched.Source = shopsync.AllParts, shopsync.SourceRefetch
	if r := apply(t, db, refetched); r[0].Queued {
		t.Errorf("complete contact queued again")
	}
	if err := db.DequeueRefetch(ctx, ids, taken); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.RefetchPending(ctx); n != 0 {
		t.Errorf("got %d pending after dequeue, want 0", n)
	}

	// Durable: the queue survives a reopen.
	apply(t, db, func() shopsync.Change {
		ch := upsert(emailConsent(23, "subscribed", at(5)), at(5), "consent")
		ch.Need = shopsync.AllParts
		return ch
	}())
	again, err := store.Open(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if ids, _, err := again.RefetchBatch(ctx, 10); err != nil || len(ids) != 1 || ids[0] != 23 {
		t.Errorf("after reopen: got %v %v, want [23]", ids, err)
	}
}

func TestUnknownTopicStoresNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	ch := shopsync.Change{Kind: shopsync.ChangeIgnore, Source: "orders/create",
		Delivery: &shopsync.Delivery{WebhookID: "x", Topic: "orders/create", TriggeredAt: at(1)}}
	if r := apply(t, db, ch); r[0].Outcome != shopsync.OutcomeIgnored {
		t.Errorf("got %s, want ignored", r[0].Outcome)
	}
	if active, deleted, _ := db.ContactCounts(ctx); active+deleted != 0 {
		t.Errorf("got %d contacts, want none", active+deleted)
	}
}

func TestDataRequestRecorded(t *testing.T) {
	db, _ := newDB(t)
	ch := shopsync.Change{Kind: shopsync.ChangeDataRequest, ShopifyID: 191167,
		DataRequest: &shopsync.DataRequest{ID: 9999, OrdersRequested: []int64{299938, 280263}},
		Delivery:    &shopsync.Delivery{WebhookID: "dr", Topic: "customers/data_request"}}
	if r := apply(t, db, ch); r[0].Outcome != shopsync.OutcomeApplied {
		t.Errorf("got %s, want applied", r[0].Outcome)
	}
	raw := rawDB(t, db)
	var (
		id, drID int64
		orders   string
	)
	if err := raw.QueryRow(`SELECT shopify_id, data_request_id, orders_requested FROM data_requests`).Scan(&id, &drID, &orders); err != nil {
		t.Fatal(err)
	}
	if id != 191167 || drID != 9999 || orders != "[299938,280263]" {
		t.Errorf("got %d %d %s, want 191167 9999 [299938,280263]", id, drID, orders)
	}
}

// piiStrings are the distinctive personal data of the redacted customer,
// lower case (the store also keeps a lower-cased email).
var piiStrings = []string{"zanzibar.quokka.7731@example.org", "+15557773131", "quixotica", "thistlewaite", "marmaduke", "dunnowhistle"}

// fileBytes returns the database file's and its WAL's contents.
func fileBytes(t *testing.T, db *store.DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{db.Path(), db.Path() + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}

func findPII(t *testing.T, db *store.DB) []string {
	t.Helper()
	var found []string
	for path, b := range fileBytes(t, db) {
		lower := bytes.ToLower(b)
		for _, s := range piiStrings {
			if bytes.Contains(lower, []byte(s)) {
				found = append(found, fmt.Sprintf("%s in %s", s, path))
			}
		}
	}
	return found
}

func TestRedactCustomerErasesEveryByte(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const victim = 500
	// Neighbours share the victim's pages, so erasure must scrub cells
	// in live pages, not just drop whole pages.
	var page []shopsync.Contact
	for id := int64(490); id <= 510; id++ {
		c := contact(id, fmt.Sprintf("n%d@example.com", id), at(0), id)
		if id == victim {
			c.Email, c.Phone = ptr("Zanzibar.Quokka.7731@example.org"), ptr("+15557773131")
			c.FirstName, c.LastName = ptr("Quixotica"), ptr("Thistlewaite")
			withAttr(&c, shopsync.StringAttr("note", ptr("friend of Quixotica")))
		}
		page = append(page, c)
	}
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 510, at(1), page); err != nil {
		t.Fatal(err)
	}
	// One version in the database file, a newer one in the WAL.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	renamed := profileOnly(victim, "zanzibar.quokka.7731@example.org", "Marmaduke", at(10))
	renamed.LastName, renamed.Phone = ptr("Dunnowhistle"), ptr("+15557773131")
	apply(t, db, upsert(renamed, at(11), "rename"), tagsChange(shopsync.ChangeTagsAdded, victim, at(12), at(12), "vip"))
	mustContact(t, db, victim) // a reader has seen it too
	if found := findPII(t, db); len(found) < len(piiStrings) {
		t.Fatalf("test setup: personal data not all written: %v", found)
	}

	redact := shopsync.Change{Kind: shopsync.ChangeRedactCustomer, ShopifyID: victim, Source: "customers/redact",
		Delivery: &shopsync.Delivery{WebhookID: "redact", Topic: "customers/redact"}}
	if r := apply(t, db, redact); r[0].Outcome != shopsync.OutcomeApplied {
		t.Fatalf("got %s, want applied", r[0].Outcome)
	}
	if _, err := db.Contact(ctx, victim); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after redact: got %v, want ErrNotFound", err)
	}
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data left after redact: %v", found)
	}
	if active, _, _ := db.ContactCounts(ctx); active != 20 {
		t.Errorf("got %d active, want the 20 neighbours", active)
	}

	// Later writes for that id are ignored: webhooks and imports.
	again := contact(victim, "zanzibar.quokka.7731@example.org", at(100), 1)
	again.FirstName = ptr("Quixotica")
	later := []shopsync.Change{
		upsert(again, at(101), "u"),
		tagsChange(shopsync.ChangeTagsAdded, victim, at(102), at(102), "x"),
		deleteChange(victim, at(103)),
	}
	for i, r := range apply(t, db, later...) {
		if r.Outcome != shopsync.OutcomeIgnored {
			t.Errorf("write %d after redact: got %s, want ignored", i, r.Outcome)
		}
	}
	run, _ = beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 510, at(200), []shopsync.Contact{again}); err != nil {
		t.Fatal(err)
	}
	if r := apply(t, db, redact); r[0].Outcome != shopsync.OutcomeDuplicate {
		t.Errorf("redelivered redact: got %s, want duplicate", r[0].Outcome)
	}
	if _, err := db.Contact(ctx, victim); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after later writes: got %v, want ErrNotFound", err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data written back after redact: %v", found)
	}
}

func TestRedactShopErasesAll(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	var page []shopsync.Contact
	for id := int64(1); id <= 30; id++ {
		c := contact(id, fmt.Sprintf("n%d@example.com", id), at(0), id)
		if id == 15 {
			c.Email, c.Phone = ptr("zanzibar.quokka.7731@example.org"), ptr("+15557773131")
			c.FirstName, c.LastName = ptr("Quixotica"), ptr("Thistlewaite")
		}
		page = append(page, c)
	}
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 30, at(1), page); err != nil {
		t.Fatal(err)
	}
	apply(t, db, shopsync.Change{Kind: shopsync.ChangeDataRequest, ShopifyID: 15})
	r := apply(t, db, shopsync.Change{Kind: shopsync.ChangeRedactShop, Source: "shop/redact",
		Delivery: &shopsync.Delivery{WebhookID: "shop", Topic: "shop/redact"}})
	if r[0].Outcome != shopsync.OutcomeApplied {
		t.Errorf("got %s, want applied", r[0].Outcome)
	}
	if active, deleted, _ := db.ContactCounts(ctx); active+deleted != 0 {
		t.Errorf("got %d active %d deleted, want none", active, deleted)
	}
	raw := rawDB(t, db)
	for _, q := range []string{`SELECT count(*) FROM contact_attributes`, `SELECT count(*) FROM data_requests`} {
		if n := count(t, raw, q); n != 0 {
			t.Errorf("%s: got %d, want 0", q, n)
		}
	}
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data left after shop redact: %v", found)
	}
}

// TestImportObeysPartGates: a page read from the Admin API is the truth
// as of its Date. It replaces what a webhook triggered before that brought
// (whatever the consent clocks say: a read at 70 saw the consent as it was
// at 70), and keeps what a webhook triggered after it brought.
func TestImportObeysPartGates(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		fetched time.Time
		consent bool // the webhook's subscribed consent is kept
	}{
		{"page read before the webhook", at(45), true},
		{"page read after the webhook", at(70), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := newDB(t)
			const id = 31
			seed(t, db, contact(id, "before@example.com", at(0), 1), at(1))
			// A webhook brings a consent change at 50.
			apply(t, db, upsert(emailConsent(id, "subscribed", at(50)), at(50), "consent"))

			// The page has a newer profile (60: a read at 45 cannot, but
			// the gates are per part) and consent data dated 40.
			page := contact(id, "after@example.com", at(60), 7)
			page.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: at(40), Kind: shopsync.ClockConsentUpdatedAt}
			withAttr(&page, inPart(shopsync.PartEmailConsent, shopsync.BoolAttr("accepts_email_marketing", ptr(false))))
			run, _ := beginRun(t, db)
			counts, err := db.ApplyPage(ctx, run, 0, id, tt.fetched, []shopsync.Contact{page})
			if err != nil {
				t.Fatal(err)
			}
			if counts.Updated != 1 {
				t.Errorf("got counts %+v, want 1 updated", counts)
			}
			c := mustContact(t, db, id)
			if *c.Email != "after@example.com" || attrValue(c, "orders_count") != int64(7) {
				t.Errorf("page's profile/purchasing not taken: email %q orders %v", *c.Email, attrValue(c, "orders_count"))
			}
			if got := attrValue(c, "accepts_email_marketing"); got != tt.consent {
				t.Errorf("got accepts_email_marketing %v, want %v", got, tt.consent)
			}
		})
	}
}

// TestImportKeepsAbsentFields: an import record that lacks a field (a
// payload without the key) must not erase it.
func TestImportKeepsAbsentFields(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const id = 33
	full := contact(id, "fast@example.com", at(0), 1)
	full.Phone = ptr("+14155550111")
	seed(t, db, full, at(1))
	next := contact(id, "fast@example.com", at(10), 2)
	next.Phone = nil
	next.Fields &^= shopsync.FieldPhone
	next.Full &^= shopsync.Set(shopsync.PartProfile)
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, id, at(11), []shopsync.Contact{next}); err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, db, id)
	if c.Phone == nil || *c.Phone != "+14155550111" {
		t.Errorf("got phone %v, want the stored one kept", c.Phone)
	}
	if attrValue(c, "orders_count") != int64(2) {
		t.Errorf("got orders_count %v, want 2", attrValue(c, "orders_count"))
	}
}

func TestQueueHelpers(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	if _, ok, err := db.HighWaterMark(ctx); err != nil || ok {
		t.Fatalf("empty store: got ok=%v err=%v, want no mark", ok, err)
	}
	apply(t, db,
		upsert(profileOnly(1, "a@example.com", "A", at(10)), at(10), "w1"),
		upsert(profileOnly(2, "b@example.com", "B", at(30)), at(30), "w2"))
	mark, ok, err := db.HighWaterMark(ctx)
	if err != nil || !ok || !mark.Equal(at(30)) {
		t.Errorf("got mark %v %v %v, want %v", mark, ok, err, at(30))
	}
	// Prune forgets deliveries received before the cut; a redelivery of a
	// forgotten one is applied again (it is the same data: unchanged).
	cut := clk.t.Add(time.Millisecond)
	apply(t, db, upsert(profileOnly(3, "c@example.com", "C", at(5)), at(5), "w3"))
	n, err := db.PruneDeliveries(ctx, cut)
	if err != nil || n != 2 {
		t.Errorf("prune: got %d %v, want 2", n, err)
	}
	r := apply(t, db, upsert(profileOnly(1, "a@example.com", "A", at(10)), at(10), "w1"),
		upsert(profileOnly(3, "c@example.com", "C", at(5)), at(5), "w3"))
	if diff := cmp.Diff(outcomes(r), []shopsync.Outcome{shopsync.OutcomeUnchanged, shopsync.OutcomeDuplicate}); diff != "" {
		t.Errorf("after prune (-got +want):\n%s", diff)
	}

	// A sweep run is recorded and finished.
	sweep, err := db.BeginSweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sweep.Trigger != shopsync.TriggerReconcile || sweep.State != shopsync.RunRunning {
		t.Errorf("got sweep %+v, want a running reconcile run", sweep)
	}
	if err := db.AddRunCounts(ctx, sweep.ID, 3, shopsync.PageCounts{Updated: 1, Unchanged: 2}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishSweep(ctx, sweep.ID); err != nil {
		t.Fatal(err)
	}
	done, err := db.Run(ctx, sweep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != shopsync.RunSucceeded || done.Fetched != 3 || done.Updated != 1 || done.Unchanged != 2 {
		t.Errorf("got sweep run %+v, want succeeded with 3 fetched 1 updated 2 unchanged", done)
	}
}

// TestRefetchQueuedAgainIsKept: a contact queued again after its batch was
// taken survives that batch's dequeue, and is fetched again.
func TestRefetchQueuedAgainIsKept(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	slim := func(email string, updated time.Time) shopsync.Change {
		ch := upsert(profileOnly(21, email, "Slim", updated), updated, "")
		ch.Need = shopsync.AllParts
		return ch
	}
	apply(t, db, slim("a@example.com", at(10)))
	ids, taken, err := db.RefetchBatch(ctx, 10)
	if err != nil || len(ids) != 1 {
		t.Fatalf("got batch %v %v, want [21]", ids, err)
	}
	// While the batch is being fetched, another slim update queues it again.
	if r := apply(t, db, slim("b@example.com", at(20))); !r[0].Queued {
		t.Fatal("incomplete contact not queued again")
	}
	if err := db.DequeueRefetch(ctx, ids, taken); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.RefetchPending(ctx); n != 1 {
		t.Errorf("got %d pending, want 1: queued after the batch was taken", n)
	}
	ids, taken, _ = db.RefetchBatch(ctx, 10)
	if err := db.DequeueRefetch(ctx, ids, taken); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.RefetchPending(ctx); n != 0 {
		t.Errorf("got %d pending, want 0", n)
	}
}

// TestRedactRedeliveryFinishesErasure: when the checkpoint after a
// redaction cannot finish (a reader holds an old snapshot until the
// request's deadline), the erased bytes are still in the WAL and the
// delivery fails; Shopify's redelivery, a duplicate, must finish the
// erasure.
func TestRedactRedeliveryFinishesErasure(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	const victim = 500
	c := contact(victim, "zanzibar.quokka.7731@example.org", at(0), 1)
	c.Phone, c.FirstName, c.LastName = ptr("+15557773131"), ptr("Quixotica"), ptr("Thistlewaite")
	seed(t, db, c, at(1))
	apply(t, db, upsert(contact(1, "other@example.com", at(0), 1), at(1), ""))

	raw := rawDB(t, db)
	tx, err := raw.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := 0; tx.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n) != nil || n != 2 {
		t.Fatalf("reader saw %d contacts, want 2", n)
	}
	redact := shopsync.Change{Kind: shopsync.ChangeRedactCustomer, ShopifyID: victim,
		Delivery: &shopsync.Delivery{WebhookID: "redact", Topic: "customers/redact"}}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start := time.Now()
	_, err = db.ApplyChanges(short, []shopsync.Change{redact})
	cancel()
	if err == nil {
		t.Fatal("checkpoint past an open reader succeeded; the test needs it to fail")
	}
	// The deadline is honoured: not SQLite's 5 s busy timeout.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("ApplyChanges took %v past a 100ms deadline", d)
	}
	if found := findPII(t, db); len(found) == 0 {
		t.Fatal("test setup: no personal data left after the failed checkpoint")
	}
	tx.Rollback()

	if r := apply(t, db, redact); r[0].Outcome != shopsync.OutcomeDuplicate {
		t.Errorf("redelivery: got %s, want duplicate", r[0].Outcome)
	}
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data left after the redelivered redact: %v", found)
	}
}

// TestImportDeletesAsOfItsRead: a contact a completed import did not list
// is deleted as of the read that should have listed it, unless something
// newer than that read wrote it (a customer created during the import),
// and only a later read brings it back.
func TestImportDeletesAsOfItsRead(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	seed(t, db, contact(1, "old@example.com", at(0), 1), at(1))
	seed(t, db, contact(5, "five@example.com", at(0), 1), at(1))
	// Customer 9 comes by webhook, created after the page below was read.
	apply(t, db, upsert(profileOnly(9, "new@example.com", "New", at(40)), at(40), "create-9"))
	run, _ := beginRun(t, db)
	// The page read at 30 lists neither 1 nor 9; 5 is past the last page.
	if _, err := db.ApplyPage(ctx, run, 0, 4, at(30), []shopsync.Contact{contact(2, "two@example.com", at(0), 0)}); err != nil {
		t.Fatal(err)
	}
	deleted, err := db.FinishImport(ctx, run, at(31))
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 2 {
		t.Errorf("got %d deleted, want 2 (1 and 5)", deleted)
	}
	for _, id := range []int64{1, 5} {
		if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("contact %d: got %v, want deleted", id, err)
		}
	}
	mustContact(t, db, 9)
	// A webhook triggered later does not bring a deleted contact back (an
	// old body sent again would); a later read does.
	if r := apply(t, db, upsert(profileOnly(1, "zombie@example.com", "Z", at(50)), at(50), "late")); r[0].Outcome != shopsync.OutcomeStale {
		t.Errorf("event on a deleted contact: got %s, want stale", r[0].Outcome)
	}
	if r := apply(t, db, read(contact(1, "back@example.com", at(55), 1), at(60))); r[0].Outcome != shopsync.OutcomeApplied || !r[0].Created {
		t.Errorf("a later read: got %+v, want the contact back", r[0])
	}
}
