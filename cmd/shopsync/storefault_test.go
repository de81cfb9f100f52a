package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

// integrityCheck runs PRAGMA integrity_check on the store file.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check of %s: %q %v", path, res, err)
	}
}

// logRecords decodes log lines written with log.format json, one record a
// line, to check their keys and values rather than a layout.
func logRecords(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(logs) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("a log line is not a JSON record: %v: %s", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// uniqueValues returns the personal values of customer id that no other
// customer shares, to look for in the store's files after a redaction.
func uniqueValues(t *testing.T, sim *shopifytest.Server, id int64) []string {
	t.Helper()
	shared := map[string]bool{}
	for _, other := range sim.CustomerIDs() {
		if other == id {
			continue
		}
		oc, _ := sim.Customer(other)
		for _, s := range []*string{oc.Email, oc.FirstName, oc.LastName, oc.Phone} {
			if s != nil {
				shared[*s] = true
			}
		}
	}
	c, _ := sim.Customer(id)
	var vals []string
	for _, s := range []*string{c.Email, c.FirstName, c.LastName, c.Phone} {
		if s != nil && len(*s) >= 4 && !shared[*s] {
			vals = append(vals, *s)
		}
	}
	if len(vals) == 0 {
		t.Fatalf("customer %d has no personal value of its own to look for", id)
	}
	return vals
}

// TestStoreLongReader holds a read transaction open in the sqlite3 shell
// while a full import runs and a customers/redact arrives. WAL lets the
// import write beside the reader; the redaction is stored but cannot
// truncate the WAL past the reader's snapshot, so it is answered 500
// (Shopify delivers it again) and the log says why; once the reader ends,
// the redelivery is answered 200 and the customer's bytes are gone.
func TestStoreLongReader(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("needs the sqlite3 shell: apt-get install -y sqlite3")
	}
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 1000, Seed: 71})
	env = serveEnv(env)
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	env["SHOPSYNC_LOG_FORMAT"] = "json" // records to read by key, whatever the text layout
	path := env["SHOPSYNC_STORE_PATH"]
	d := startDaemon(t, env)
	d.importAll()

	reader := exec.Command(sqlite3, path)
	stdin, err := reader.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := reader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var readerErr bytes.Buffer
	reader.Stderr = &readerErr
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Process.Kill(); reader.Wait() })
	lines := bufio.NewScanner(out)
	query := func(sql string) string {
		t.Helper()
		if _, err := io.WriteString(stdin, sql+"\n"); err != nil {
			t.Fatal(err)
		}
		if !lines.Scan() {
			t.Fatalf("sqlite3 %q: no answer: %v %s", sql, lines.Err(), readerErr.String())
		}
		return lines.Text()
	}
	if got := query("BEGIN; SELECT count(*) FROM contacts;"); got != "1000" {
		t.Fatalf("reader counts %q contacts, want 1000", got)
	}

	// A full import with something to write, beside the reader.
	ids := sim.CustomerIDs()
	for _, id := range ids[:20] {
		sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("changed under a reader") })
	}
	stdout, stderr, code := runBinary(t, bin, env, "sync", "--no-progress")
	if code != exitOK || !strings.HasPrefix(stdout, "fetched 1000, created 0, updated 20, unchanged 980") {
		t.Fatalf("sync beside a reader: exit %d %q\n%s", code, stdout, stderr)
	}
	if got := query("SELECT count(*) FROM contacts WHERE shopify_id IN (SELECT shopify_id FROM contact_attributes WHERE value = 'changed under a reader');"); got != "0" {
		t.Errorf("the reader's snapshot sees %s changed contacts, want 0", got)
	}

	// customers/redact while the reader holds its snapshot.
	victim := ids[40]
	secret := uniqueValues(t, sim, victim)
	rc, _ := sim.Customer(victim)
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	redact := sender.Prepare(shopifytest.CustomersRedactDelivery(1, e2eShopDomain, rc, nil))
	url := d.url + "/webhooks/shopify"
	start := time.Now()
	status, err := sender.Send(context.Background(), url, redact)
	took := time.Since(start)
	if err != nil || status != http.StatusInternalServerError {
		t.Fatalf("redact beside a reader: %d %v, want 500", status, err)
	}
	if took > 5*time.Second {
		t.Errorf("redact answered after %s: the wait for readers must be bounded", took)
	}
	eventually(t, "the log says why the redaction failed", func() string {
		for _, r := range logRecords(t, d.logs()) {
			if r["msg"] == "webhook not stored" && r["component"] == "webhook" && r["topic"] == "customers/redact" &&
				strings.Contains(fmt.Sprint(r["error"]), "readers kept the WAL busy") {
				return ""
			}
		}
		return "no such record:\n" + d.logs()
	})
	if c := d.contact(victim); c != nil {
		t.Errorf("redacted customer still served while the WAL was busy")
	}
	t.Logf("redact beside a reader: %d after %s", status, took.Round(time.Millisecond))

	// The reader ends; Shopify's redelivery checkpoints.
	if got := query("COMMIT; SELECT 'done';"); got != "done" {
		t.Fatalf("reader commit: %q", got)
	}
	stdin.Close()
	if err := reader.Wait(); err != nil {
		t.Fatalf("sqlite3: %v %s", err, readerErr.String())
	}
	if status, err := sender.Send(context.Background(), url, redact); err != nil || status != http.StatusOK {
		t.Fatalf("redelivered redact: %d %v, want 200", status, err)
	}
	for _, p := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, s := range secret {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s still holds %q after the redelivered redact", p, s)
			}
		}
	}
	if counts := deliveryMetrics(t, d.url); counts["failed"] != 1 || counts["duplicate"] != 1 {
		t.Errorf("outcomes %v, want 1 failed and 1 duplicate", counts)
	}
	d.stop()
}

