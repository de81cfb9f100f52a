package webhook_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	"github.com/shopsync/shopsync/webhook"
)

const (
	testShop   = "shopsync-test.myshopify.com"
	testSecret = "hush"
)

// receiver is a webhook receiver on a loopback server over a real store,
// with a second store handle on the same file to read back what a 200
// promised.
type receiver struct {
	url     string
	db      *store.DB // the receiver's own, for what the re-fetcher would do
	reader  *store.DB
	metrics *prometheus.Registry
	queued  atomic.Int32
}

// confirmGone does what the re-fetcher does when Shopify no longer lists
// a customer whose customers/delete came: it marks the contact deleted as
// of the read.
func (r *receiver) confirmGone(t *testing.T, id int64, seen time.Time) {
	t.Helper()
	res, err := r.db.ApplyChanges(context.Background(), []shopsync.Change{
		{Kind: shopsync.ChangeDelete, ShopifyID: id, Seen: seen, Read: true, Source: shopsync.SourceRefetch}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("confirm deletion of %d: %v %v", id, err, res[0].Err)
	}
}

// compliance returns a sample compliance body for the receiver's shop.
func compliance(body string) string { return strings.ReplaceAll(body, sampleShop, testShop) }

func newReceiver(t *testing.T, maxBody int64) *receiver {
	t.Helper()
	db := testutil.MustOpenDB(t)
	c := webhook.NewCommitter(db)
	t.Cleanup(c.Close)
	r := &receiver{db: db, metrics: prometheus.NewRegistry()}
	h := webhook.NewHandler(webhook.Config{
		Shop: testShop, Secrets: []string{"new-secret", testSecret}, MaxBody: maxBody,
		Mapper: newMapper(t), Committer: c, Metrics: webhook.NewMetrics(r.metrics),
		Logger:   slog.New(slog.DiscardHandler),
		OnQueued: func() { r.queued.Add(1) },
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
	return r
}

// delivery is one webhook request; set a header to "" to leave it out.
type delivery struct {
	method, topic, body string
	headers             map[string]string
}

func (r *receiver) send(t *testing.T, d delivery) int {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	req, err := http.NewRequest(d.method, r.url, strings.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{
		"Content-Type":           "application/json",
		"X-Shopify-Topic":        d.topic,
		"X-Shopify-Hmac-Sha256":  webhook.Sign([]byte(d.body), []byte(testSecret)),
		"X-Shopify-Shop-Domain":  testShop,
		"X-Shopify-Api-Version":  "2026-07",
		"X-Shopify-Webhook-Id":   "wh-" + d.topic,
		"X-Shopify-Triggered-At": triggered.Format(time.RFC3339Nano),
	}
	for k, v := range d.headers {
		h[k] = v
	}
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (r *receiver) mustSend(t *testing.T, d delivery) {
	t.Helper()
	if got := r.send(t, d); got != http.StatusOK {
		t.Fatalf("%s %s: got status %d, want 200", d.topic, d.headers["X-Shopify-Webhook-Id"], got)
	}
}

// counter returns the value of the counter name with the given labels
// (name, value, ...), 0 when it was never counted.
func (r *receiver) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := r.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := hdr(labels...)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func hdr(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestHandlerCommitsBeforeOK(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)

	// customers/create (2024-04): visible to a fresh read once answered.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024})
	c, err := r.reader.Contact(ctx, bigID)
	if err != nil {
		t.Fatalf("after 200: %v", err)
	}
	if *c.Email != "bob@biller.com" || c.ShopifyID != bigID {
		t.Errorf("got contact %d %q, want %d bob@biller.com", c.ShopifyID, *c.Email, bigID)
	}
	if r.queued.Load() != 0 {
		t.Error("a full customers/create queued a re-fetch")
	}
	// A 2025-01 customers/update, newer: the profile changes, the order
	// stats and tags it does not carry stay, and nothing is queued.
	slimUpdate := withKeys(t, slimCreate(t), `"first_name":"Robert","updated_at":"2025-02-03T10:11:12-05:00"`)
	r.mustSend(t, delivery{topic: shopify.TopicCustomersUpdate, body: slimUpdate, headers: hdr("X-Shopify-Webhook-Id", "slim-update")})
	if c, err = r.reader.Contact(ctx, bigID); err != nil {
		t.Fatal(err)
	}
	if *c.FirstName != "Robert" {
		t.Errorf("got first name %q, want Robert", *c.FirstName)
	}
	if a, _ := c.Attributes.Get("orders_count"); a.Value != int64(1) {
		t.Errorf("got orders_count %v, want 1 (absent from the update: kept)", a.Value)
	}
	if a, _ := c.Attributes.Get("last_order_id"); a.Value != int64(820982911946154508) {
		t.Errorf("got last_order_id %v, want 820982911946154508", a.Value)
	}
	if r.queued.Load() != 0 {
		t.Error("a slim update of a complete contact queued a re-fetch")
	}

	// A consent change (consent_updated_at null: versioned by the trigger
	// time), signed with the second secret of a rotation.
	later := triggered.Add(time.Minute).Format(time.RFC3339Nano)
	consent := strings.Replace(sampleEmailConsent, `"not_subscribed"`, `"subscribed"`, 1)
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: consent, headers: hdr(
		"X-Shopify-Hmac-Sha256", webhook.Sign([]byte(consent), []byte("new-secret")),
		"X-Shopify-Triggered-At", later)})
	if c, err = r.reader.Contact(ctx, bigID); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Attributes.Get("email_marketing_consent"); a.Value != "subscribed" {
		t.Errorf("got consent %v, want subscribed", a.Value)
	}
	// The same delivery again, and a different body under the same id:
	// one effect.
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: sampleEmailConsent, headers: hdr(
		"X-Shopify-Triggered-At", triggered.Add(2*time.Minute).Format(time.RFC3339Nano))})
	if c, _ = r.reader.Contact(ctx, bigID); c == nil {
		t.Fatal("contact gone")
	}
	if a, _ := c.Attributes.Get("email_marketing_consent"); a.Value != "subscribed" {
		t.Errorf("duplicate delivery changed consent to %v", a.Value)
	}

	// A slim customers/create of a new customer queues a re-fetch.
	slim := strings.ReplaceAll(slimCreate(t), "706405506930370084", "706405506930370085")
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: slim, headers: hdr("X-Shopify-Webhook-Id", "slim")})
	if n, err := r.reader.RefetchPending(ctx); err != nil || n != 1 || r.queued.Load() != 1 {
		t.Errorf("slim create: got %d pending (%v), %d pokes; want 1, 1", n, err, r.queued.Load())
	}

	// customers/delete queues a read that confirms it (the topic header is
	// not signed); once Shopify no longer lists the customer it is
	// deleted. Then a late customers/update triggered before it.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersDelete, body: sampleDelete, headers: hdr(
		"X-Shopify-Triggered-At", triggered.Add(time.Hour).Format(time.RFC3339Nano))})
	if _, err := r.reader.Contact(ctx, bigID); err != nil {
		t.Errorf("after customers/delete, before its confirmation: got %v, want the contact still live", err)
	}
	if n, err := r.reader.RefetchPending(ctx); err != nil || n != 2 || r.queued.Load() != 2 {
		t.Errorf("customers/delete: got %d pending (%v), %d pokes; want 2, 2", n, err, r.queued.Load())
	}
	r.confirmGone(t, bigID, triggered.Add(time.Hour+time.Second))
	if _, err := r.reader.Contact(ctx, bigID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: got %v, want ErrNotFound", err)
	}
	r.mustSend(t, delivery{topic: shopify.TopicCustomersUpdate, body: sampleCreate2024, headers: hdr(
		"X-Shopify-Triggered-At", triggered.Add(30*time.Minute).Format(time.RFC3339Nano))})
	if _, err := r.reader.Contact(ctx, bigID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("late update resurrected the contact: %v", err)
	}

	// A topic shopsync does not use: 200, recorded, nothing stored.
	r.mustSend(t, delivery{topic: "orders/create", body: `{"id":1,"email":"x@example.com"}`})
	if _, err := r.reader.Contact(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown topic stored a contact: %v", err)
	}

	counts, err := r.reader.DeliveryCounts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.DeliveryCount{
		{Topic: shopify.TopicCustomersCreate, Outcome: shopsync.OutcomeApplied, Count: 2},
		{Topic: shopify.TopicCustomersDelete, Outcome: shopsync.OutcomeQueued, Count: 1},
		{Topic: shopify.TopicCustomersUpdate, Outcome: shopsync.OutcomeApplied, Count: 1},
		{Topic: shopify.TopicCustomersUpdate, Outcome: shopsync.OutcomeStale, Count: 1},
		{Topic: shopify.TopicEmailConsentUpdate, Outcome: shopsync.OutcomeApplied, Count: 1},
		{Topic: "orders/create", Outcome: shopsync.OutcomeIgnored, Count: 1},
	}
	if diff := cmp.Diff(counts, want); diff != "" {
		t.Errorf("delivery counts (-got +want):\n%s", diff)
	}
	if got := r.counter(t, "shopsync_webhook_deliveries_total", "topic", shopify.TopicEmailConsentUpdate, "outcome", "duplicate"); got != 1 {
		t.Errorf("got %v duplicate deliveries counted, want 1", got)
	}
	if got := r.counter(t, "shopsync_webhook_deliveries_total", "topic", "unknown", "outcome", "ignored"); got != 1 {
		t.Errorf("got %v unknown-topic deliveries counted, want 1", got)
	}
}

