package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

// audienceShop is a simulated shop of n customers with the cases an
// audience must get right planted in it: an address shared by a
// subscribed and an unsubscribed customer (in other cases), one shared by
// two subscribed customers, tags in several cases, and a formula in a
// name. want computes, from the simulator's own data and not through
// shopsync, what a segment or a marketing list must hold.
type audienceShop struct {
	sim *shopifytest.Server
	env map[string]string
}

func newAudienceShop(t *testing.T) *audienceShop {
	t.Helper()
	sim, env := shopEnv(t, shopifytest.Options{Customers: 240, Seed: 1818})
	ids := sim.CustomerIDs()
	ptr := func(s string) *string { return &s }
	consent := func(state string) *shopifytest.EmailConsent {
		return &shopifytest.EmailConsent{State: state, OptInLevel: ptr("single_opt_in"), ConsentUpdatedAt: ptr("2024-01-02T03:04:05-05:00")}
	}
	// One address, two customers: the subscribed one must not be sent,
	// since the other unsubscribed.
	sim.Update(ids[0], func(c *shopifytest.Customer) {
		c.Email, c.EmailMarketingConsent = ptr("Shared.Unsub@Example.com"), consent("subscribed")
	})
	sim.Update(ids[1], func(c *shopifytest.Customer) {
		c.Email, c.EmailMarketingConsent = ptr("shared.unsub@example.com "), consent("unsubscribed")
	})
	// Two subscribed customers, one address: sent once.
	sim.Update(ids[2], func(c *shopifytest.Customer) {
		c.Email, c.EmailMarketingConsent = ptr("twice@example.com"), consent("subscribed")
	})
	sim.Update(ids[3], func(c *shopifytest.Customer) {
		c.Email, c.EmailMarketingConsent = ptr("TWICE@example.com"), consent("subscribed")
	})
	sim.Update(ids[4], func(c *shopifytest.Customer) {
		c.Tags, c.TotalSpent = "vip, Wholesale", "100.00"
		c.FirstName = ptr(`=HYPERLINK("http://evil.example","x")`)
	})
	sim.Update(ids[5], func(c *shopifytest.Customer) { c.Tags, c.TotalSpent = "VIP", "99.99" })
	sim.Update(ids[6], func(c *shopifytest.Customer) { c.Tags, c.TotalSpent = "Vip", "1000000000000000000.01" })
	return &audienceShop{sim: sim, env: env}
}

// customers returns the shop's customers, by id.
func (s *audienceShop) customers() []shopifytest.Customer {
	var out []shopifytest.Customer
	for _, id := range s.sim.CustomerIDs() {
		c, _ := s.sim.Customer(id)
		out = append(out, c)
	}
	return out
}

func hasTag(c shopifytest.Customer, tag string) bool {
	for t := range strings.SplitSeq(c.Tags, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tag) {
			return true
		}
	}
	return false
}

func spentAtLeast(c shopifytest.Customer, min string) bool {
	a, ok1 := new(big.Rat).SetString(c.TotalSpent)
	b, ok2 := new(big.Rat).SetString(min)
	return ok1 && ok2 && a.Cmp(b) >= 0
}

func subscribed(c shopifytest.Customer) bool {
	return c.EmailMarketingConsent != nil && c.EmailMarketingConsent.State == "subscribed"
}

// emailAudience is what a marketing list for email of the subscribers
// must hold, computed from the shop: the addresses (trimmed, lower case)
// whose every holder among cs is subscribed; and how many subscribed
// contacts are left out as duplicates of another, or withheld because
// another holder of their address is not subscribed.
func emailAudience(cs []shopifytest.Customer) (addrs []string, duplicates, withheld int) {
	holders := map[string][]shopifytest.Customer{}
	for _, c := range cs {
		if c.Email == nil || !strings.Contains(*c.Email, "@") {
			continue
		}
		k := strings.ToLower(strings.TrimSpace(*c.Email))
		holders[k] = append(holders[k], c)
	}
	for k, hs := range holders {
		subs := 0
		for _, h := range hs {
			if subscribed(h) {
				subs++
			}
		}
		switch {
		case subs == 0:
		case subs < len(hs):
			withheld += subs
		default:
			addrs = append(addrs, k)
			duplicates += subs - 1
		}
	}
	slices.Sort(addrs)
	return addrs, duplicates, withheld
}

