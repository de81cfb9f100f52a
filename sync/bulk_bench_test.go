package sync_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

// finishedBulk submits the customers bulk query and waits until the
// simulator has written its file: Shopify's side, before any clock starts.
func finishedBulk(b *testing.B, client *shopify.Client) *shopify.BulkOperation {
	b.Helper()
	ctx := context.Background()
	op, err := client.RunBulkQuery(ctx, shopify.CustomerBulkQuery(true))
	if err != nil {
		b.Fatal(err)
	}
	for !op.Status.Finished() {
		time.Sleep(50 * time.Millisecond)
		if op, _, err = client.BulkOperation(ctx, op.ID); err != nil {
			b.Fatal(err)
		}
	}
	if op.Status != shopify.BulkCompleted || op.URL == "" {
		b.Fatalf("bulk operation %+v", op)
	}
	return op
}

// BenchmarkBulkIngest measures the bulk engine from download to stored:
// an import that re-attaches to a finished job (its file written by the
// simulator before the clock starts) and streams, decodes, maps, sorts and
// stores its N customers (1,000,000 unless SHOPSYNC_BENCH_CUSTOMERS says
// otherwise), verification and FinishImport included. Beside it, in the
// same run, the plainest go-sqlite3 code writes the same rows (decoded and
// mapped from the same file before its clock starts) with the same pragmas,
// index and transaction size (1,000 rows, the engine's chunk).
//
//	SHOPSYNC_BENCH_CUSTOMERS=100000 go test -run '^$' -bench BulkIngest -benchtime 1x ./sync/
func BenchmarkBulkIngest(b *testing.B) {
	n := testutil.BenchCustomers(b)
	ctx := context.Background()
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 1, Token: token, Scopes: orderScopes})
	defer sim.Close()
	mapper, _ := mapping.New(mapping.Config{})
	var ours, raw time.Duration
	var fileSize int64
	for b.Loop() {
		client := benchClient(b, sim)
		op := finishedBulk(b, client)
		fileSize = op.FileSize

		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bulk.db"))
		if err != nil {
			b.Fatal(err)
		}
		// The import's job, as a run that submitted it and was killed
		// before downloading would have left it.
		release, err := db.LockSync()
		if err != nil {
			b.Fatal(err)
		}
		run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
		if err == nil {
			err = db.BeginBulkImport(ctx, run)
		}
		if err == nil {
			err = db.SetBulkOperation(ctx, run.ImportID, op.ID, op.CreatedAt, int64(n))
		}
		release()
		if err != nil {
			b.Fatal(err)
		}
		im := ssync.New(db, client, mapper, slog.New(slog.DiscardHandler))
		im.SetEngine(ssync.EngineBulk)
		start := time.Now()
		run, err = im.Run(ctx, shopsync.TriggerCLI)
		ours += time.Since(start)
		if err != nil || run.Fetched != int64(n) || run.Created != int64(n) {
			b.Fatalf("run %+v: %v", run, err)
		}
		db.Close()

		// The baseline: the same rows, a chunk at a time so that they
		// need not all be in memory; only the inserts are timed.
		rawDB := openRaw(b, filepath.Join(b.TempDir(), "raw.db"))
		f := client.OpenBulkFile(ctx, op.URL, 0, op.FileSize)
		dec := shopify.NewBulkDecoder(f, 0)
		chunk := make([]shopsync.Contact, 0, 50_000)
		for eof := false; !eof; {
			var c shopify.Customer
			if _, err := dec.Next(&c); err == io.EOF {
				eof = true
			} else if err != nil {
				b.Fatal(err)
			} else {
				m, err := mapper.Contact(&c)
				if err != nil {
					b.Fatal(err)
				}
				chunk = append(chunk, m)
			}
			if len(chunk) == cap(chunk) || (eof && len(chunk) > 0) {
				raw += rawInsert(b, rawDB, chunk, 4*ssync.PageSize)
				chunk = chunk[:0]
			}
		}
		f.Close()
		rawDB.Close()
	}
	oursRate := float64(n*b.N) / ours.Seconds()
	rawRate := float64(n*b.N) / raw.Seconds()
	b.ReportMetric(oursRate, "customers/s")
	b.ReportMetric(rawRate, "raw_customers/s")
	b.ReportMetric(oursRate/rawRate, "x_raw")
	b.Logf("%d customers, a %.0f MB file; %d cores, %s", n, float64(fileSize)/(1<<20), runtime.NumCPU(), runtime.Version())
}

