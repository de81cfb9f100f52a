package sync_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

const token = "shpat_test_token"

type fixture struct {
	sim    *shopifytest.Server
	db     *store.DB
	client *shopify.Client
	im     *ssync.Importer
}

func newFixture(t *testing.T, opts shopifytest.Options, edit func(*shopify.Config)) *fixture {
	t.Helper()
	opts.Token = token
	sim := shopifytest.NewServer(opts)
	t.Cleanup(sim.Close)
	return fixtureFor(t, sim, edit)
}

// fixtureFor builds the client, store and importer of a fixture for a
// simulator listening at sim.URL.
func fixtureFor(t *testing.T, sim *shopifytest.Server, edit func(*shopify.Config)) *fixture {
	t.Helper()
	cfg := shopify.Config{Shop: "test-shop", AccessToken: token, APIVersion: "2024-04",
		APIBaseURL: sim.URL, RequestTimeout: 5 * time.Second, MaxRetries: 3}
	if edit != nil {
		edit(&cfg)
	}
	logger := slog.New(slog.DiscardHandler)
	client, err := shopify.NewClient(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.MustOpenDB(t)
	return &fixture{sim: sim, db: db, client: client, im: ssync.New(db, client, mapper, logger)}
}

func (f *fixture) run(t *testing.T) *shopsync.SyncRun {
	t.Helper()
	run, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return run
}

// storedIDs returns the ids of the active contacts, in order.
func (f *fixture) storedIDs(t *testing.T) []int64 {
	t.Helper()
	var ids []int64
	if err := f.db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		ids = append(ids, c.ShopifyID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// assertMirror checks the store's active contacts are exactly the
// simulator's customers, each once, with their data.
func (f *fixture) assertMirror(t *testing.T) {
	t.Helper()
	want := f.sim.CustomerIDs()
	got := f.storedIDs(t)
	if len(got) != len(want) {
		t.Fatalf("store has %d active contacts, simulator %d customers", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("contact %d: got id %d, want %d", i, got[i], want[i])
		}
	}
	// Spot-check the data of a spread of customers.
	for i := 0; i < len(want); i += max(1, len(want)/50) {
		sc, _ := f.sim.Customer(want[i])
		c, err := f.db.Contact(context.Background(), want[i])
		if err != nil {
			t.Fatal(err)
		}
		if (sc.Email == nil) != (c.Email == nil) || (sc.Email != nil && *sc.Email != *c.Email) {
			t.Errorf("contact %d: email %v, simulator %v", want[i], c.Email, sc.Email)
		}
		ts, _ := c.Attributes.Get("total_spent")
		if v, _ := ts.Text(); v != sc.TotalSpent {
			t.Errorf("contact %d: total_spent %q, simulator %q", want[i], v, sc.TotalSpent)
		}
	}
}

func TestImportMirrorsShop(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 1234, Seed: 7}, nil)
	run := f.run(t)
	if run.State != shopsync.RunSucceeded || run.Total != 1234 || run.Fetched != 1234 || run.Created != 1234 || run.Pages != 5 {
		t.Fatalf("run %+v", run)
	}
	f.assertMirror(t)
	stored, err := f.db.Run(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != shopsync.RunSucceeded || stored.Created != 1234 || stored.FinishedAt == nil {
		t.Errorf("stored run %+v", stored)
	}

	// A second run finds nothing to do.
	again := f.run(t)
	if again.Created != 0 || again.Updated != 0 || again.Unchanged != 1234 || again.Deleted != 0 || again.Resumed {
		t.Errorf("second run %+v, want 1234 unchanged", again)
	}
}

func TestImportAppliesChangesAndDeletions(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 600, Seed: 3}, nil)
	f.run(t)
	ids := f.sim.CustomerIDs()
	for _, id := range ids[10:15] {
		f.sim.Update(id, func(c *shopifytest.Customer) {
			note := "now a VIP 🎉"
			c.Note = &note
			c.TotalSpent = "1000000000000000.01" // beyond float64's exact range
		})
	}
	for _, id := range ids[300:303] {
		f.sim.Delete(id)
	}
	run := f.run(t)
	if run.Updated != 5 || run.Deleted != 3 || run.Created != 0 || run.Unchanged != 592 {
		t.Fatalf("run %+v, want 5 updated, 3 deleted, 592 unchanged", run)
	}
	f.assertMirror(t)
	c, err := f.db.Contact(context.Background(), ids[12])
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Attributes.Get("total_spent"); a.Value != "1000000000000000.01" {
		t.Errorf("total_spent %v", a.Value)
	}
	if _, err := f.db.Contact(context.Background(), ids[301]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted contact: got %v, want ErrNotFound", err)
	}
}