// TestSyncReadOnlyStore runs `shopsync sync` on a store it may not write
// (file and directory read-only; as root, whom modes do not stop, the run
// is made as nobody): exit 1 with an error naming the store, and the
// store unharmed.
func TestSyncReadOnlyStore(t *testing.T) {
	bin := binary(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 300, Seed: 72})
	_ = sim
	// A directory every user can reach (t.TempDir's parent is 0700).
	dir, err := os.MkdirTemp("", "shopsync-readonly")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700); os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shopsync.db")
	env["SHOPSYNC_STORE_PATH"] = path
	if _, stderr, code := runBinary(t, bin, env, "sync", "--no-progress"); code != exitOK {
		t.Fatalf("first sync: %d\n%s", code, stderr)
	}
	sim.Update(sim.CustomerIDs()[0], func(c *shopifytest.Customer) { c.Note = ptrTo("not written") })
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	cmd := command(bin, env, "sync", "--no-progress")
	if os.Geteuid() == 0 {
		runBin := filepath.Join(t.TempDir(), "shopsync")
		if err := os.Chmod(filepath.Dir(filepath.Dir(runBin)), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Dir(runBin), 0o755)
		if err := copyFile(bin, runBin); err != nil {
			t.Fatal(err)
		}
		cmd = command(runBin, env, "sync", "--no-progress")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot run as nobody here (a user namespace?): %v", err)
	}
	var exitErr *exec.ExitError
	if !asExit(err, &exitErr) || exitErr.ExitCode() != exitFailure {
		t.Fatalf("sync on a read-only store: %v, want exit 1\n%s", err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "shopsync cannot write to the contact store") || !strings.Contains(msg, path) {
		t.Errorf("error %q does not name the store and say it cannot be written", msg)
	}
	t.Logf("read-only store: %s", msg)
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o644)
	integrityCheck(t, path)
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("a WAL of %d bytes appeared", fi.Size())
	}
}

func asExit(err error, target **exec.ExitError) bool {
	return errors.As(err, target)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// TestSyncDiskFull runs `shopsync sync` with RLIMIT_FSIZE so small that
// the store cannot grow past a few pages of the import (SIGXFSZ ignored,
// so writes fail with EFBIG as on a full disk): exit 1 with SQLite's
// error, the store intact, and an unrestricted run resumes and stores
// every customer exactly once.
func TestSyncDiskFull(t *testing.T) {
	bin := binary(t)
	const customers = 2000
	sim, env := shopEnv(t, shopifytest.Options{Customers: customers, Seed: 73})
	path := env["SHOPSYNC_STORE_PATH"]
	// bash counts ulimit -f in KiB. A 2000-customer store is about 2.5 MB. (With
	// 1024, migration 0008's tables moved the failing write to where FailRun
	// could not record the failure either: the run stayed "running" until the
	// next one marked it interrupted.)
	cmd := command("/bin/bash", env, "-c", `trap '' XFSZ; ulimit -f 1100; exec "$0" sync --no-progress`, bin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !asExit(err, &exitErr) || exitErr.ExitCode() != exitFailure {
		t.Fatalf("sync with a full disk: %v, want exit 1\n%s", err, stderr.String())
	}
	msg := stderr.String()
	t.Logf("full disk: %s / %s", strings.TrimSpace(stdout.String()), msg)
	if !strings.Contains(msg, "The disk holding the contact store is full") && !strings.Contains(msg, "The disk holding the contact store failed a write") {
		t.Errorf("error %q does not say the disk is full", msg)
	}
	integrityCheck(t, path)

	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := db.Runs(context.Background(), 10)
	db.Close()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v %v, want 1", runs, err)
	}
	failed := runs[0]
	if failed.State != shopsync.RunFailed || failed.Error == "" || failed.Fetched == 0 || failed.Fetched == customers {
		t.Errorf("run after a full disk: %+v, want failed partway with its reason", failed)
	}

	stdout2, stderr2, code := runBinary(t, bin, env, "sync", "--no-progress")
	if code != exitOK {
		t.Fatalf("sync after the disk was freed: %d\n%s", code, stderr2)
	}
	t.Logf("resumed: %s", strings.TrimSpace(stdout2))
	db, err = store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err = db.Runs(context.Background(), 10)
	if err != nil || len(runs) != 2 || !runs[0].Resumed || runs[0].State != shopsync.RunSucceeded || runs[0].ImportID != failed.ImportID {
		t.Fatalf("runs after resuming: %+v %v", runs, err)
	}
	if created := runs[0].Created + runs[1].Created; created != customers {
		t.Errorf("%d contacts created in both runs, want %d", created, customers)
	}
	got := storedContacts(t, path)
	ids := sim.CustomerIDs()
	if len(got) != len(ids) {
		t.Errorf("store holds %d contacts, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		if got[id] == nil {
			t.Errorf("customer %d not stored", id)
		}
	}
}
