package sync_test

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

// BenchmarkImportVsFloor imports a simulated shop through the real
// client, pacer and store, on buckets of several sizes and leak rates,
// and reports the wall time as a ratio to the floor any client must
// respect, and the 429s served. The floor is the time the bucket takes to
// leak (requests + other − bucket): the first bucket requests are free,
// and each one after that waits for a leak. other is what another client
// of the same app took from the bucket meanwhile (the "_other" case runs
// one, at a quarter of the leak rate). A leak that changes mid-import
// ("40_4to2": 4/s, then 2/s from 10 s on) has its floor computed from
// that schedule. The floor is zero when the whole import fits in the
// bucket ("400_20_fits": 201 requests, bucket 400): the import is then
// bound by ingest speed, and x_floor is not reported.
//
// The client is told nothing about the leak (shopify.leak_rate 0): it
// learns it. 10/2 and 40/4 are not Shopify plans (every plan leaks a
// twentieth of its bucket per second) but the shapes a temporarily
// lowered limit takes.
//
//	make bench   (or: go test -run '^$' -bench ImportVsFloor -benchtime 1x ./sync/)
func BenchmarkImportVsFloor(b *testing.B) {
	for _, plan := range []struct {
		name      string
		bucket    int
		leak      float64
		customers int
		other     bool
		// then, when > 0, is the leak from switchAt on.
		then     float64
		switchAt time.Duration
	}{
		{name: "10_2", bucket: 10, leak: 2, customers: 6_000},  // 25 requests: floor 7.5 s
		{name: "40_2", bucket: 40, leak: 2, customers: 20_000}, // Standard, 81 requests: floor 20.5 s
		{name: "40_2_other", bucket: 40, leak: 2, customers: 20_000, other: true},
		{name: "80_4", bucket: 80, leak: 4, customers: 40_000},      // Advanced, 161 requests: floor 20.25 s
		{name: "400_20", bucket: 400, leak: 20, customers: 200_000}, // Plus, 801 requests: floor 20.05 s
		{name: "400_20_fits", bucket: 400, leak: 20, customers: 50_000},
		{name: "40_4to2", bucket: 40, leak: 4, customers: 30_000, then: 2, switchAt: 10 * time.Second}, // 121 requests: floor 30.5 s
	} {
		b.Run(plan.name, func(b *testing.B) {
			sim := shopifytest.NewServer(shopifytest.Options{Customers: plan.customers, Seed: 1, Token: token,
				BucketSize: plan.bucket, LeakRate: plan.leak})
			defer sim.Close()
			if err := sim.EncodeAll(); err != nil {
				b.Fatal(err)
			}
			mapper, _ := mapping.New(mapping.Config{})
			first := true
			for b.Loop() {
				if !first { // let the bucket empty again
					time.Sleep(time.Duration(float64(plan.bucket) / min(plan.leak, cmp.Or(plan.then, plan.leak)) * float64(time.Second)))
				}
				first = false
				sim.SetLeakRate(plan.leak)
				db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				im := ssync.New(db, benchClient(b, sim), mapper, slog.New(slog.DiscardHandler))
				im.SetEngine(ssync.EngineREST) // the REST floor is what this measures
				before := sim.Stats()
				var other float64
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() { // another client of the app: a quarter of the leak rate
					defer close(done)
					if !plan.other {
						return
					}
					tick := time.NewTicker(time.Duration(float64(time.Second) / (plan.leak / 4)))
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							other += sim.DrainBucket(1)
						}
					}
				}()
				start := time.Now()
				change := time.AfterFunc(plan.switchAt, func() {
					if plan.then > 0 {
						sim.SetLeakRate(plan.then)
					}
				})
				run, err := im.Run(context.Background(), shopsync.TriggerCLI)
				elapsed := time.Since(start)
				change.Stop()
				close(stop)
				<-done
				if err != nil || run.Fetched != int64(plan.customers) {
					b.Fatalf("run %+v: %v", run, err)
				}
				after := sim.Stats()
				throttled := after.Throttled - before.Throttled
				requests := float64(after.Requests - before.Requests - throttled) // count + pages
				// The floor: the time the bucket takes to leak what did not fit.
				floor := max(0, requests+other-float64(plan.bucket)) / plan.leak
				if sw := plan.switchAt.Seconds(); plan.then > 0 && floor > sw {
					floor = sw + (requests+other-float64(plan.bucket)-plan.leak*sw)/plan.then
				}
				ratio := "n/a: the import fits in the bucket"
				if floor > 0 {
					b.ReportMetric(elapsed.Seconds()/floor, "x_floor")
					ratio = fmt.Sprintf("%.3f", elapsed.Seconds()/floor)
				}
				b.ReportMetric(float64(throttled), "429s")
				b.ReportMetric(float64(plan.customers)/elapsed.Seconds(), "customers/s")
				b.Logf("%s: %d customers, %d requests (+%.0f by the other client) in %s; floor %.2fs; ratio %s; 429s %d; %d cores, %s",
					plan.name, plan.customers, int(requests), other, elapsed.Round(time.Millisecond), floor,
					ratio, throttled, runtime.NumCPU(), runtime.Version())
				db.Close()
			}
		})
	}
}

