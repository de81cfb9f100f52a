package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
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

// sweepOverlap is the default sync.reconcile_overlap.
const sweepOverlap = 10 * time.Minute

// sweepBench is what every case of BenchmarkSweep shares: the simulated
// shop, as imported, and a copy of the store that import built.
type sweepBench struct {
	sim            *shopifytest.Server
	client         *shopify.Client
	mapper         *mapping.Mapper
	ids            []int64 // the shop's customers, ascending
	base           string  // the store right after the import; never opened again
	dir            string
	importRequests int64
}

// sweepResult is what one measured sweep did.
type sweepResult struct {
	changed, fetched, requests, pages int64
	elapsed                           time.Duration
}

// BenchmarkSweep measures a reconciliation sweep on a store of N contacts
// (N = 1,000,000 by default; SHOPSYNC_BENCH_CUSTOMERS overrides), built by
// a real import through the importer from an in-process simulator whose
// bucket (100,000, leaking 5,000/s, announced in the call-limit header)
// never makes the client wait. After the import, every 100th customer is
// changed in the shop (its note; the simulator moves its updated_at to the
// present, past the store's mark, as Shopify does), and one sweep is
// measured: its requests, pages, wall time and outcome. Then, from the
// same imported store and the shop put back as it was, the same with
// every 1,000th customer. Each sweep must fetch exactly the customers the
// shop lists as updated since the store's mark minus the 10-minute
// overlap, update exactly the changed ones, with their new note, and make
// one request a page of 250: requests ≈ changes/250 + a constant, not
// N/250. Only the sweeps are timed.
//
//	SHOPSYNC_BENCH_CUSTOMERS=50000 go test -run '^$' -bench Sweep -benchtime 1x ./sync/
//	go test -run '^$' -bench Sweep -benchtime 1x -timeout 0 ./sync/   # 1,000,000
func BenchmarkSweep(b *testing.B) {
	n := testutil.BenchCustomers(b)
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	genStart := time.Now()
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 1, Token: token,
		BucketSize: 100_000, LeakRate: 5_000})
	defer sim.Close()
	gen := time.Since(genStart)
	client := benchClient(b, sim)
	mapper, err := mapping.New(mapping.Config{})
	if err != nil {
		b.Fatal(err)
	}
	sb := &sweepBench{sim: sim, client: client, mapper: mapper, ids: sim.CustomerIDs(), dir: b.TempDir()}
	sb.base = filepath.Join(sb.dir, "imported.db")

	db, err := store.Open(ctx, sb.base)
	if err != nil {
		b.Fatal(err)
	}
	importStart := time.Now()
	im := ssync.New(db, client, mapper, logger)
	im.SetEngine(ssync.EngineREST) // as the sweep bench always built its store
	run, err := im.Run(ctx, shopsync.TriggerCLI)
	importTime := time.Since(importStart)
	if err != nil || run.Fetched != int64(n) || run.Created != int64(n) {
		b.Fatalf("import: run %+v: %v", run, err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	st := sim.Stats()
	sb.importRequests = st.Requests - st.Throttled
	b.Logf("%d customers (generated in %s); import: %d requests in %s (%.0f customers/s), %d 429s; %d cores, %s",
		n, gen.Round(time.Millisecond), sb.importRequests, importTime.Round(time.Millisecond),
		float64(n)/importTime.Seconds(), st.Throttled, runtime.NumCPU(), runtime.Version())

	var r1, r01 sweepResult
	for b.Loop() {
		r1 = sb.sweep(b, 100)
		r01 = sb.sweep(b, 1000)
	}
	for _, r := range []struct {
		name string
		r    sweepResult
	}{{"1pct", r1}, {"0.1pct", r01}} {
		b.ReportMetric(float64(r.r.requests), "requests_"+r.name)
		b.ReportMetric(float64(r.r.elapsed.Microseconds())/1000, "ms_"+r.name)
	}
	b.ReportMetric(float64(r1.requests)/float64(sb.importRequests), "x_store")
}

// sweep changes every every-th customer in the shop, runs one sweep on a
// fresh copy of the imported store, checks what it did and puts the shop
// back as it was.
func (sb *sweepBench) sweep(b *testing.B, every int) sweepResult {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer() // last: after the clean-up below
	ctx := context.Background()
	path := filepath.Join(sb.dir, fmt.Sprintf("sweep-%d.db", every))
	copyStoreFiles(b, sb.base, path)
	db, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		db.Close()
		removeStoreFiles(b, path)
	}()
	mark, ok, err := db.HighWaterMark(ctx)
	if err != nil || !ok {
		b.Fatalf("high-water mark: %v, %v", ok, err)
	}

	// Change the shop: a new note on every every-th customer, starting in
	// the middle of the first stride so that neither end is special.
	type change struct {
		id   int64
		note string
		was  shopifytest.Customer
	}
	var changes []change
	for i := every / 2; i < len(sb.ids); i += every {
		id := sb.ids[i]
		was, _ := sb.sim.Customer(id)
		note := fmt.Sprintf("sweep bench: 1 in %d, customer %d", every, i)
		sb.sim.Update(id, func(c *shopifytest.Customer) { c.Note = new(note) })
		now, _ := sb.sim.Customer(id)
		if updated, err := time.Parse(time.RFC3339, now.UpdatedAt); err != nil || !updated.After(mark) {
			b.Fatalf("customer %d: updated_at %s (%v) not after the store's mark %s", id, now.UpdatedAt, err, mark)
		}
		changes = append(changes, change{id, note, was})
	}
	defer func() {
		// Put the shop back, updated_at included, for the next case.
		for _, c := range changes {
			sb.sim.Upsert(c.was)
		}
	}()
	since := mark.Add(-sweepOverlap)
	want := sb.countUpdatedSince(b, since) // the changes, and the few customers already in the overlap

	src, dst := &timedFetcher{Fetcher: sb.client}, &timedStore{ChangeStore: db}
	sw := ssync.NewSweeper(dst, src, sb.mapper, sweepOverlap, slog.New(slog.DiscardHandler))
	before := sb.sim.Stats()
	b.StartTimer()
	start := time.Now()
	run, err := sw.Sweep(ctx)
	elapsed := time.Since(start)
	b.StopTimer()
	after := sb.sim.Stats()
	if err != nil {
		b.Fatalf("sweep (1 in %d changed): %v", every, err)
	}

	k := int64(len(changes))
	requests := after.Requests - before.Requests
	pages := after.ByPath["customers.json"] - before.ByPath["customers.json"]
	wantPages := max(1, (want+ssync.PageSize-1)/ssync.PageSize)
	b.Logf("1 in %d changed: %d changes, sweep since %s fetched %d in %d pages, %d requests %v, %d 429s, in %s "+
		"(fetching %s, applying %s, mapping and run records %s): %s",
		every, k, since.Format(time.RFC3339), run.Fetched, pages, requests, sweepByPath(before, after),
		after.Throttled-before.Throttled, elapsed.Round(time.Millisecond), src.took.Round(time.Millisecond),
		dst.took.Round(time.Millisecond), (elapsed - src.took - dst.took).Round(time.Millisecond), sweepRunCounts(run))
	switch {
	case run.State != shopsync.RunSucceeded || run.Trigger != shopsync.TriggerReconcile:
		b.Fatalf("sweep run %+v", run)
	case run.Fetched != want:
		b.Fatalf("sweep fetched %d, want %d: the %d changed and %d already in the overlap", run.Fetched, want, k, want-k)
	case run.Updated != k || run.Created != 0 || run.Unchanged != want-k:
		b.Fatalf("sweep %s, want %d updated, 0 created, %d unchanged", sweepRunCounts(run), k, want-k)
	case pages != wantPages || requests != pages || after.Throttled != before.Throttled:
		b.Fatalf("sweep made %d requests (%v), %d 429s, want exactly %d pages of %d customers, nothing else",
			requests, sweepByPath(before, after), after.Throttled-before.Throttled, wantPages, want)
	case requests > k/ssync.PageSize+3:
		b.Fatalf("sweep made %d requests for %d changes: not proportional to the changes", requests, k)
	}
	// Exactly the changed customers were updated: k applied writes, and
	// each of the k changed contacts holds its new note.
	for _, c := range changes {
		got, err := db.Contact(ctx, c.id)
		if err != nil {
			b.Fatalf("contact %d: %v", c.id, err)
		}
		if note, _ := got.Attributes.Get("note"); note.Value != c.note {
			b.Fatalf("contact %d: note %v, want the shop's %q", c.id, note.Value, c.note)
		}
	}
	return sweepResult{changed: k, fetched: run.Fetched, requests: requests, pages: pages, elapsed: elapsed}
}

