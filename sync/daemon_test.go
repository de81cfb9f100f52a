package sync_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	ssync "github.com/shopsync/shopsync/sync"
)

func ptr[T any](v T) *T { return &v }

func defaultMapper(t *testing.T) *mapping.Mapper {
	t.Helper()
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSweepFetchesOnlyChanges: after an import, customers changed in
// Shopify without a webhook are caught by a sweep, which asks for the
// customers updated since the store's newest updated_at minus the overlap:
// a request or two, not the whole shop.
func TestSweepFetchesOnlyChanges(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 3000, Seed: 41}, nil)
	f.run(t)
	ids := f.sim.CustomerIDs()
	for i := 0; i < 20; i++ {
		f.sim.Update(ids[i*100], func(c *shopifytest.Customer) { c.Note = ptr(fmt.Sprintf("changed %d", i)) })
	}
	before := f.sim.Stats().Requests
	sw := ssync.NewSweeper(f.db, f.client, defaultMapper(t), 10*time.Minute, slog.New(slog.DiscardHandler))
	run, err := sw.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if run.Trigger != shopsync.TriggerReconcile || run.State != shopsync.RunSucceeded || run.Updated != 20 || run.Created != 0 {
		t.Errorf("sweep run %+v, want 20 updated", run)
	}
	if n := f.sim.Stats().Requests - before; n > 2 {
		t.Errorf("sweep made %d requests for 20 changes", n)
	}
	c, err := f.db.Contact(context.Background(), ids[500])
	if err != nil {
		t.Fatal(err)
	}
	if note, _ := c.Attributes.Get("note"); note.Value != "changed 5" {
		t.Errorf("note %v, want the sweep's", note.Value)
	}
	f.assertMirror(t)

	// Nothing changed since: the next sweep writes nothing.
	run, err = sw.Sweep(context.Background())
	if err != nil || run.Updated != 0 || run.Created != 0 {
		t.Errorf("second sweep %+v %v", run, err)
	}
}

func TestSweepNeedsAnImportAndYieldsToOne(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 10, Seed: 42}, nil)
	sw := ssync.NewSweeper(f.db, f.client, defaultMapper(t), time.Minute, slog.New(slog.DiscardHandler))
	if _, err := sw.Sweep(context.Background()); !errors.Is(err, ssync.ErrNoMark) {
		t.Errorf("empty store: %v, want ErrNoMark", err)
	}
	release, err := f.db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var busy *ssync.RunningError
	if _, err := sw.Sweep(context.Background()); !errors.As(err, &busy) {
		t.Errorf("during an import: %v, want *RunningError", err)
	}
}

// TestRefetchBurstCoalesces: 1,000 customers created by slim 2025-01
// payloads (no tags, consent or order stats) are queued, then fetched in
// full four requests of 250: the store ends equal to the shop.
func TestRefetchBurstCoalesces(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 1000, Seed: 43}, nil)
	m := defaultMapper(t)
	ctx := context.Background()
	var changes []shopsync.Change
	for _, id := range f.sim.CustomerIDs() {
		sc, _ := f.sim.Customer(id)
		// The 2025-01 customers/create: profile only, same updated_at.
		updated, err := time.Parse(time.RFC3339, sc.UpdatedAt)
		if err != nil {
			t.Fatal(err)
		}
		slim := shopify.Customer{ID: id, Email: shopify.Null[string](), UpdatedAt: shopify.Some(updated)}
		if sc.Email != nil {
			slim.Email = shopify.Some(*sc.Email)
		}
		c, err := m.Contact(&slim)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: id, Contact: &c,
			Seen: time.Now().Add(-time.Hour), Source: "customers/create", Need: m.Parts()})
	}
	results, err := f.db.ApplyChanges(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil || !r.Queued || !r.Created {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
	if n, _ := f.db.RefetchPending(ctx); n != 1000 {
		t.Fatalf("%d queued, want 1000", n)
	}
	before := f.sim.Stats().Requests
	rf := ssync.NewRefetcher(f.db, f.client, m, 0, slog.New(slog.DiscardHandler))
	got, err := rf.Drain(ctx)
	if err != nil || got != 1000 {
		t.Fatalf("drain: %d, %v", got, err)
	}
	if n := f.sim.Stats().Requests - before; n != 4 {
		t.Errorf("%d requests for 1,000 re-fetches, want 4", n)
	}
	if n, _ := f.db.RefetchPending(ctx); n != 0 {
		t.Errorf("%d still queued", n)
	}
	f.assertMirror(t)
	// Every contact now has its order stats and tags from the full record.
	id := f.sim.CustomerIDs()[7]
	sc, _ := f.sim.Customer(id)
	c, _ := f.db.Contact(ctx, id)
	if oc, _ := c.Attributes.Get("orders_count"); oc.Value != sc.OrdersCount {
		t.Errorf("orders_count %v, want %d", oc.Value, sc.OrdersCount)
	}
}

// panicSource panics on its first count, then behaves.
type panicSource struct {
	ssync.Source
	calls int
}

func (p *panicSource) CountCustomers(ctx context.Context) (int64, error) {
	p.calls++
	if p.calls == 1 {
		panic("boom")
	}
	return p.Source.CountCustomers(ctx)
}

// TestSyncerSurvivesPanicAndFailure: a run that panics is a failed run,
// and the next trigger runs normally.
func TestSyncerSurvivesPanicAndFailure(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 300, Seed: 44}, nil)
	src := &panicSource{Source: f.client}
	im := ssync.New(f.db, src, defaultMapper(t), slog.New(slog.DiscardHandler))
	s := ssync.NewSyncer(context.Background(), im, slog.New(slog.DiscardHandler))
	var finished []error
	s.OnFinish = func(_ *shopsync.SyncRun, err error) { finished = append(finished, err) }
	for i := range 2 {
		run, started, err := s.RunAndWait(shopsync.TriggerSchedule)
		if err != nil || !started || run == nil {
			t.Fatalf("trigger %d: %v %v %v", i, run, started, err)
		}
	}
	s.Wait()
	if len(finished) != 2 || finished[0] == nil || finished[1] != nil {
		t.Fatalf("runs ended with %v, want a panic then success", finished)
	}
	f.assertMirror(t)
}

// TestSweepFailsLoudlyOnAPIError: a sweep whose second page fails is
// recorded failed with the reason, keeping what the first page stored.
func TestSweepFailsLoudlyOnAPIError(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 600, Seed: 45}, func(c *shopify.Config) { c.MaxRetries = 0 })
	f.run(t)
	ids := f.sim.CustomerIDs()
	for _, id := range ids[:300] {
		f.sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptr("swept") })
	}
	var n atomic.Int64
	f.sim.OnRequest(func(r *http.Request) {
		if r.URL.Query().Get("page_info") != "" && n.Add(1) == 1 {
			f.sim.FailNext(1, http.StatusInternalServerError)
		}
	})
	sw := ssync.NewSweeper(f.db, f.client, defaultMapper(t), time.Minute, slog.New(slog.DiscardHandler))
	run, err := sw.Sweep(context.Background())
	if err == nil || run == nil || run.State != shopsync.RunFailed || run.Fetched != 250 {
		t.Fatalf("sweep: %+v %v, want failed after one page", run, err)
	}
	stored, _ := f.db.Run(context.Background(), run.ID)
	if stored.State != shopsync.RunFailed || stored.Error == "" {
		t.Errorf("stored run %+v", stored)
	}
}
