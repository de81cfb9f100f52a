package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

const e2eToken = "shpat_e2e_SECRET_token"

// shopEnv starts a simulator and returns the environment pointing
// shopsync at it, with a fresh store.
func shopEnv(t *testing.T, opts shopifytest.Options) (*shopifytest.Server, map[string]string) {
	t.Helper()
	opts.Token = e2eToken
	sim := shopifytest.NewServer(opts)
	t.Cleanup(sim.Close)
	return sim, map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":            "e2e-shop",
		"SHOPSYNC_SHOPIFY_ACCESS_TOKEN":    e2eToken,
		"SHOPSYNC_SHOPIFY_API_BASE_URL":    sim.URL,
		"SHOPSYNC_SHOPIFY_MAX_RETRIES":     "2",
		"SHOPSYNC_SHOPIFY_REQUEST_TIMEOUT": "5s",
		"SHOPSYNC_STORE_PATH":              filepath.Join(t.TempDir(), "shopsync.db"),
		"SHOPSYNC_LOG_LEVEL":               "debug",
	}
}

func TestSyncExportGet(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 700, Seed: 21})
	stdout, stderr, code := runCLI(t, env, "sync")
	if code != exitOK {
		t.Fatalf("sync exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "fetched 700, created 700, updated 0, unchanged 0, deleted 0 in ") {
		t.Errorf("summary %q", stdout)
	}
	// Logs name the run but hold no secret and no customer's email.
	if strings.Contains(stderr, e2eToken) {
		t.Error("the access token appears in the logs")
	}
	for _, id := range sim.CustomerIDs() {
		if c, _ := sim.Customer(id); c.Email != nil && strings.Contains(stderr, *c.Email) {
			t.Fatalf("a customer's email appears in the logs: %s", *c.Email)
		}
	}

	stdout, _, code = runCLI(t, env, "sync")
	if code != exitOK || !strings.HasPrefix(stdout, "fetched 700, created 0, updated 0, unchanged 700, deleted 0") {
		t.Errorf("second sync: exit %d, %q", code, stdout)
	}

	// JSON lines: one object per customer, ids as exact integers.
	stdout, stderr, code = runCLI(t, env, "contacts", "export", "--format", "jsonl")
	if code != exitOK {
		t.Fatalf("export exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 700 {
		t.Fatalf("got %d lines, want 700", len(lines))
	}
	ids := sim.CustomerIDs()
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		if got := obj["shopify_id"].(json.Number).String(); got != strconv.FormatInt(ids[i], 10) {
			t.Fatalf("line %d: shopify_id %s, want %d", i, got, ids[i])
		}
		attrs := obj["attributes"].(map[string]any)
		sc, _ := sim.Customer(ids[i])
		if attrs["total_spent"] != sc.TotalSpent {
			t.Fatalf("line %d: total_spent %v, want the string %q", i, attrs["total_spent"], sc.TotalSpent)
		}
		if _, ok := attrs["orders_count"].(json.Number); !ok {
			t.Fatalf("line %d: orders_count %T, want a JSON integer", i, attrs["orders_count"])
		}
	}

	// CSV: a header and a row per contact, readable by encoding/csv.
	stdout, _, _ = runCLI(t, env, "contacts", "export", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 701 || rows[0][0] != "shopify_id" {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}

	// get by id and by email in another case.
	var withEmail shopifytest.Customer
	for _, id := range ids {
		if c, _ := sim.Customer(id); c.Email != nil {
			withEmail = c
			break
		}
	}
	stdout, _, code = runCLI(t, env, "contacts", "get", strconv.FormatInt(withEmail.ID, 10))
	if code != exitOK || !strings.Contains(stdout, fmt.Sprintf(`"shopify_id": %d`, withEmail.ID)) {
		t.Errorf("get by id: exit %d %q", code, stdout)
	}
	stdout, _, code = runCLI(t, env, "contacts", "get", strings.ToUpper(*withEmail.Email))
	if code != exitOK || !strings.Contains(stdout, fmt.Sprintf(`"shopify_id": %d`, withEmail.ID)) {
		t.Errorf("get by upper-case email: exit %d %q", code, stdout)
	}
	_, stderr, code = runCLI(t, env, "contacts", "get", "999")
	if code != exitFailure || !strings.Contains(stderr, "no such contact") {
		t.Errorf("get unknown: exit %d %q", code, stderr)
	}
}

func TestSyncFailureKeepsStoreAndSaysSo(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 1000, Seed: 22})
	var pages atomic.Int32
	sim.OnRequest(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers.json") && pages.Add(1) == 3 {
			sim.FailNext(100, http.StatusServiceUnavailable)
		}
	})
	stdout, stderr, code := runCLI(t, env, "sync")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	if !strings.HasPrefix(stdout, "fetched 500, created 500") || !strings.Contains(stderr, "HTTP 503") ||
		!strings.Contains(stderr, "the next run continues where this one stopped") {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	sim.OnRequest(nil)
	sim.FailNext(0, 0)
	stdout, _, code = runCLI(t, env, "sync")
	if code != exitOK || !strings.HasPrefix(stdout, "fetched 500, created 500, updated 0, unchanged 0, deleted 0") {
		t.Errorf("resumed sync: exit %d %q", code, stdout)
	}
}

