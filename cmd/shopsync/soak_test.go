package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// TestSoak runs the real daemon against a 5,000-customer simulated shop
// that delivers webhooks, with Shopify faults injected at random, random
// changes at ~20/s, Sync now presses every ~30 s, a schedule every 2 min
// and a sweep every minute, for SHOPSYNC_SOAK (a duration; "1" means
// 30m). At the end the store must equal the shop exactly, and the
// daemon's RSS must not have grown beyond 1.5x its level at 5 minutes.
// Run it with `make soak` (SOAK=30m by default).
func TestSoak(t *testing.T) {
	v := os.Getenv("SHOPSYNC_SOAK")
	if v == "" {
		t.Skip("set SHOPSYNC_SOAK=30m (or make soak) to run the soak")
	}
	duration := 30 * time.Minute
	if v != "1" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SHOPSYNC_SOAK=%q: %v", v, err)
		}
		duration = d
	}
	sim, env := shopEnv(t, shopifytest.Options{Customers: 5000, Seed: 71, ShopDomain: e2eShopDomain,
		WebhookSecret: e2eWebhookSecret})
	env = serveEnv(env)
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	env["SHOPSYNC_SHOPIFY_MAX_RETRIES"] = "3"
	env["SHOPSYNC_SYNC_SCHEDULE"] = "@every 2m"
	env["SHOPSYNC_SYNC_RECONCILE_EVERY"] = "1m"
	d := startProcess(t, env) // its RSS is watched
	d.importAll()
	if stdout, stderr, code := runCLI(t, env, "webhooks", "register", "--address", d.url+"/webhooks/shopify"); code != exitOK {
		t.Fatalf("webhooks register: exit %d\n%s%s", code, stdout, stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	start := time.Now()
	rng := rand.New(rand.NewPCG(71, 72))
	var mutations, faults, presses int
	type sample struct {
		at     time.Duration
		rss    int64 // kB
		heap   int64 // bytes: Go heap in use
		sqlite int64 // bytes: SQLite's own allocations
	}
	var series []sample
	rss := func() int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
		if err != nil {
			return 0
		}
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return n
			}
		}
		return 0
	}
	measure1 := func() sample {
		m := metricValues(t, d.url, "go_memstats_heap_inuse_bytes", "shopsync_sqlite_memory_bytes")
		return sample{time.Since(start).Round(time.Second), rss(), m[0], m[1]}
	}
	series = append(series, measure1())
	mutate := time.NewTicker(50 * time.Millisecond) // ~20/s
	defer mutate.Stop()
	fault := time.NewTicker(3 * time.Second)
	defer fault.Stop()
	press := time.NewTicker(30 * time.Second)
	defer press.Stop()
	measure := time.NewTicker(10 * time.Second)
	defer measure.Stop()
	nextID := slices.Max(sim.CustomerIDs()) + 1
	tagsPool := []string{"vip", "wholesale", "newsletter", "返品", "b2b"}
	states := []string{"subscribed", "not_subscribed", "unsubscribed", "pending"}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-mutate.C:
			mutations++
			ids := sim.CustomerIDs()
			id := ids[rng.IntN(len(ids))]
			switch k := rng.IntN(20); {
			case k == 0: // a new customer
				c := sim.Generate(1, int64(mutations))[0]
				c.ID = nextID
				nextID += 1 + int64(rng.IntN(1000))
				sim.Upsert(c)
			case k == 1:
				sim.Delete(id)
			default:
				sim.Update(id, func(c *shopifytest.Customer) {
					switch k % 4 {
					case 0:
						note := fmt.Sprintf("soak note %d", mutations)
						c.Note = &note
					case 1:
						c.Tags = strings.Join(tagsPool[:1+rng.IntN(len(tagsPool))], ", ")
					case 2:
						if c.EmailMarketingConsent != nil {
							c.EmailMarketingConsent.State = states[rng.IntN(len(states))]
						}
					case 3:
						c.OrdersCount++
						c.TotalSpent = fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100))
					}
				})
			}
		case <-fault.C:
			faults++
			switch rng.IntN(3) {
			case 0:
				sim.FailNext(1+rng.IntN(3), []int{502, 503, 504}[rng.IntN(3)])
			case 1:
				sim.DropNext(1 + rng.IntN(2))
			case 2:
				sim.TruncateNext(1)
			}
		case <-press.C:
			presses++
			d.call("POST", "/sync", nil)
		case <-measure.C:
			series = append(series, measure1())
		}
	}

	// Quiesce: no more faults, every webhook delivered, one last import.
	sim.FailNext(0, 0)
	sim.DropNext(0)
	sim.TruncateNext(0)
	fctx, fcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer fcancel()
	if err := sim.FlushWebhooks(fctx); err != nil {
		t.Fatalf("flush webhooks: %v", err)
	}
	d.waitIdle()
	final := d.importAll()
	series = append(series, measure1())
	var runsBody any
	d.call("GET", "/sync/runs", &runsBody)
	runs, _ := runsBody.([]any)
	if m, ok := runsBody.(map[string]any); ok {
		runs, _ = m["runs"].([]any)
	}

	// The store equals the shop.
	stdout, stderr, code := runCLI(t, env, "contacts", "export", "--format", "jsonl")
	if code != exitOK {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	got := map[int64]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		id, _ := c["shopify_id"].(json.Number).Int64()
		got[id] = c
	}
	ids := sim.CustomerIDs()
	if len(got) != len(ids) {
		t.Errorf("store has %d contacts, shop %d customers", len(got), len(ids))
	}
	mismatches := 0
	for _, id := range ids {
		c := got[id]
		s, _ := sim.Customer(id)
		var diffs []string
		if c == nil {
			diffs = append(diffs, "missing")
		} else {
			attrs, _ := c["attributes"].(map[string]any)
			str := func(v any) string {
				if v == nil {
					return ""
				}
				return fmt.Sprint(v)
			}
			var tags []string
			if ts, ok := c["tags"].([]any); ok {
				for _, tag := range ts {
					tags = append(tags, fmt.Sprint(tag))
				}
			}
			var wantConsent string
			if s.EmailMarketingConsent != nil {
				wantConsent = s.EmailMarketingConsent.State
			}
			for _, f := range [][3]string{
				{"email", str(c["email"]), soakDeref(s.Email)},
				{"note", str(attrs["note"]), soakDeref(s.Note)},
				{"tags", soakTags(strings.Join(tags, ",")), soakTags(s.Tags)},
				{"orders_count", str(attrs["orders_count"]), strconv.FormatInt(s.OrdersCount, 10)},
				{"total_spent", str(attrs["total_spent"]), s.TotalSpent},
				{"email_marketing_consent", strings.ToLower(str(attrs["email_marketing_consent"])), strings.ToLower(wantConsent)},
			} {
				if f[1] != f[2] {
					diffs = append(diffs, fmt.Sprintf("%s %q, shop %q", f[0], f[1], f[2]))
				}
			}
		}
		if len(diffs) > 0 {
			if mismatches++; mismatches <= 10 {
				t.Errorf("customer %d: %s", id, strings.Join(diffs, "; "))
			}
		}
	}

	ws := sim.WebhookStats()
	var at5 int64
	for _, s := range series {
		if s.at <= 5*time.Minute {
			at5 = s.rss
		}
	}
	end := series[len(series)-1].rss
	var b strings.Builder
	for _, s := range series {
		fmt.Fprintf(&b, " %s:%d/%d/%dMB", s.at, s.rss/1024, s.heap>>20, s.sqlite>>20)
	}
	t.Logf("soak %s: %d mutations (%.1f/s), %d faults injected, %d Sync now presses, %d runs (final: %s fetched %d), "+
		"webhooks sent %d failed %d retried %d dropped %d, subscriptions removed %d; store %d contacts, shop %d customers, %d mismatches",
		time.Since(start).Round(time.Second), mutations, float64(mutations)/duration.Seconds(), faults, presses, len(runs),
		final.State, final.Fetched, ws.Sent, ws.Failed, ws.Retried, ws.Dropped, ws.SubscriptionsRemoved, len(got), len(ids), mismatches)
	t.Logf("memory series (RSS/Go heap in use/SQLite, MB):%s", b.String())
	if at5 > 0 && float64(end) > 1.5*float64(at5) {
		t.Errorf("RSS grew from %d kB at 5 min to %d kB at the end: over 1.5x", at5, end)
	}
	if ws.Sent == 0 {
		t.Error("no webhook was delivered: the soak did not soak the receiver")
	}
	d.stop()
}

// metricValues reads the daemon's /metrics and returns the value of each
// named (unlabelled) metric, 0 when absent.
func metricValues(t *testing.T, url string, names ...string) []int64 {
	t.Helper()
	out := make([]int64, len(names))
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Logf("metrics: %v", err)
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if i := slices.Index(names, name); ok && i >= 0 {
			f, _ := strconv.ParseFloat(value, 64)
			out[i] = int64(f)
		}
	}
	return out
}

// soakTags sorts a comma-separated tag list without blanks or spaces.
func soakTags(s string) string {
	var tags []string
	for tag := range strings.SplitSeq(s, ",") {
		if tag = strings.TrimSpace(tag); tag != "" {
			tags = append(tags, tag)
		}
	}
	slices.Sort(tags)
	return strings.Join(tags, ",")
}

func soakDeref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
