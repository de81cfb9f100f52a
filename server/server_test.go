package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	ssync "github.com/shopsync/shopsync/sync"
)

const token = "sync-token-for-tests"

func newServer(t *testing.T, syncToken string) (*httptest.Server, *shopifytest.Server) {
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
	srv := httptest.NewServer(server.New(server.Config{Store: db, Syncer: syncer, Gatherer: reg,
		Webhooks: http.NotFoundHandler(), SyncToken: syncToken, Logger: logger}))
	t.Cleanup(srv.Close)
	return srv, sim
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
	}
	for _, p := range protected {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + token + "x", "Bearer  " + token,
			"Basic " + token, token, "Bearer " + token[:len(token)-1]} {
			if code, body := do(t, p.method, srv.URL+p.path, auth); code != http.StatusUnauthorized || body["error"] == nil {
				t.Errorf("%s %s with %q: %d %v, want 401", p.method, p.path, auth, code, body)
			}
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
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

func jsonInt(id int64) string { b, _ := json.Marshal(id); return string(b) }