func TestSyncBadCredentials(t *testing.T) {
	_, env := shopEnv(t, shopifytest.Options{Customers: 10, Seed: 1})
	env["SHOPSYNC_SHOPIFY_ACCESS_TOKEN"] = "shpat_wrong_SECRET"
	_, stderr, code := runCLI(t, env, "sync")
	if code != exitFailure || !strings.Contains(stderr, "Shopify refused the access token (HTTP 401)") ||
		!strings.Contains(stderr, "To fix: Copy the Admin API access token") {
		t.Errorf("exit %d stderr %q", code, stderr)
	}
	// Said once, in plain words: no error chain, no log line repeating
	// it, and no promise that the next run resumes (it would fail again).
	for _, s := range []string{"count customers:", "Invalid API key", "level=ERROR", "run resumes", "continues where"} {
		if strings.Contains(stderr, s) {
			t.Errorf("stderr holds %q:\n%s", s, stderr)
		}
	}
	if n := strings.Count(stderr, "refused"); n != 1 {
		t.Errorf("the failure is said %d times, want once:\n%s", n, stderr)
	}
	// -v adds the technical detail.
	_, stderr, _ = runCLI(t, env, "sync", "-v")
	if !strings.Contains(stderr, "Detail: count customers:") || !strings.Contains(stderr, "Invalid API key") {
		t.Errorf("with -v: %q", stderr)
	}
	if strings.Contains(stderr, "shpat_wrong_SECRET") {
		t.Error("the token appears in the output")
	}
}

var (
	buildOnce gosync.Once
	binPath   string
	buildErr  error
)

