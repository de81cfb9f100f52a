package sync_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopifytest"
	ssync "github.com/shopsync/shopsync/sync"
)

// orderScopes let a bulk query read Customer.lastOrder.
var orderScopes = []string{"read_customers", "read_orders", "read_all_orders"}

// bulkFixture is a fixture whose importer uses engine.
func bulkFixture(t *testing.T, opts shopifytest.Options, engine ssync.Engine) *fixture {
	t.Helper()
	if opts.Scopes == nil {
		opts.Scopes = orderScopes
	}
	f := newFixture(t, opts, nil)
	f.im.SetEngine(engine)
	ssync.FastPolls(f.im, time.Minute)
	return f
}

// contacts returns every active contact by id.
func (f *fixture) contacts(t *testing.T) map[int64]*shopsync.Contact {
	t.Helper()
	out := map[int64]*shopsync.Contact{}
	if err := f.db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		out[c.ShopifyID] = c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBulkImportEqualsREST imports the same simulated shop over REST into
// one store and through a bulk operation into another, its file in id
// order and then shuffled, and compares every contact field by field,
// attributes included.
func TestBulkImportEqualsREST(t *testing.T) {
	rest := newFixture(t, shopifytest.Options{Customers: 1300, Seed: 41, Scopes: orderScopes}, nil)
	rest.im.SetEngine(ssync.EngineREST)
	if run := rest.run(t); run.Engine != shopsync.EngineREST || run.Fetched != 1300 {
		t.Fatalf("rest run %+v", run)
	}
	want := rest.contacts(t)

	for _, shuffled := range []bool{false, true} {
		bulk := fixtureFor(t, rest.sim, nil)
		bulk.im.SetEngine(ssync.EngineBulk)
		ssync.FastPolls(bulk.im, time.Minute)
		if shuffled {
			rest.sim.FailNextBulk(shopifytest.BulkShuffled)
		}
		run := bulk.run(t)
		if run.Engine != shopsync.EngineBulk || run.Fetched != 1300 || run.Created != 1300 || run.Total != 1300 || run.Prepared != 1300 {
			t.Fatalf("bulk run (shuffled %v) %+v", shuffled, run)
		}
		got := bulk.contacts(t)
		if len(got) != len(want) {
			t.Fatalf("bulk store %d contacts, rest %d", len(got), len(want))
		}
		for id, w := range want {
			if d := cmp.Diff(got[id], w); d != "" {
				t.Fatalf("contact %d (shuffled %v) (-bulk +rest):\n%s", id, shuffled, d)
			}
		}
		// A REST import over the bulk store changes nothing.
		bulk.im.SetEngine(ssync.EngineREST)
		if again := bulk.run(t); again.Unchanged != 1300 || again.Updated != 0 || again.Created != 0 {
			t.Fatalf("rest import after bulk: %+v", again)
		}
	}
	if st := rest.sim.BulkStats(); st.TokenLeaks != 0 || st.Submitted != 2 {
		t.Errorf("bulk stats %+v", st)
	}
}

// TestBulkImportDetectsDeletions changes the shop between two bulk
// imports, the second with a shuffled file: edits are applied, new
// customers created, deleted ones marked deleted, as a REST import does.
func TestBulkImportDetectsDeletions(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 2100, Seed: 5}, ssync.EngineBulk)
	f.run(t)
	ids := f.sim.CustomerIDs()
	for _, id := range ids[100:104] {
		f.sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("bulk edit") })
	}
	for _, id := range []int64{ids[0], ids[1500], ids[2099]} {
		f.sim.Delete(id)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	f.sim.Upsert(shopifytest.Customer{ID: ids[2099] + 10, Email: ptrTo("new@example.com"), State: "enabled",
		TotalSpent: "0.00", Currency: "EUR", CreatedAt: now, UpdatedAt: now})
	f.sim.FailNextBulk(shopifytest.BulkShuffled)
	run := f.run(t)
	if run.Updated != 4 || run.Deleted != 3 || run.Created != 1 || run.Unchanged != 2093 {
		t.Fatalf("run %+v, want 4 updated, 3 deleted, 1 created, 2093 unchanged", run)
	}
	f.assertMirror(t)
}

