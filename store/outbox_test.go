package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// feedOf returns every event of the feed after after.
func feedOf(t *testing.T, db *store.DB, after int64) []shopsync.ChangeEvent {
	t.Helper()
	events, err := db.Changes(context.Background(), after, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// eventLine is an event as a line of the feed.
func eventLine(ev shopsync.ChangeEvent) string { return string(ev.AppendJSON(nil)) }

// summary is an event without its time and contact: "seq type id source fields".
func summary(ev shopsync.ChangeEvent) string {
	s := fmt.Sprintf("%d %s %d %s", ev.Seq, ev.Type, ev.ContactID, ev.Source)
	if ev.Fields != nil {
		s += " " + strings.Join(ev.Fields, ",")
	}
	if ev.Segment != "" {
		s += " " + ev.Segment
	}
	if ev.Erased {
		s += " erased"
	}
	return s
}

func summaries(events []shopsync.ChangeEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = summary(ev)
	}
	return out
}

// contactJSON is a stored contact's JSON, as the feed's default
// projection writes it; "" when it is not stored (or deleted).
func contactJSON(t *testing.T, db *store.DB, id int64) string {
	t.Helper()
	c, err := db.Contact(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFeedRecordsEffectiveChanges: every change a reader sees has one
// event, with its source and changed fields, and reads the contact as of
// itself even after later changes; duplicates, stale deliveries,
// unchanged import rows and writes that change nothing a reader sees have
// none.
func TestFeedRecordsEffectiveChanges(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	var want []string
	asOf := map[int64]string{} // event seq: the contact's JSON right after it
	snap := func(events ...int64) {
		t.Helper()
		for _, ev := range feedOf(t, db, 0) {
			for _, seq := range events {
				if ev.Seq == seq {
					asOf[seq] = contactJSON(t, db, ev.ContactID)
					if ev.Type == shopsync.EventDeleted {
						asOf[seq] = string(ev.Contact) // deleted contacts leave lookups
					}
				}
			}
		}
	}

	// An import page: two contacts created.
	run, _ := beginRun(t, db)
	page := []shopsync.Contact{contact(1, "one@example.com", at(0), 1), contact(2, "two@example.com", at(0), 2)}
	if _, err := db.ApplyPage(ctx, run, 0, 2, at(1), page); err != nil {
		t.Fatal(err)
	}
	want = append(want, "1 contact.created 1 import", "2 contact.created 2 import")
	snap(1, 2)

	// The same page again: unchanged, nothing.
	if _, err := db.ApplyPage(ctx, run, 2, 2, at(2), nil); err != nil {
		t.Fatal(err)
	}
	run2, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run2, 0, 2, at(3), page); err != nil {
		t.Fatal(err)
	}

	// A webhook renames 1; its redelivery and an older one change nothing.
	renamed := profileOnly(1, "one@example.com", "Uno", at(10))
	apply(t, db, upsert(renamed, at(11), "w1"))
	apply(t, db, upsert(renamed, at(11), "w1"), upsert(profileOnly(1, "old@example.com", "Old", at(5)), at(6), "w0"))
	want = append(want, "3 contact.updated 1 customers/update first_name,last_name,phone,shopify_updated_at,note")
	snap(3)

	// Consent: only the consent attributes.
	apply(t, db, upsert(emailConsent(2, "unsubscribed", at(20)), at(20), "c2"))
	want = append(want, "4 contact.updated 2 customers/update accepts_email_marketing,email_marketing_consent")
	snap(4)

	// A tag already there, with a newer version: the row is written, the
	// contact is the same: no event.
	apply(t, db, tagsChange(shopsync.ChangeTagsAdded, 2, at(21), at(21), "VIP"))
	// A new tag: an event.
	apply(t, db, tagsChange(shopsync.ChangeTagsAdded, 2, at(22), at(22), "gold"))
	want = append(want, "5 contact.updated 2 customer.tags tags")
	snap(5)

	// Deleted by a read; a delete of a customer never stored leaves a
	// tombstone and no event; a later read brings 1 back.
	apply(t, db, deleteChange(1, at(30)), deleteChange(77, at(30)))
	want = append(want, "6 contact.deleted 1 refetch")
	snap(6)
	apply(t, db, read(contact(1, "back@example.com", at(40), 3), at(41)))
	want = append(want, "7 contact.created 1 reconcile")
	snap(7)

	events := feedOf(t, db, 0)
	if diff := cmp.Diff(summaries(events), want); diff != "" {
		t.Fatalf("events (-got +want):\n%s", diff)
	}
	for _, ev := range events {
		if got := string(ev.Contact); got != asOf[ev.Seq] {
			t.Errorf("event %d reads\n%s\nwant the contact as of it\n%s", ev.Seq, got, asOf[ev.Seq])
		}
	}
	if !strings.Contains(string(events[5].Contact), `"deleted_at":`) {
		t.Errorf("the deleted event's contact has no deleted_at: %s", events[5].Contact)
	}
	// The feed from a cursor.
	if got := summaries(feedOf(t, db, 5)); !cmp.Equal(got, want[5:]) {
		t.Errorf("after 5: %v, want %v", got, want[5:])
	}
	if got, err := db.Changes(ctx, 2, 2); err != nil || len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 {
		t.Errorf("limit 2 after 2: %v %v", summaries(got), err)
	}
	oldest, last, err := db.FeedBounds(ctx)
	if err != nil || oldest != 1 || last != 7 {
		t.Errorf("bounds %d %d %v, want 1 7", oldest, last, err)
	}
}

// TestFeedReadsEveryEventAsOfItself applies a random history (imports,
// webhooks of every kind, deletes, reads bringing contacts back) to a few
// contacts, and records each event's contact right after its commit, when
// the contact's row holds it: read at the end, from the rows or from the
// states kept when the contacts changed again, every event reads the same.
func TestFeedReadsEveryEventAsOfItself(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	rng := rand.New(rand.NewPCG(19, 19))
	seen := map[int64]string{}
	var last int64
	record := func() {
		t.Helper()
		for _, ev := range feedOf(t, db, last) {
			seen[ev.Seq] = eventLine(ev)
			last = ev.Seq
		}
	}
	sec := 0
	for step := range 400 {
		sec += 1 + rng.IntN(3)
		id := int64(1 + rng.IntN(6))
		var ch shopsync.Change
		switch rng.IntN(7) {
		case 0:
			ch = upsert(profileOnly(id, fmt.Sprintf("p%d@example.com", rng.IntN(3)), fmt.Sprint("n", rng.IntN(3)), at(sec)), at(sec), fmt.Sprint("w", step))
		case 1:
			ch = upsert(emailConsent(id, []string{"subscribed", "unsubscribed"}[rng.IntN(2)], at(sec)), at(sec), fmt.Sprint("w", step))
		case 2:
			ch = tagsChange(shopsync.ChangeTagsAdded, id, at(sec), at(sec), fmt.Sprint("t", rng.IntN(3)))
		case 3:
			ch = tagsChange(shopsync.ChangeTagsRemoved, id, at(sec), at(sec), fmt.Sprint("t", rng.IntN(3)))
		case 4:
			ch = deleteChange(id, at(sec))
		case 5:
			ch = read(contact(id, fmt.Sprintf("r%d@example.com", rng.IntN(3)), at(sec), int64(rng.IntN(3))), at(sec))
		case 6:
			run, _ := beginRun(t, db)
			var page []shopsync.Contact
			for pid := int64(1); pid <= 6; pid++ {
				if rng.IntN(2) == 0 {
					page = append(page, contact(pid, fmt.Sprintf("i%d@example.com", rng.IntN(2)), at(sec), int64(rng.IntN(2))))
				}
			}
			if _, err := db.ApplyPage(ctx, run, 0, 6, at(sec), page); err != nil {
				t.Fatal(err)
			}
			if err := db.FailRun(ctx, run.ID, "test"); err != nil {
				t.Fatal(err)
			}
			record()
			continue
		}
		apply(t, db, ch)
		record()
	}
	events := feedOf(t, db, 0)
	if len(events) < 100 {
		t.Fatalf("only %d events: the history changed too little", len(events))
	}
	for i, ev := range events {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has number %d: the feed has a gap", i+1, ev.Seq)
		}
		if got := eventLine(ev); got != seen[ev.Seq] {
			t.Errorf("event %d reads\n%s\nwas, at its commit,\n%s", ev.Seq, got, seen[ev.Seq])
		}
	}
}

// TestFeedSegmentHook: the hook sees the contact before and after each
// change; its segment events follow the change's event, read the same
// contact, and keep it when the contact changes again.
func TestFeedSegmentHook(t *testing.T) {
	db, _ := newDB(t)
	type call struct{ before, after string }
	var calls []call
	email := func(c *shopsync.Contact) string {
		if c == nil {
			return "<none>"
		}
		if c.DeletedAt != nil {
			return "<deleted>"
		}
		return *c.Email
	}
	var hook store.SegmentHook
	db.SetSegmentHook(func([]store.SavedSegment) store.SegmentHook { return hook })
	hook = func(before, after *shopsync.Contact, _ time.Time) []shopsync.SegmentChange {
		calls = append(calls, call{email(before), email(after)})
		in := func(c *shopsync.Contact) bool {
			return c != nil && c.DeletedAt == nil && strings.HasPrefix(*c.Email, "vip")
		}
		switch {
		case !in(before) && in(after):
			return []shopsync.SegmentChange{{Segment: "VIPs", Joined: true}, {Segment: "Everyone", Joined: true}}
		case in(before) && !in(after):
			return []shopsync.SegmentChange{{Segment: "VIPs"}}
		}
		return nil
	}
	seed(t, db, contact(1, "vip@example.com", at(0), 1), at(1))
	first := feedOf(t, db, 0)
	apply(t, db, upsert(profileOnly(1, "plain@example.com", "P", at(10)), at(10), "w"))
	apply(t, db, deleteChange(1, at(20)))
	got := summaries(feedOf(t, db, 0))
	want := []string{"1 contact.created 1 import", "2 segment.joined 1 import VIPs", "3 segment.joined 1 import Everyone",
		"4 contact.updated 1 customers/update email,first_name,last_name,phone,shopify_updated_at,note",
		"5 segment.left 1 customers/update VIPs", "6 contact.deleted 1 refetch"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	wantCalls := []call{{"<none>", "vip@example.com"}, {"vip@example.com", "plain@example.com"}, {"plain@example.com", "<deleted>"}}
	if diff := cmp.Diff(calls, wantCalls, cmp.AllowUnexported(call{})); diff != "" {
		t.Errorf("hook calls (-got +want):\n%s", diff)
	}
	events := feedOf(t, db, 0)
	for i := range 3 {
		if string(events[i].Contact) != string(first[0].Contact) {
			t.Errorf("event %d reads %s, want the contact as created", events[i].Seq, events[i].Contact)
		}
	}
	if string(events[4].Contact) != string(events[3].Contact) {
		t.Errorf("segment.left reads %s, want its change's %s", events[4].Contact, events[3].Contact)
	}
}

// TestFeedSegmentHookFollowsSavedSegments: the hook is built from the
// saved segments as the write reads them, once while they stay the same,
// and again after one is saved, replaced or deleted, by this store or by
// another process on the same file.
func TestFeedSegmentHookFollowsSavedSegments(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	var builds [][]string
	db.SetSegmentHook(func(saved []store.SavedSegment) store.SegmentHook {
		var names []string
		for _, s := range saved {
			names = append(names, s.Name+"="+s.Query)
		}
		builds = append(builds, names)
		if len(saved) == 0 {
			return nil
		}
		// A new contact joins the segments whose query is "true".
		return func(before, after *shopsync.Contact, _ time.Time) []shopsync.SegmentChange {
			var out []shopsync.SegmentChange
			for _, s := range saved {
				if before == nil && s.Query == "true" {
					out = append(out, shopsync.SegmentChange{Segment: s.Name, Joined: true})
				}
			}
			return out
		}
	})
	gen := func() int64 {
		t.Helper()
		n, err := db.SegmentsGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seed(t, db, contact(1, "a@example.com", at(0), 1), at(1))
	seed(t, db, contact(2, "b@example.com", at(0), 1), at(2))
	g0 := gen()
	if err := db.SaveSegment(ctx, "first", "true", false); err != nil {
		t.Fatal(err)
	}
	seed(t, db, contact(3, "c@example.com", at(0), 1), at(3))
	seed(t, db, contact(4, "d@example.com", at(0), 1), at(4))
	if err := db.SaveSegment(ctx, "first", "false", true); err != nil {
		t.Fatal(err)
	}
	other, err := store.Open(ctx, db.Path()) // another process
	if err != nil {
		t.Fatal(err)
	}
	if err := other.SaveSegment(ctx, "second", "true", false); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if g := gen(); g != g0+3 {
		t.Errorf("generation %d after three saves, want %d", g, g0+3)
	}
	seed(t, db, contact(5, "e@example.com", at(0), 1), at(5))
	if err := db.DeleteSegment(ctx, "first"); err != nil {
		t.Fatal(err)
	}
	seed(t, db, contact(6, "f@example.com", at(0), 1), at(6))
	want := [][]string{nil, {"first=true"}, {"first=false", "second=true"}, {"second=true"}}
	if diff := cmp.Diff(builds, want); diff != "" {
		t.Errorf("builds (-got +want):\n%s", diff)
	}
	var got []string
	for _, ev := range feedOf(t, db, 0) {
		if ev.Type == shopsync.EventSegmentJoined {
			got = append(got, fmt.Sprintf("%d %s", ev.ContactID, ev.Segment))
		}
	}
	if diff := cmp.Diff(got, []string{"3 first", "4 first", "5 second", "6 second"}); diff != "" {
		t.Errorf("segment.joined (-got +want):\n%s", diff)
	}
}

// TestFeedRedactionErasesEveryByte: after customers/redact no byte of the
// customer is left in the database file or its WAL, events included (a
// created event read from the row, an update's states kept in the outbox,
// segment events); the earlier events keep their number, type and time;
// the redact event carries the id alone.
func TestFeedRedactionErasesEveryByte(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	db.SetSegmentHook(func([]store.SavedSegment) store.SegmentHook {
		return func(_, after *shopsync.Contact, _ time.Time) []shopsync.SegmentChange {
			if after.DeletedAt == nil && after.LastName != nil && *after.LastName == "Thistlewaite" {
				return []shopsync.SegmentChange{{Segment: "thistlewaite-fans", Joined: true}}
			}
			return nil
		}
	})
	const victim = 500
	var page []shopsync.Contact
	for id := int64(490); id <= 510; id++ {
		c := contact(id, fmt.Sprintf("n%d@example.com", id), at(0), id)
		if id == victim {
			c.Email, c.Phone = ptr("Zanzibar.Quokka.7731@example.org"), ptr("+15557773131")
			c.FirstName, c.LastName = ptr("Quixotica"), ptr("Thistlewaite")
		}
		page = append(page, c)
	}
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 510, at(1), page); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	renamed := profileOnly(victim, "zanzibar.quokka.7731@example.org", "Marmaduke", at(10))
	renamed.LastName, renamed.Phone = ptr("Dunnowhistle"), ptr("+15557773131")
	apply(t, db, upsert(renamed, at(11), "rename"))
	apply(t, db, tagsChange(shopsync.ChangeTagsAdded, victim, at(12), at(12), "vip"))
	before := feedOf(t, db, 0)
	var lines strings.Builder
	for _, ev := range before {
		lines.WriteString(eventLine(ev))
	}
	for _, s := range piiStrings {
		if !strings.Contains(strings.ToLower(lines.String()), s) {
			t.Fatalf("test setup: the feed does not carry %q", s)
		}
	}

	redact := shopsync.Change{Kind: shopsync.ChangeRedactCustomer, ShopifyID: victim, Source: "customers/redact",
		Delivery: &shopsync.Delivery{WebhookID: "redact", Topic: "customers/redact"}}
	apply(t, db, redact)
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data left after redact: %v", found)
	}
	after := feedOf(t, db, 0)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events after redact, want the %d before and the redaction", len(after), len(before))
	}
	for i, ev := range after[:len(before)] {
		b := before[i]
		if ev.Seq != b.Seq || ev.Type != b.Type || ev.ContactID != b.ContactID || ev.Source != b.Source || !ev.At.Equal(b.At) {
			t.Errorf("event %d changed: %s, was %s", ev.Seq, summary(ev), summary(b))
		}
		erased := ev.ContactID == victim
		if ev.Erased != erased || erased && (ev.Contact != nil || ev.Fields != nil || ev.Segment != "") {
			t.Errorf("event %d of contact %d: erased %v, %s", ev.Seq, ev.ContactID, ev.Erased, eventLine(ev))
		}
		if !erased && eventLine(ev) != eventLine(b) {
			t.Errorf("event %d of another contact changed:\n%s\nwas\n%s", ev.Seq, eventLine(ev), eventLine(b))
		}
	}
	last := after[len(after)-1]
	wantLast := fmt.Sprintf(`{"seq":%d,"type":"contact.redacted","contact_id":%d,"source":"customers/redact","at":"%s","contact":null}`,
		last.Seq, victim, last.At.Format(time.RFC3339Nano))
	if got := eventLine(last); got != wantLast {
		t.Errorf("redact event\n%s\nwant\n%s", got, wantLast)
	}
	// A redelivery adds nothing.
	apply(t, db, redact)
	if n := len(feedOf(t, db, 0)); n != len(after) {
		t.Errorf("%d events after the redelivered redact, want %d", n, len(after))
	}
}