// timedFetcher and timedStore add up the time a sweep spends fetching
// pages (HTTP and JSON) and applying them to the store.
type timedFetcher struct {
	ssync.Fetcher
	took time.Duration
}

func (f *timedFetcher) ListCustomersUpdatedSince(ctx context.Context, since time.Time, limit int) (*shopify.Page, error) {
	defer f.time(time.Now())
	return f.Fetcher.ListCustomersUpdatedSince(ctx, since, limit)
}

func (f *timedFetcher) NextPage(ctx context.Context, p *shopify.Page) (*shopify.Page, error) {
	defer f.time(time.Now())
	return f.Fetcher.NextPage(ctx, p)
}

func (f *timedFetcher) time(start time.Time) { f.took += time.Since(start) }

type timedStore struct {
	ssync.ChangeStore
	took time.Duration
}

func (s *timedStore) ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error) {
	start := time.Now()
	defer func() { s.took += time.Since(start) }()
	return s.ChangeStore.ApplyChanges(ctx, changes)
}

// countUpdatedSince asks the shop how many customers have an updated_at
// at or after since, through customers/count.json, outside the measure.
func (sb *sweepBench) countUpdatedSince(b *testing.B, since time.Time) int64 {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, sb.sim.URL+"/admin/api/2024-04/customers/count.json?updated_at_min="+
		url.QueryEscape(since.Format(time.RFC3339)), nil)
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count *int64 `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Count == nil {
		b.Fatalf("count updated since %s: %s, %v", since, resp.Status, err)
	}
	return *body.Count
}

func sweepRunCounts(r *shopsync.SyncRun) string {
	return fmt.Sprintf("fetched %d, created %d, updated %d, unchanged %d", r.Fetched, r.Created, r.Updated, r.Unchanged)
}

func sweepByPath(before, after shopifytest.Stats) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after.ByPath {
		if v != before.ByPath[k] {
			d[k] = v - before.ByPath[k]
		}
	}
	return d
}

// copyStoreFiles copies a closed store: the database and, if SQLite left one,
// its write-ahead log.
func copyStoreFiles(b *testing.B, from, to string) {
	b.Helper()
	for _, suffix := range []string{"", "-wal"} {
		src, err := os.Open(from + suffix)
		if suffix != "" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.Create(to + suffix)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(dst, src)
		src.Close()
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// removeStoreFiles deletes a store and the files SQLite and the sync lock
// leave beside it, so that the disk holds one copy at a time.
func removeStoreFiles(b *testing.B, path string) {
	b.Helper()
	for _, suffix := range []string{"", "-wal", "-shm", ".sync-lock"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.Error(err)
		}
	}
}