// assumedBulkRate is the rate at which the simulator builds the file in
// BenchmarkBulkVsFloor: 2,000 objects/s, the engine's own assumption
// (sync/engine.go; no published figure exists). SHOPSYNC_BULK_RATE
// overrides it.
func benchBulkRate(b *testing.B) float64 {
	b.Helper()
	s := os.Getenv("SHOPSYNC_BULK_RATE")
	if s == "" {
		return 2000
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r <= 0 {
		b.Fatalf("SHOPSYNC_BULK_RATE=%q: want objects a second", s)
	}
	return r
}

// BenchmarkBulkVsFloor imports N customers (1,000,000 by default) on the
// Standard plan's limits (REST bucket 40 leaking 2/s, GraphQL restoring 100
// points/s) with sync.engine auto, which must choose the bulk engine, the
// simulator building the file at SHOPSYNC_BULK_RATE objects/s. It reports
// the wall time as a ratio to the REST floor ((requests − bucket) / leak,
// 4,001 requests for 1,000,000 customers: 1,980.5 s), our side of it (the
// wall time less the time the simulator took to build the file: counts,
// submission, polling, download, storing, verification) as a ratio too,
// and the build time.
//
//	SHOPSYNC_BENCH_CUSTOMERS=100000 SHOPSYNC_BULK_RATE=20000 go test -run '^$' -bench BulkVsFloor -benchtime 1x ./sync/
func BenchmarkBulkVsFloor(b *testing.B) {
	n := testutil.BenchCustomers(b)
	rate := benchBulkRate(b)
	ctx := context.Background()
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 1, Token: token, Scopes: orderScopes,
		BucketSize: 40, LeakRate: 2, GraphQLRestoreRate: 100, BulkRate: rate})
	defer sim.Close()
	mapper, _ := mapping.New(mapping.Config{})
	floor := (math.Ceil(float64(n)/ssync.PageSize) + 1 - 40) / 2 // seconds
	for b.Loop() {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "floor.db"))
		if err != nil {
			b.Fatal(err)
		}
		client := benchClient(b, sim)
		im := ssync.New(db, client, mapper, slog.New(slog.DiscardHandler))
		start := time.Now()
		run, err := im.Run(ctx, shopsync.TriggerCLI)
		wall := time.Since(start)
		if err != nil || run.Engine != shopsync.EngineBulk || run.Fetched != int64(n) {
			b.Fatalf("run %+v: %v; want the bulk engine chosen", run, err)
		}
		ids := sim.BulkOperationIDs()
		op, _, err := client.BulkOperation(ctx, ids[len(ids)-1])
		if err != nil || op.CompletedAt == nil {
			b.Fatalf("operation %+v: %v", op, err)
		}
		build := op.CompletedAt.Sub(op.CreatedAt)
		ours := wall - build
		b.ReportMetric(wall.Seconds()/floor, "x_floor")
		b.ReportMetric(ours.Seconds()/floor, "x_floor_ours")
		b.ReportMetric(build.Seconds(), "build_s")
		b.ReportMetric(ours.Seconds(), "ours_s")
		b.Logf("%d customers at %.0f objects/s: wall %s = build %s + ours %s; REST floor %.1fs; x_floor %.3f, ours %.3f",
			n, rate, wall.Round(time.Millisecond), build.Round(time.Second), ours.Round(time.Millisecond), floor,
			wall.Seconds()/floor, ours.Seconds()/floor)
		db.Close()
	}
}
