package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/store"
)

func ptr[T any](v T) *T { return &v }

// contact builds a full contact as mapping would.
func contact(id int64, email string, updated time.Time, orders int64) shopsync.Contact {
	c := shopsync.Contact{
		ShopifyID: id, Email: ptr(email), FirstName: ptr("山田"), LastName: ptr("太郎 🌸"),
		State: ptr("enabled"), Tags: []string{"Léon", "VIP"},
		ShopifyCreatedAt: ptr(updated.Add(-time.Hour).UTC()), ShopifyUpdatedAt: ptr(updated.UTC()),
		Fields: shopsync.AllFields,
		Attributes: shopsync.Attributes{
			inPart(shopsync.PartEmailConsent, shopsync.BoolAttr("accepts_email_marketing", ptr(true))),
			shopsync.StringAttr("note", nil),
			inPart(shopsync.PartPurchasing, shopsync.IntAttr("orders_count", &orders)),
			inPart(shopsync.PartPurchasing, shopsync.DecimalAttr("total_spent", ptr("123456789.10"))),
		},
		Parts: shopsync.AllParts, Full: shopsync.AllParts,
	}
	for p := range c.Clocks {
		c.Clocks[p] = updatedAt(updated)
	}
	return c
}

// inPart puts a in part p, as mapping does.
func inPart(p shopsync.Part, a shopsync.Attribute) shopsync.Attribute {
	a.Part = p
	return a
}

// withAttr sets the attribute of c called a.Name to a, adding it if c has
// none, and keeps the attributes sorted by name.
func withAttr(c *shopsync.Contact, a shopsync.Attribute) {
	i, found := slices.BinarySearchFunc(c.Attributes, a.Name, func(x shopsync.Attribute, name string) int {
		return strings.Compare(x.Name, name)
	})
	if found {
		c.Attributes[i] = a
		return
	}
	c.Attributes = slices.Insert(c.Attributes, i, a)
}

// updatedAt is a clock read from a customer's updated_at.
func updatedAt(t time.Time) shopsync.Clock {
	return shopsync.Clock{Time: t.UTC(), Kind: shopsync.ClockUpdatedAt}
}

// ignoreVersions leaves out what a stored contact does not carry back:
// the parts and clocks of the payload it came from.
var ignoreVersions = cmp.Options{
	cmpopts.IgnoreFields(shopsync.Contact{}, "Parts", "Full", "Clocks"),
	cmpopts.IgnoreFields(shopsync.Attribute{}, "Part"),
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func newDB(t *testing.T) (*store.DB, *clock) {
	db := testutil.MustOpenDB(t)
	c := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	db.Now = c.now
	return db, c
}

func beginRun(t *testing.T, db *store.DB) (*shopsync.SyncRun, int64) {
	t.Helper()
	run, checkpoint, err := db.BeginRun(context.Background(), shopsync.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	return run, checkpoint
}

func TestApplyPageCounts(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)
	const big = int64(706405506930370084)

	run, cp := beginRun(t, db)
	if cp != 0 {
		t.Fatalf("got checkpoint %d, want 0", cp)
	}
	// Pages are read at Date f(n), on Shopify's clock.
	f := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	page := []shopsync.Contact{contact(big, "Bob@Example.com", t0, 1), contact(big+7, "x@example.com", t0, 2)}
	got, err := db.ApplyPage(ctx, run, 0, big+7, f(2), page)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, shopsync.PageCounts{Created: 2}); diff != "" {
		t.Errorf("first apply (-got +want):\n%s", diff)
	}
	if _, err := db.FinishImport(ctx, run, f(2)); err != nil {
		t.Fatal(err)
	}

	// Same data again: unchanged. A newer record: updated. A page read
	// before the last one: unchanged (stale), whatever it holds.
	run, _ = beginRun(t, db)
	page = []shopsync.Contact{
		contact(big, "Bob@Example.com", t0, 1),
		contact(big+7, "x@example.com", t0.Add(time.Minute), 3),
	}
	if got, err = db.ApplyPage(ctx, run, 0, big+7, f(3), page); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, shopsync.PageCounts{Updated: 1, Unchanged: 1}); diff != "" {
		t.Errorf("second apply (-got +want):\n%s", diff)
	}
	stale := []shopsync.Contact{contact(big, "old@example.com", t0.Add(-time.Hour), 0)}
	if got, err = db.ApplyPage(ctx, run, 0, big, f(1), stale); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, shopsync.PageCounts{Unchanged: 1}); diff != "" {
		t.Errorf("stale apply (-got +want):\n%s", diff)
	}
	c, err := db.Contact(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Email != "Bob@Example.com" {
		t.Errorf("stale record overwrote email: got %q", *c.Email)
	}
	c, err = db.Contact(ctx, big+7)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Attributes.Get("orders_count"); a.Value != int64(3) {
		t.Errorf("got orders_count %v, want 3", a.Value)
	}
}

func TestContactRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 4, 2, 14, 23, 53, 500, time.UTC)
	want := contact(9007199254740993, "Zoë@Example.com", t0, 500)
	want.Phone = nil
	// Attributes travel to SQLite as JSON (one statement a contact): ids
	// past 2^53 and at int64's edges must come back exact, a decimal stays
	// text, booleans stay booleans.
	want.Attributes = append(want.Attributes,
		shopsync.TimeAttr("email_marketing_consent_updated_at", ptr(t0)),
		shopsync.IntAttr("last_order_id", ptr(int64(820982911946154509))),
		shopsync.IntAttr("max_int", ptr(int64(math.MaxInt64))),
		shopsync.IntAttr("min_int", ptr(int64(math.MinInt64))),
		shopsync.DecimalAttr("big_decimal", ptr("1000000000000000.10")),
		shopsync.BoolAttr("verified_email", ptr(true)),
		shopsync.BoolAttr("tax_exempt", ptr(false)),
		shopsync.StringAttr("quoted_text", ptr(`say "hi" \ 🎉`)),
		shopsync.StringAttr("last_order_name", nil))
	want.Attributes.Sort()
	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, want.ShopifyID, time.Now(), []shopsync.Contact{want}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Contact(ctx, want.ShopifyID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, &want, ignoreVersions); diff != "" {
		t.Errorf("contact (-got +want):\n%s", diff)
	}
	// Case-insensitive email lookup, with Unicode.
	byEmail, err := db.ContactsByEmail(ctx, "zoË@example.COM")
	if err != nil {
		t.Fatal(err)
	}
	if len(byEmail) != 1 || byEmail[0].ShopifyID != want.ShopifyID {
		t.Errorf("got %d contacts by email, want contact %d", len(byEmail), want.ShopifyID)
	}
	if _, err := db.ContactsByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func TestDeleteOnlyWhenImportCompletes(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run, _ := beginRun(t, db)
	var page []shopsync.Contact
	for id := int64(1); id <= 6; id++ {
		page = append(page, contact(id, fmt.Sprintf("c%d@example.com", id), t0, 0))
	}
	if _, err := db.ApplyPage(ctx, run, 0, 6, time.Now(), page); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishImport(ctx, run, time.Now()); err != nil {
		t.Fatal(err)
	}

	// Second import: 2 is gone (inside a page's range), 6 is gone (past the
	// last page). The run fails before finishing: nothing is deleted.
	run, _ = beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 3, time.Now(), []shopsync.Contact{page[0], page[2]}); err != nil {
		t.Fatal(err)
	}
	if err := db.FailRun(ctx, run.ID, "boom"); err != nil {
		t.Fatal(err)
	}
	if active, deleted, _ := db.ContactCounts(ctx); active != 6 || deleted != 0 {
		t.Fatalf("after failed run: got %d active %d deleted, want 6 0", active, deleted)
	}

	// The next run resumes after 3 and completes: now 2 and 6 are deleted.
	run, cp := beginRun(t, db)
	if !run.Resumed || cp != 3 {
		t.Fatalf("got resumed=%v checkpoint %d, want true 3", run.Resumed, cp)
	}
	if _, err := db.ApplyPage(ctx, run, 3, 5, time.Now(), []shopsync.Contact{page[3], page[4]}); err != nil {
		t.Fatal(err)
	}
	deleted, err := db.FinishImport(ctx, run, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 2 {
		t.Errorf("got %d deleted, want 2", deleted)
	}
	for _, id := range []int64{2, 6} {
		if _, err := db.Contact(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("contact %d: got %v, want ErrNotFound", id, err)
		}
	}
	if active, del, _ := db.ContactCounts(ctx); active != 4 || del != 2 {
		t.Errorf("got %d active %d deleted, want 4 2", active, del)
	}
	// It comes back when Shopify lists it again: counted as created.
	run, _ = beginRun(t, db)
	got, err := db.ApplyPage(ctx, run, 0, 2, time.Now(), []shopsync.Contact{page[0], page[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got.Created != 1 || got.Unchanged != 1 {
		t.Errorf("restore: got %+v, want 1 created 1 unchanged", got)
	}
}

func TestRunsInterruptedAndLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	release, err := db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	// A second handle on the same file (another process, in effect) is refused.
	other, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.LockSync(); !errors.Is(err, shopsync.ErrSyncRunning) {
		t.Fatalf("got %v, want ErrSyncRunning", err)
	}
	first, _, err := db.BeginRun(ctx, shopsync.TriggerButton)
	if err != nil {
		t.Fatal(err)
	}
	running, err := other.RunningRun(ctx)
	if err != nil || running.ID != first.ID {
		t.Fatalf("running run: got %v %v, want run %d", running, err, first.ID)
	}
	release() // the process "dies" with the run still marked running

	release, err = other.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	second, _, err := other.BeginRun(ctx, shopsync.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Resumed || second.ImportID != first.ImportID {
		t.Errorf("got resumed=%v import %d, want resume of import %d", second.Resumed, second.ImportID, first.ImportID)
	}
	old, err := other.Run(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.State != shopsync.RunFailed || old.Error == "" || old.FinishedAt == nil {
		t.Errorf("interrupted run: got state %s error %q, want failed with a reason", old.State, old.Error)
	}
	runs, err := other.Runs(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != second.ID {
		t.Errorf("got %d runs, newest %d; want 2, newest %d", len(runs), runs[0].ID, second.ID)
	}
}

func TestApplyPageRejectsDisorder(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	run, _ := beginRun(t, db)
	t0 := time.Now()
	_, err := db.ApplyPage(ctx, run, 0, 10, time.Now(), []shopsync.Contact{contact(5, "a@x", t0, 0), contact(4, "b@x", t0, 0)})
	if err == nil {
		t.Fatal("got nil error for descending ids")
	}
	if active, _, _ := db.ContactCounts(ctx); active != 0 {
		t.Errorf("got %d contacts stored from a rejected page, want 0", active)
	}
}

func TestExportStreamsActiveContactsWithAttributes(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run, _ := beginRun(t, db)
	var page []shopsync.Contact
	for id := int64(10); id < 1010; id++ {
		page = append(page, contact(id, fmt.Sprintf("c%d@example.com", id), t0, id))
	}
	if _, err := db.ApplyPage(ctx, run, 0, 1009, time.Now(), page); err != nil {
		t.Fatal(err)
	}
	var n int
	err := db.ExportContacts(ctx, func(c *shopsync.Contact) error {
		want := page[n]
		if diff := cmp.Diff(c, &want, ignoreVersions); diff != "" {
			return fmt.Errorf("contact %d (-got +want):\n%s", n, diff)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(page) {
		t.Errorf("exported %d, want %d", n, len(page))
	}
}

// TestApplyPagesOneTransaction applies three pages at once: their counts
// add up, the run counts three pages, the checkpoint is the last page's
// end, and a customer missing from the middle page's range is noted (and
// deleted when the import completes). Pages that do not follow each other
// are refused before anything is written.
func TestApplyPagesOneTransaction(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := func(id int64) shopsync.Contact { return contact(id, fmt.Sprintf("c%d@example.com", id), t0, id) }

	run, _ := beginRun(t, db)
	if _, err := db.ApplyPage(ctx, run, 0, 4, time.Now(), []shopsync.Contact{c(4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishImport(ctx, run, time.Now()); err != nil {
		t.Fatal(err)
	}

	run, _ = beginRun(t, db)
	gap := []shopsync.ImportPage{
		{After: 0, Last: 2, Fetched: time.Now(), Contacts: []shopsync.Contact{c(1), c(2)}},
		{After: 3, Last: 6, Fetched: time.Now(), Contacts: []shopsync.Contact{c(5), c(6)}},
	}
	if _, err := db.ApplyPages(ctx, run, gap); err == nil {
		t.Fatal("pages with a gap between them: got no error")
	}
	if active, _, _ := db.ContactCounts(ctx); active != 1 {
		t.Fatalf("a refused batch wrote contacts: %d active, want 1", active)
	}

	pages := []shopsync.ImportPage{
		{After: 0, Last: 2, Fetched: time.Now(), Contacts: []shopsync.Contact{c(1), c(2)}},
		{After: 2, Last: 6, Fetched: time.Now(), Contacts: []shopsync.Contact{c(5), c(6)}}, // 4 is gone
		{After: 6, Last: 9, Fetched: time.Now(), Contacts: []shopsync.Contact{c(9)}},
	}
	got, err := db.ApplyPages(ctx, run, pages)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, shopsync.PageCounts{Created: 5}); diff != "" {
		t.Errorf("counts (-got +want):\n%s", diff)
	}
	stored, err := db.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Pages != 3 || stored.Fetched != 5 || stored.Created != 5 {
		t.Errorf("run after the batch: %d pages, %d fetched, %d created; want 3 5 5", stored.Pages, stored.Fetched, stored.Created)
	}
	if err := db.FailRun(ctx, run.ID, "stopped"); err != nil {
		t.Fatal(err)
	}
	run, cp := beginRun(t, db)
	if cp != 9 {
		t.Errorf("checkpoint after the batch: %d, want 9", cp)
	}
	if deleted, err := db.FinishImport(ctx, run, time.Now()); err != nil || deleted != 1 {
		t.Errorf("finish: %d deleted (%v), want 1 (customer 4, missing from the middle page)", deleted, err)
	}
}