func ptrTo[T any](v T) *T { return &v }

// TestBulkFailuresDeleteNothing runs each way a bulk job can fail after a
// customer was deleted in Shopify: with the bulk engine the run fails and
// deletes nothing, the next run starts a new import; with auto the same
// run imports over REST instead, completely, deletion included.
func TestBulkFailuresDeleteNothing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fault  shopifytest.BulkFault
		expire bool
		reason string
	}{
		{"failed", shopifytest.BulkFail, false, "ended FAILED with INTERNAL_SERVER_ERROR"},
		{"partial_data", shopifytest.BulkPartialData, false, "partial data is not used"},
		{"no_url", shopifytest.BulkNoURL, false, "without a result file"},
		{"short_file", shopifytest.BulkShortFile, false, "it is short"},
		{"truncated_file", shopifytest.BulkTruncated, false, "could not be read"},
		{"expired", shopifytest.BulkOK, true, "could not be read"},
	} {
		for _, engine := range []ssync.Engine{ssync.EngineBulk, ssync.EngineAuto} {
			t.Run(tt.name+"/"+string(engine), func(t *testing.T) {
				t.Parallel()
				f := bulkFixture(t, shopifytest.Options{Customers: 300, Seed: 9}, ssync.EngineREST)
				ssync.SetMinBulk(f.im, 0)
				f.run(t) // a complete import first
				f.im.SetEngine(engine)
				gone := f.sim.CustomerIDs()[200]
				f.sim.Delete(gone)
				f.sim.FailNextBulk(tt.fault)
				if tt.expire {
					f.sim.OnBulkFile(func(*http.Request) { f.sim.ExpireBulk() })
				}
				if engine == ssync.EngineAuto {
					// A REST floor no bulk job can miss: Standard's bucket
					// leaking a point a second.
					f.sim.SetGraphQLRestoreRate(1)
				}
				run, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
				if engine == ssync.EngineBulk {
					var be *ssync.BulkError
					if !errors.As(err, &be) || !be.Restarted || !strings.Contains(err.Error(), tt.reason) {
						t.Fatalf("run %+v, err %v; want a BulkError saying %q", run, err, tt.reason)
					}
					if run.Deleted != 0 || len(f.storedIDs(t)) != 300 {
						t.Fatalf("a failed bulk import deleted contacts: run %+v, %d left", run, len(f.storedIDs(t)))
					}
					stored, _ := f.db.Run(context.Background(), run.ID)
					if stored.State != shopsync.RunFailed || !strings.Contains(stored.Error, tt.reason) {
						t.Errorf("stored run %+v", stored)
					}
					f.sim.OnBulkFile(nil)
					next := f.run(t) // a new job, a new import: it completes
					if next.Resumed || next.Deleted != 1 || next.Engine != shopsync.EngineBulk {
						t.Fatalf("next run %+v", next)
					}
				} else {
					if err != nil || run.Engine != shopsync.EngineREST || run.Deleted != 1 {
						t.Fatalf("auto run %+v, %v; want a REST import that deleted 1", run, err)
					}
					if st := f.sim.BulkStats(); st.Submitted != 1 {
						t.Fatalf("bulk stats %+v: auto did not try the bulk engine first", st)
					}
				}
				f.assertMirror(t)
			})
		}
	}
}

