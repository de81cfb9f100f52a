package sync_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
)

// Shopify-side faults injected in the middle of an import. Each run must
// either end complete and correct, or fail loudly: Run returns an error,
// the stored run is failed with a reason naming the cause, what was stored
// before is kept, and the next clean run resumes and completes.
//
// Already covered in import_test.go and not repeated here: one failing
// page beyond retries (500), a cancelled run, two 502s + one cut body + one
// drop retried, a delete/add between pages, 429s from a shared bucket.

// Client-credentials app of the fault fixture.
const (
	faultClientID     = "fault-app"
	faultClientSecret = "shpss_fault_secret"
)

// faultFixture is newFixture with the simulator served through mw, which
// may rewrite requests and answers (revocation, API version changes).
func faultFixture(t *testing.T, opts shopifytest.Options, edit func(*shopify.Config), mw func(http.Handler) http.Handler) *fixture {
	t.Helper()
	opts.Token = token
	sim := shopifytest.NewHandler(opts)
	var h http.Handler = sim
	if mw != nil {
		h = mw(sim)
	}
	ts := httptest.NewServer(h)
	sim.URL = ts.URL
	t.Cleanup(func() { ts.Close(); sim.Close() })
	return fixtureFor(t, sim, edit)
}

// versionWriter replaces the served X-Shopify-API-Version when set.
type versionWriter struct {
	http.ResponseWriter
	version string
}

