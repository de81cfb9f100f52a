package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

// soaking reports whether the long variants run: SHOPSYNC_SOAK set to
// anything (make soak sets it to a duration, for TestSoak).
func soaking() bool { return os.Getenv("SHOPSYNC_SOAK") != "" }

// crashSeed is the seed of a randomised crash test: SHOPSYNC_CRASH_SEED
// replays a failure, otherwise the clock; it is logged either way.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SHOPSYNC_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SHOPSYNC_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with SHOPSYNC_CRASH_SEED=%d)", seed, seed)
	return seed
}

// killedBySIGKILL reports whether err is the exit of a process SIGKILL ended.
func killedBySIGKILL(err error) bool {
	var exitErr *exec.ExitError
	return errors.As(err, &exitErr) && exitErr.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

// runBinary runs the built binary (faster than runCLI under -race) and
// returns its output and exit code.
func runBinary(t *testing.T, bin string, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := command(bin, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		code = exitErr.ExitCode()
	default:
		t.Fatalf("%s %v: %v\n%s", bin, args, err, errb.String())
	}
	return out.String(), errb.String(), code
}

// storedContacts returns every active contact of the store, by id.
func storedContacts(t *testing.T, path string) map[int64]*shopsync.Contact {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[int64]*shopsync.Contact{}
	if err := db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		if _, dup := got[c.ShopifyID]; dup {
			return fmt.Errorf("contact %d exported twice", c.ShopifyID)
		}
		got[c.ShopifyID] = c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// contactDiff compares a stored contact with the simulator's customer on
// the fields a mutation changes and a few others; "" when they agree.
func contactDiff(c *shopsync.Contact, sc shopifytest.Customer) string {
	attr := func(name string) string {
		a, ok := c.Attributes.Get(name)
		if !ok || a.Value == nil {
			return "<null>"
		}
		return fmt.Sprint(a.Value)
	}
	var diffs []string
	for _, f := range []struct{ name, got, want string }{
		{"email", deref(c.Email), deref(sc.Email)},
		{"first_name", deref(c.FirstName), deref(sc.FirstName)},
		{"last_name", deref(c.LastName), deref(sc.LastName)},
		{"note", attr("note"), deref(sc.Note)},
		{"total_spent", attr("total_spent"), sc.TotalSpent},
	} {
		if f.got != f.want {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, want %q", f.name, f.got, f.want))
		}
	}
	return strings.Join(diffs, "; ")
}

// TestSyncKilledAtRandom kills the real `shopsync sync` with SIGKILL at
// random moments of an import (before it opens the store, during the
// count, between pages, while a page is applied), 20 times (200 with
// SHOPSYNC_SOAK set), changing the shop between kills, then lets a run
// finish: every customer is stored exactly once, each run's record says
// what happened to it, and one more import makes the store equal the shop.
func TestSyncKilledAtRandom(t *testing.T) {
	bin := binary(t)
	rng := rand.New(rand.NewPCG(crashSeed(t), 61))
	kills := 20
	if soaking() {
		kills = 200
	}
	sim, env := shopEnv(t, shopifytest.Options{Customers: 3000, Seed: 61, Latency: 10 * time.Millisecond})
	env["SHOPSYNC_LOG_LEVEL"] = "warn"
	path := env["SHOPSYNC_STORE_PATH"]

	const (
		killTimer = iota // after a random delay from the start
		killCount        // when the count request arrives
		killPage         // when the k-th page request arrives
	)
	var (
		mu     gosync.Mutex
		proc   *os.Process
		mode   int
		pageAt int
		pages  int
	)
	sim.OnRequest(func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if proc == nil {
			return
		}
		switch {
		case mode == killCount && strings.HasSuffix(r.URL.Path, "/customers/count.json"):
			proc.Signal(syscall.SIGKILL)
		case mode == killPage && strings.HasSuffix(r.URL.Path, "/customers.json"):
			if pages++; pages == pageAt {
				proc.Signal(syscall.SIGKILL)
			}
		}
	})
	nextID := slices.Max(sim.CustomerIDs()) + 1
	var deletedIDs []int64
	mutate := func(round int) {
		ids := sim.CustomerIDs()
		for j := range 3 {
			id := ids[rng.IntN(len(ids))]
			sim.Update(id, func(c *shopifytest.Customer) {
				c.Note = ptrTo(fmt.Sprintf("round %d change %d", round, j))
				c.FirstName = ptrTo(fmt.Sprintf("Renamed %d-%d", round, j))
				c.TotalSpent = fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100))
			})
		}
		gone := ids[rng.IntN(len(ids))]
		sim.Delete(gone)
		deletedIDs = append(deletedIDs, gone)
		now := time.Now().UTC().Format(time.RFC3339)
		sim.Upsert(shopifytest.Customer{ID: nextID, Email: ptrTo(fmt.Sprintf("added.%d@example.com", round)),
			FirstName: ptrTo("Added"), Note: ptrTo(fmt.Sprintf("added in round %d", round)), State: "enabled",
			TotalSpent: "1.00", CreatedAt: now, UpdatedAt: now, Currency: "EUR"})
		nextID += 1 + rng.Int64N(1000)
	}

	var succeeded, killed int
	modes := [3]int{}
	for i := range kills {
		cmd := command(bin, env, "sync", "--no-progress")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		mu.Lock()
		mode, pages, pageAt = rng.IntN(3), 0, 1+rng.IntN(2)
		modes[mode]++
		if err := cmd.Start(); err != nil {
			mu.Unlock()
			t.Fatal(err)
		}
		proc = cmd.Process
		mu.Unlock()
		if mode == killTimer {
			delay := time.Duration(rng.Int64N(int64(250 * time.Millisecond)))
			timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		err := cmd.Wait()
		mu.Lock()
		proc = nil
		mu.Unlock()
		switch {
		case killedBySIGKILL(err):
			killed++
		case err == nil: // finished before the kill came
			succeeded++
		default:
			t.Fatalf("run %d: %v\n%s", i, err, stderr.String())
		}
		mutate(i)
	}
	t.Logf("%d processes killed (timer/count/page: %v), %d finished first", killed, modes, succeeded)

	stdout, stderr, code := runBinary(t, bin, env, "sync", "--no-progress")
	if code != exitOK {
		t.Fatalf("final run: exit %d\n%s", code, stderr)
	}
	requested := sim.Stats().ByPath["customers.json"]

	// The runs' records, oldest first.
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := db.Runs(context.Background(), 10000)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(runs)
	if len(runs) > kills+1 || len(runs) < succeeded+1 {
		t.Fatalf("%d runs recorded for %d processes", len(runs), kills+1)
	}
	var applied int64
	nSucceeded := 0
	for i, r := range runs {
		applied += r.Pages
		last := i == len(runs)-1
		switch {
		case r.State == shopsync.RunSucceeded:
			nSucceeded++
		case last:
			t.Errorf("final run %d: %s %q", r.ID, r.State, r.Error)
		case r.State != shopsync.RunFailed || !strings.Contains(r.Error, "interrupted"):
			t.Errorf("killed run %d: state %s error %q, want failed, interrupted", r.ID, r.State, r.Error)
		}
		wantResumed := i > 0 && runs[i-1].State != shopsync.RunSucceeded
		if r.Resumed != wantResumed {
			t.Errorf("run %d: resumed %v, want %v (previous run %+v)", r.ID, r.Resumed, wantResumed, runs[max(i-1, 0)])
		}
		if wantResumed && r.ImportID != runs[i-1].ImportID || !wantResumed && i > 0 && r.ImportID == runs[i-1].ImportID {
			t.Errorf("run %d: import %d after run %d of import %d", r.ID, r.ImportID, runs[i-1].ID, runs[i-1].ImportID)
		}
	}
	// A kill can land after a run's last commit and before its process
	// exits: that run succeeded though its process was killed. So at
	// least the runs whose process finished, plus the final one, succeeded.
	if nSucceeded < succeeded+1 {
		t.Errorf("%d runs succeeded, want at least %d", nSucceeded, succeeded+1)
	}
	t.Logf("%d runs recorded for %d processes; %d page requests for %d pages applied: %d pages re-fetched or lost in flight; final run: %s",
		len(runs), kills+1, requested, applied, requested-applied, strings.TrimSpace(stdout))

	// Every customer of the shop is stored, once; the only extra active
	// contacts are customers deleted below the checkpoint of an import
	// that was going on (a resumed import does not go back: webhooks and
	// the next import catch those).
	ids := sim.CustomerIDs()
	got := storedContacts(t, path)
	for _, id := range ids {
		if got[id] == nil {
			t.Errorf("customer %d is not stored", id)
		}
	}
	for id := range got {
		if _, ok := sim.Customer(id); !ok && !slices.Contains(deletedIDs, id) {
			t.Errorf("contact %d was never a customer", id)
		}
	}

	// One more import (a new one, since the last completed): the store is
	// now exactly the shop.
	stdout, stderr, code = runBinary(t, bin, env, "sync", "--no-progress")
	if code != exitOK {
		t.Fatalf("check run: exit %d\n%s", code, stderr)
	}
	got = storedContacts(t, path)
	if len(got) != len(ids) {
		t.Errorf("store holds %d active contacts, shop %d customers", len(got), len(ids))
	}
	bad := 0
	for _, id := range ids {
		sc, _ := sim.Customer(id)
		if c := got[id]; c == nil {
			t.Errorf("customer %d is not stored", id)
		} else if d := contactDiff(c, sc); d != "" && bad < 10 {
			bad++
			t.Errorf("contact %d: %s", id, d)
		}
	}
	t.Logf("check run: %s", strings.TrimSpace(stdout))
}

