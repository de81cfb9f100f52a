package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync/server"
)

// request sends method path to srv naming host in the Host header, with
// extra headers, and returns the response with its body read.
func request(t *testing.T, srvURL, method, path, host string, header map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srvURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestDNSRebinding: without a sync token, a page whose name an attacker
// points at 127.0.0.1 reaches the listener as same-origin. Its requests
// name the attacker's host: they must get 421 on every route, the
// webhook receiver excepted, while loopback names keep working on any
// port.
func TestDNSRebinding(t *testing.T) {
	var hooks atomic.Int32
	srv, _, _ := newServerWith(t, "", func(c *server.Config) {
		c.Webhooks = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hooks.Add(1) })
	})
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	evil := "rebind.attacker.example:" + port
	origin := map[string]string{"Origin": "http://" + evil} // what the attacker's page sends
	for _, tc := range []struct{ method, path string }{
		{"POST", "/sync"}, {"GET", "/contacts?email=a@b.c"}, {"GET", "/contacts/1"}, {"GET", "/sync/status"},
		{"GET", "/sync/runs"}, {"GET", "/api/session"}, {"GET", "/api/contacts?q=a"}, {"GET", "/api/overview"},
		{"GET", "/api/contacts/1"}, {"POST", "/logout"}, {"POST", "/login"}, {"GET", "/"}, {"GET", "/assets/app.js"},
		{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"}, {"GET", "/nothing-here"},
	} {
		for _, host := range []string{evil, "rebind.attacker.example", "127.0.0.1.attacker.example:" + port,
			"localhost.attacker.example", "[::2]:" + port, "10.0.0.1:" + port} {
			resp, body := request(t, srv.URL, tc.method, tc.path, host, origin, nil)
			if resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("%s %s with Host %s: %d %.80s, want 421", tc.method, tc.path, host, resp.StatusCode, body)
			}
			if strings.Contains(string(body), "csrf") {
				t.Errorf("%s %s with Host %s handed out a CSRF token", tc.method, tc.path, host)
			}
		}
	}
	// Nothing ran.
	_, body := request(t, srv.URL, "GET", "/sync/runs", "", nil, nil)
	if !strings.Contains(string(body), `"runs": []`) {
		t.Errorf("a run was started through the rebound name: %s", body)
	}
	// Loopback names work on any port: an SSH tunnel changes the port.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost:9999", "localhost.:" + port,
		"127.0.0.2:80", "[::1]:" + port, "[::ffff:127.0.0.1]:" + port, "localhost"} {
		resp, body := request(t, srv.URL, "GET", "/api/session", host, nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "csrf") {
			t.Errorf("/api/session with Host %s: %d %.80s, want 200", host, resp.StatusCode, body)
		}
	}
	// The webhook receiver is reached under the public name a proxy
	// forwards; its HMAC is the guard.
	if resp, _ := request(t, srv.URL, "POST", "/webhooks/shopify", "sync.shop.example", nil, strings.NewReader("{}")); resp.StatusCode != http.StatusOK || hooks.Load() != 1 {
		t.Errorf("webhook under a public name: %d, %d deliveries handled", resp.StatusCode, hooks.Load())
	}
}

// TestAllowedHosts: with a sync token, http.allowed_hosts restricts the
// names answered (loopback always); without the list, any name is.
func TestAllowedHosts(t *testing.T) {
	srv, _, _ := newServerWith(t, "", func(c *server.Config) {
		c.SyncToken = token
		c.AllowedHosts = []string{"Sync.Shop.Example"}
	})
	for _, tc := range []struct {
		host string
		want int
	}{
		{"sync.shop.example", 200}, {"sync.shop.example:443", 200}, {"SYNC.SHOP.EXAMPLE.", 200},
		{"127.0.0.1:1", 200}, {"localhost", 200}, {"rebind.attacker.example", 421}, {"shop.example", 421},
	} {
		if resp, body := request(t, srv.URL, "GET", "/healthz", tc.host, nil, nil); resp.StatusCode != tc.want {
			t.Errorf("Host %s: %d %.80s, want %d", tc.host, resp.StatusCode, body, tc.want)
		}
	}
	open, _ := newServer(t, token)
	if resp, _ := request(t, open.URL, "GET", "/healthz", "anything.example", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("with a token and no list, any host: %d, want 200", resp.StatusCode)
	}
}

