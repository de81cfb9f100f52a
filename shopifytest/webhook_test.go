package shopifytest_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// Known vectors from Shopify's and others' libraries (SHOPIFY.md §6).
func TestDeliverySignKnownVectors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, secret, body, want string
	}{
		{"shopify-app-js", "test_secret_key", `{"foo": "bar"}`, "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="},
		{"go-shopify", "7008c5f4da4718b9b45d26d3fcbbb157", `{"foo":"bar"}`, "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY="},
		{"quoted string", "hush", `"my secret message"`, "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI="},
		{"short", "some-secret", "Bf", "3X6clrsy+C8mmzR/MeTh6b/EcLr46WLZaU+24GrPXOM="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := shopifytest.Delivery{Body: []byte(tt.body)}
			if got := d.Sign(tt.secret); got != tt.want {
				t.Errorf("Sign: got %s, want %s", got, tt.want)
			}
			req, err := d.Request(context.Background(), "http://127.0.0.1/x", tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("X-Shopify-Hmac-SHA256"); got != tt.want {
				t.Errorf("request header: got %s, want %s", got, tt.want)
			}
		})
	}
}

var (
	uuidRE        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	triggeredAtRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$`)
)

func TestSenderHeaders(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, "s3cret", nil)
	at := time.Date(2025, 3, 11, 15, 54, 30, 516267807, time.FixedZone("EST", -5*3600))
	ws := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: "s3cret", ShopDomain: "acme-store.myshopify.com",
		APIVersion: "2025-07", Now: func() time.Time { return at }})
	t.Cleanup(ws.Close)
	body := []byte(`{"id":706405506930370084}`)
	status, err := ws.Send(context.Background(), rc.URL, shopifytest.Delivery{Topic: "customers/update", Body: body,
		Header: http.Header{"X-Extra": {"1"}}})
	if err != nil || status != http.StatusOK {
		t.Fatalf("Send: %d %v", status, err)
	}
	got := rc.deliveries()
	if len(got) != 1 || !got[0].valid || string(got[0].body) != string(body) {
		t.Fatalf("received %+v", got)
	}
	h := got[0].header
	for k, want := range map[string]string{
		"Content-Type":           "application/json",
		"X-Shopify-Topic":        "customers/update",
		"X-Shopify-Shop-Domain":  "acme-store.myshopify.com",
		"X-Shopify-API-Version":  "2025-07",
		"X-Shopify-Triggered-At": "2025-03-11T20:54:30.516267807Z",
		"X-Extra":                "1",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: got %q, want %q", k, h.Get(k), want)
		}
	}
	if !uuidRE.MatchString(h.Get("X-Shopify-Webhook-Id")) || !uuidRE.MatchString(h.Get("X-Shopify-Event-Id")) ||
		h.Get("X-Shopify-Webhook-Id") == h.Get("X-Shopify-Event-Id") {
		t.Errorf("ids %q %q, want two different UUIDs", h.Get("X-Shopify-Webhook-Id"), h.Get("X-Shopify-Event-Id"))
	}

	// Defaults, the real clock, and Header dropping a standard header.
	ws2 := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: "s3cret"})
	t.Cleanup(ws2.Close)
	if _, err := ws2.Send(context.Background(), rc.URL, shopifytest.Delivery{Topic: "shop/redact", Body: body,
		Header: http.Header{"X-Shopify-Topic": nil}}); err != nil {
		t.Fatal(err)
	}
	h = rc.deliveries()[1].header
	if _, ok := h["X-Shopify-Topic"]; ok {
		t.Error("X-Shopify-Topic sent though Header removed it")
	}
	if h.Get("X-Shopify-Shop-Domain") != shopifytest.DefaultShopDomain || h.Get("X-Shopify-API-Version") != "2025-01" ||
		!triggeredAtRE.MatchString(h.Get("X-Shopify-Triggered-At")) {
		t.Errorf("defaults: %v", h)
	}
}

func TestSenderFaults(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, "s3cret", nil)
	ws := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: "s3cret"})
	t.Cleanup(ws.Close)
	ctx := context.Background()
	d := shopifytest.Delivery{Topic: "customers/update", Body: []byte(`{"id":706405506930370084,"total_spent":"10.00"}`)}

	t.Run("replay", func(t *testing.T) {
		statuses, err := ws.Replay(ctx, rc.URL, d, 3)
		if err != nil || !slices.Equal(statuses, []int{200, 200, 200}) {
			t.Fatalf("Replay: %v %v", statuses, err)
		}
		got := rc.deliveries()
		got = got[len(got)-3:]
		for _, r := range got[1:] {
			for _, k := range []string{"X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Hmac-Sha256"} {
				if r.header.Get(k) != got[0].header.Get(k) {
					t.Errorf("replayed %s %q, first %q", k, r.header.Get(k), got[0].header.Get(k))
				}
			}
		}
	})

	for _, c := range []shopifytest.Corruption{shopifytest.FlipBodyByte, shopifytest.WrongSecret, shopifytest.NoSignature,
		shopifytest.BadBase64Signature, shopifytest.ShortSignature, shopifytest.EmptySignature} {
		t.Run(c.String(), func(t *testing.T) {
			status, err := ws.SendCorrupt(ctx, rc.URL, d, c)
			if err != nil || status != http.StatusUnauthorized {
				t.Errorf("status %d %v, want the receiver's 401", status, err)
			}
		})
	}

	t.Run("reorder", func(t *testing.T) {
		var ds []shopifytest.Delivery
		for i := range 6 {
			ds = append(ds, shopifytest.Delivery{Topic: "customers/update", Body: []byte{'[', byte('0' + i), ']'}})
		}
		bodies := func(ds []shopifytest.Delivery) string {
			var s string
			for _, d := range ds {
				s += string(d.Body[1])
			}
			return s
		}
		if got := bodies(shopifytest.ReverseDeliveries(ds)); got != "543210" {
			t.Errorf("reversed %s", got)
		}
		a, b := shopifytest.ShuffleDeliveries(ds, 7), shopifytest.ShuffleDeliveries(ds, 7)
		if bodies(a) != bodies(b) || bodies(a) == "012345" || bodies(ds) != "012345" {
			t.Errorf("shuffled %s and %s from %s: want one fixed new order, input untouched", bodies(a), bodies(b), bodies(ds))
		}
		before := len(rc.deliveries())
		ws.SendAll(ctx, rc.URL, a, 1)
		var sent string
		for _, r := range rc.deliveries()[before:] {
			sent += string(r.body[1])
		}
		if sent != bodies(a) {
			t.Errorf("sent in order %s, want %s", sent, bodies(a))
		}
	})
}

func TestSendAllConcurrent(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, "s3cret", func(n int, r received) int {
		if n%5 == 4 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	rc.hold = 20 * time.Millisecond
	ws := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: "s3cret"})
	t.Cleanup(ws.Close)
	ds := make([]shopifytest.Delivery, 20)
	for i := range ds {
		ds[i] = shopifytest.Delivery{Topic: "customers/create", Body: []byte(`{"id":1}`)}
	}
	res := ws.SendAll(context.Background(), rc.URL, ds, 5)
	ok, unavailable := 0, 0
	ids := map[string]bool{}
	for _, r := range res {
		switch {
		case r.Err != nil:
			t.Errorf("error %v", r.Err)
		case r.Status == 200:
			ok++
		case r.Status == 503:
			unavailable++
		}
		if r.Latency < rc.hold {
			t.Errorf("latency %s, want at least the receiver's %s", r.Latency, rc.hold)
		}
		ids[r.Delivery.WebhookID] = true
	}
	if ok != 16 || unavailable != 4 || len(ids) != 20 {
		t.Errorf("%d ok, %d 503, %d webhook ids: want 16, 4, 20", ok, unavailable, len(ids))
	}
	rc.mu.Lock()
	maxIn := rc.maxIn
	rc.mu.Unlock()
	if maxIn < 2 || maxIn > 5 {
		t.Errorf("at most %d in flight, want 2..5", maxIn)
	}
}