// pageRequests counts customer list requests, calling fn with the count.
func pageRequests(sim *shopifytest.Server, fn func(n int64)) {
	var n atomic.Int64
	sim.OnRequest(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers.json") {
			fn(n.Add(1))
		}
	})
}

func TestFailedImportResumesWithoutDuplicates(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 2000, Seed: 11}, func(c *shopify.Config) { c.MaxRetries = 0 })
	f.run(t)
	// Shopify loses three customers, then fails for good on page 4.
	ids := f.sim.CustomerIDs()
	for _, id := range ids[1500:1503] {
		f.sim.Delete(id)
	}
	fail := true
	pageRequests(f.sim, func(n int64) {
		if n == 4 && fail {
			f.sim.FailNext(1000, http.StatusInternalServerError)
		}
	})
	run, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
	if err == nil || run == nil || run.State != shopsync.RunFailed || !strings.Contains(run.Error, "500") {
		t.Fatalf("got run %+v, err %v; want a failed run naming the 500", run, err)
	}
	if run.Fetched != 750 || run.Deleted != 0 {
		t.Fatalf("failed run fetched %d deleted %d; want 750 and nothing deleted", run.Fetched, run.Deleted)
	}
	if got := len(f.storedIDs(t)); got != 2000 {
		t.Fatalf("a failed import deleted contacts: %d left of 2000", got)
	}
	stored, _ := f.db.Run(context.Background(), run.ID)
	if stored.State != shopsync.RunFailed || stored.Error == "" {
		t.Errorf("stored run %+v", stored)
	}

	fail = false
	f.sim.FailNext(0, 0)
	resumed := f.run(t)
	if !resumed.Resumed || resumed.ImportID != run.ImportID {
		t.Errorf("run %+v did not resume import %d", resumed, run.ImportID)
	}
	// It starts after the last applied page: 1,250 customers remain, less
	// the three deleted.
	if resumed.Fetched != 1247 || resumed.Deleted != 3 {
		t.Errorf("resumed run fetched %d deleted %d, want 1247 and 3", resumed.Fetched, resumed.Deleted)
	}
	f.assertMirror(t)
}

func TestCustomerDeletedOrAddedBetweenPages(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 1000, Seed: 5}, nil)
	ids := f.sim.CustomerIDs()
	pageRequests(f.sim, func(n int64) {
		if n == 2 { // while the import is on page 2
			f.sim.Delete(ids[900]) // ahead of the import
			f.sim.Delete(ids[10])  // behind it: the next full import deletes it
			extra := f.sim.Generate(1, 99)[0]
			extra.ID = ids[len(ids)-1] + 1000
			f.sim.Upsert(extra)
		}
	})
	run := f.run(t)
	if run.Fetched != 1000 || run.Created != 1000 {
		t.Fatalf("run %+v, want 1000 fetched: 999 listed plus the new one", run)
	}
	run = f.run(t)
	if run.Deleted != 1 {
		t.Errorf("second run deleted %d, want 1", run.Deleted)
	}
	f.assertMirror(t)
}

