package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

const (
	e2eSyncToken     = "sync_e2e_SECRET_token"
	e2eWebhookSecret = "whsec_e2e_SECRET"
)

// daemon is a running `shopsync serve` under test: a Daemon in the test's
// process (startDaemon), or the real binary in its own (startProcess) for
// what needs a process: signals, SIGKILL, its memory.
type daemon struct {
	t      *testing.T
	url    string
	logBuf *logBuffer // the daemon's log lines (the process's stderr)

	main *Daemon // startDaemon

	cmd    *exec.Cmd  // startProcess
	exited chan error // startProcess: the process's exit, put back after reading
}

// serveEnv adds the daemon's keys to a shopEnv environment.
func serveEnv(env map[string]string) map[string]string {
	env["SHOPSYNC_HTTP_LISTEN"] = "127.0.0.1:0"
	env["SHOPSYNC_HTTP_SYNC_TOKEN"] = e2eSyncToken
	env["SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS"] = "old_rotated_secret," + e2eWebhookSecret
	env["SHOPSYNC_SYNC_REFETCH_DELAY"] = "200ms"
	return env
}

// mustRunDaemon runs the Daemon for cfg in the test's process, on the
// address cfg.HTTP.Listen names (127.0.0.1:0 in tests), and closes it when
// the test ends.
func mustRunDaemon(t *testing.T, cfg Config, logger *slog.Logger) *Daemon {
	t.Helper()
	d := NewDaemon(cfg, logger)
	if err := d.Run(context.Background()); err != nil {
		t.Fatalf("run the daemon: %v", err)
	}
	t.Cleanup(func() {
		if err := closeDaemon(d); err != nil {
			t.Errorf("close the daemon: %v", err)
		}
	})
	return d
}

// closeDaemon closes d, failing if that takes longer than 20 s: a stuck
// shutdown fails the test instead of hanging it.
func closeDaemon(d *Daemon) error {
	closed := make(chan error, 1)
	go func() { closed <- d.Close(context.Background()) }()
	select {
	case err := <-closed:
		return err
	case <-time.After(20 * time.Second):
		return errors.New("not closed after 20 s")
	}
}

// startDaemon runs `shopsync serve` in the test's process: the
// configuration is read from vars (SHOPSYNC_* variables) and validated as
// the serve command does, and the logs are built as its own are.
func startDaemon(t *testing.T, vars map[string]string) *daemon {
	t.Helper()
	d := &daemon{t: t, logBuf: &logBuffer{}}
	t.Cleanup(func() { // after the daemon closed: its last lines are in
		if t.Failed() {
			t.Logf("daemon logs:\n%s", d.logs())
		}
	})
	e := &env{stdout: io.Discard, stderr: d.logBuf, getenv: envOf(vars)}
	cfg, err := e.serveConfig()
	if err != nil {
		t.Fatalf("serve configuration: %v", err)
	}
	d.main = mustRunDaemon(t, cfg, e.logger(cfg.Log))
	d.url = "http://" + d.main.Addr().String()
	return d
}

// startProcess starts the real binary's serve, with flags (such as
// --config FILE), and waits until it listens, reading its address from
// the line it prints.
func startProcess(t *testing.T, env map[string]string, flags ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, logBuf: &logBuffer{}, cmd: command(binary(t), env, append([]string{"serve"}, flags...)...),
		exited: make(chan error, 1)}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.logBuf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "shopsync serving on "); ok {
				urlc <- u
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.exited
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", d.logs())
		}
	})
	select {
	case d.url = <-urlc:
	case err := <-d.exited:
		d.exited <- err
		t.Fatalf("serve exited before listening: %v\n%s", err, d.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", d.logs())
	}
	return d
}

// logBuffer collects log lines written from several goroutines.
type logBuffer struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logs returns what the daemon has logged so far.
func (d *daemon) logs() string { return d.logBuf.String() }

// stop shuts the daemon down as SIGTERM does, and waits for it: Close for
// a Daemon, SIGTERM and a clean exit for the process.
func (d *daemon) stop() {
	d.t.Helper()
	if d.main != nil {
		if err := closeDaemon(d.main); err != nil {
			d.t.Fatalf("close the daemon: %v", err)
		}
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
		if err != nil {
			d.t.Fatalf("serve after SIGTERM: %v\n%s", err, d.logs())
		}
	case <-time.After(20 * time.Second):
		d.t.Fatalf("serve did not stop after SIGTERM:\n%s", d.logs())
	}
}

