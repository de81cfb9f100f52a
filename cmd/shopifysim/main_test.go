package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-customers", "12", "-token", "shpat_cmd_test", "-bucket", "5", "-leak", "1"}, stdout, &stderr)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (stderr %s)", err, stderr.String())
	}
	m := regexp.MustCompile(`^shopifysim listening on (http://127\.0\.0\.1:[0-9]+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stdout line %q", line)
	}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"/admin/api/2024-04/customers/count.json", nil)
	req.Header.Set("X-Shopify-Access-Token", "shpat_cmd_test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"count":12}` || resp.Header.Get("X-Shopify-Shop-Api-Call-Limit") != "1/5" {
		t.Errorf("count: %s, call limit %q", body, resp.Header.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if strings.Contains(stderr.String(), "shpat_cmd_test") {
		t.Error("the token appears in the logs")
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-listen", "0.0.0.0:0"},
		{"-listen", ":0"},
		{"-listen", "192.0.2.1:8080"},
		{"-listen", "example.com:80"},
		{"-listen", "127.0.0.1"},
		{"-bucket", "40", "-leak", "0"},
		{"-client-id", "only-the-id"},
		{"stray"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

// TestRunTrickleDeliversSignedWebhooks runs the simulator with a short
// -trickle and -webhook-secret, subscribes a receiver over REST, and
// checks that changes arrive as signed webhooks from the shop's domain,
// with one -v line per change on stdout.
func TestRunTrickleDeliversSignedWebhooks(t *testing.T) {
	const secret = "whsec_trickle_test"
	type got struct {
		topic, domain string
		signed        bool
	}
	deliveries := make(chan got, 1000)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		select {
		case deliveries <- got{r.Header.Get("X-Shopify-Topic"), r.Header.Get("X-Shopify-Shop-Domain"),
			hmac.Equal([]byte(r.Header.Get("X-Shopify-Hmac-Sha256")), []byte(want))}:
		default:
		}
	}))
	defer recv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-customers", "50", "-token", "shpat_cmd_test", "-bucket", "0",
			"-shop-domain", "trickle-test.myshopify.com", "-webhook-secret", secret, "-trickle", "20ms", "-v"}, stdout, &stderr)
		stdout.Close()
	}()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("no listening line (stderr %s)", stderr.String())
	}
	base := strings.TrimPrefix(lines.Text(), "shopifysim listening on ")
	for _, topic := range []string{"customers/create", "customers/update", "customers/delete"} {
		body := `{"webhook":{"topic":"` + topic + `","address":"` + recv.URL + `/hooks","format":"json"}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/admin/api/2026-10/webhooks.json", strings.NewReader(body))
		req.Header.Set("X-Shopify-Access-Token", "shpat_cmd_test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("subscribe %s: %d", topic, resp.StatusCode)
		}
	}
	// -v: one line per change, a kind then the customer id.
	changeRE := regexp.MustCompile(`^(create|update|consent|tags|order|delete) +[0-9]{18} ?`)
	changes := 0
	for changes < 10 && lines.Scan() {
		if !changeRE.MatchString(lines.Text()) {
			t.Errorf("change line %q", lines.Text())
		}
		changes++
	}
	if changes < 10 {
		t.Fatalf("%d change lines, want 10", changes)
	}
	go io.Copy(io.Discard, out) // keep run from blocking on stdout
	topics := map[string]int{}
	timeout := time.After(10 * time.Second)
	for n := 0; n < 10; n++ {
		select {
		case d := <-deliveries:
			if !d.signed || d.domain != "trickle-test.myshopify.com" {
				t.Errorf("delivery %+v: want signed, from trickle-test.myshopify.com", d)
			}
			topics[d.topic]++
		case <-timeout:
			t.Fatalf("%d deliveries in 10s: %v", n, topics)
		}
	}
	if topics["customers/update"] == 0 {
		t.Errorf("no customers/update among %v", topics)
	}
	// The client may hold a connection it dialled but never used: the
	// server counts it as active for 5 s, the whole time Shutdown has.
	http.DefaultClient.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if strings.Contains(stderr.String(), secret) {
		t.Error("the webhook secret appears in the logs")
	}
}

// TestTrickleChanges checks each kind of change on a simulator in
// process: reproducible for a seed, ids of new customers above every
// other, orders adding to total_spent exactly.
func TestTrickleChanges(t *testing.T) {
	lines := func() []string {
		sim := shopifytest.NewHandler(shopifytest.Options{Customers: 30, Seed: 3})
		defer sim.Close()
		tr := newTrickler(sim, 9, nil)
		tr.now = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
		var out []string
		for range 200 {
			ids := sim.CustomerIDs()
			before := map[int64]shopifytest.Customer{}
			for _, id := range ids {
				before[id], _ = sim.Customer(id)
			}
			line := tr.step()
			out = append(out, line)
			f := strings.Fields(line)
			id, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("line %q", line)
			}
			c, ok := sim.Customer(id)
			switch f[0] {
			case "create":
				if !ok || (len(ids) > 0 && id <= ids[len(ids)-1]) || c.CreatedAt != "2026-05-01T12:00:00+00:00" {
					t.Fatalf("%q: %+v, last id was %d", line, c, ids[len(ids)-1])
				}
			case "delete":
				if ok {
					t.Fatalf("%q: still there", line)
				}
			case "order":
				old := before[id]
				want := addDecimal(old.TotalSpent, strings.TrimPrefix(f[2], "+"))
				if c.OrdersCount != old.OrdersCount+1 || c.TotalSpent != want || f[4] != want {
					t.Fatalf("%q: orders %d -> %d, total %s -> %s, want %s", line, old.OrdersCount, c.OrdersCount, old.TotalSpent, c.TotalSpent, want)
				}
			case "consent":
				e := c.EmailMarketingConsent
				if e == nil || e.State != f[3] || e.ConsentUpdatedAt == nil || *e.ConsentUpdatedAt != "2026-05-01T12:00:00+00:00" {
					t.Fatalf("%q: %+v", line, e)
				}
				if old := before[id].EmailMarketingConsent; (old != nil && old.State == "subscribed") != (e.State == "unsubscribed") {
					t.Fatalf("%q: was %+v", line, old)
				}
			case "update", "tags":
				if !ok || reflect.DeepEqual(c, before[id]) {
					t.Fatalf("%q: nothing changed", line)
				}
			default:
				t.Fatalf("line %q", line)
			}
		}
		return out
	}
	a, b := lines(), lines()
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed made different changes")
	}
	kinds := map[string]bool{}
	for _, l := range a {
		kinds[strings.Fields(l)[0]] = true
	}
	if len(kinds) != 6 {
		t.Errorf("kinds of change in 200 steps: %v", kinds)
	}
}

func TestAddDecimal(t *testing.T) {
	for _, c := range [][3]string{
		{"0.00", "0.01", "0.01"}, {"", "5.00", "5.00"}, {"12.5", "0.50", "13.00"}, {"99.99", "0.01", "100.00"},
		{"12345678901234.56", "0.44", "12345678901235.00"}, {"9007199254740993.10", "0.01", "9007199254740993.11"},
	} {
		if got := addDecimal(c[0], c[1]); got != c[2] {
			t.Errorf("addDecimal(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

// syncBuffer is a strings.Builder safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
