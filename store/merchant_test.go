package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// TestRejections: counts add up by hour and reason, are read over a span
// of hours and pruned by hour.
func TestRejections(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	h := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	add := func(counts ...store.RejectionCount) {
		t.Helper()
		if err := db.AddRejections(ctx, counts); err != nil {
			t.Fatal(err)
		}
	}
	add(store.RejectionCount{Hour: h.Add(5 * time.Minute), Reason: "signature", Count: 3, LastAt: h.Add(5 * time.Minute)},
		store.RejectionCount{Hour: h, Reason: "shop", Count: 1, LastAt: h.Add(time.Minute)})
	add(store.RejectionCount{Hour: h.Add(20 * time.Minute), Reason: "signature", Count: 2, LastAt: h.Add(20 * time.Minute)},
		store.RejectionCount{Hour: h.Add(-25 * time.Hour), Reason: "signature", Count: 50, LastAt: h.Add(-25 * time.Hour)})
	add() // nothing: no transaction

	got, err := db.Rejections(ctx, h.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RejectionCount{
		{Reason: "signature", Count: 5, LastAt: h.Add(20 * time.Minute)},
		{Reason: "shop", Count: 1, LastAt: h.Add(time.Minute)},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("rejections (-got +want):\n%s", diff)
	}
	if n, err := db.PruneRejections(ctx, h.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want the one old hour", n, err)
	}
	if got, _ := db.Rejections(ctx, h.Add(-48*time.Hour)); len(got) != 2 || got[0].Count != 5 {
		t.Errorf("after prune: %+v", got)
	}
}

// TestSweepContacts: a sweep's counts and the contacts it changed, kept up
// to MaxRunContacts, with what the store knows of them now.
func TestSweepContacts(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	apply(t, db, upsert(profileOnly(1, "a@example.com", "Ada", at(1)), at(1), ""),
		upsert(profileOnly(2, "b@example.com", "Bo", at(1)), at(1), ""))
	run, err := db.BeginSweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var changed []store.RunContact
	for id := int64(1); id <= store.MaxRunContacts+50; id++ {
		changed = append(changed, store.RunContact{ShopifyID: id, Created: id > 1})
	}
	if err := db.AddSweepCounts(ctx, run.ID, 10, shopsync.PageCounts{Created: 1, Updated: 1, Unchanged: 8}, changed[:2]); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSweepCounts(ctx, run.ID, 300, shopsync.PageCounts{Created: 250}, changed[2:]); err != nil {
		t.Fatal(err)
	}
	apply(t, db, deleteChange(2, at(9)))
	got, err := db.Run(ctx, run.ID)
	if err != nil || got.Fetched != 310 || got.Pages != 2 || got.Created != 251 || got.Updated != 1 || got.Unchanged != 8 {
		t.Fatalf("run %+v, %v", got, err)
	}
	cs, err := db.RunContacts(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != store.MaxRunContacts {
		t.Fatalf("%d contacts kept, want %d", len(cs), store.MaxRunContacts)
	}
	if c := cs[0]; c.ShopifyID != 1 || c.Created || !c.Active || c.FirstName == nil || *c.FirstName != "Ada" {
		t.Errorf("first: %+v", c)
	}
	if c := cs[1]; c.ShopifyID != 2 || !c.Created || c.Active {
		t.Errorf("second (deleted since): %+v", c)
	}
	if c := cs[2]; c.ShopifyID != 3 || c.Active || c.Email != nil {
		t.Errorf("third (never stored here): %+v", c)
	}
	if n, err := db.PruneRunContacts(ctx, time.Now().Add(24*time.Hour)); err != nil || n != store.MaxRunContacts {
		t.Errorf("pruned %d, %v", n, err)
	}
}

// TestRunsPage: runs by trigger and state, newest first, page by page.
func TestRunsPage(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	var imports []int64
	for i := range 5 {
		run, _ := beginRun(t, db)
		imports = append(imports, run.ID)
		if err := db.FailRun(ctx, run.ID, "x"); err != nil {
			t.Fatal(err)
		}
		for range i + 1 {
			sw, err := db.BeginSweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.FinishSweep(ctx, sw.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(runs []*shopsync.SyncRun) []int64 {
		var out []int64
		for _, r := range runs {
			out = append(out, r.ID)
		}
		return out
	}
	runs, more, err := db.RunsPage(ctx, store.RunFilter{Triggers: store.FullImports, Limit: 3})
	if err != nil || !more || !slices.Equal(ids(runs), []int64{imports[4], imports[3], imports[2]}) {
		t.Fatalf("first page: %v more %v, %v", ids(runs), more, err)
	}
	runs, more, err = db.RunsPage(ctx, store.RunFilter{Triggers: store.FullImports, Limit: 3, Before: runs[2].ID})
	if err != nil || more || !slices.Equal(ids(runs), []int64{imports[1], imports[0]}) {
		t.Fatalf("second page: %v more %v, %v", ids(runs), more, err)
	}
	all, _, _ := db.RunsPage(ctx, store.RunFilter{Limit: 100})
	if len(all) != 5+15 {
		t.Errorf("%d runs, want 20", len(all))
	}
	sweep, err := db.LastRun(ctx, store.RunFilter{Triggers: []shopsync.Trigger{shopsync.TriggerReconcile}, State: shopsync.RunSucceeded})
	if err != nil || sweep.ID != all[0].ID {
		t.Errorf("last sweep %+v, %v", sweep, err)
	}
	if _, err := db.LastRun(ctx, store.RunFilter{Triggers: store.FullImports, State: shopsync.RunSucceeded}); err != store.ErrNotFound {
		t.Errorf("last successful import: %v, want ErrNotFound", err)
	}
}

// TestCustomerCountAndLastDelivery: Shopify's count, newest wins; the
// newest accepted delivery.
func TestCustomerCountAndLastDelivery(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	if _, ok, err := db.CustomerCount(ctx); ok || err != nil {
		t.Fatalf("empty store: ok %v, %v", ok, err)
	}
	if _, ok, err := db.LastDelivery(ctx); ok || err != nil {
		t.Fatalf("no delivery: ok %v, %v", ok, err)
	}
	for _, c := range []store.ShopCount{{Count: 20000, CountedAt: at(10)}, {Count: 19000, CountedAt: at(5)}} {
		if err := db.SetCustomerCount(ctx, c.Count, c.CountedAt); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok, err := db.CustomerCount(ctx); !ok || err != nil || c.Count != 20000 || !c.CountedAt.Equal(at(10)) {
		t.Errorf("count %+v ok %v, %v; want 20000 at(10): an older count does not win", c, ok, err)
	}
	apply(t, db, upsert(profileOnly(1, "a@example.com", "Ada", at(1)), at(1), "w-1"))
	if got, ok, err := db.LastDelivery(ctx); !ok || err != nil || got.IsZero() {
		t.Errorf("last delivery %v ok %v, %v", got, ok, err)
	}
}