func TestPacedImportMeetsNo429(t *testing.T) {
	// A bucket of 10 leaking 20/s: 41 pages cannot fit, so the importer must
	// pace. Shopify's plans leak size/20 per second; this test's bucket
	// leaks faster, which the client is told with LeakRate.
	f := newFixture(t, shopifytest.Options{Customers: 10_100, Seed: 2, BucketSize: 10, LeakRate: 20},
		func(c *shopify.Config) { c.LeakRate = 20 })
	run := f.run(t)
	if run.Fetched != 10_100 {
		t.Fatalf("run %+v", run)
	}
	st := f.sim.Stats()
	if st.Throttled != 0 {
		t.Errorf("the simulator answered %d 429s, want 0", st.Throttled)
	}
	if c := f.client.Stats(); c.Throttled != 0 || c.Requests != int64(st.Requests) {
		t.Errorf("client stats %+v, simulator %+v", c, st)
	}
}

func TestThrottledImportStillCompletes(t *testing.T) {
	// Another client of the same app fills the bucket now and then, so
	// 429s come whatever the pacing; each is waited out and the import
	// ends complete.
	f := newFixture(t, shopifytest.Options{Customers: 5000, Seed: 4, BucketSize: 4, LeakRate: 20},
		func(c *shopify.Config) { c.LeakRate = 20 })
	var n atomic.Int64
	f.sim.OnRequest(func(*http.Request) {
		if n.Add(1)%3 == 0 {
			f.sim.DrainBucket(4)
		}
	})
	f.run(t)
	if f.sim.Stats().Throttled == 0 {
		t.Error("no 429 was served: the test does not test throttling")
	}
	if got, want := f.client.Stats().Throttled, f.sim.Stats().Throttled; got != want {
		t.Errorf("client saw %d 429s, simulator served %d", got, want)
	}
	f.assertMirror(t)
}

func TestFaultsAreRetried(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 800, Seed: 8}, nil)
	pageRequests(f.sim, func(n int64) {
		switch n {
		case 1:
			f.sim.FailNext(2, http.StatusBadGateway)
		case 4:
			f.sim.TruncateNext(1)
		case 6:
			f.sim.DropNext(1)
		}
	})
	run := f.run(t)
	if run.Fetched != 800 {
		t.Fatalf("run %+v", run)
	}
	// Two 502s, the cut body and the dropped connection (the simulator
	// sends a status line first, so net/http cannot silently resend).
	if f.client.Stats().Retries < 4 {
		t.Errorf("client retried %d times, want at least 4", f.client.Stats().Retries)
	}
	f.assertMirror(t)
}

func TestOneRunAtATime(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 300, Seed: 1}, nil)
	release, err := f.db.LockSync() // as if another process were importing
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.im.Run(context.Background(), shopsync.TriggerCLI)
	var running *ssync.RunningError
	if !errors.As(err, &running) || !errors.Is(err, shopsync.ErrSyncRunning) {
		t.Fatalf("got %v, want a RunningError", err)
	}
	release()

	// Concurrent runs in one process: one runs, the others are told.
	var wg gosync.WaitGroup
	var ok, busy atomic.Int32
	for range 4 {
		wg.Go(func() {
			_, err := f.im.Run(context.Background(), shopsync.TriggerButton)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, new(*ssync.RunningError)):
				busy.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() < 1 || ok.Load()+busy.Load() != 4 {
		t.Errorf("%d ran, %d were told another was running", ok.Load(), busy.Load())
	}
	f.assertMirror(t)
}

func TestCancelledImportIsRecordedAndResumes(t *testing.T) {
	f := newFixture(t, shopifytest.Options{Customers: 1500, Seed: 6}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	pageRequests(f.sim, func(n int64) {
		if n == 3 {
			cancel() // SIGTERM while page 3 is in flight
		}
	})
	run, err := f.im.Run(ctx, shopsync.TriggerCLI)
	if !errors.Is(err, context.Canceled) || run.State != shopsync.RunFailed {
		t.Fatalf("got %+v, %v", run, err)
	}
	f.sim.OnRequest(nil)
	next := f.run(t)
	if !next.Resumed || next.Fetched+run.Fetched != 1500 {
		t.Errorf("resumed run fetched %d after %d, want 1500 in all", next.Fetched, run.Fetched)
	}
	f.assertMirror(t)
}
