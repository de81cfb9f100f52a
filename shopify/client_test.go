package shopify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopify"
)

// fakeAPI is a scripted Admin API endpoint: each test decides the answers.
// The simulator in shopifytest covers realistic flows; this covers exact
// sequences of faults.
func fakeAPI(t *testing.T, h http.HandlerFunc) (*httptest.Server, shopify.Config) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, shopify.Config{
		Shop: "acme", AccessToken: "shpat_static_secret", APIVersion: "2024-04",
		APIBaseURL: srv.URL, RequestTimeout: 2 * time.Second, MaxRetries: 3,
	}
}

func newClient(t *testing.T, cfg shopify.Config, logger *slog.Logger) *shopify.Client {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c, err := shopify.NewClient(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countJSON(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Shopify-API-Version", "2024-04")
	fmt.Fprintf(w, `{"count":%d}`, n)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var calls atomic.Int32
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0.3")
			w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "40/40")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`)
			return
		}
		countJSON(w, 7)
	})
	c := newClient(t, cfg, nil)
	start := time.Now()
	n, err := c.CountCustomers(context.Background())
	if err != nil || n != 7 {
		t.Fatalf("got %d, %v; want 7", n, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("retried after %s, want at least the 0.3s Retry-After", d)
	}
	if s := c.Stats(); s.Throttled != 1 || s.Requests != 2 {
		t.Errorf("stats %+v, want 1 throttled of 2 requests", s)
	}
}

func TestServerErrorsRetriedThenGiveUp(t *testing.T) {
	var calls atomic.Int32
	failures := int32(2)
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failures {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"errors":"Bad Gateway"}`)
			return
		}
		countJSON(w, 3)
	})
	c := newClient(t, cfg, nil)
	if n, err := c.CountCustomers(context.Background()); err != nil || n != 3 {
		t.Fatalf("got %d, %v; want 3 after two retried 502s", n, err)
	}

	calls.Store(0)
	failures = 100
	cfg.MaxRetries = 1
	c = newClient(t, cfg, nil)
	_, err := c.CountCustomers(context.Background())
	var apiErr *shopify.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadGateway {
		t.Fatalf("got %v, want an APIError with status 502", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("got %d attempts, want 2 (one retry)", got)
	}
}

func TestContextEndsThrottledWait(t *testing.T) {
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30.0")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c := newClient(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := c.CountCustomers(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client kept sleeping after its context ended")
	}
}

func TestDroppedConnectionAndCutBodyRetried(t *testing.T) {
	var calls atomic.Int32
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1: // the connection drops before any answer
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		case 2: // a 200 whose JSON is cut in half
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"customers":[{"id":706405506930370084,"email":"a@`)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"customers":[{"id":706405506930370084,"email":"a@example.com","total_spent":"100.10"}]}`)
		}
	})
	c := newClient(t, cfg, nil)
	p, err := c.ListCustomers(context.Background(), 0, 250)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Customers) != 1 || p.Customers[0].ID != 706405506930370084 || p.Customers[0].TotalSpent.V != "100.10" {
		t.Fatalf("got %+v", p.Customers)
	}
	if s := c.Stats(); s.Retries != 2 {
		t.Errorf("got %d retries, want 2", s.Retries)
	}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		countJSON(w, 1)
	})
	cfg.APIBaseURL += "/proxy/" // a base URL with a path prefix
	c := newClient(t, cfg, nil)
	if _, err := c.ListCustomers(context.Background(), 0, 250); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/proxy/admin/api/2024-04/customers.json" {
		t.Errorf("path %q, want /proxy/admin/api/2024-04/customers.json", got.URL.Path)
	}
	if q := got.URL.Query(); q.Get("since_id") != "0" || q.Get("limit") != "250" {
		t.Errorf("query %q, want since_id=0 (id order from the first page) and limit=250", got.URL.RawQuery)
	}
	if tok := got.Header.Get("X-Shopify-Access-Token"); tok != "shpat_static_secret" {
		t.Errorf("access token header %q", tok)
	}
}