func (w *versionWriter) WriteHeader(code int) {
	if w.Header().Get("X-Shopify-API-Version") != "" {
		w.Header().Set("X-Shopify-API-Version", w.version)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *versionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestFaultsMidImport(t *testing.T) {
	const customers = 1000 // 4 pages of 250
	type outcome int
	const (
		completes outcome = iota
		failsLoudly
	)
	tests := []struct {
		name    string
		edit    func(*shopify.Config)
		mw      func(revoked *atomic.Bool) func(http.Handler) http.Handler
		inject  func(f *fixture, page int64, r *http.Request, revoked *atomic.Bool) // on each list request
		want    outcome
		cause   string // in the failed run's reason
		check   func(t *testing.T, f *fixture)
		prefill bool // import once before the faults
		bucket  int  // the simulator's leaky bucket, leaking 20/s; 0: no rate limit
	}{
		{name: "502 burst within retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 2 {
				f.sim.FailNext(3, http.StatusBadGateway)
			}
		}, want: completes, check: minRetries(3)},
		{name: "503 and 504 bursts within retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			switch page {
			case 2:
				f.sim.FailNext(2, http.StatusServiceUnavailable)
			case 6: // page 4, after page 2's two retries
				f.sim.FailNext(3, http.StatusGatewayTimeout)
			}
		}, want: completes, check: minRetries(5)},
		{name: "503 burst beyond retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 3 {
				f.sim.FailNext(4, http.StatusServiceUnavailable)
			}
		}, want: failsLoudly, cause: "503"},
		{name: "connection resets within retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 2 {
				f.sim.DropNext(3)
			}
		}, want: completes, check: minRetries(3)},
		{name: "connection resets beyond retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 3 { // more than 4: net/http replays some GETs itself
				f.sim.DropNext(20)
			}
		}, want: failsLoudly, cause: "EOF"},
		{name: "timeouts within retries", edit: func(c *shopify.Config) { c.RequestTimeout = 2 * time.Second },
			inject: func(f *fixture, page int64, r *http.Request, _ *atomic.Bool) {
				if page == 2 || page == 3 || page == 5 { // the first attempt of each stalls
					stall(r)
				}
			}, want: completes, check: minRetries(3)},
		{name: "timeouts beyond retries", edit: func(c *shopify.Config) { c.RequestTimeout = 2 * time.Second },
			inject: func(f *fixture, page int64, r *http.Request, _ *atomic.Bool) {
				if page >= 3 && page <= 6 { // page 3 and its three retries
					stall(r)
				}
			}, want: failsLoudly, cause: "deadline exceeded"},
		{name: "truncated JSON within retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 2 {
				f.sim.TruncateNext(3)
			}
		}, want: completes, check: minRetries(3)},
		{name: "truncated JSON beyond retries", inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
			if page == 3 {
				f.sim.TruncateNext(4)
			}
		}, want: failsLoudly, cause: "after id"},
		{name: "429 storm with 5xx", edit: func(c *shopify.Config) { c.LeakRate = 20 }, bucket: 4,
			inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
				if page%2 == 1 { // every other request meets a full bucket
					f.sim.DrainBucket(4)
				}
				if page == 4 {
					f.sim.FailNext(1, http.StatusBadGateway)
				}
			}, want: completes, check: func(t *testing.T, f *fixture) {
				if f.client.Stats().Throttled == 0 {
					t.Error("the client saw no 429")
				}
			}},
		{name: "429 storm that never ends", edit: func(c *shopify.Config) { c.LeakRate = 20 }, bucket: 4,
			inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
				if page >= 3 {
					f.sim.DrainBucket(4)
				}
			}, want: failsLoudly, cause: "429"},
		{name: "token expires on every page", edit: clientCredentials,
			inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
				if page%2 == 0 { // page k is asked at 2k-2, refused, asked again at 2k-1
					f.sim.ExpireTokens()
				}
			}, want: completes, check: func(t *testing.T, f *fixture) {
				if got := f.client.Stats().TokenRenewals; got < 3 {
					t.Errorf("%d token renewals, want at least 3", got)
				}
			}},
		{name: "app uninstalled mid-import", edit: clientCredentials, mw: revocable,
			inject: func(f *fixture, page int64, _ *http.Request, revoked *atomic.Bool) {
				if page == 3 {
					revoked.Store(true)
					f.sim.ExpireTokens()
				}
			}, want: failsLoudly, cause: "401"},
		{name: "static token revoked mid-import", mw: revocable,
			inject: func(f *fixture, page int64, _ *http.Request, revoked *atomic.Bool) {
				if page == 3 {
					revoked.Store(true)
				}
			}, want: failsLoudly, cause: "401"},
		{name: "api version changes mid-import", mw: func(*atomic.Bool) func(http.Handler) http.Handler {
			var n atomic.Int64
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/customers.json") && n.Add(1) >= 3 {
						w = &versionWriter{ResponseWriter: w, version: "2025-01"}
					}
					next.ServeHTTP(w, r)
				})
			}
		}, want: completes, check: func(t *testing.T, f *fixture) {
			if got := f.client.Stats().ServedVersion; got != "2025-01" {
				t.Errorf("served version %q, want 2025-01", got)
			}
		}},
		{name: "customers edited ahead and behind between pages", prefill: true,
			inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
				if page == 3 {
					ids := f.sim.CustomerIDs()
					for _, id := range []int64{ids[10], ids[1100]} {
						f.sim.Update(id, func(c *shopifytest.Customer) {
							note := "edited mid-import"
							c.Note = &note
							c.Tags = "vip, edited"
							c.OrdersCount++
							c.TotalSpent = "12345.67"
						})
					}
					f.sim.Delete(ids[20])   // behind
					f.sim.Delete(ids[1150]) // ahead
				}
			}, want: completes},
		{name: "count disagrees with the pages", prefill: true,
			inject: func(f *fixture, page int64, _ *http.Request, _ *atomic.Bool) {
				if page == 1 { // the count was answered just before
					ids := f.sim.CustomerIDs()
					for _, id := range ids[600:620] {
						f.sim.Delete(id)
					}
					extra := f.sim.Generate(30, 77)
					for i := range extra {
						extra[i].ID = ids[len(ids)-1] + int64(i+1)*1000
						f.sim.Upsert(extra[i])
					}
				}
			}, want: completes, check: func(t *testing.T, f *fixture) {
				if n := len(f.sim.CustomerIDs()); n != customers+10 {
					t.Errorf("simulator has %d customers, want %d", n, customers+10)
				}
			}},
	}
	// Subtests run at once, whatever GOMAXPROCS: most of their time is
	// retry backoff.
	var wg gosync.WaitGroup
	defer wg.Wait()
	for _, tt := range tests {
		wg.Go(func() {
			t.Run(tt.name, func(t *testing.T) {
				var revoked atomic.Bool
				var mw func(http.Handler) http.Handler
				if tt.mw != nil {
					mw = tt.mw(&revoked)
				}
				opts := shopifytest.Options{Customers: customers, Seed: 31, ClientID: faultClientID, ClientSecret: faultClientSecret}
				if tt.bucket > 0 {
					opts.BucketSize, opts.LeakRate = tt.bucket, 20
				}
				f := faultFixture(t, opts, tt.edit, mw)
				if tt.prefill {
					f.run(t)
				}
				before := len(f.storedIDs(t))
				if tt.inject != nil {
					var pages atomic.Int64
					f.sim.OnRequest(func(r *http.Request) {
						if strings.HasSuffix(r.URL.Path, "/customers.json") {
							tt.inject(f, pages.Add(1), r, &revoked)
						}
					})
				}

				run, err := f.im.Run(context.Background(), shopsync.TriggerCLI)
				f.sim.OnRequest(nil)
				switch tt.want {
				case completes:
					if err != nil || run.State != shopsync.RunSucceeded {
						t.Fatalf("run %+v: %v; want it to complete", run, err)
					}
					if tt.prefill { // what the first run saw behind it, the next one fixes
						f.run(t)
					}
					assertExact(t, f)
				case failsLoudly:
					if err == nil || run == nil || run.State != shopsync.RunFailed || !strings.Contains(run.Error, tt.cause) {
						t.Fatalf("run %+v, err %v; want a failed run naming %q", run, err, tt.cause)
					}
					stored, serr := f.db.Run(context.Background(), run.ID)
					if serr != nil || stored.State != shopsync.RunFailed || stored.Error != run.Error {
						t.Fatalf("stored run %+v (%v), want failed with %q", stored, serr, run.Error)
					}
					if got := len(f.storedIDs(t)); got != before+int(run.Fetched) || run.Fetched == 0 {
						t.Fatalf("%d contacts stored after fetching %d, want %d: pages before the fault were lost", got, run.Fetched, before+int(run.Fetched))
					}
					t.Logf("failed as it should: %s", run.Error)
					revoked.Store(false)
					next := f.run(t)
					if !next.Resumed || next.ImportID != run.ImportID || next.Fetched+run.Fetched != customers {
						t.Errorf("next run %+v did not resume import %d where it stopped", next, run.ImportID)
					}
					assertExact(t, f)
				}
				if tt.check != nil {
					tt.check(t, f)
				}
			})
		})
	}
}