// TestServeKilledMidBurst kills the daemon with SIGKILL while 32 senders
// deliver 2,000 signed customers/update webhooks: after a restart on the
// same store every delivery answered 200 is there, and sending all of
// them again (same webhook ids) is answered 200, the acknowledged ones as
// duplicates.
func TestServeKilledMidBurst(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2000, Seed: 62})
	env = serveEnv(env)
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	d := startProcess(t, env) // SIGKILL needs a process
	d.importAll()

	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	ids := sim.CustomerIDs()
	deliveries := burstDeliveries(t, sim, sender)
	burst := func(url string, onOK func(i int)) (statuses []int) {
		statuses = make([]int, len(deliveries))
		var (
			next atomic.Int64
			wg   gosync.WaitGroup
		)
		for range 32 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= len(deliveries) {
						return
					}
					status, err := sender.Send(context.Background(), url, deliveries[i])
					if err != nil {
						status = -1
					}
					statuses[i] = status
					if status == http.StatusOK && onOK != nil {
						onOK(i)
					}
				}
			})
		}
		wg.Wait()
		return statuses
	}
	var nAcked atomic.Int64
	statuses := burst(d.url+"/webhooks/shopify", func(int) {
		if nAcked.Add(1) == 300 {
			d.cmd.Process.Signal(syscall.SIGKILL)
		}
	})
	err := <-d.exited
	d.exited <- err
	if !killedBySIGKILL(err) {
		t.Fatalf("daemon exit: %v, want SIGKILL", err)
	}
	var acked []int
	for i, s := range statuses {
		if s == http.StatusOK {
			acked = append(acked, i)
		}
	}
	t.Logf("%d of %d deliveries answered 200 before SIGKILL", len(acked), len(deliveries))
	if len(acked) < 300 || len(acked) == len(deliveries) {
		t.Fatalf("%d deliveries acknowledged: the kill did not land mid-burst", len(acked))
	}

	d2 := startDaemon(t, env)
	lost := 0
	for _, i := range acked {
		if got := attr(d2.contact(ids[i]), "note"); got != fmt.Sprintf("burst %d", i) {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged delivery %d (customer %d) lost: note %v", i, ids[i], got)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged deliveries lost", lost, len(acked))
	}

	// Shopify would deliver the unacknowledged ones again; send them all.
	for i, s := range burst(d2.url+"/webhooks/shopify", nil) {
		if s != http.StatusOK {
			t.Errorf("redelivery %d: %d, want 200", i, s)
		}
	}
	counts := deliveryMetrics(t, d2.url)
	t.Logf("restarted daemon's outcomes: %v", counts)
	if counts["duplicate"] < int64(len(acked)) {
		t.Errorf("%d duplicates, want at least the %d acknowledged before the kill", counts["duplicate"], len(acked))
	}
	if counts["duplicate"]+counts["applied"] != int64(len(deliveries)) || counts["failed"] != 0 {
		t.Errorf("outcomes %v, want duplicate+applied = %d", counts, len(deliveries))
	}
	for i, id := range ids {
		if got := attr(d2.contact(id), "note"); got != fmt.Sprintf("burst %d", i) {
			t.Fatalf("customer %d: note %v after redelivery, want burst %d", id, got, i)
		}
	}
	d2.stop()
}

// deliveryMetrics sums shopsync_webhook_deliveries_total by outcome.
func deliveryMetrics(t *testing.T, url string) map[string]int64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	counts := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "shopsync_webhook_deliveries_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(line, "} ")
		_, outcome, _ := strings.Cut(labels, `outcome="`)
		outcome, _, _ = strings.Cut(outcome, `"`)
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		counts[outcome] += int64(n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}