// TestFeedShopRedact: shop/redact erases every event and says so for each
// contact.
func TestFeedShopRedact(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	run, _ := beginRun(t, db)
	page := []shopsync.Contact{contact(1, "zanzibar.quokka.7731@example.org", at(0), 1), contact(2, "two@example.com", at(0), 1)}
	page[0].FirstName = ptr("Quixotica")
	if _, err := db.ApplyPage(ctx, run, 0, 2, at(1), page); err != nil {
		t.Fatal(err)
	}
	apply(t, db, upsert(profileOnly(2, "dunnowhistle@example.com", "Marmaduke", at(5)), at(5), "u"))
	apply(t, db, shopsync.Change{Kind: shopsync.ChangeRedactShop, Source: "shop/redact",
		Delivery: &shopsync.Delivery{WebhookID: "shop", Topic: "shop/redact"}})
	want := []string{"1 contact.created 1 import erased", "2 contact.created 2 import erased",
		"3 contact.updated 2 customers/update erased", "4 contact.redacted 1 shop/redact", "5 contact.redacted 2 shop/redact"}
	if diff := cmp.Diff(summaries(feedOf(t, db, 0)), want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if found := findPII(t, db); len(found) != 0 {
		t.Errorf("personal data left after shop redact: %v", found)
	}
	// The numbers go on after the redaction.
	seed(t, db, contact(3, "three@example.com", at(0), 1), at(100))
	if got := summaries(feedOf(t, db, 5)); !cmp.Equal(got, []string{"6 contact.created 3 import"}) {
		t.Errorf("after shop/redact: %v", got)
	}
}

// TestFeedPrune: events older than the retention leave the feed from its
// start; a cursor before them is refused with where the feed starts; the
// numbers go on.
func TestFeedPrune(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	start := clk.t
	for id := int64(1); id <= 5; id++ {
		seed(t, db, contact(id, fmt.Sprintf("c%d@example.com", id), at(0), 1), at(1))
	}
	// 1 and 2 change (their first events move to the outbox table), 3 is
	// deleted; 4 and 5 keep theirs in their rows.
	apply(t, db, upsert(profileOnly(1, "c1@example.com", "X", at(10)), at(10), "a"),
		upsert(profileOnly(2, "c2@example.com", "X", at(10)), at(10), "b"))
	cut := clk.t
	apply(t, db, deleteChange(3, at(20)))
	apply(t, db, upsert(profileOnly(1, "c1@example.com", "Y", at(30)), at(30), "c"))
	all := feedOf(t, db, 0)
	if len(all) != 9 {
		t.Fatalf("%d events, want 9: %v", len(all), summaries(all))
	}
	var keep int64 // the first event committed at or after cut
	for _, ev := range all {
		if !ev.At.Before(cut) {
			keep = ev.Seq
			break
		}
	}
	if keep == 0 || keep == 1 {
		t.Fatalf("test setup: first event at or after %v is %d", cut, keep)
	}
	if n, err := db.PruneChanges(ctx, start); err != nil || n != 0 {
		t.Errorf("prune before every event: %d, %v; want 0", n, err)
	}
	n, err := db.PruneChanges(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if n != keep-1 {
		t.Errorf("pruned %d, want %d", n, keep-1)
	}
	if diff := cmp.Diff(summaries(feedOf(t, db, keep-1)), summaries(all[keep-1:])); diff != "" {
		t.Errorf("kept events (-got +want):\n%s", diff)
	}
	_, err = db.Changes(ctx, keep-2, 10)
	var expired *store.CursorExpiredError
	if !errors.As(err, &expired) || expired.Oldest != keep || expired.Last != 9 {
		t.Fatalf("cursor %d: got %v, want expired with oldest %d", keep-2, err, keep)
	}
	if _, err := db.Changes(ctx, 0, 10); !errors.As(err, &expired) {
		t.Errorf("cursor 0: got %v, want expired", err)
	}
	// Pruning again changes nothing; everything goes, the numbers go on.
	if n, err := db.PruneChanges(ctx, cut); err != nil || n != 0 {
		t.Errorf("second prune: %d %v", n, err)
	}
	if n, err := db.PruneChanges(ctx, clk.t.Add(time.Hour)); err != nil || n != 9-keep+1 {
		t.Errorf("prune all: %d %v, want %d", n, err, 9-keep+1)
	}
	if evs := feedOf(t, db, 9); len(evs) != 0 {
		t.Errorf("after pruning all: %v", summaries(evs))
	}
	apply(t, db, upsert(profileOnly(4, "c4@example.com", "Z", at(40)), at(40), "d"))
	if got := summaries(feedOf(t, db, 9)); len(got) != 1 || !strings.HasPrefix(got[0], "10 contact.updated 4 ") {
		t.Errorf("after pruning all, a change: %v", got)
	}
	raw := rawDB(t, db)
	if n := count(t, raw, `SELECT count(*) FROM outbox WHERE seq <= 9`); n != 0 {
		t.Errorf("%d pruned events left in the outbox table", n)
	}
}

// TestFeedWaitChanges: a waiter wakes when an event commits, and returns
// at once when there is one already.
func TestFeedWaitChanges(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	seed(t, db, contact(1, "a@example.com", at(0), 1), at(1))
	if err := db.WaitChanges(ctx, 0); err != nil {
		t.Fatal(err)
	}
	woke := make(chan error, 1)
	go func() { woke <- db.WaitChanges(ctx, 1) }()
	apply(t, db, upsert(profileOnly(1, "b@example.com", "B", at(5)), at(5), "x"))
	if err := <-woke; err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { woke <- db.WaitChanges(cctx, 2) }()
	cancel()
	if err := <-woke; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

// TestFeedProjection: the projection set encodes every event's contact.
func TestFeedProjection(t *testing.T) {
	db, _ := newDB(t)
	db.SetProjection(func(c *shopsync.Contact, _ time.Time) ([]byte, error) {
		return json.Marshal(map[string]any{"id": fmt.Sprint(c.ShopifyID), "mail": c.Email})
	})
	seed(t, db, contact(7, "p@example.com", at(0), 1), at(1))
	events := feedOf(t, db, 0)
	if len(events) != 1 || string(events[0].Contact) != `{"id":"7","mail":"p@example.com"}` {
		t.Errorf("got %s", events[0].Contact)
	}
}