// stall holds a request until the client gives up on it, as a Shopify
// that never answers: the client's timeout closes the connection, which
// cancels the request's context here. The bound is no clock of the test:
// it only turns a client that never gives up into a failed check instead
// of a hung test.
func stall(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(time.Minute):
	}
}

func clientCredentials(c *shopify.Config) {
	c.AccessToken, c.ClientID, c.ClientSecret = "", faultClientID, faultClientSecret
}

func minRetries(n int64) func(*testing.T, *fixture) {
	return func(t *testing.T, f *fixture) {
		t.Helper()
		if got := f.client.Stats().Retries; got < n {
			t.Errorf("client retried %d times, want at least %d", got, n)
		}
	}
}

// revocable answers 401 to every Admin API request and token grant while
// revoked is set, as Shopify does once the app is uninstalled or its
// token revoked.
func revocable(revoked *atomic.Bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if revoked.Load() && strings.HasPrefix(r.URL.Path, "/admin/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// assertExact is assertMirror checking every customer's data, not a
// sample: email, note, tags, order count, total spent, consent.
func assertExact(t *testing.T, f *fixture) {
	t.Helper()
	f.assertMirror(t)
	stored := map[int64]*shopsync.Contact{}
	if err := f.db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		cc := *c
		stored[c.ShopifyID] = &cc
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range f.sim.CustomerIDs() {
		sc, _ := f.sim.Customer(id)
		c := stored[id]
		if deref(sc.Email) != deref(c.Email) {
			t.Fatalf("contact %d: email %q, simulator %q", id, deref(c.Email), deref(sc.Email))
		}
		for name, want := range map[string]string{
			"note":         deref(sc.Note),
			"total_spent":  sc.TotalSpent,
			"orders_count": itoa(sc.OrdersCount),
		} {
			a, _ := c.Attributes.Get(name)
			if got := attrText(a); got != want {
				t.Fatalf("contact %d: %s %q, simulator %q", id, name, got, want)
			}
		}
		if want := normTags(sc.Tags); normTags(tagsText(c)) != want {
			t.Fatalf("contact %d: tags %q, simulator %q", id, tagsText(c), sc.Tags)
		}
		if sc.EmailMarketingConsent != nil {
			a, _ := c.Attributes.Get("email_marketing_consent")
			if got := attrText(a); !strings.EqualFold(got, sc.EmailMarketingConsent.State) {
				t.Fatalf("contact %d: email consent %q, simulator %q", id, got, sc.EmailMarketingConsent.State)
			}
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func attrText(a shopsync.Attribute) string {
	s, _ := a.Text()
	return s
}

func tagsText(c *shopsync.Contact) string { return strings.Join(c.Tags, ",") }

// normTags sorts a comma-separated tag list without blanks or spaces.
func normTags(s string) string {
	var tags []string
	for tag := range strings.SplitSeq(s, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			tags = append(tags, tag)
		}
	}
	slices.Sort(tags)
	return strings.Join(tags, ",")
}