// call makes an API request with the sync token and decodes the answer.
func (d *daemon) call(method, path string, out any) int {
	d.t.Helper()
	req, err := http.NewRequest(method, d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eSyncToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			d.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

type statusBody struct {
	Running bool              `json:"running"`
	LastRun *shopsync.SyncRun `json:"last_run"`
}

// waitRun polls /sync/status until run id is finished.
func (d *daemon) waitRun(id int64) *shopsync.SyncRun {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var st statusBody
		d.call("GET", "/sync/status", &st)
		if st.LastRun != nil && st.LastRun.ID == id && st.LastRun.State != shopsync.RunRunning {
			return st.LastRun
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("run %d did not finish:\n%s", id, d.logs())
	return nil
}

// importAll presses Sync now and waits for the run to succeed.
func (d *daemon) importAll() *shopsync.SyncRun {
	d.t.Helper()
	var started struct {
		RunID int64 `json:"run_id"`
	}
	if code := d.call("POST", "/sync", &started); code != http.StatusAccepted {
		d.t.Fatalf("POST /sync: %d", code)
	}
	run := d.waitRun(started.RunID)
	if run.State != shopsync.RunSucceeded {
		d.t.Fatalf("run %+v", run)
	}
	return run
}

// TestServeSyncNowSingleFlight presses Sync now twice during a run, and
// runs `shopsync sync` in another process meanwhile: one run, whose id
// both presses get; the other process says a run is going.
func TestServeSyncNowSingleFlight(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	// Built before the run starts: the other process must meet the run.
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 1200, Seed: 31, Latency: 60 * time.Millisecond})
	d := startDaemon(t, serveEnv(env))

	// The API needs the token: missing or wrong is 401, nothing started.
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + e2eSyncToken + "x", e2eSyncToken} {
		req, _ := http.NewRequest("POST", d.url+"/sync", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST /sync with %q: %d, want 401", auth, resp.StatusCode)
		}
	}

	var first, second struct {
		RunID   int64  `json:"run_id"`
		State   string `json:"state"`
		Started bool   `json:"started"`
	}
	if code := d.call("POST", "/sync", &first); code != http.StatusAccepted || !first.Started || first.State != "running" {
		t.Fatalf("first press: %d %+v", code, first)
	}
	if code := d.call("POST", "/sync", &second); code != http.StatusAccepted || second.Started || second.RunID != first.RunID {
		t.Fatalf("second press: %d %+v, want run %d not started", code, second, first.RunID)
	}
	out, err := command(bin, env, "sync", "--no-progress").CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitBusy {
		t.Errorf("shopsync sync during the daemon's run: %v: %s", err, out)
	}
	// Status shows the run going, with Shopify's count for progress.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var st statusBody
		d.call("GET", "/sync/status", &st)
		if !st.Running || st.LastRun == nil || st.LastRun.ID != first.RunID {
			t.Fatalf("status during the run: %+v %+v", st, st.LastRun)
		}
		if st.LastRun.Total == 1200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the total: %+v", st.LastRun)
		}
		time.Sleep(20 * time.Millisecond)
	}
	run := d.waitRun(first.RunID)
	if run.State != shopsync.RunSucceeded || run.Fetched != 1200 || run.Created != 1200 || run.Trigger != shopsync.TriggerButton {
		t.Errorf("run: %+v", run)
	}
	var runs struct {
		Runs []*shopsync.SyncRun `json:"runs"`
	}
	if d.call("GET", "/sync/runs", &runs); len(runs.Runs) != 1 {
		t.Errorf("got %d runs, want 1", len(runs.Runs))
	}

	// Contacts by id and by email; 404 for unknown.
	ids := sim.CustomerIDs()
	var c map[string]any
	if code := d.call("GET", fmt.Sprintf("/contacts/%d", ids[0]), &c); code != http.StatusOK || c["shopify_id"] != json.Number(fmt.Sprint(ids[0])) {
		t.Errorf("contact %d: %d %+v", ids[0], code, c)
	}
	if code := d.call("GET", "/contacts/1", nil); code != http.StatusNotFound {
		t.Errorf("unknown contact: %d, want 404", code)
	}
	if code := d.call("GET", "/contacts/..%2f..%2fetc", nil); code != http.StatusBadRequest {
		t.Errorf("bad id: %d, want 400", code)
	}
	for _, id := range ids {
		sc, _ := sim.Customer(id)
		if sc.Email == nil {
			continue
		}
		var found struct {
			Contacts []map[string]any `json:"contacts"`
		}
		if code := d.call("GET", "/contacts?email="+strings.ToUpper(*sc.Email), &found); code != http.StatusOK || len(found.Contacts) == 0 {
			t.Errorf("by email: %d %+v", code, found)
		}
		break
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := d.call("GET", path, nil); code != http.StatusOK {
			t.Errorf("%s: %d", path, code)
		}
	}
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`shopsync_sync_runs_total{state="succeeded",trigger="button"} 1`,
		`shopsync_customers_fetched_total 1200`,
		`shopsync_shopify_requests_total{code="2xx"}`,
		`shopsync_last_successful_sync_timestamp_seconds`,
		`shopsync_sqlite_memory_bytes`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	d.stop()
	if logs := d.logs(); strings.Contains(logs, e2eToken) || strings.Contains(logs, e2eSyncToken) || strings.Contains(logs, e2eWebhookSecret) {
		t.Error("a secret appears in the daemon's logs")
	}
}

