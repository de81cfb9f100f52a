package webhook_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	gosync "sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	"github.com/shopsync/shopsync/webhook"
)

// abuseTarget is the real receiver over a real store, with the store
// handle exposed so that a test can move its clock.
type abuseTarget struct {
	*receiver
	db      *store.DB
	handler *webhook.Handler
}

func newAbuseTarget(t *testing.T) *abuseTarget {
	t.Helper()
	db := testutil.MustOpenDB(t)
	c := webhook.NewCommitter(db)
	t.Cleanup(c.Close)
	r := &receiver{db: db, metrics: prometheus.NewRegistry()}
	h := webhook.NewHandler(webhook.Config{
		Shop: testShop, Secrets: []string{testSecret}, Mapper: newMapper(t), Committer: c,
		Metrics: webhook.NewMetrics(r.metrics), Logger: slog.New(slog.DiscardHandler),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/webhooks/shopify"
	reader, err := store.Open(context.Background(), db.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	r.reader = reader
	return &abuseTarget{receiver: r, db: db, handler: h}
}

func deliveryRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM webhook_deliveries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAbuseDeeplyNestedJSON: 100,000 nested arrays in a validly signed
// body are refused (encoding/json stops at depth 10,000) quickly, with
// bounded memory, on every decoding path, and store nothing.
func TestAbuseDeeplyNestedJSON(t *testing.T) {
	a := newAbuseTarget(t)
	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	for _, tt := range []struct{ topic, body string }{
		{shopify.TopicCustomersCreate, `{"id":1,"addresses":` + nested + `}`},
		{shopify.TopicCustomersCreate, `{"id":1,"note":` + nested + `}`},
		{shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","numberOfOrders":` + nested + `}`},
		{shopify.TopicShopRedact, nested},
		{"orders/create", `{"x":` + nested + `}`},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		got := a.send(t, delivery{topic: tt.topic, body: tt.body, headers: hdr("X-Shopify-Webhook-Id", "nested-"+tt.topic)})
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if got != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", tt.topic, got)
		}
		if took > 2*time.Second {
			t.Errorf("%s: answered in %s, want well under 2s", tt.topic, took)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
			t.Errorf("%s: allocated %d MB for a %d KB body", tt.topic, alloc>>20, len(tt.body)>>10)
		}
	}
	if n := deliveryRows(t, a.db.Path()); n != 0 {
		t.Errorf("got %d webhook_deliveries rows, want 0", n)
	}
}

// TestAbuseInvalidUTF8: invalid UTF-8 in a validly signed payload is
// stored as valid UTF-8: encoding/json replaces each invalid byte with
// U+FFFD, and that is what the contact holds.
func TestAbuseInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	a := newAbuseTarget(t)
	body := "{\"id\":42,\"first_name\":\"Bo\xffb\",\"last_name\":\"\xc0\x80\xed\xa0\x80\",\"tags\":\"ok, \xfe\",\"updated_at\":\"2026-01-01T00:00:00Z\"}"
	a.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: body})
	c, err := a.reader.Contact(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	if c.FirstName == nil || *c.FirstName != "Bo\uFFFDb" {
		t.Errorf("first name: got %q, want %q", deref(c.FirstName), "Bo\uFFFDb")
	}
	// Overlong NUL and a surrogate: one U+FFFD per invalid byte.
	if want := strings.Repeat("\uFFFD", 5); c.LastName == nil || *c.LastName != want {
		t.Errorf("last name: got %q, want %q", deref(c.LastName), want)
	}
	for _, s := range append([]string{deref(c.FirstName), deref(c.LastName)}, c.Tags...) {
		if !utf8.ValidString(s) {
			t.Errorf("stored %q: not valid UTF-8", s)
		}
	}
	if want := []string{"ok", "\uFFFD"}; fmt.Sprint(c.Tags) != fmt.Sprint(want) {
		t.Errorf("tags: got %q, want %q", c.Tags, want)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestAbuseReplayAfterSevenDays: Shopify retries for 4 hours and can be a
// day late, but a captured delivery can be replayed any time with its
// valid signature. Seven days later (the store's clock moved, and the
// daemon's pruning of deliveries older than its 8-day retention run) it
// is still a duplicate with no effect.
func TestAbuseReplayAfterSevenDays(t *testing.T) {
	ctx := context.Background()
	a := newAbuseTarget(t)
	day0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	a.db.Now = func() time.Time { return day0 }
	old := withKeys(t, sampleCreate2024, `"first_name":"Old","updated_at":"2026-07-01T10:00:00Z"`)
	oldDelivery := delivery{topic: shopify.TopicCustomersUpdate, body: old, headers: hdr("X-Shopify-Webhook-Id", "replayed")}
	a.mustSend(t, oldDelivery)
	// The customer's email consent, then deletion: a replayed update
	// applied as new would resurrect the contact.
	a.mustSend(t, delivery{topic: shopify.TopicCustomersDelete, body: sampleDelete, headers: hdr(
		"X-Shopify-Webhook-Id", "deleted", "X-Shopify-Triggered-At", "2026-07-01T11:00:00Z")})
	a.confirmGone(t, bigID, time.Date(2026, 7, 1, 11, 0, 1, 0, time.UTC))
	rows := deliveryRows(t, a.db.Path())

	const daemonRetention = 8 * 24 * time.Hour // cmd/shopsync deliveryRetention
	later := day0.Add(7 * 24 * time.Hour)
	a.db.Now = func() time.Time { return later }
	if _, err := a.db.PruneDeliveries(ctx, a.db.Now().Add(-daemonRetention)); err != nil {
		t.Fatal(err)
	}
	// The replay carries a fresh trigger time (a forger controls headers
	// but not the body's signature): only the webhook id stops it.
	oldDelivery.headers["X-Shopify-Triggered-At"] = later.Format(time.RFC3339Nano)
	a.mustSend(t, oldDelivery)
	if _, err := a.reader.Contact(ctx, bigID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replay after 7 days: got %v, want the contact still deleted", err)
	}
	if n := deliveryRows(t, a.db.Path()); n != rows {
		t.Errorf("got %d delivery rows after the replay, want %d", n, rows)
	}
	if got := a.counter(t, "shopsync_webhook_deliveries_total", "topic", shopify.TopicCustomersUpdate, "outcome", "duplicate"); got != 1 {
		t.Errorf("got %v duplicates counted, want 1", got)
	}
}

// TestAbuseSlowLoris: the daemon's http.Server sets ReadHeaderTimeout
// (cmd/shopsync/serve.go: 5s). The same pattern here, at 200ms around the
// real handler: a client sending its headers a byte per 100ms is cut off
// within about a second, and the receiver still serves a normal delivery.
func TestAbuseSlowLoris(t *testing.T) {
	a := newAbuseTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 200 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, ErrorLog: nil}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		// The server closes (after a 408 at most): the read ends.
		io.Copy(io.Discard, conn)
		closed <- time.Since(start)
	}()
	req := "POST /webhooks/shopify HTTP/1.1\r\nHost: x\r\nX-Shopify-Topic: customers/create\r\nContent-Length: 2\r\n\r\n{}"
	sent := 0
writing:
	for i := range len(req) {
		select {
		case <-closed:
			closed <- time.Since(start)
			break writing
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{req[i]}); err != nil {
			break
		}
		sent++
	}
	select {
	case d := <-closed:
		if d > 1500*time.Millisecond {
			t.Errorf("connection closed after %s, want about 200ms", d)
		}
		if sent >= len(req) {
			t.Errorf("the whole request was sent before the server hung up")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("slow client still connected after 3s")
	}

	a.url = "http://" + ln.Addr().String() + "/webhooks/shopify"
	a.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024})
}