// TestAudiencesEndToEnd drives segments, marketing lists, exports and the
// mapping preview through the real binary: the CLI, then the API of
// `shopsync serve`, each result checked against what the shop's own data
// says it must be.
func TestAudiencesEndToEnd(t *testing.T) {
	shop := newAudienceShop(t)
	bin := binary(t)
	env := shop.env
	if _, stderr, code := runBinary(t, bin, env, "sync"); code != exitOK {
		t.Fatalf("sync: exit %d\n%s", code, stderr)
	}
	cs := shop.customers()
	count := func(pred func(shopifytest.Customer) bool) int {
		n := 0
		for _, c := range cs {
			if pred(c) {
				n++
			}
		}
		return n
	}

	// The built-ins, counted.
	stdout, stderr, code := runBinary(t, bin, env, "segments", "list")
	if code != exitOK {
		t.Fatalf("segments list: exit %d\n%s", code, stderr)
	}
	wantSubs := count(subscribed)
	if !regexpLine(stdout, fmt.Sprintf(`^email_subscribers\s+built-in\s+%d\s`, wantSubs)) {
		t.Errorf("segments list: want email_subscribers with %d contacts:\n%s", wantSubs, stdout)
	}
	if !regexpLine(stdout, fmt.Sprintf(`^all\s+built-in\s+%d\s`, len(cs))) {
		t.Errorf("segments list: want all with %d contacts:\n%s", len(cs), stdout)
	}

	// A saved segment: tags in any case, money compared exactly.
	query := `has tag "VIP" and total_spent >= 100`
	wantVIP := count(func(c shopifytest.Customer) bool { return hasTag(c, "vip") && spentAtLeast(c, "100") })
	stdout, stderr, code = runBinary(t, bin, env, "segments", "create", "vip_spenders", query)
	if code != exitOK || strings.TrimSpace(stdout) != fmt.Sprintf("saved segment vip_spenders: %d contacts", wantVIP) {
		t.Fatalf("segments create: exit %d, %q, want %d contacts\n%s", code, stdout, wantVIP, stderr)
	}
	if wantVIP < 2 {
		t.Fatalf("the shop plants two VIPs with 100 or more, found %d", wantVIP)
	}
	// Taken, and a built-in's name.
	if _, stderr, code = runBinary(t, bin, env, "segments", "create", "vip_spenders", "true"); code != exitUsage || !strings.Contains(stderr, "--replace") {
		t.Errorf("create over a saved segment: exit %d, %q", code, stderr)
	}
	if _, stderr, code = runBinary(t, bin, env, "segments", "create", "all", "true"); code != exitUsage || !strings.Contains(stderr, "built-in") {
		t.Errorf("create under a built-in's name: exit %d, %q", code, stderr)
	}
	// A mistake is shown where it is, and nothing is saved.
	_, stderr, code = runBinary(t, bin, env, "segments", "create", "bad", "created_at > now - 30x")
	if code != exitUsage || !strings.Contains(stderr, "created_at > now - 30x\n") || !strings.Contains(stderr, "^") {
		t.Errorf("bad segment: exit %d, stderr %q", code, stderr)
	}
	if stdout, _, _ = runBinary(t, bin, env, "segments", "list", "--no-count"); strings.Contains(stdout, "bad ") {
		t.Errorf("a segment that does not parse was saved:\n%s", stdout)
	}

	// Its export: the mapped header, one row a contact, formulas
	// neutralised.
	stdout, stderr, code = runBinary(t, bin, env, "contacts", "export", "--segment", "vip_spenders", "--format", "csv")
	if code != exitOK {
		t.Fatalf("export --segment: exit %d\n%s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != wantVIP+1 || rows[0][0] != "shopify_id" {
		t.Fatalf("export --segment: %d rows (want %d and a header), %v", len(rows), wantVIP+1, err)
	}
	for _, r := range rows[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	}

	// A marketing list: every holder of an address subscribed, one
	// contact an address, and what was left out said on stderr.
	stdout, stderr, code = runBinary(t, bin, env, "contacts", "export", "--segment", "email_subscribers", "--for", "email", "--format", "jsonl")
	if code != exitOK {
		t.Fatalf("export --for email: exit %d\n%s", code, stderr)
	}
	var got []string
	for line := range strings.Lines(stdout) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		got = append(got, strings.ToLower(strings.TrimSpace(rec["email"].(string))))
	}
	want, dups, withheld := emailAudience(cs)
	if !slices.Equal(got, want) {
		t.Errorf("email list: %d addresses, want %d; first got %v, want %v", len(got), len(want), head(got), head(want))
	}
	if slices.Contains(got, "shared.unsub@example.com") || !slices.Contains(got, "twice@example.com") {
		t.Errorf("email list: the withheld address is in it, or the twice-subscribed one is not")
	}
	if !strings.Contains(stderr, fmt.Sprintf("%d included", len(want))) || !strings.Contains(stderr, fmt.Sprintf("%d withheld", withheld)) ||
		!strings.Contains(stderr, fmt.Sprintf("%d duplicate", dups)) {
		t.Errorf("export --for email: report %q, want %d included, %d duplicates, %d withheld", stderr, len(want), dups, withheld)
	}

	// The mapping preview, with a SmartPush-style mapping from a file.
	cfgPath := filepath.Join(t.TempDir(), "shopsync.yaml")
	if err := os.WriteFile(cfgPath, []byte(`mapping:
  prefix: sp_
  default_country: US
  fields:
    - {name: email, source: email, transforms: [trim, lower], no_prefix: true}
    - {name: customer_id, source: shopify_id, type: string}
    - {source: total_spent, type: decimal, scale: 2, default: "0.00"}
    - {name: is_vip, source: "has_tag:VIP"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	vip := cs[6]
	stdout, stderr, code = runBinary(t, bin, env, "--config", cfgPath, "mapping", "preview", strconv.FormatInt(vip.ID, 10))
	if code != exitOK {
		t.Fatalf("mapping preview: exit %d\n%s", code, stderr)
	}
	for _, s := range []string{`"sp_customer_id": "` + strconv.FormatInt(vip.ID, 10) + `"`, `"sp_total_spent": "1000000000000000000.01"`, `"sp_is_vip": true`} {
		if !strings.Contains(stdout, s) {
			t.Errorf("mapping preview: want %s in\n%s", s, stdout)
		}
	}
	// A bad mapping is refused at start, naming the key.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("mapping:\n  fields:\n    - {source: nope}\n"), 0o600)
	if _, stderr, code = runBinary(t, bin, env, "--config", bad, "segments", "list"); code != exitUsage || !strings.Contains(stderr, "mapping.fields[0]") {
		t.Errorf("bad mapping: exit %d, %q", code, stderr)
	}

	// The same through the API of the real daemon.
	d := startProcess(t, serveEnv(env))
	var segs struct {
		Segments []struct {
			Name    string `json:"name"`
			Builtin bool   `json:"builtin"`
		} `json:"segments"`
	}
	if c := d.call("GET", "/segments", &segs); c != http.StatusOK || !slices.ContainsFunc(segs.Segments, func(s struct {
		Name    string `json:"name"`
		Builtin bool   `json:"builtin"`
	}) bool {
		return s.Name == "vip_spenders" && !s.Builtin
	}) {
		t.Errorf("GET /segments: %d, %+v", c, segs)
	}
	var n struct{ Count json.Number }
	if c := d.call("GET", "/segments/vip_spenders/count", &n); c != http.StatusOK || n.Count.String() != strconv.Itoa(wantVIP) {
		t.Errorf("GET count: %d, %s, want %d", c, n.Count, wantVIP)
	}
	// Cursor paging through a segment yields each contact once.
	seen := map[string]bool{}
	after := ""
	for range 100 {
		var pg struct {
			Contacts  []map[string]any `json:"contacts"`
			NextAfter string           `json:"next_after"`
		}
		if c := d.call("GET", "/segments/all/contacts?limit=7&after="+after, &pg); c != http.StatusOK {
			t.Fatalf("GET contacts: %d", c)
		}
		for _, c := range pg.Contacts {
			id := fmt.Sprint(c["shopify_id"])
			if seen[id] {
				t.Fatalf("contact %s twice", id)
			}
			seen[id] = true
		}
		if after = pg.NextAfter; after == "" {
			break
		}
	}
	if len(seen) != len(cs) {
		t.Errorf("paged %d contacts, want %d", len(seen), len(cs))
	}
	// Create, preview with a mistake, audience report, export, delete.
	code, body := d.send("POST", "/segments", `{"name": "big_spenders", "query": "total_spent >= 500"}`)
	if code != http.StatusCreated {
		t.Errorf("POST /segments: %d %s", code, body)
	}
	code, body = d.send("POST", "/segments", `{"name": "big_spenders", "query": "true"}`)
	if code != http.StatusConflict {
		t.Errorf("POST /segments again: %d %s", code, body)
	}
	code, body = d.send("GET", "/segments/preview?q="+url.QueryEscape(`orders_count >= "x"`), "")
	if code != http.StatusBadRequest || !strings.Contains(body, `"position"`) || !strings.Contains(body, `"caret"`) {
		t.Errorf("preview of a mistake: %d %s", code, body)
	}
	var aud struct {
		Report struct {
			Included json.Number `json:"included"`
			Withheld json.Number `json:"withheld"`
		} `json:"report"`
	}
	if c := d.call("GET", "/segments/email_subscribers/audience?for=email", &aud); c != http.StatusOK ||
		aud.Report.Included.String() != strconv.Itoa(len(want)) || aud.Report.Withheld.String() != strconv.Itoa(withheld) {
		t.Errorf("audience report: %d %+v, want %d included, %d withheld", c, aud, len(want), withheld)
	}
	code, body = d.send("GET", "/contacts/export?segment=email_subscribers&for=email&format=csv", "")
	if rows, err := csv.NewReader(strings.NewReader(body)).ReadAll(); code != http.StatusOK || err != nil || len(rows) != len(want)+1 {
		t.Errorf("GET export: %d, %d rows, %v; want %d and a header", code, len(rows), err, len(want))
	}
	if code, body = d.send("GET", "/contacts/export?segment=nope", ""); code != http.StatusNotFound {
		t.Errorf("export of an unknown segment: %d %s", code, body)
	}
	if code, body = d.send("DELETE", "/segments/all", ""); code != http.StatusBadRequest {
		t.Errorf("DELETE a built-in: %d %s", code, body)
	}
	if code, body = d.send("DELETE", "/segments/big_spenders", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if code, _ = d.send("GET", "/segments/big_spenders", ""); code != http.StatusNotFound {
		t.Errorf("GET a deleted segment: %d", code)
	}
}

// send makes an API request with the sync token and a JSON body, and
// returns the status and the body.
func (d *daemon) send(method, path, body string) (int, string) {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eSyncToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func regexpLine(text, re string) bool {
	return regexp.MustCompile(`(?m)` + re).MatchString(text)
}

func head(s []string) []string { return s[:min(len(s), 3)] }
