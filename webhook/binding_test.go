package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/webhook"
)

// The HMAC covers the body only: the topic, ids, trigger time and shop
// headers are the sender's to choose. These tests send genuine, signed
// bodies under headers they were not written for.

// TestSignedBodyUnderAnotherTopic: a body is accepted only under a topic
// whose shape it has, and a compliance body only for the configured shop.
func TestSignedBodyUnderAnotherTopic(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024, headers: hdr("X-Shopify-Webhook-Id", "create")})
	slimUpdate := withKeys(t, slimCreate(t), `"first_name":"Robert","updated_at":"2025-02-03T10:11:12-05:00"`)
	tests := []struct {
		name, topic, body string
	}{
		{"update as shop/redact", shopify.TopicShopRedact, slimUpdate},
		{"update as customers/redact", shopify.TopicCustomersRedact, slimUpdate},
		{"data request as customers/redact", shopify.TopicCustomersRedact, compliance(sampleDataRequest)},
		{"redact as data request", shopify.TopicCustomersDataRequest, compliance(sampleRedact)},
		{"customers/redact as shop/redact", shopify.TopicShopRedact, compliance(sampleRedact)},
		{"redact of another shop", shopify.TopicCustomersRedact, strings.ReplaceAll(sampleRedact, sampleShop, "evil.myshopify.com")},
		{"shop/redact of another shop", shopify.TopicShopRedact, strings.ReplaceAll(sampleShopRedact, sampleShop, "evil.myshopify.com")},
		{"email consent as update", shopify.TopicCustomersUpdate, sampleEmailConsent},
		{"update as email consent", shopify.TopicEmailConsentUpdate, slimUpdate},
		{"tags as update", shopify.TopicCustomersUpdate, sampleTags},
		{"tags as purchasing summary", shopify.TopicPurchasingSummary, sampleTags},
		{"purchasing summary as tags", shopify.TopicTagsAdded, samplePurchasing},
		{"redact as update", shopify.TopicCustomersUpdate, compliance(sampleRedact)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.send(t, delivery{topic: tt.topic, body: tt.body, headers: hdr("X-Shopify-Webhook-Id", "replay-"+string(rune('a'+i)))})
			if got != http.StatusBadRequest {
				t.Errorf("got status %d, want 400", got)
			}
		})
	}
	c, err := r.reader.Contact(ctx, bigID)
	if err != nil {
		t.Fatalf("the customer after the replays: %v", err)
	}
	if *c.FirstName != "Bob" {
		t.Errorf("got first name %q, want Bob: a refused body changed the contact", *c.FirstName)
	}
	if n, _ := r.reader.RefetchPending(ctx); n != 0 {
		t.Errorf("refused bodies queued %d re-fetches", n)
	}

	// An update body sent as customers/delete has the shape of one (an id
	// is all a delete carries): it only queues a read, which finds the
	// customer, so nothing is deleted.
	r.mustSend(t, delivery{topic: shopify.TopicCustomersDelete, body: slimUpdate, headers: hdr(
		"X-Shopify-Webhook-Id", "update-as-delete", "X-Shopify-Triggered-At", "2099-01-01T00:00:00Z")})
	if _, err := r.reader.Contact(ctx, bigID); err != nil {
		t.Errorf("an update body sent as customers/delete deleted the contact: %v", err)
	}
	if n, _ := r.reader.RefetchPending(ctx); n != 1 {
		t.Errorf("got %d queued, want the one read that confirms or refutes the deletion", n)
	}
}