// TestBulkImportResumesDownload interrupts a bulk import once its first
// chunk is stored: the next run re-attaches to the same job and asks for
// the rest of the file from where it stopped (Range), or skips what it had
// when the server ignores Range; the store ends equal to the shop.
func TestBulkImportResumesDownload(t *testing.T) {
	for _, ignoreRange := range []bool{false, true} {
		t.Run(map[bool]string{false: "range", true: "no_range"}[ignoreRange], func(t *testing.T) {
			f := bulkFixture(t, shopifytest.Options{Customers: 3000, Seed: 13}, ssync.EngineBulk)
			f.sim.IgnoreRange(ignoreRange)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f.im.OnProgress(func(r shopsync.SyncRun) {
				if r.Fetched >= 1000 {
					cancel()
				}
			})
			run, err := f.im.Run(ctx, shopsync.TriggerCLI)
			if !errors.Is(err, context.Canceled) || run.Fetched < 1000 || run.Fetched >= 3000 {
				t.Fatalf("interrupted run %+v, %v", run, err)
			}
			f.im.OnProgress(nil)
			f.sim.CutBulkDownloads(1) // and a cut transfer within the run
			next := f.run(t)
			if !next.Resumed || next.Fetched+run.Fetched != 3000 || next.Created+run.Created != 3000 {
				t.Fatalf("resumed run %+v after %+v", next, run)
			}
			st := f.sim.BulkStats()
			if st.Submitted != 1 || (!ignoreRange && st.RangeFrom == 0) || st.TokenLeaks != 0 {
				t.Errorf("bulk stats %+v: want one job, resumed with a Range", st)
			}
			f.assertMirror(t)
		})
	}
}

// TestBulkBusy starts a bulk query "by another client of the app" before
// shopsync's: before API 2026-01 the bulk engine waits for it, auto
// imports over REST; a CANCELING one blocks too; from 2026-01 five run at
// once and shopsync's starts beside it.
func TestBulkBusy(t *testing.T) {
	for _, tt := range []struct {
		name      string
		version   string
		canceling bool
		engine    ssync.Engine
		wantREST  bool
	}{
		{"running_bulk_waits", "2025-07", false, ssync.EngineBulk, false},
		{"canceling_bulk_waits", "2025-07", true, ssync.EngineBulk, false},
		{"running_auto_rest", "2025-07", false, ssync.EngineAuto, true},
		{"2026_01_runs_beside", "2026-01", false, ssync.EngineBulk, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := bulkFixture(t, shopifytest.Options{Customers: 700, Seed: 17, APIVersions: []string{tt.version}}, tt.engine)
			ssync.SetMinBulk(f.im, 0)
			f.sim.SetGraphQLRestoreRate(1)
			d := 300 * time.Millisecond
			if tt.version >= "2026-01" {
				d = time.Hour
			}
			foreign := f.sim.StartForeignBulk(d, tt.canceling)
			run := f.run(t)
			if got := run.Engine == shopsync.EngineREST; got != tt.wantREST || run.Fetched != 700 {
				t.Fatalf("run %+v; want rest %v", run, tt.wantREST)
			}
			if !tt.wantREST && slices.Contains(f.sim.BulkOperationIDs(), foreign) {
				t.Fatalf("shopsync adopted %s, a job it did not start", foreign)
			}
			f.assertMirror(t)
		})
	}
}

// TestBulkWaitsBounded gives up waiting for a job shopsync did not start
// after the configured time, saying which job and what to do.
func TestBulkWaitsBounded(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 10, APIVersions: []string{"2025-07"}}, ssync.EngineBulk)
	ssync.FastPolls(f.im, 50*time.Millisecond)
	foreign := f.sim.StartForeignBulk(time.Hour, false)
	_, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
	if err == nil || !strings.Contains(err.Error(), foreign) || !strings.Contains(err.Error(), "--engine rest") {
		t.Fatalf("err %v; want the foreign job named and a way out", err)
	}
}

// TestBulkNeedsOrderScopes refuses a bulk import that cannot read the last
// order the mapping wants (GraphQL gives it only with read_orders and
// read_all_orders) before submitting anything; auto reads over REST.
func TestBulkNeedsOrderScopes(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 300, Scopes: []string{"read_customers"}}, ssync.EngineBulk)
	_, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
	var be *ssync.BulkError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "read_all_orders") {
		t.Fatalf("err %v", err)
	}
	if st := f.sim.BulkStats(); st.Submitted != 0 {
		t.Fatalf("a job was submitted: %+v", st)
	}
	f.im.SetEngine(ssync.EngineAuto)
	ssync.SetMinBulk(f.im, 0)
	f.sim.SetGraphQLRestoreRate(1)
	if run := f.run(t); run.Engine != shopsync.EngineREST || run.Fetched != 300 {
		t.Fatalf("auto run %+v", run)
	}
}