// benchClient is the client the benchmarks import with: the daemon's
// defaults, against sim.
func benchClient(b *testing.B, sim *shopifytest.Server) *shopify.Client {
	b.Helper()
	client, err := shopify.NewClient(shopify.Config{Shop: "bench", AccessToken: token, APIVersion: "2024-04",
		APIBaseURL: sim.URL, RequestTimeout: 30 * time.Second, MaxRetries: 3}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return client
}

// benchCustomers returns n generated customers as the client decodes
// them: encoded to JSON by the simulator's types, decoded by ours.
func benchCustomers(b *testing.B, n int) []shopify.Customer {
	b.Helper()
	sim := shopifytest.NewHandler(shopifytest.Options{})
	buf, err := json.Marshal(sim.Generate(n, 1))
	if err != nil {
		b.Fatal(err)
	}
	var out []shopify.Customer
	if err := json.Unmarshal(buf, &out); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkMapUpsert measures map + ApplyPage (one transaction a page of
// 250, versions, content hash, only changed rows written) for a fresh
// import of 50,000 customers, and next to it, in the same run, a raw
// go-sqlite3 upsert of the same rows with a prepared statement and the
// same transaction size: the floor for this schema.
func BenchmarkMapUpsert(b *testing.B) {
	const n = 50_000
	customers := benchCustomers(b, n)
	mapper, _ := mapping.New(mapping.Config{})
	ctx := context.Background()

	var ours, raw time.Duration
	for b.Loop() {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "ours.db"))
		if err != nil {
			b.Fatal(err)
		}
		release, err := db.LockSync()
		if err != nil {
			b.Fatal(err)
		}
		run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		after := int64(0)
		for i := 0; i < n; i += ssync.PageSize {
			page := customers[i:min(i+ssync.PageSize, n)]
			contacts := make([]shopsync.Contact, len(page))
			for j := range page {
				if contacts[j], err = mapper.Contact(&page[j]); err != nil {
					b.Fatal(err)
				}
			}
			last := contacts[len(contacts)-1].ShopifyID
			if _, err := db.ApplyPage(ctx, run, after, last, time.Now(), contacts); err != nil {
				b.Fatal(err)
			}
			after = last
		}
		ours += time.Since(start)
		release()
		db.Close()

		// The baseline gets the mapped rows for free: it measures SQLite.
		var all []shopsync.Contact
		for i := range customers {
			c, _ := mapper.Contact(&customers[i])
			all = append(all, c)
		}
		raw += rawUpsert(b, filepath.Join(b.TempDir(), "raw.db"), all)
	}
	oursRate := float64(n*b.N) / ours.Seconds()
	rawRate := float64(n*b.N) / raw.Seconds()
	b.ReportMetric(oursRate, "customers/s")
	b.ReportMetric(rawRate, "raw_customers/s")
	b.ReportMetric(oursRate/rawRate, "x_raw")
}

// rawUpsert writes the contacts with the plainest fast go-sqlite3 code:
// the store's page size, pragmas and indexes, one prepared INSERT ... ON CONFLICT a
// contact, 250 rows a transaction. Its rows, attributes JSON included, are
// built before the clock starts: it measures SQLite alone.
func rawUpsert(b *testing.B, path string, contacts []shopsync.Contact) time.Duration {
	b.Helper()
	db := openRaw(b, path)
	defer db.Close()
	return rawInsert(b, db, contacts, ssync.PageSize)
}

// openRaw opens a new SQLite file as the store would (page size, pragmas)
// with the contacts table and its index, for the raw baselines.
func openRaw(b *testing.B, path string) *sql.DB {
	b.Helper()
	// The store's page size, set as store.Open sets it on a new file:
	// before WAL mode, which fixes it.
	setup, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size = 8192", "PRAGMA journal_mode = WAL"} {
		if _, err := setup.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	setup.Close()
	// The store's own connection settings (store/db.go): durable commits,
	// a 16 MB cache, and secure_delete, which redaction needs.
	db, err := sql.Open("sqlite3", "file:"+path+
		"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate&_cache_size=-16384&_secure_delete=on&_foreign_keys=on")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	var pageSize int
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil || pageSize != 8192 {
		b.Fatalf("raw store page size %d, %v; want the store's 8192", pageSize, err)
	}
	for _, q := range []string{
		`CREATE TABLE contacts (shopify_id INTEGER PRIMARY KEY, email TEXT, email_norm TEXT, first_name TEXT,
			last_name TEXT, phone TEXT, state TEXT, tags TEXT, shopify_created_at TEXT, shopify_updated_at TEXT,
			content_hash INTEGER, created_at TEXT, updated_at TEXT, changed_by TEXT, deleted_at TEXT,
			stamps BLOB, attributes TEXT, attribute_meta TEXT, attribute_types INTEGER)`,
		`CREATE INDEX contacts_email_norm ON contacts (email_norm)`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	// The indexes that count segments (issue 18), as the store creates
	// them: the floor for this schema includes their writes.
	ddl, err := os.ReadFile(filepath.Join("..", "store", "migrations", "0014_audience_indexes.sql"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(string(ddl)); err != nil {
		b.Fatal(err)
	}
	return db
}

// rawInsert upserts the contacts into db, batch rows a transaction, and
// returns the time the inserts took; the rows are built before the clock
// starts.
func rawInsert(b *testing.B, db *sql.DB, contacts []shopsync.Contact, batch int) time.Duration {
	b.Helper()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	type row struct {
		tags, attrs, meta, email, created, updated string
		stamps                                     []byte
	}
	rows := make([]row, len(contacts))
	for i, c := range contacts {
		tags, _ := json.Marshal(c.Tags)
		values := map[string]any{}
		for _, a := range c.Attributes {
			values[a.Name] = a.Value
		}
		attrs, _ := json.Marshal(values)
		// The same values as the store writes: real times, the
		// lower-cased email, stamps of the same size, no attribute
		// changed apart from its row (attribute_meta '{}'), and the id
		// of the one shared set of attribute types.
		r := row{tags: string(tags), attrs: string(attrs), meta: "{}", stamps: make([]byte, 80)}
		if c.Email != nil {
			r.email = strings.ToLower(*c.Email)
		}
		if c.ShopifyCreatedAt != nil {
			r.created = c.ShopifyCreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
		}
		if c.ShopifyUpdatedAt != nil {
			r.updated = c.ShopifyUpdatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
		}
		rows[i] = r
	}
	start := time.Now()
	for i := 0; i < len(contacts); i += batch {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, 1)
			ON CONFLICT (shopify_id) DO UPDATE SET email = excluded.email, attributes = excluded.attributes,
				updated_at = excluded.updated_at`)
		if err != nil {
			b.Fatal(err)
		}
		for j := i; j < min(i+batch, len(contacts)); j++ {
			c, r := &contacts[j], &rows[j]
			if _, err := st.Exec(c.ShopifyID, c.Email, r.email, c.FirstName, c.LastName, c.Phone, c.State, r.tags,
				r.created, r.updated, c.ShopifyID, now, now, "import", r.stamps, r.attrs, r.meta); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkIngest imports 50,000 customers from an unthrottled simulator
// on a loopback port into a fresh store: HTTP, JSON, mapping and upsert,
// end to end, through the real client and importer. "Unthrottled" is a
// bucket far larger than the import needs, announced in the call-limit
// header as Shopify does, so the client's pacer learns it from the first
// answer instead of assuming the Standard plan.
//
//	go test -run '^$' -bench Ingest -benchtime 3x ./sync/
func BenchmarkIngest(b *testing.B) {
	const n = 50_000
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 1, Token: token,
		BucketSize: 100_000, LeakRate: 5_000})
	defer sim.Close()
	mapper, _ := mapping.New(mapping.Config{})
	if err := sim.EncodeAll(); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for b.Loop() {
		db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "ingest.db"))
		if err != nil {
			b.Fatal(err)
		}
		im := ssync.New(db, benchClient(b, sim), mapper, slog.New(slog.DiscardHandler))
		im.SetEngine(ssync.EngineREST)
		start := time.Now()
		run, err := im.Run(context.Background(), shopsync.TriggerCLI)
		elapsed := time.Since(start)
		if err != nil || run.Fetched != n || run.Created != n {
			b.Fatalf("run %+v: %v", run, err)
		}
		total += elapsed
		db.Close()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "customers/s")
}

// BenchmarkIngestSavedSegments is BenchmarkIngest with the store wired as
// the daemon and `shopsync sync` wire it, and five saved segments: each
// contact created is evaluated against them in its transaction, and
// a segment.joined event appended for each segment it is in. It reports
// those events per customer beside the rate.
//
//	go test -run '^$' -bench IngestSavedSegments -benchtime 3x ./sync/
func BenchmarkIngestSavedSegments(b *testing.B) {
	const n = 50_000
	sim := shopifytest.NewServer(shopifytest.Options{Customers: n, Seed: 1, Token: token,
		BucketSize: 100_000, LeakRate: 5_000})
	defer sim.Close()
	mapper, _ := mapping.New(mapping.Config{})
	if err := sim.EncodeAll(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var (
		total  time.Duration
		joined int64
	)
	for b.Loop() {
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "ingest.db"))
		if err != nil {
			b.Fatal(err)
		}
		aud, err := audience.New(db, mapper, mapping.ProjectionConfig{}, audience.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i, q := range []string{`orders_count >= 1`, `email_marketing_consent = "subscribed"`, `has tag "vip"`,
			`total_spent > 100`, `verified_email and created_at > now - 365d`} {
			if err := aud.Save(ctx, fmt.Sprintf("seg%d", i), q, false); err != nil {
				b.Fatal(err)
			}
		}
		db.SetProjection(aud.EventContact)
		db.SetSegmentHook(func(saved []store.SavedSegment) store.SegmentHook {
			hook, _ := aud.SegmentHook(saved)
			return hook
		})
		im := ssync.New(db, benchClient(b, sim), mapper, slog.New(slog.DiscardHandler))
		im.SetEngine(ssync.EngineREST)
		start := time.Now()
		run, err := im.Run(ctx, shopsync.TriggerCLI)
		elapsed := time.Since(start)
		if err != nil || run.Fetched != n || run.Created != n {
			b.Fatalf("run %+v: %v", run, err)
		}
		total += elapsed
		_, last, err := db.FeedBounds(ctx)
		if err != nil {
			b.Fatal(err)
		}
		joined += last - n
		db.Close()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "customers/s")
	b.ReportMetric(float64(joined)/float64(n*b.N), "joined/customer")
}