// TestTriggeredAtClamped: a trigger time later than the time of receipt
// (plus TriggeredAtSkew) is a lie, and counts as the time of receipt. An
// old consent body replayed with a trigger time in 2099 then loses to the
// customer's later genuine change.
func TestTriggeredAtClamped(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	r := newReceiverAt(t, func() time.Time { return now })
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024, headers: hdr(
		"X-Shopify-Webhook-Id", "create", "X-Shopify-Triggered-At", now.Add(-time.Hour).Format(time.RFC3339Nano))})
	// The customer subscribes, then unsubscribes (Shopify's consent
	// bodies often carry consent_updated_at null: no clock of their own).
	subscribed := strings.Replace(sampleEmailConsent, `"not_subscribed"`, `"subscribed"`, 1)
	unsubscribed := strings.Replace(sampleEmailConsent, `"not_subscribed"`, `"unsubscribed"`, 1)
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: subscribed, headers: hdr(
		"X-Shopify-Webhook-Id", "subscribe", "X-Shopify-Triggered-At", now.Add(-30*time.Minute).Format(time.RFC3339Nano))})
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: unsubscribed, headers: hdr(
		"X-Shopify-Webhook-Id", "unsubscribe-1", "X-Shopify-Triggered-At", now.Add(-15*time.Minute).Format(time.RFC3339Nano))})
	// The subscribe body again under a new id, claiming 2099: it takes
	// effect as of its receipt, no later.
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: subscribed, headers: hdr(
		"X-Shopify-Webhook-Id", "replayed", "X-Shopify-Triggered-At", "2099-01-01T00:00:00Z")})
	// The customer unsubscribes again a second later: it must win.
	now = now.Add(time.Second)
	r.mustSend(t, delivery{topic: shopify.TopicEmailConsentUpdate, body: unsubscribed, headers: hdr(
		"X-Shopify-Webhook-Id", "unsubscribe-2", "X-Shopify-Triggered-At", now.Format(time.RFC3339Nano))})
	c, err := r.reader.Contact(ctx, bigID)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := c.Attributes.Get("email_marketing_consent"); a.Value != "unsubscribed" {
		t.Errorf("got consent %v, want unsubscribed: the later genuine change lost to a replay's claimed 2099", a.Value)
	}
	// A trigger time within the skew is the sender's.
	counts, err := r.reader.DeliveryCounts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, dc := range counts {
		if dc.Outcome == shopsync.OutcomeStale {
			t.Errorf("%s: %d stale, want none", dc.Topic, dc.Count)
		}
	}
}