// TestServeScheduledRunFires runs the schedule every second: runs fire,
// one at a time, and are recorded with the schedule trigger.
func TestServeScheduledRunFires(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	_, env := shopEnv(t, shopifytest.Options{Customers: 300, Seed: 32})
	env = serveEnv(env)
	env["SHOPSYNC_SYNC_SCHEDULE"] = "@every 1s"
	d := startDaemon(t, env)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var runs struct {
			Runs []*shopsync.SyncRun `json:"runs"`
		}
		d.call("GET", "/sync/runs", &runs)
		ok := 0
		for _, r := range runs.Runs {
			if r.Trigger == shopsync.TriggerSchedule && r.State == shopsync.RunSucceeded {
				ok++
			}
		}
		if ok >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scheduled runs: %d succeeded in 30s", ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop()
}

// TestServeShutdownMidImport stops the daemon during an import as SIGTERM
// does, with Close (TestServeShutdownMidBurst sends the binary the real
// signal): the daemon stops promptly, the run is recorded as failed with
// a checkpoint, and the next run resumes it and ends with every customer
// exactly once.
func TestServeShutdownMidImport(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2000, Seed: 33, Latency: 100 * time.Millisecond})
	d := startDaemon(t, serveEnv(env))
	var started struct {
		RunID int64 `json:"run_id"`
	}
	d.call("POST", "/sync", &started)
	// Let a few pages land.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st statusBody
		d.call("GET", "/sync/status", &st)
		if st.LastRun != nil && st.LastRun.Pages >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no pages imported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopAt := time.Now()
	d.stop()
	if took := time.Since(stopAt); took > 10*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	db, err := store.Open(context.Background(), env["SHOPSYNC_STORE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	run, err := db.Run(context.Background(), started.RunID)
	db.Close()
	if err != nil || run.State != shopsync.RunFailed || run.Fetched == 0 || run.Fetched == 2000 {
		t.Fatalf("interrupted run: %+v %v", run, err)
	}
	stdout, stderr, code := runCLI(t, env, "sync", "--no-progress")
	if code != exitOK {
		t.Fatalf("resume: %d %s", code, stderr)
	}
	want := fmt.Sprintf("fetched %d, created %d,", 2000-run.Fetched, 2000-run.Fetched)
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("resume: %q, want prefix %q", stdout, want)
	}
	_ = sim
}

// TestServeRefusesOpenListener: beyond loopback without a sync token the
// API would be open to the network.
func TestServeRefusesOpenListener(t *testing.T) {
	_, env := shopEnv(t, shopifytest.Options{Customers: 1})
	env["SHOPSYNC_HTTP_LISTEN"] = "0.0.0.0:0"
	_, stderr, code := runCLI(t, env, "serve")
	if code != exitUsage || !strings.Contains(stderr, "http.sync_token") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
