package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

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
	srv, _ := newServerWith(t, func(c *server.Config) {
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
	srv, _ := newServerWith(t, func(c *server.Config) {
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