// TestBulkEngineSwitchCancelsJob interrupts a bulk import while Shopify
// builds its file, then imports over REST: the job, which will not be
// resumed, is canceled, and the REST import starts from the first customer.
func TestBulkEngineSwitchCancelsJob(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 500, Seed: 19, BulkRate: 50}, ssync.EngineBulk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.im.OnProgress(func(r shopsync.SyncRun) {
		if r.Prepared > 0 {
			cancel()
		}
	})
	if _, err := f.im.Run(ctx, shopsync.TriggerCLI); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	f.im.OnProgress(nil)
	f.im.SetEngine(ssync.EngineREST)
	run := f.run(t)
	if run.Engine != shopsync.EngineREST || run.Fetched != 500 || run.Resumed {
		t.Fatalf("rest run %+v", run)
	}
	if st := f.sim.BulkStats(); st.Canceled != 1 {
		t.Fatalf("bulk stats %+v: want the job canceled", st)
	}
	f.assertMirror(t)
}

func TestChooseBulk(t *testing.T) {
	for _, tt := range []struct {
		n       int64
		restore float64
		want    bool
	}{
		{10_000, 100, false},
		{50_000, 100, false},
		{60_000, 100, true}, // Standard: about 53,000 and up
		{1_000_000, 100, true},
		{150_000, 200, false}, // Advanced: about 160,000 and up
		{170_000, 200, true},
		{1_000_000, 1000, false}, // Plus: REST's 5,000/s beats the assumed bulk rate
		{60_000, 0, true},        // no cost extension: Standard assumed
	} {
		if got := ssync.ChooseBulk(tt.n, tt.restore); got != tt.want {
			t.Errorf("chooseBulk(%d, %v) = %v, want %v", tt.n, tt.restore, got, tt.want)
		}
	}
}

// TestBulkEmptyShop imports a shop without customers: Shopify completes
// the job without a file, which is right only because the job and both
// counts say zero; stored contacts are then deleted, as REST would.
func TestBulkEmptyShop(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 3, Seed: 2}, ssync.EngineBulk)
	f.run(t)
	for _, id := range f.sim.CustomerIDs() {
		f.sim.Delete(id)
	}
	if run := f.run(t); run.Fetched != 0 || run.Deleted != 3 || run.State != shopsync.RunSucceeded {
		t.Fatalf("run %+v", run)
	}
}

// TestBulkQueryChangeRestarts interrupts a bulk import whose job reads the
// last order, then revokes the order scopes: the job's file would lack
// what the next run's query reads, so the next run cancels it and starts
// a new job and a new import.
func TestBulkQueryChangeRestarts(t *testing.T) {
	f := bulkFixture(t, shopifytest.Options{Customers: 50, Seed: 31, BulkRate: 40}, ssync.EngineBulk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.im.OnProgress(func(r shopsync.SyncRun) {
		if r.Prepared > 0 {
			cancel()
		}
	})
	if _, err := f.im.Run(ctx, shopsync.TriggerCLI); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	f.sim.SetScopes("read_customers")
	var attrs []string
	for _, a := range mapping.DefaultAttributes() {
		if !strings.HasPrefix(a, "last_order_") {
			attrs = append(attrs, a)
		}
	}
	mapper, err := mapping.New(mapping.Config{Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	im := ssync.New(f.db, f.client, mapper, slog.New(slog.DiscardHandler))
	im.SetEngine(ssync.EngineBulk)
	ssync.FastPolls(im, time.Minute)
	run, err := im.Run(context.Background(), shopsync.TriggerCLI)
	if err != nil || run.Fetched != 50 || run.Resumed {
		t.Fatalf("run %+v, %v", run, err)
	}
	if st := f.sim.BulkStats(); st.Submitted != 2 || st.Canceled != 1 {
		t.Fatalf("bulk stats %+v: want the first job canceled and a second", st)
	}
}
