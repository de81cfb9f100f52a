package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

const token = "sync-token-for-tests"

func newServer(t *testing.T, syncToken string) (*httptest.Server, *shopifytest.Server) {
	t.Helper()
	srv, sim, _ := newServerWith(t, syncToken, nil)
	return srv, sim
}

// newServerWith is newServer, its config changed by edit, and its store.
func newServerWith(t *testing.T, syncToken string, edit func(*server.Config)) (*httptest.Server, *shopifytest.Server, *store.DB) {
	t.Helper()
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 30, Seed: 61, Token: "shpat"})
	t.Cleanup(sim.Close)
	logger := slog.New(slog.DiscardHandler)
	client, err := shopify.NewClient(shopify.Config{Shop: "s", AccessToken: "shpat", APIVersion: "2024-04",
		APIBaseURL: sim.URL, RequestTimeout: 5 * time.Second}, logger)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db := testutil.MustOpenDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	syncer := ssync.NewSyncer(ctx, ssync.New(db, client, m, logger), logger)
	t.Cleanup(func() { cancel(); syncer.Wait() })
	reg := prometheus.NewRegistry()
	server.NewRunMetrics(reg)
	server.RegisterClient(reg, client.Stats)
	cfg := server.Config{Store: db, Syncer: syncer, Gatherer: reg,
		Webhooks: http.NotFoundHandler(), SyncToken: syncToken, Logger: logger, Shop: "s.myshopify.com"}
	if edit != nil {
		edit(&cfg)
	}
	srv := httptest.NewServer(server.New(cfg))
	t.Cleanup(srv.Close)
	return srv, sim, db
}

func do(t *testing.T, method, url, auth string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp.StatusCode, body
}

// TestAuth: every API endpoint needs the token, compared exactly; health
// and metrics do not.
func TestAuth(t *testing.T) {
	srv, _ := newServer(t, token)
	protected := []struct{ method, path string }{
		{"POST", "/sync"}, {"GET", "/sync/status"}, {"GET", "/sync/runs"},
		{"GET", "/contacts/1"}, {"GET", "/contacts?email=a@b.c"},
		{"GET", "/api/overview"}, {"GET", "/api/contacts?q=a"}, {"GET", "/api/contacts/1"}, {"POST", "/logout"},
	}
	for _, p := range protected {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token + "x", "Bearer  " + token,
			"Basic " + token, token, "Bearer " + token[:len(token)-1]} {
			if code, body := do(t, p.method, srv.URL+p.path, auth); code != http.StatusUnauthorized || body["error"] == nil {
				t.Errorf("%s %s with %q: %d %v, want 401", p.method, p.path, auth, code, body)
			}
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/api/session", "Bearer wrong"); code != http.StatusUnauthorized {
		t.Errorf("/api/session without a session: %d, want 401", code)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/", "/assets/app.js", "/assets/style.css"} {
		if code, _ := do(t, "GET", srv.URL+p, ""); code != http.StatusOK {
			t.Errorf("%s without a token: %d", p, code)
		}
	}
	for _, auth := range []string{"Bearer " + token, "bearer " + token} {
		if code, _ := do(t, "GET", srv.URL+"/sync/status", auth); code != http.StatusOK {
			t.Errorf("status with %q: %d", auth, code)
		}
	}
}