// TestNosniffEverywhere: every answer says X-Content-Type-Options:
// nosniff, JSON, metrics, the page and errors alike.
func TestNosniffEverywhere(t *testing.T) {
	srv, _ := newServer(t, token)
	for _, tc := range []struct{ method, path, host string }{
		{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/metrics", ""}, {"GET", "/", ""},
		{"GET", "/assets/app.js", ""}, {"GET", "/sync/status", ""}, {"GET", "/api/session", ""},
		{"GET", "/nothing", ""}, {"GET", "/sync", ""}, {"POST", "/webhooks/shopify", ""},
	} {
		resp, _ := request(t, srv.URL, tc.method, tc.path, tc.host, nil, nil)
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, want nosniff", tc.method, tc.path, resp.StatusCode, got)
		}
	}
	noToken, _ := newServer(t, "")
	if resp, _ := request(t, noToken.URL, "GET", "/healthz", "rebind.attacker.example", nil, nil); resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("421: X-Content-Type-Options %q", resp.Header.Get("X-Content-Type-Options"))
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFailedAuthLimited: one bucket for the failures of every path and
// every connection. Beyond its burst a wrong bearer token or sign-in gets
// 429 with Retry-After at once, however many are sent in parallel; the
// right token still works; failures are logged as counts, never values.
func TestFailedAuthLimited(t *testing.T) {
	var logs lockedBuffer
	srv, _, _ := newServerWith(t, "", func(c *server.Config) {
		c.SyncToken = token
		c.FailedAuthBurst = 5
		c.FailedAuthEvery = time.Hour
		c.FailedAuthLogEvery = 100 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	// 40 guesses in parallel, on their own connections: 5 are compared
	// and refused with 401, the rest get 429 without waiting.
	var (
		wg             gosync.WaitGroup
		mu             gosync.Mutex
		codes          = map[int]int{}
		retry          string
		guesses        []string
		start          = time.Now()
		parallelClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	)
	for i := range 40 {
		guess := fmt.Sprintf("guess-%02d-%s", i, strings.Repeat("z", 20))
		guesses = append(guesses, guess)
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL+"/sync/status", nil)
			req.Header.Set("Authorization", "Bearer "+guess)
			resp, err := parallelClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			codes[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				retry = resp.Header.Get("Retry-After")
			}
		})
	}
	wg.Wait()
	if codes[http.StatusUnauthorized] != 5 || codes[http.StatusTooManyRequests] != 35 {
		t.Errorf("40 parallel wrong guesses: %v, want 5 × 401 and 35 × 429", codes)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 3600 {
		t.Errorf("Retry-After %q, want seconds until the bucket refills (at most an hour)", retry)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusals took %s: the limiter must answer at once, not sleep", d)
	}
	// The sign-in form shares the bucket.
	resp, _ := request(t, srv.URL, "POST", "/login", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"token": {"wrong-sign-in"}}.Encode()))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || len(resp.Cookies()) != 0 {
		t.Errorf("wrong sign-in after the bearer failures: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The genuine client is not locked out: a right token, by bearer or
	// by sign-in, passes while the bucket is empty.
	if code, _ := do(t, "GET", srv.URL+"/sync/status", "Bearer "+token); code != http.StatusOK {
		t.Errorf("right token while failures are limited: %d, want 200", code)
	}
	resp, _ = request(t, srv.URL, "POST", "/login", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Errorf("right sign-in while failures are limited: %d %v, want 303 and a cookie", resp.StatusCode, resp.Cookies())
	}
	// One aggregated line, counts only.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "failed authentications") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := logs.String()
	for _, want := range []string{"failed authentications", "failures=41", "bearer=40", "sign_in=1", "rate_limited=36"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, g := range append(guesses, "wrong-sign-in", token) {
		if strings.Contains(out, g) {
			t.Fatalf("log holds a presented token %q:\n%s", g, out)
		}
	}
	if n := strings.Count(out, "failed authentications"); n != 1 {
		t.Errorf("%d log lines for one interval, want 1:\n%s", n, out)
	}
	var body map[string]any
	resp, b := request(t, srv.URL, "GET", "/sync/runs", "", map[string]string{"Authorization": "Bearer nope"}, nil)
	json.Unmarshal(b, &body)
	if resp.StatusCode != http.StatusTooManyRequests || body["error"] == nil {
		t.Errorf("limited bearer answer: %d %s", resp.StatusCode, b)
	}
}
