package main

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
)

// bulkScopes let the bulk engine read the last order, as the default
// mapping wants.
var bulkScopes = []string{"read_customers", "read_orders", "read_all_orders"}

// TestSyncBulkEndToEnd runs the real binary with --engine bulk against the
// simulator, then imports the same shop over REST into another store: both
// exports are the same bytes, contact for contact.
func TestSyncBulkEndToEnd(t *testing.T) {
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2500, Seed: 23, Scopes: bulkScopes})
	sim.FailNextBulk(shopifytest.BulkShuffled)
	stdout, stderr, code := runBinary(t, bin, env, "sync", "--engine", "bulk", "--no-progress")
	if code != exitOK || !strings.HasPrefix(stdout, "fetched 2500, created 2500, updated 0, unchanged 0, deleted 0 in ") {
		t.Fatalf("bulk sync: exit %d, %q\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "bulk operation submitted") || !strings.Contains(stderr, "bulk result verified") {
		t.Errorf("logs do not follow the job:\n%s", stderr)
	}
	if strings.Contains(stderr, e2eToken) {
		t.Error("the access token appears in the logs")
	}
	bulkExport, _, _ := runBinary(t, bin, env, "contacts", "export", "--format", "jsonl")

	restEnv := maps(env, "SHOPSYNC_STORE_PATH", filepath.Join(t.TempDir(), "rest.db"))
	if _, stderr, code := runBinary(t, bin, restEnv, "sync", "--engine", "rest", "--no-progress"); code != exitOK {
		t.Fatalf("rest sync: exit %d\n%s", code, stderr)
	}
	restExport, _, _ := runBinary(t, bin, restEnv, "contacts", "export", "--format", "jsonl")
	if bulkExport != restExport || strings.Count(bulkExport, "\n") != 2500 {
		t.Fatalf("exports differ: bulk %d bytes, rest %d", len(bulkExport), len(restExport))
	}
	if st := sim.BulkStats(); st.Submitted != 1 || st.TokenLeaks != 0 {
		t.Errorf("bulk stats %+v", st)
	}

	// A bad engine is a usage error.
	if _, _, code := runBinary(t, bin, env, "sync", "--engine", "fast"); code != exitUsage {
		t.Errorf("--engine fast: exit %d, want %d", code, exitUsage)
	}
}

// maps returns a copy of m with k set to v.
func maps(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		if key != k {
			out[key] = val
		}
	}
	return out
}

// runFetched reads how many customers the last run stored, from the store
// the binary is writing (read-only, beside it: WAL).
func runFetched(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n sql.NullInt64
	if err := db.QueryRow(`SELECT max(fetched) FROM sync_runs`).Scan(&n); err != nil {
		return 0 // not created yet
	}
	return n.Int64
}

// TestSyncBulkKilledMidDownload kills the real binary with SIGKILL while it
// downloads and stores a bulk result: the next run re-attaches to the same
// job (no new one), asks for the rest of the file with a Range request, and
// the store ends equal to a REST import of the shop.
func TestSyncBulkKilledMidDownload(t *testing.T) {
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 6000, Seed: 29, Scopes: bulkScopes})
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	path := env["SHOPSYNC_STORE_PATH"]
	sim.SetBulkBandwidth(2 << 20) // the file is about 5 MB: a few seconds

	cmd := command(bin, env, "sync", "--engine", "bulk", "--no-progress")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var fetched int64
	for deadline := time.Now().Add(30 * time.Second); ; {
		if fetched = runFetched(t, path); fetched >= 1000 {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("sync ended before the kill (fetched %d): %v", fetched, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the download never stored 1000 customers")
		}
	}
	if err := <-exited; !killedBySIGKILL(err) {
		t.Fatalf("exit %v, want SIGKILL", err)
	}
	if fetched >= 6000 {
		t.Fatalf("the kill landed after the download (%d stored)", fetched)
	}
	sim.SetBulkBandwidth(0)

	stdout, stderr, code := runBinary(t, bin, env, "sync", "--engine", "bulk", "--no-progress")
	if code != exitOK {
		t.Fatalf("resumed sync: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "bulk import resumed") || !strings.Contains(stderr, "bulk download resumed") {
		t.Errorf("the resumed run does not say it re-attached:\n%s", stderr)
	}
	st := sim.BulkStats()
	if st.Submitted != 1 || st.RangeFrom == 0 {
		t.Fatalf("bulk stats %+v: want one job, the rest of its file asked with Range", st)
	}
	t.Logf("killed after %d stored; resumed from byte %d: %s", fetched, st.RangeFrom, strings.TrimSpace(stdout))

	got := storedContacts(t, path)
	if len(got) != 6000 {
		t.Fatalf("%d contacts stored, want 6000", len(got))
	}
	for _, id := range sim.CustomerIDs() {
		sc, _ := sim.Customer(id)
		if c := got[id]; c == nil {
			t.Fatalf("customer %d not stored", id)
		} else if d := contactDiff(c, sc); d != "" {
			t.Fatalf("contact %d: %s", id, d)
		}
	}
	runs := storedRuns(t, path)
	if len(runs) != 2 || runs[0].State != shopsync.RunFailed || runs[1].State != shopsync.RunSucceeded ||
		!runs[1].Resumed || runs[0].Fetched+runs[1].Fetched < 6000 || runs[1].Engine != shopsync.EngineBulk {
		t.Fatalf("runs %+v", runs)
	}
}

// storedRuns returns the runs of the store, oldest first.
func storedRuns(t *testing.T, path string) []*shopsync.SyncRun {
	t.Helper()
	db, err := openExisting(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func TestWakeOnBulkFinish(t *testing.T) {
	for _, tt := range []struct {
		topic  string
		status int
		wake   bool
	}{
		{"bulk_operations/finish", http.StatusOK, true},
		{"BULK_OPERATIONS/FINISH", http.StatusOK, true},
		{"bulk_operations/finish", http.StatusUnauthorized, false}, // a forged delivery
		{"customers/update", http.StatusOK, false},
	} {
		woken := false
		h := wakeOnBulkFinish(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }),
			func() { woken = true })
		r := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", nil)
		r.Header.Set("X-Shopify-Topic", tt.topic)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if woken != tt.wake || w.Code != tt.status {
			t.Errorf("%s %d: woken %v, status %d; want %v", tt.topic, tt.status, woken, w.Code, tt.wake)
		}
	}
}

func TestProgressLinePreparing(t *testing.T) {
	run := shopsync.SyncRun{Engine: shopsync.EngineBulk, State: shopsync.RunRunning, Total: 1000, Prepared: 250}
	if got := progressLine(run, time.Second); !strings.HasPrefix(got, "Shopify is preparing the file [=======>") ||
		!strings.Contains(got, "250/1000  25%") {
		t.Errorf("preparing: %q", got)
	}
	run.Fetched = 10
	if got := progressLine(run, time.Second); strings.Contains(got, "preparing") {
		t.Errorf("downloading: %q", got)
	}
}