// newReceiverAt is newReceiver whose clock, local and Shopify's, is now.
func newReceiverAt(t *testing.T, now func() time.Time) *receiver {
	t.Helper()
	db := testutil.MustOpenDB(t)
	c := webhook.NewCommitter(db)
	t.Cleanup(c.Close)
	r := &receiver{db: db, reader: db, metrics: nil}
	h := webhook.NewHandler(webhook.Config{
		Shop: testShop, Secrets: []string{testSecret}, Mapper: newMapper(t), Committer: c,
		Logger: slog.New(slog.DiscardHandler), Now: now, ShopifyNow: now,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/webhooks/shopify"
	return r
}

// TestLowercaseHeaders: Shopify's newer event deliveries name the headers
// without X- (shopify-hmac-sha256, shopify-topic, …); both spellings are
// read, and the two disagreeing is refused.
func TestLowercaseHeaders(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	send := func(id string, extra map[string]string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, r.url, strings.NewReader(sampleCreate2024))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		// Written as a raw lowercase map key, as an HTTP/2 peer sends them.
		for k, v := range map[string]string{
			"shopify-topic":        shopify.TopicCustomersCreate,
			"shopify-hmac-sha256":  webhook.Sign([]byte(sampleCreate2024), []byte(testSecret)),
			"shopify-shop-domain":  testShop,
			"shopify-webhook-id":   id,
			"shopify-triggered-at": triggered.Format(time.RFC3339Nano),
			"shopify-api-version":  "2026-07",
		} {
			req.Header[k] = []string{v}
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send("lower", nil); got != http.StatusOK {
		t.Fatalf("lowercase headers: got %d, want 200", got)
	}
	if _, err := r.reader.Contact(ctx, bigID); err != nil {
		t.Errorf("after a delivery with lowercase headers: %v", err)
	}
	if got := send("conflict", map[string]string{"X-Shopify-Topic": shopify.TopicShopRedact}); got != http.StatusBadRequest {
		t.Errorf("X-Shopify-Topic and shopify-topic disagreeing: got %d, want 400", got)
	}
	if got := send("agree", map[string]string{"X-Shopify-Topic": shopify.TopicCustomersCreate}); got != http.StatusOK {
		t.Errorf("both spellings, agreeing: got %d, want 200", got)
	}
}

// TestEventIDDeduplicates: the same event delivered to a second
// subscription of its topic has a new webhook id and the same event id;
// with the same body it is a duplicate, with another body (another
// include_fields) it is applied on its own merits.
func TestEventIDDeduplicates(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	d := func(id, body string) delivery {
		return delivery{topic: shopify.TopicCustomersCreate, body: body, headers: hdr(
			"X-Shopify-Webhook-Id", id, "X-Shopify-Event-Id", "event-1")}
	}
	r.mustSend(t, d("sub-1", sampleCreate2024))
	r.mustSend(t, d("sub-2", sampleCreate2024))
	trimmed := `{"id":706405506930370084,"note":"trimmed","updated_at":"2021-12-31T19:00:00-05:00"}`
	r.mustSend(t, d("sub-3", trimmed))
	counts, err := r.reader.DeliveryCounts(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Count != 2 {
		t.Errorf("got delivery counts %+v, want 2 recorded (the second subscription's copy a duplicate)", counts)
	}
	if got := r.counter(t, "shopsync_webhook_deliveries_total", "topic", shopify.TopicCustomersCreate, "outcome", "duplicate"); got != 1 {
		t.Errorf("got %v duplicates, want 1", got)
	}
}

// TestTrimmedPayloads: what include_fields leaves of a payload changes
// only what it carries. Shopify's "Modify payloads" example keeps id,
// email_marketing_consent and updated_at; a trimmed payload may carry the
// GraphQL id alone.
func TestTrimmedPayloads(t *testing.T) {
	ctx := context.Background()
	r := newReceiver(t, 0)
	r.mustSend(t, delivery{topic: shopify.TopicCustomersCreate, body: sampleCreate2024, headers: hdr("X-Shopify-Webhook-Id", "create")})
	modify := `{"id":706405506930370084,"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in",` +
		`"consent_updated_at":"2022-01-01T00:00:00-05:00"},"updated_at":"2022-01-02T00:00:00-05:00"}`
	r.mustSend(t, delivery{topic: shopify.TopicCustomersUpdate, body: modify, headers: hdr("X-Shopify-Webhook-Id", "modify")})
	gidOnly := `{"admin_graphql_api_id":"gid://shopify/Customer/706405506930370084","note":"only the gid"}`
	r.mustSend(t, delivery{topic: shopify.TopicCustomersUpdate, body: gidOnly, headers: hdr(
		"X-Shopify-Webhook-Id", "gid", "X-Shopify-Triggered-At", triggered.Add(time.Minute).Format(time.RFC3339Nano))})
	c, err := r.reader.Contact(ctx, bigID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"email_marketing_consent":      "subscribed",
		"accepts_email_marketing":      true,
		"default_address_city":         "Ottawa", // absent from both: kept
		"default_address_country_code": "CA",
		"note":                         "only the gid",
		"orders_count":                 int64(1),
	}
	for name, v := range want {
		if a, _ := c.Attributes.Get(name); a.Value != v {
			t.Errorf("%s: got %v, want %v", name, a.Value, v)
		}
	}
	if *c.Email != "bob@biller.com" {
		t.Errorf("got email %q, want it kept", *c.Email)
	}
}

// TestUnverifiedBytesBounded: bodies whose signature is not checked yet
// hold at most MaxUnverified bytes; past it a delivery gets 503 and
// Retry-After. Large bodies may take half of it, so a genuine delivery,
// small, is still accepted while large unverified bodies fill their half.
func TestUnverifiedBytesBounded(t *testing.T) {
	db := testutil.MustOpenDB(t)
	c := webhook.NewCommitter(db)
	t.Cleanup(c.Close)
	const budget = 1 << 20
	h := webhook.NewHandler(webhook.Config{
		Shop: testShop, Secrets: []string{testSecret}, Mapper: newMapper(t), Committer: c,
		Logger: slog.New(slog.DiscardHandler), MaxUnverified: budget,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	url := srv.URL + "/webhooks/shopify"

	// Senders that declare 200 KB and send half of it, then stall: each
	// holds its declared bytes until the body times out or ends.
	const size = 200 << 10
	release := make(chan struct{})
	var wg gosync.WaitGroup
	statuses := make(chan int, 16)
	for range 8 {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.Write(bytes.Repeat([]byte{' '}, size/2))
				<-release
				pw.CloseWithError(errors.New("sender gave up"))
			}()
			req, _ := http.NewRequest(http.MethodPost, url, pr)
			req.ContentLength = size
			req.Header.Set("X-Shopify-Topic", shopify.TopicCustomersCreate)
			req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign(nil, []byte(testSecret)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	// Half the budget is 512 KB: two of the eight stall inside it, the
	// others are refused at once. A genuine delivery still gets through
	// while the two hold their bytes.
	busy := 0
	for busy < 6 {
		select {
		case s := <-statuses:
			if s != http.StatusServiceUnavailable {
				t.Fatalf("a large body answered %d while the others stall, want 503", s)
			}
			busy++
		case <-time.After(4 * time.Second):
			t.Fatalf("%d large bodies refused, want 6", busy)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(sampleCreate2024))
	for k, v := range map[string]string{
		"Content-Type": "application/json", "X-Shopify-Topic": shopify.TopicCustomersCreate,
		"X-Shopify-Hmac-Sha256": webhook.Sign([]byte(sampleCreate2024), []byte(testSecret)),
		"X-Shopify-Shop-Domain": testShop, "X-Shopify-Webhook-Id": "genuine",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a genuine delivery during the flood: got %d, want 200", resp.StatusCode)
	}
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s == http.StatusServiceUnavailable {
			t.Errorf("a body within the share got 503")
		}
	}
}
