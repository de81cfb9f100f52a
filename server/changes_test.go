package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/store"
)

// feedServer is the API over a store, without Shopify.
func feedServer(t *testing.T, ob server.Outbound) (*httptest.Server, *server.Server, *store.DB) {
	t.Helper()
	db := testutil.MustOpenDB(t)
	api := server.New(server.Config{Store: db, Gatherer: prometheus.NewRegistry(), Webhooks: http.NotFoundHandler(),
		SyncToken: token, Logger: slog.New(slog.DiscardHandler), Outbound: ob})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, api, db
}

// addContacts stores contacts [from, from+n), one event each.
func addContacts(t *testing.T, db *store.DB, from, n int, seen time.Time) {
	t.Helper()
	var changes []shopsync.Change
	for id := int64(from); id < int64(from+n); id++ {
		email := fmt.Sprintf("c%d@example.com", id)
		c := shopsync.Contact{ShopifyID: id, Email: &email, Tags: []string{}, ShopifyUpdatedAt: &seen,
			Fields: shopsync.AllFields, Parts: shopsync.AllParts, Full: shopsync.AllParts}
		changes = append(changes, shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: id, Contact: &c, Seen: seen,
			Read: true, Source: shopsync.SourceReconcile})
	}
	if _, err := db.ApplyChanges(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
}

// getChanges asks GET /changes with query and returns the status, the
// headers and the lines.
func getChanges(t *testing.T, ctx context.Context, url, query string) (int, http.Header, []string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/changes"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return resp.StatusCode, resp.Header, lines
}

