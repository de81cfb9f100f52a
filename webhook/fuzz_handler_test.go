package webhook_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/webhook"
)

// fuzzMaxBody is the handler's body cap in FuzzHandler: small, so that the
// fuzzer reaches 413 too.
const fuzzMaxBody = 2048

// Signing modes of FuzzHandler.
const (
	signFuzzed = iota // the fuzzed header as it is
	signRight         // the body signed with the handler's secret
	signWrong         // the body signed with another secret
)

// FuzzHandler sends hostile deliveries (every header and the body fuzzed,
// half of them validly signed) to the receiver over a real store, and
// checks its answer against the documented order of checks: the answer is
// one of 200/400/401/403/413/415 and never 5xx; nothing not validly
// signed is ever 200 or recorded; a validly signed delivery whose body is
// not the topic's JSON is 400; nothing but a 200 writes a
// webhook_deliveries row, and a 200 leaves the delivery's row behind.
func FuzzHandler(f *testing.F) {
	ta := triggered.Format(time.RFC3339Nano)
	for _, s := range []struct {
		topic, hmac, shop, id, ta, ct, body string
		sign                                uint8
	}{
		{shopify.TopicCustomersCreate, "", testShop, "wh-1", ta, "application/json", sampleCreate2024, signRight},
		{shopify.TopicCustomersUpdate, "", testShop, "wh-2", "", "", slimCreate(f), signRight},
		{shopify.TopicEmailConsentUpdate, "", strings.ToUpper(testShop), "wh-3", ta, "application/json; charset=utf-8", sampleEmailConsent, signRight},
		{shopify.TopicSMSConsentUpdate, "", testShop, "wh-4", ta, "", sampleSMSConsent, signRight},
		{shopify.TopicPurchasingSummary, "", testShop, "wh-5", ta, "", samplePurchasing, signRight},
		{shopify.TopicTagsAdded, "", testShop, "wh-6", ta, "", sampleTags, signRight},
		{shopify.TopicTagsRemoved, "", testShop, "wh-7", ta, "", sampleTags, signRight},
		{shopify.TopicCustomersDelete, "", testShop, "wh-8", ta, "", sampleDelete, signRight},
		{shopify.TopicCustomersDataRequest, "", testShop, "wh-9", ta, "", sampleDataRequest, signRight},
		{shopify.TopicCustomersRedact, "", testShop, "wh-10", ta, "", sampleRedact, signRight},
		{shopify.TopicShopRedact, "", testShop, "wh-11", ta, "", sampleShopRedact, signRight},
		{"orders/create", "", testShop, "wh-12", ta, "", `{"id":1}`, signRight},
		// Rejections: each check in turn.
		{shopify.TopicCustomersCreate, "", testShop, "wh-1", ta, "", `{"id":706405506930370084,`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-13", ta, "", `[1,2]`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-14", ta, "", `{"id":"1"}`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-15", ta, "", `{"id":0}`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-16", ta, "", `{"id":1e3}`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-17", ta, "", `{"id":9223372036854775808}`, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-18", ta, "", "{\"id\":1,\"first_name\":\"\xff\xfe\"}", signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-19", ta, "", sampleCreate2024, signWrong},
		{shopify.TopicCustomersCreate, "AAAA", testShop, "wh-20", ta, "", sampleCreate2024, signFuzzed},
		{shopify.TopicCustomersCreate, "%%%", testShop, "wh-21", ta, "", sampleCreate2024, signFuzzed},
		{shopify.TopicCustomersCreate, webhook.Sign([]byte(sampleDelete), []byte(testSecret)), testShop, "wh-22", ta, "", sampleCreate2024, signFuzzed},
		{shopify.TopicCustomersDelete, webhook.Sign([]byte(sampleDelete), []byte(testSecret)), testShop, "wh-23", ta, "", sampleDelete, signFuzzed},
		{shopify.TopicCustomersCreate, "", "evil.myshopify.com", "wh-24", ta, "", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", "", "wh-25", ta, "", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "", ta, "", sampleCreate2024, signRight},
		{"", "", testShop, "wh-26", ta, "", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-27", "yesterday", "", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-28", "9999-12-31T23:59:59-23:59", "", sampleDelete, signRight},
		{shopify.TopicCustomersDelete, "", testShop, "wh-29", "0000-01-01T00:00:00+23:59", "", sampleDelete, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-30", ta, "text/plain", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-31", ta, "application/json; =", sampleCreate2024, signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-32", ta, "", strings.Repeat("[", fuzzMaxBody+1), signRight},
		{shopify.TopicCustomersCreate, "", testShop, "wh-33", ta, "", strings.Repeat("[", 1000), signRight},
		{shopify.TopicShopRedact, "", testShop, "wh-34", ta, "", "shop", signRight},
		{"orders/create", "", testShop, "\xff\x00", "", "", `null`, signRight},
	} {
		f.Add(s.topic, s.hmac, s.shop, s.id, s.ta, s.ct, []byte(s.body), s.sign)
	}

	ctx := context.Background()
	db := testutil.MustOpenDB(f)
	c := webhook.NewCommitter(db)
	f.Cleanup(c.Close)
	m := newMapper(f)
	secrets := [][]byte{[]byte("new-secret"), []byte(testSecret)}
	now := time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC)
	h := webhook.NewHandler(webhook.Config{
		Shop: testShop, Secrets: []string{"new-secret", testSecret}, MaxBody: fuzzMaxBody,
		Mapper: m, Committer: c, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return now },
	})
	rows, err := sql.Open("sqlite3", "file:"+db.Path()+"?mode=ro&_query_only=1")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rows.Close() })
	count := func(t *testing.T, id *string) int {
		t.Helper()
		q, args := `SELECT count(*) FROM webhook_deliveries`, []any{}
		if id != nil {
			q, args = q+` WHERE webhook_id = ?`, []any{*id}
		}
		var n int
		if err := rows.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	f.Fuzz(func(t *testing.T, topic, sig, shop, id, ta, ct string, body []byte, sign uint8) {
		switch sign % 3 {
		case signRight:
			sig = webhook.Sign(body, []byte(testSecret))
		case signWrong:
			sig = webhook.Sign(body, []byte("not-the-secret"))
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", strings.NewReader(string(body)))
		for k, v := range map[string]string{
			"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Shop-Domain": shop,
			"X-Shopify-Webhook-Id": id, "X-Shopify-Triggered-At": ta, "Content-Type": ct,
		} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		before := count(t, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		got := w.Code
		after := count(t, nil)

		signed := sig != "" && webhook.Verify(body, sig, secrets)
		want := expectedStatus(m, topic, shop, id, ta, ct, body, signed)
		if got != want {
			t.Fatalf("got %d, want %d (signed %v, topic %q, shop %q, id %q, triggered %q, type %q, body %q)",
				got, want, signed, topic, shop, id, ta, ct, body)
		}
		if got != http.StatusOK && after != before {
			t.Fatalf("a %d delivery wrote %d webhook_deliveries rows", got, after-before)
		}
		if got == http.StatusOK {
			if !signed {
				t.Fatal("an unsigned delivery was answered 200")
			}
			if after-before > 1 || count(t, &id) != 1 {
				t.Fatalf("200 for %q: %d new rows, %d for its id; want at most 1 new, and its row", id, after-before, count(t, &id))
			}
		}
	})
}

// expectedStatus is the answer the handler documents for a delivery,
// computed from the inputs in the order of its checks.
func expectedStatus(m *mapping.Mapper, topic, shop, id, ta, ct string, body []byte, signed bool) int {
	switch {
	case len(body) > fuzzMaxBody:
		return http.StatusRequestEntityTooLarge
	case !signed:
		return http.StatusUnauthorized
	case !strings.EqualFold(shop, testShop):
		return http.StatusForbidden
	case topic == "" || id == "":
		return http.StatusBadRequest
	}
	if ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType
		}
	}
	meta := webhook.Meta{Topic: topic, WebhookID: id, TriggeredAt: triggered}
	if ta != "" {
		t, err := time.Parse(time.RFC3339Nano, ta)
		if err != nil {
			return http.StatusBadRequest
		}
		meta.TriggeredAt = t.UTC()
	}
	if _, err := webhook.Decode(m, meta, body); err != nil {
		if !errors.Is(err, webhook.ErrPayload) {
			return -1 // Decode returned an error that is not ErrPayload
		}
		return http.StatusBadRequest
	}
	return http.StatusOK
}