func TestEndpoints(t *testing.T) {
	srv, sim := newServer(t, token)
	auth := "Bearer " + token
	code, body := do(t, "POST", srv.URL+"/sync", auth)
	if code != http.StatusAccepted || body["state"] != "running" || body["run_id"] == nil {
		t.Fatalf("POST /sync: %d %v", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, st := do(t, "GET", srv.URL+"/sync/status", auth)
		if lr, _ := st["last_run"].(map[string]any); lr != nil && lr["state"] == "succeeded" {
			if lr["fetched"] != float64(30) || lr["created"] != float64(30) || lr["total"] != float64(30) {
				t.Errorf("last_run %v", lr)
			}
			if c := st["contacts"].(map[string]any); c["active"] != float64(30) {
				t.Errorf("contacts %v", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never succeeded: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/contacts/0", 400}, {"/contacts/-5", 400}, {"/contacts/abc", 400}, {"/contacts/99999999999999999999", 400},
		{"/contacts/1", 404}, {"/contacts?email=", 400}, {"/contacts?email=nobody@example.com", 404},
		{"/contacts?email=%27%20OR%201%3D1%20--", 404}, {"/sync/runs?limit=0", 400}, {"/sync/runs?limit=x", 400},
		{"/sync/runs?limit=5", 200},
	} {
		if code, body := do(t, "GET", srv.URL+tc.path, auth); code != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.path, code, body, tc.want)
		}
	}
	id := sim.CustomerIDs()[3]
	code, c := do(t, "GET", srv.URL+"/contacts/"+strings.TrimSpace(jsonInt(id)), auth)
	if code != http.StatusOK || c["attributes"] == nil {
		t.Errorf("contact: %d %v", code, c)
	}
	if code, _ := do(t, "GET", srv.URL+"/sync", auth); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /sync: %d, want 405", code)
	}
}

// TestAssetsStayInside: the page's files are the only files served.
func TestAssetsStayInside(t *testing.T) {
	srv, _ := newServer(t, token)
	for _, p := range []string{"/assets/../server.go", "/assets/%2e%2e/server.go", "/assets/..%2fserver.go",
		"/assets/%2e%2e%2f%2e%2e%2fgo.mod", "/assets//etc/passwd", "/assets/ui.go"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && (strings.Contains(string(body), "package ") || strings.Contains(string(body), "root:")) {
			t.Errorf("%s served a file outside the page: %.60q", p, body)
		}
	}
}

func jsonInt(id int64) string { b, _ := json.Marshal(id); return string(b) }

// TestPageSession: the page signs in with the sync token through a form,
// gets an HttpOnly SameSite=Strict cookie, and its POSTs need the CSRF
// token and a same-site Origin.
func TestPageSession(t *testing.T) {
	srv, sim := newServer(t, token)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if code, _ := do(t, "GET", srv.URL+"/api/session", ""); code != http.StatusUnauthorized {
		t.Errorf("session before sign-in: %d", code)
	}
	resp, err := browser.PostForm(srv.URL+"/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?login=failed" || len(resp.Cookies()) != 0 {
		t.Errorf("wrong token: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	resp, err = browser.PostForm(srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || len(cookies) != 1 ||
		!cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in: %d %q %+v", resp.StatusCode, resp.Header.Get("Location"), cookies)
	}
	get := func(path string) (int, map[string]any) {
		resp, err := browser.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, sess := get("/api/session")
	csrf, _ := sess["csrf"].(string)
	if code != http.StatusOK || len(csrf) < 32 {
		t.Fatalf("session: %d %v", code, sess)
	}
	post := func(path, csrfValue, origin string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, nil)
		if csrfValue != "" {
			req.Header.Set("X-CSRF-Token", csrfValue)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/sync", "", ""); code != http.StatusForbidden {
		t.Errorf("POST /sync without CSRF token: %d, want 403", code)
	}
	if code := post("/sync", csrf+"x", ""); code != http.StatusForbidden {
		t.Errorf("POST /sync with a wrong CSRF token: %d, want 403", code)
	}
	if code := post("/sync", csrf, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("POST /sync from another origin: %d, want 403", code)
	}
	if code := post("/sync", csrf, srv.URL); code != http.StatusAccepted {
		t.Errorf("POST /sync from the page: %d, want 202", code)
	}
	// The page's calls work with the cookie alone.
	for _, p := range []string{"/api/overview", "/sync/status", "/sync/runs", "/api/contacts?q=a"} {
		if code, _ := get(p); code != http.StatusOK {
			t.Errorf("%s with the session: %d", p, code)
		}
	}
	// Ids above 2^53 travel as strings for JavaScript.
	id := sim.CustomerIDs()[0]
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/api/contacts/" + jsonInt(id))
		if code == http.StatusOK {
			c := body["contact"].(map[string]any)
			if c["id"] != jsonInt(id) || body["changed"] == nil {
				t.Errorf("contact detail %v", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("contact detail: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := post("/logout", csrf, ""); code != http.StatusNoContent {
		t.Errorf("logout: %d", code)
	}
	if code, _ := get("/api/overview"); code != http.StatusUnauthorized {
		t.Errorf("after logout: %d, want 401", code)
	}
	// The page itself: served with a strict CSP.
	resp, err = http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("page: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}