func TestVersionFallbackWarnsOnce(t *testing.T) {
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Shopify-API-Version", "2025-01") // 2024-04 is out of support
		fmt.Fprint(w, `{"count":1}`)
	})
	var logs bytes.Buffer
	c := newClient(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	for range 3 {
		if _, err := c.CountCustomers(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "different api version"); n != 1 {
		t.Errorf("got %d warnings, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "served=2025-01") {
		t.Errorf("warning does not name the served version:\n%s", logs.String())
	}
	if v := c.Stats().ServedVersion; v != "2025-01" {
		t.Errorf("served version %q", v)
	}
}

// tokenShop grants client-credentials tokens and accepts only the newest.
type tokenShop struct {
	mu      gosync.Mutex
	grants  int
	current string
	refuse  bool // refuse grants: wrong credentials
}

func (s *tokenShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/admin/oauth/access_token" {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
			http.Error(w, "bad grant request", http.StatusBadRequest)
			return
		}
		r.ParseForm()
		if s.refuse || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_secret") != "shpss_client_secret" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed shpss_client_secret"}`)
			return
		}
		s.grants++
		s.current = fmt.Sprintf("shpat_granted_%d", s.grants)
		fmt.Fprintf(w, `{"access_token":%q,"scope":"read_customers","expires_in":86399}`, s.current)
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.current {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	countJSON(w, 5)
}

func TestClientCredentialsRenewedOn401(t *testing.T) {
	shop := &tokenShop{}
	srv := httptest.NewServer(shop)
	defer srv.Close()
	cfg := shopify.Config{Shop: "acme", ClientID: "client-id", ClientSecret: "shpss_client_secret",
		APIVersion: "2024-04", APIBaseURL: srv.URL, MaxRetries: 2}
	c := newClient(t, cfg, nil)
	ctx := context.Background()
	if n, err := c.CountCustomers(ctx); err != nil || n != 5 {
		t.Fatalf("got %d, %v", n, err)
	}
	// Shopify revokes the token (expiry, rotation): the request in flight
	// gets a new token and succeeds, without surfacing the 401.
	shop.mu.Lock()
	shop.current = "shpat_rotated_elsewhere"
	shop.mu.Unlock()
	if n, err := c.CountCustomers(ctx); err != nil || n != 5 {
		t.Fatalf("after revocation: got %d, %v", n, err)
	}
	if shop.grants != 2 {
		t.Errorf("got %d grants, want 2", shop.grants)
	}
	if s := c.Stats(); s.TokenRenewals != 1 || s.TokenKind != "client credentials grant" {
		t.Errorf("stats %+v", s)
	}

	// Wrong credentials: a clear error that names the keys, not the secret.
	shop.mu.Lock()
	shop.refuse, shop.current = true, "x"
	shop.mu.Unlock()
	_, err := c.CountCustomers(ctx)
	var te *shopify.TokenError
	if !errors.As(err, &te) || te.Reason != "invalid_client" {
		t.Fatalf("got %v, want a TokenError invalid_client", err)
	}
	if strings.Contains(err.Error(), "shpss_client_secret") || !strings.Contains(err.Error(), "shopify.client_secret") {
		t.Errorf("error %q: want it to name the key and not hold the secret", err)
	}
}

func TestStaticTokenRefused(t *testing.T) {
	var calls atomic.Int32
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
	})
	c := newClient(t, cfg, nil)
	_, err := c.CountCustomers(context.Background())
	var apiErr *shopify.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || !strings.Contains(err.Error(), "shopify.access_token") {
		t.Fatalf("got %v, want a 401 APIError naming shopify.access_token", err)
	}
	if strings.Contains(err.Error(), "shpat_static_secret") {
		t.Errorf("error %q holds the token", err)
	}
	if calls.Load() != 1 {
		t.Errorf("a static token was tried %d times, want 1", calls.Load())
	}
}