func TestHandlerRedact(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	body := strings.ReplaceAll(sampleCreate2024, "706405506930370084", "191167")
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: body})
	r.mustSend(t, delivery{topic: shopify.TopicCustomersDataRequest, body: compliance(sampleDataRequest)})
	// Compliance deliveries have come without X-Shopify-Shop-Domain
	// (shopify-api-ruby #1261): the body names the shop.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersRedact, body: compliance(sampleRedact),
		headers: hdr("X-Shopify-Shop-Domain", "")})
	if _, err := r.reader.Contact(ctx, 191167); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after redact: got %v, want ErrNotFound", err)
	}
	// A late update for the redacted customer is ignored.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersUpdate, body: body, headers: hdr(
		"X-Shopify-Triggered-At", triggered.Add(time.Hour).Format(time.RFC3339Nano))})
	if active, deleted, _ := r.reader.ContactCounts(ctx); active+deleted != 0 {
		t.Errorf("got %d contacts after redact, want 0", active+deleted)
	}
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024, headers: hdr("X-Shopify-Webhook-Id", "other")})
	r.mustSend(t, delivery{topic: shopify.TopicShopRedact, body: compliance(sampleShopRedact)})
	if active, deleted, _ := r.reader.ContactCounts(ctx); active+deleted != 0 {
		t.Errorf("got %d contacts after shop redact, want 0", active+deleted)
	}
}

func TestHandlerRejectsAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	const maxBody = 2048
	r := newReceiver(t, maxBody)
	big := strings.Replace(sampleCreate2024, `"This customer loves ice cream"`, `"`+strings.Repeat("x", maxBody)+`"`, 1)
	badJSON := `{"id":706405506930370084,`
	tests := []struct {
		name   string
		d      delivery
		status int
		reason string
	}{
		{"missing HMAC", delivery{headers: hdr("X-Shopify-Hmac-Sha256", "")}, 401, "signature"},
		{"HMAC of another secret", delivery{headers: hdr("X-Shopify-Hmac-Sha256",
			webhook.Sign([]byte(sampleCreate2024), []byte("wrong")))}, 401, "signature"},
		{"HMAC of another body", delivery{headers: hdr("X-Shopify-Hmac-Sha256",
			webhook.Sign([]byte(sampleDelete), []byte(testSecret)))}, 401, "signature"},
		{"HMAC not base64", delivery{headers: hdr("X-Shopify-Hmac-Sha256", "%%%")}, 401, "signature"},
		{"other shop", delivery{headers: hdr("X-Shopify-Shop-Domain", "evil.myshopify.com")}, 403, "shop"},
		{"no shop", delivery{headers: hdr("X-Shopify-Shop-Domain", "")}, 403, "shop"},
		{"no webhook id", delivery{headers: hdr("X-Shopify-Webhook-Id", "")}, 400, "headers"},
		{"no topic", delivery{topic: "-"}, 400, "headers"},
		{"bad triggered-at", delivery{headers: hdr("X-Shopify-Triggered-At", "yesterday")}, 400, "headers"},
		{"bad JSON, valid HMAC", delivery{body: badJSON}, 400, "payload"},
		{"wrong shape, valid HMAC", delivery{body: `{"id":"x"}`}, 400, "payload"},
		{"oversize", delivery{body: big}, 413, "too_large"},
		{"wrong content type", delivery{headers: hdr("Content-Type", "text/plain")}, 415, "content_type"},
		{"form content type", delivery{headers: hdr("Content-Type", "application/x-www-form-urlencoded")}, 415, "content_type"},
		{"GET", delivery{method: http.MethodGet}, 405, "method"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			if d.topic == "" {
				d.topic = shopify.TopicCustomersCreate
			} else if d.topic == "-" {
				d.topic = ""
			}
			if d.body == "" {
				d.body = sampleCreate2024
			}
			if d.headers == nil {
				d.headers = map[string]string{}
			}
			if _, ok := d.headers["X-Shopify-Webhook-Id"]; !ok {
				d.headers["X-Shopify-Webhook-Id"] = "reject-" + string(rune('a'+i))
			}
			before := r.counter(t, "shopsync_webhook_rejected_total", "reason", tt.reason)
			if got := r.send(t, d); got != tt.status {
				t.Errorf("got status %d, want %d", got, tt.status)
			}
			if got := r.counter(t, "shopsync_webhook_rejected_total", "reason", tt.reason) - before; got != 1 {
				t.Errorf("got %v rejections counted for %s, want 1", got, tt.reason)
			}
			counts, err := r.reader.DeliveryCounts(ctx, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(counts) != 0 {
				t.Errorf("rejected delivery recorded: %+v", counts)
			}
			if active, deleted, _ := r.reader.ContactCounts(ctx); active+deleted != 0 {
				t.Errorf("rejected delivery stored %d contacts", active+deleted)
			}
		})
	}
	// The same delivery, correct, is then accepted: nothing was recorded
	// under its id.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024,
		headers: hdr("X-Shopify-Webhook-Id", "reject-a")})
	if _, err := r.reader.Contact(ctx, bigID); err != nil {
		t.Errorf("valid delivery after rejections: %v", err)
	}
}

// TestOnRejectOncePerDelivery: the hook that persists refusals (the
// status page's warning) hears of each refused delivery once.
func TestOnRejectOncePerDelivery(t *testing.T) {
	db := testutil.MustOpenDB(t)
	c := webhook.NewCommitter(db)
	t.Cleanup(c.Close)
	var reasons []string
	h := webhook.NewHandler(webhook.Config{Shop: testShop, Secrets: []string{testSecret}, Mapper: newMapper(t),
		Committer: c, OnReject: func(reason string) { reasons = append(reasons, reason) }})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", strings.NewReader(`{"id":1}`))
	req.Header.Set("X-Shopify-Topic", shopify.TopicCustomersUpdate)
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte(`{"id":2}`), []byte(testSecret)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if diff := cmp.Diff(reasons, []string{"signature"}); diff != "" {
		t.Errorf("OnReject calls (-got +want):\n%s", diff)
	}
}