// binary builds the real shopsync binary once per test process.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shopsync-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "shopsync")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func command(bin string, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// TestKilledSyncResumes kills the real binary with SIGKILL in the middle
// of an import, three times at different pages, then lets it finish: every
// customer ends up stored exactly once, and the runs say what happened.
func TestKilledSyncResumes(t *testing.T) {
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 3000, Seed: 23})
	var (
		mu     gosync.Mutex
		proc   *os.Process
		pages  int
		killAt int
	)
	sim.OnRequest(func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/customers.json") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		pages++
		if pages == killAt && proc != nil {
			proc.Signal(syscall.SIGKILL) // no chance to clean up
		}
	})
	for i, at := range []int{2, 3, 4, 0} { // pages counted per process
		cmd := command(bin, env, "sync", "--no-progress")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		mu.Lock()
		pages, killAt = 0, at
		if err := cmd.Start(); err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		proc = cmd.Process
		mu.Unlock()
		err := cmd.Wait()
		var exitErr *exec.ExitError
		if at != 0 {
			if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("run %d: got %v, want death by SIGKILL\n%s", i, err, stderr.String())
			}
			continue
		}
		if err != nil {
			t.Fatalf("final run: %v\n%s", err, stderr.String())
		}
	}
	db, err := store.Open(context.Background(), env["SHOPSYNC_STORE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	active, deleted, err := db.ContactCounts(context.Background())
	if err != nil || active != 3000 || deleted != 0 {
		t.Fatalf("store holds %d active, %d deleted (%v); want 3000 and 0", active, deleted, err)
	}
	runs, err := db.Runs(context.Background(), 10)
	if err != nil || len(runs) != 4 {
		t.Fatalf("got %d runs, %v; want 4", len(runs), err)
	}
	var created int64
	for i, r := range runs { // newest first
		created += r.Created
		if i > 0 && (r.State != "failed" || !strings.Contains(r.Error, "interrupted")) {
			t.Errorf("killed run %d: state %s error %q", r.ID, r.State, r.Error)
		}
		if r.ImportID != runs[0].ImportID || (i < 3 && !r.Resumed) {
			t.Errorf("run %d: import %d resumed %v", r.ID, r.ImportID, r.Resumed)
		}
	}
	if runs[0].State != "succeeded" || created != 3000 {
		t.Errorf("last run %s; created %d in all, want 3000 (no duplicate, none lost)", runs[0].State, created)
	}
}

// TestTwoProcessesOneRuns starts two syncs on one store: one imports, the
// other exits 3 saying a sync is running.
func TestTwoProcessesOneRuns(t *testing.T) {
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 1500, Seed: 24, Latency: 50 * time.Millisecond})
	_ = sim
	first := command(bin, env, "sync", "--no-progress")
	var out1 bytes.Buffer
	first.Stdout = &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first has taken the lock (its run is recorded).
	deadline := time.Now().Add(20 * time.Second)
	for {
		db, err := store.Open(context.Background(), env["SHOPSYNC_STORE_PATH"])
		if err == nil {
			_, rerr := db.RunningRun(context.Background())
			db.Close()
			if rerr == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the first sync never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := command(bin, env, "sync", "--no-progress")
	out, err := second.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitBusy || !strings.Contains(string(out), "already running") {
		t.Errorf("second sync: %v: %s", err, out)
	}
	if err := first.Wait(); err != nil || !strings.HasPrefix(out1.String(), "fetched 1500") {
		t.Errorf("first sync: %v %q", err, out1.String())
	}
}

// TestSyncWithClientCredentials imports with a Dev Dashboard app's client
// id and secret; Shopify revokes the token in the middle of the import,
// and the page in flight is fetched again with a new token.
func TestSyncWithClientCredentials(t *testing.T) {
	sim := shopifytest.NewServer(shopifytest.Options{Customers: 1200, Seed: 25,
		ClientID: "dev-dashboard-app", ClientSecret: "shpss_CLIENT_SECRET_value"})
	t.Cleanup(sim.Close)
	var pages atomic.Int32
	sim.OnRequest(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers.json") && pages.Add(1) == 3 {
			sim.ExpireTokens()
		}
	})
	env := map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":          "https://e2e-shop.myshopify.com/",
		"SHOPSYNC_SHOPIFY_CLIENT_ID":     "dev-dashboard-app",
		"SHOPSYNC_SHOPIFY_CLIENT_SECRET": "shpss_CLIENT_SECRET_value",
		"SHOPSYNC_SHOPIFY_API_BASE_URL":  sim.URL,
		"SHOPSYNC_STORE_PATH":            filepath.Join(t.TempDir(), "shopsync.db"),
		"SHOPSYNC_LOG_LEVEL":             "debug",
	}
	stdout, stderr, code := runCLI(t, env, "sync")
	if code != exitOK || !strings.HasPrefix(stdout, "fetched 1200, created 1200") {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if got := sim.Stats().TokenGrants; got != 2 {
		t.Errorf("%d tokens granted, want 2 (the first, and one after the revocation)", got)
	}
	if strings.Contains(stderr, "shpss_CLIENT_SECRET_value") || strings.Contains(stderr, "shpat_") {
		t.Error("a secret or token appears in the logs")
	}
}
