package doctor_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

const (
	token  = "shpat_doctor_SECRET"
	secret = "whsec_doctor_SECRET"
	shop   = "doctor-shop.myshopify.com"
)

// setup is a simulated shop, a client for it, a daemon's webhook address
// with a test receiver, and the doctor's configuration for them.
type setup struct {
	sim    *shopifytest.Server
	client *shopify.Client
	hooks  *httptest.Server
	recv   *doctor.TestReceiver
	cfg    doctor.Config
}

func newSetup(t *testing.T, opts shopifytest.Options, receiverSecrets ...string) *setup {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	sim := shopifytest.NewServer(opts)
	t.Cleanup(sim.Close)
	client, err := shopify.NewClient(shopify.Config{Shop: shop, AccessToken: token, APIVersion: "2024-04",
		APIBaseURL: sim.URL, RequestTimeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if receiverSecrets == nil {
		receiverSecrets = []string{secret}
	}
	// The webhook receiver refuses what the test receiver passes on, as
	// the real one does with a bad signature.
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Unauthorized", http.StatusUnauthorized) })
	recv := doctor.NewTestReceiver(refuse, shop, receiverSecrets)
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/shopify", recv)
	hooks := httptest.NewServer(mux)
	t.Cleanup(hooks.Close)
	dir := t.TempDir()
	s := &setup{sim: sim, client: client, hooks: hooks, recv: recv, cfg: doctor.Config{
		Shopify: client, Shop: shop, APIVersion: "2024-04",
		WebhookAddress: hooks.URL + "/webhooks/shopify", WebhookSecret: secret, Received: recv.Received,
		StorePath: filepath.Join(dir, "shopsync.db"),
		FreeSpace: func(string) (int64, error) { return 100 << 30, nil },
	}}
	return s
}

// subscribe subscribes every topic to the doctor's address.
func (s *setup) subscribe(t *testing.T, address string) {
	t.Helper()
	if _, err := s.client.EnsureSubscriptions(context.Background(), address, shopify.SubscriptionTopics()); err != nil {
		t.Fatal(err)
	}
}

func check(t *testing.T, r doctor.Report, id string) doctor.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", id, r.Checks)
	return doctor.Check{}
}

// TestDoctorAllGood: a shop set up right passes every check, and the
// report names no customer's data.
func TestDoctorAllGood(t *testing.T) {
	s := newSetup(t, shopifytest.Options{Customers: 40, Seed: 3})
	s.subscribe(t, s.cfg.WebhookAddress)
	r := doctor.Run(context.Background(), s.cfg)
	for _, c := range r.Checks {
		want := doctor.OK
		if c.ID == "deliveries" {
			want = doctor.Skip // no store file yet
		}
		if c.Status != want {
			t.Errorf("%s: %s %q (fix %q, detail %q), want %s", c.ID, c.Status, c.Summary, c.Fix, c.Detail, want)
		}
	}
	if r.Failed() {
		t.Error("report failed")
	}
	if s.recv.LastAt().IsZero() {
		t.Error("the test delivery did not reach the receiver")
	}
	text := ""
	for _, c := range r.Checks {
		text += c.Summary + c.Fix + c.Detail
	}
	for _, id := range s.sim.CustomerIDs() {
		c, _ := s.sim.Customer(id)
		for _, v := range []*string{c.Email, c.FirstName, c.LastName, c.Phone} {
			if v != nil && len(*v) > 3 && strings.Contains(text, *v) {
				t.Fatalf("the report holds a customer's data %q", *v)
			}
		}
	}
	if strings.Contains(text, token) || strings.Contains(text, secret) {
		t.Fatal("the report holds a secret")
	}
}

// TestDoctorFailures: each failure the doctor detects, against the
// simulator, with its one-line fix.
func TestDoctorFailures(t *testing.T) {
	noPII := func(s *shopifytest.Server) {
		for _, id := range s.CustomerIDs() {
			s.Update(id, func(c *shopifytest.Customer) { c.Email, c.FirstName, c.LastName, c.Phone = nil, nil, nil, nil })
		}
	}
	tests := []struct {
		name    string
		opts    shopifytest.Options
		prepare func(t *testing.T, s *setup)
		id      string
		status  doctor.Status
		summary string // in the summary
		fix     string // in the fix
	}{
		{name: "bad token", prepare: func(t *testing.T, s *setup) {
			c, _ := shopify.NewClient(shopify.Config{Shop: shop, AccessToken: "shpat_wrong", APIVersion: "2024-04",
				APIBaseURL: s.sim.URL}, slog.New(slog.DiscardHandler))
			s.cfg.Shopify = c
		}, id: "connection", status: doctor.Fail, summary: "refused the access token", fix: "shopify.access_token"},
		{name: "shopify unreachable", prepare: func(t *testing.T, s *setup) {
			c, _ := shopify.NewClient(shopify.Config{Shop: shop, AccessToken: token, APIVersion: "2024-04",
				APIBaseURL: closedURL(t), MaxRetries: 0}, slog.New(slog.DiscardHandler))
			s.cfg.Shopify = c
		}, id: "connection", status: doctor.Fail, summary: "could not reach Shopify", fix: "firewall"},
		{name: "no read_customers", opts: shopifytest.Options{Scopes: []string{"read_orders"}},
			id: "scope", status: doctor.Fail, summary: "lacks the read_customers scope (it has read_orders)", fix: "Admin API scope"},
		{name: "protected data withheld", opts: shopifytest.Options{Customers: 30, Seed: 4},
			prepare: func(t *testing.T, s *setup) { noPII(s.sim) },
			id:      "protected_data", status: doctor.Fail, summary: "no name and no email for any of the 25 customers", fix: "protected customer data"},
		{name: "unsupported version", opts: shopifytest.Options{APIVersions: []string{"2025-01", "2025-04"}},
			id: "api_version", status: doctor.Warn, summary: "Shopify serves 2025-01", fix: "shopify.api_version: 2025-01"},
		{name: "clock far ahead", prepare: func(t *testing.T, s *setup) {
			s.cfg.Shopify = skewed{s.client, 3 * time.Minute}
		}, id: "clock", status: doctor.Fail, summary: "3m0s ahead of Shopify", fix: "timedatectl"},
		{name: "clock a little behind", prepare: func(t *testing.T, s *setup) {
			s.cfg.Shopify = skewed{s.client, -10 * time.Second}
		}, id: "clock", status: doctor.Warn, summary: "10s behind", fix: "time synchronisation"},
		{name: "no subscriptions", prepare: func(t *testing.T, s *setup) {},
			id: "subscriptions", status: doctor.Fail, summary: "10 topics are not subscribed", fix: "shopsync webhooks register"},
		{name: "subscriptions elsewhere too", prepare: func(t *testing.T, s *setup) {
			s.subscribe(t, s.cfg.WebhookAddress)
			s.subscribe(t, "https://old.example.com/webhooks/shopify")
		}, id: "subscriptions", status: doctor.Warn, summary: "also to https://old.example.com/webhooks/shopify", fix: "old address"},
		{name: "no webhook address", prepare: func(t *testing.T, s *setup) { s.cfg.WebhookAddress = "" },
			id: "subscriptions", status: doctor.Warn, summary: "webhooks.address is not set", fix: "reverse proxy"},
		{name: "no webhook key", prepare: func(t *testing.T, s *setup) { s.cfg.WebhookSecret = "" },
			id: "test_delivery", status: doctor.Fail, summary: "No webhook key", fix: "shopify.webhook_secrets"},
		{name: "nothing listens at the address", prepare: func(t *testing.T, s *setup) { s.cfg.WebhookAddress = closedURL(t) + "/webhooks/shopify" },
			id: "test_delivery", status: doctor.Fail, summary: "Nothing answered", fix: "reverse proxy forwards POST /webhooks/shopify"},
		{name: "daemon with other keys", prepare: func(t *testing.T, s *setup) {
			s.cfg.WebhookAddress = newSetup(t, shopifytest.Options{}, "another_key").cfg.WebhookAddress
			s.cfg.Received = nil
		}, id: "test_delivery", status: doctor.Fail, summary: "refused the test delivery's signature", fix: "same shopify.client_secret"},
		{name: "wrong path", prepare: func(t *testing.T, s *setup) { s.cfg.WebhookAddress = s.hooks.URL + "/webhooks" },
			id: "test_delivery", status: doctor.Fail, summary: "answered HTTP 404", fix: "check the path"},
		{name: "something else answers", prepare: func(t *testing.T, s *setup) {
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
			t.Cleanup(other.Close)
			s.cfg.WebhookAddress = other.URL
		}, id: "test_delivery", status: doctor.Fail, summary: "not as shopsync does", fix: "Something else answers"},
		{name: "another shopsync answers", prepare: func(t *testing.T, s *setup) {
			s.cfg.Received = func(string) bool { return false }
		}, id: "test_delivery", status: doctor.Fail, summary: "Another shopsync answered", fix: "different daemon"},
		{name: "too slow", prepare: func(t *testing.T, s *setup) {
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // then the server notices the client leaving
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}))
			t.Cleanup(slow.Close)
			s.cfg.WebhookAddress, s.cfg.WebhookTimeout = slow.URL, 200*time.Millisecond
		}, id: "test_delivery", status: doctor.Fail, summary: "did not answer within 200ms", fix: "forwards to it quickly"},
		{name: "bad signatures refused", prepare: func(t *testing.T, s *setup) {
			db := openStore(t, s.cfg.StorePath)
			if err := db.AddRejections(context.Background(), []store.RejectionCount{
				{Hour: time.Now(), Reason: "signature", Count: 12, LastAt: time.Now()},
				{Hour: time.Now(), Reason: "method", Count: 2, LastAt: time.Now()}}); err != nil {
				t.Fatal(err)
			}
			s.cfg.Store = db
		}, id: "deliveries", status: doctor.Fail, summary: "12 deliveries with a bad signature", fix: "Settings > Notifications > Webhooks"},
		{name: "store readable by others", prepare: func(t *testing.T, s *setup) {
			openStore(t, s.cfg.StorePath)
			os.Chmod(s.cfg.StorePath, 0o644)
		}, id: "store_file", status: doctor.Warn, summary: "can be read by other users", fix: "chmod 600"},
		{name: "disk nearly full", prepare: func(t *testing.T, s *setup) {
			s.cfg.FreeSpace = func(string) (int64, error) { return 10 << 20, nil }
		}, id: "disk", status: doctor.Fail, summary: "Only 10 MB free", fix: "Free at least 64 MB"},
		{name: "disk getting full", prepare: func(t *testing.T, s *setup) {
			s.cfg.FreeSpace = func(string) (int64, error) { return 300 << 20, nil }
		}, id: "disk", status: doctor.Warn, summary: "300 MB free", fix: "full disk stops syncs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Customers == 0 {
				tt.opts.Customers, tt.opts.Seed = 10, 5
			}
			s := newSetup(t, tt.opts)
			if tt.id != "subscriptions" {
				s.subscribe(t, s.cfg.WebhookAddress)
			}
			if tt.prepare != nil {
				tt.prepare(t, s)
			}
			r := doctor.Run(context.Background(), s.cfg)
			c := check(t, r, tt.id)
			if c.Status != tt.status || !strings.Contains(c.Summary, tt.summary) || !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("%s: %s %q fix %q (detail %q); want %s with %q and fix %q", c.ID, c.Status, c.Summary, c.Fix, c.Detail, tt.status, tt.summary, tt.fix)
			}
			if got := r.Failed(); got != (tt.status == doctor.Fail) {
				t.Errorf("Failed() = %v with %s", got, tt.status)
			}
		})
	}
}