// TestAbuseOversizedFlood: 200 concurrent 2 MiB bodies are all refused
// 413, and the heap stays bounded: the handler must not buffer a
// megabyte for each of them.
func TestAbuseOversizedFlood(t *testing.T) {
	a := newAbuseTarget(t)
	const (
		clients = 200
		size    = 2 << 20
	)
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	var (
		peak uint64
		stop = make(chan struct{})
		wg   gosync.WaitGroup
	)
	wg.Go(func() {
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, ExpectContinueTimeout: 5 * time.Second}}
	defer client.CloseIdleConnections()
	statuses := make([]int, clients)
	errs := make([]error, clients)
	var senders gosync.WaitGroup
	for i := range clients {
		senders.Go(func() {
			req, err := http.NewRequest(http.MethodPost, a.url, io.LimitReader(zeros{}, size))
			if err != nil {
				errs[i] = err
				return
			}
			req.ContentLength = size
			// The server refuses without reading the body; without
			// Expect the client could see its 2 MiB write cut (EPIPE)
			// before it reads the 413.
			req.Header.Set("Expect", "100-continue")
			req.Header.Set("X-Shopify-Topic", shopify.TopicCustomersCreate)
			req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign(nil, []byte(testSecret)))
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	senders.Wait()
	close(stop)
	wg.Wait()
	for i := range clients {
		if errs[i] != nil || statuses[i] != http.StatusRequestEntityTooLarge {
			t.Errorf("client %d: got %d, %v; want 413", i, statuses[i], errs[i])
		}
	}
	if delta := int64(peak) - int64(base.HeapInuse); delta > 64<<20 {
		t.Errorf("heap in use grew by %d MB during the flood, want < 64 MB", delta>>20)
	}
	if n := deliveryRows(t, a.db.Path()); n != 0 {
		t.Errorf("got %d webhook_deliveries rows, want 0", n)
	}
	// Still serving.
	a.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024})
}

// zeros is an endless reader of spaces, cheap to send.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	copy(p, bytes.Repeat([]byte{' '}, len(p)))
	return len(p), nil
}