func seqs(t *testing.T, lines []string) []int64 {
	t.Helper()
	var out []int64
	for _, l := range lines {
		var ev struct {
			Seq     int64           `json:"seq"`
			Type    string          `json:"type"`
			Contact json.RawMessage `json:"contact"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Type == "" || len(ev.Contact) == 0 {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, ev.Seq)
	}
	return out
}

func TestChangesFeed(t *testing.T) {
	srv, _, db := feedServer(t, nil)
	ctx := context.Background()
	addContacts(t, db, 1, 5, time.Now())

	status, h, lines := getChanges(t, ctx, srv.URL, "?after=1&limit=3")
	if status != 200 || fmt.Sprint(seqs(t, lines)) != "[2 3 4]" || h.Get("X-Shopsync-Next-After") != "4" ||
		h.Get("X-Shopsync-Last-Seq") != "5" || h.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("after=1&limit=3: %d %v %v", status, seqs(t, lines), h)
	}
	if status, _, lines = getChanges(t, ctx, srv.URL, ""); status != 200 || len(lines) != 5 {
		t.Errorf("from the start: %d %d lines", status, len(lines))
	}
	if status, h, lines = getChanges(t, ctx, srv.URL, "?after=5"); status != 200 || len(lines) != 0 || h.Get("X-Shopsync-Next-After") != "5" {
		t.Errorf("at the end: %d %v %v", status, lines, h)
	}
	for _, bad := range []struct{ query, word string }{
		{"?after=-1", "after"}, {"?after=x", "after"}, {"?limit=0", "limit"}, {"?limit=1001", "limit"},
		{"?wait=30", "wait"}, {"?wait=61s", "wait"},
	} {
		code, body := do(t, "GET", srv.URL+"/changes"+bad.query, "Bearer "+token)
		if code != 400 || !strings.HasPrefix(fmt.Sprint(body["error"]), bad.word+":") {
			t.Errorf("%s: %d %v, want 400 naming %s", bad.query, code, body, bad.word)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/changes", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}

	if _, err := db.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, "GET", srv.URL+"/changes?after=2", "Bearer "+token)
	if code != http.StatusGone || !strings.Contains(fmt.Sprint(body["fix"]), "full export") || body["oldest"] != 6.0 {
		t.Errorf("a pruned cursor: %d %v", code, body)
	}
	if status, _, lines = getChanges(t, ctx, srv.URL, "?after=5"); status != 200 || len(lines) != 0 {
		t.Errorf("after the last pruned: %d %v", status, lines)
	}
}

// TestChangesLongPoll: a long poll answers as soon as an event commits;
// it ends when its client leaves, and when the server shuts down.
func TestChangesLongPoll(t *testing.T) {
	srv, api, db := feedServer(t, nil)
	ctx := context.Background()
	addContacts(t, db, 1, 1, time.Now())
	got := make(chan []string, 1)
	go func() {
		_, _, lines := getChanges(t, ctx, srv.URL, "?after=1&wait=60s")
		got <- lines
	}()
	time.Sleep(50 * time.Millisecond) // the poll waits (or the event is there first: either way it is answered)
	addContacts(t, db, 2, 1, time.Now())
	if lines := <-got; fmt.Sprint(seqs(t, lines)) != "[2]" {
		t.Errorf("long poll got %v", lines)
	}

	// The client leaves: the handler's wait ends with it.
	cctx, cancel := context.WithCancel(ctx)
	left := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(cctx, "GET", srv.URL+"/changes?after=2&wait=60s", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		_, err := http.DefaultClient.Do(req)
		left <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled poll: %v", err)
	}

	// Shutdown ends the wait with what there is: nothing.
	done := make(chan []string, 1)
	go func() {
		_, _, lines := getChanges(t, ctx, srv.URL, "?after=2&wait=60s")
		done <- lines
	}()
	time.Sleep(50 * time.Millisecond)
	api.StopLongPolls()
	if lines := <-done; len(lines) != 0 {
		t.Errorf("poll ended by shutdown: %v", lines)
	}
	// After it, polls do not wait.
	if status, _, lines := getChanges(t, ctx, srv.URL, "?after=2&wait=60s"); status != 200 || len(lines) != 0 {
		t.Errorf("poll after shutdown: %d %v", status, lines)
	}
}

// fakeOutbound answers as the deliverer would.
type fakeOutbound struct{}

func (fakeOutbound) Status(context.Context) ([]outbound.Status, error) {
	return []outbound.Status{{Name: "crm", State: outbound.StatePaused, PauseReason: "no delivery was acknowledged for 24h0m0s"}}, nil
}

func (fakeOutbound) Resume(_ context.Context, name string) (outbound.Status, error) {
	if name != "crm" {
		return outbound.Status{}, outbound.ErrUnknownEndpoint
	}
	return outbound.Status{Name: "crm", State: outbound.StateIdle}, nil
}

func (fakeOutbound) Replay(_ context.Context, name string, from int64) (outbound.Status, error) {
	switch {
	case name != "crm":
		return outbound.Status{}, outbound.ErrUnknownEndpoint
	case from < 10:
		return outbound.Status{}, &store.CursorExpiredError{After: from - 1, Oldest: 10, Last: 20}
	case from > 21:
		return outbound.Status{}, fmt.Errorf("replay: %w", store.ErrNotInFeed)
	}
	return outbound.Status{Name: "crm", Cursor: from - 1}, nil
}

func TestOutboundAPI(t *testing.T) {
	srv, _, _ := feedServer(t, fakeOutbound{})
	auth := "Bearer " + token
	code, body := do(t, "GET", srv.URL+"/outbound", auth)
	if code != 200 || !strings.Contains(fmt.Sprint(body["endpoints"]), "paused") {
		t.Errorf("GET /outbound: %d %v", code, body)
	}
	full, _, _ := newServerWith(t, token, func(c *server.Config) { c.Outbound = fakeOutbound{} })
	code, body = do(t, "GET", full.URL+"/sync/status", auth)
	if code != 200 || !strings.Contains(fmt.Sprint(body["outbound"]), "paused") || body["changes"] == nil {
		t.Errorf("GET /sync/status: %d %v", code, body)
	}
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/outbound/crm/resume", 200},
		{"/outbound/other/resume", 404},
		{"/outbound/crm/replay?from=12", 200},
		{"/outbound/crm/replay?after=11", 200},
		{"/outbound/crm/replay?from=3", 410},
		{"/outbound/crm/replay?from=30", 400},
		{"/outbound/crm/replay", 400},
		{"/outbound/crm/replay?from=1&after=2", 400},
		{"/outbound/crm/replay?from=x", 400},
		{"/outbound/other/replay?from=12", 404},
	} {
		code, body := do(t, "POST", srv.URL+tt.path, auth)
		if code != tt.code {
			t.Errorf("POST %s: %d %v, want %d", tt.path, code, body, tt.code)
		}
		if tt.code == 200 && strings.Contains(tt.path, "replay") && body["cursor"] != 11.0 {
			t.Errorf("POST %s: cursor %v, want 11", tt.path, body["cursor"])
		}
	}
	if code, _ := do(t, "POST", srv.URL+"/outbound/crm/resume", ""); code != http.StatusUnauthorized {
		t.Errorf("resume without the token: %d", code)
	}
	none, _, _ := feedServer(t, nil)
	if code, body := do(t, "POST", none.URL+"/outbound/crm/resume", auth); code != 404 || !strings.Contains(fmt.Sprint(body["error"]), "outbound.endpoints") {
		t.Errorf("resume with no endpoint configured: %d %v", code, body)
	}
	if code, body := do(t, "GET", none.URL+"/outbound", auth); code != 200 || fmt.Sprint(body["endpoints"]) != "[]" {
		t.Errorf("GET /outbound with none: %d %v", code, body)
	}
}