// TestDoctorStoreNotWritable: a store the user may not write fails (not
// as root, whom modes do not stop).
func TestDoctorStoreNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes read-only files")
	}
	s := newSetup(t, shopifytest.Options{Customers: 1, Seed: 1})
	s.subscribe(t, s.cfg.WebhookAddress)
	openStore(t, s.cfg.StorePath)
	os.Chmod(s.cfg.StorePath, 0o400)
	c := check(t, doctor.Run(context.Background(), s.cfg), "store_file")
	if c.Status != doctor.Fail || !strings.Contains(c.Summary, "cannot be written") {
		t.Errorf("%+v", c)
	}
}

// TestTestReceiver: only a signed, fresh test delivery for the shop is
// answered with a proof, and nothing else reaches past the receiver.
func TestTestReceiver(t *testing.T) {
	var passed int
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { passed++; w.WriteHeader(http.StatusUnauthorized) })
	recv := doctor.NewTestReceiver(next, shop, []string{"old", secret})
	srv := httptest.NewServer(recv)
	defer srv.Close()
	ctx := context.Background()
	now := time.Now()
	td, err := doctor.SendTestDelivery(ctx, srv.Client(), srv.URL, shop, secret, now)
	if err != nil || td.Status != 200 || !td.Proven || !recv.Received(td.Nonce) || passed != 0 {
		t.Fatalf("good delivery: %+v %v passed %d", td, err, passed)
	}
	for _, tc := range []struct {
		name         string
		shop, secret string
		at           time.Time
		status       int
		passes       bool
	}{
		{"wrong key", shop, "guess", now, 401, true},
		{"other shop", "other.myshopify.com", secret, now, 401, true},
		{"replayed an hour later", shop, secret, now.Add(-time.Hour), 400, false},
		{"from the future", shop, secret, now.Add(time.Hour), 400, false},
	} {
		passed = 0
		td, err := doctor.SendTestDelivery(ctx, srv.Client(), srv.URL, tc.shop, tc.secret, tc.at)
		if err != nil || td.Status != tc.status || td.Proven || recv.Received(td.Nonce) || (passed == 1) != tc.passes {
			t.Errorf("%s: %+v %v passed %d", tc.name, td, err, passed)
		}
	}
	// Not a test delivery: the receiver's.
	passed = 0
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if passed != 1 {
		t.Error("an ordinary delivery did not reach the receiver")
	}
}

// skewed is a Shopify client whose clock differs from Shopify's by d.
type skewed struct {
	*shopify.Client
	d time.Duration
}

func (s skewed) Probe(ctx context.Context) (shopify.ShopProbe, error) {
	p, err := s.Client.Probe(ctx)
	p.ReceivedAt = p.ReceivedAt.Add(s.d)
	return p, err
}

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
