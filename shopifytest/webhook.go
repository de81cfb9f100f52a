package shopifytest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"time"
)

// Delivery is one webhook delivery as Shopify makes it: a topic, a raw
// JSON body and the headers that describe it (SHOPIFY.md §6). Request
// signs Body exactly as it is, so a test can corrupt it afterwards.
type Delivery struct {
	// Topic is the REST topic name, e.g. "customers/update", sent as
	// X-Shopify-Topic.
	Topic string
	// WebhookID is X-Shopify-Webhook-Id: unique per delivery, kept by its
	// retries. WebhookSender.Prepare sets a UUID when empty.
	WebhookID string
	// EventID is X-Shopify-Event-Id, shared by the deliveries that one
	// merchant action causes. Prepare sets a UUID when empty.
	EventID string
	// ShopDomain is X-Shopify-Shop-Domain, "{name}.myshopify.com".
	ShopDomain string
	// APIVersion is X-Shopify-API-Version: the payload's version.
	APIVersion string
	// TriggeredAt is X-Shopify-Triggered-At, written in UTC with nine
	// fractional digits as Shopify does; the zero time leaves it out.
	TriggeredAt time.Time
	// Body is the raw JSON payload.
	Body []byte
	// Header holds extra headers, set after the standard ones so that it
	// may override them; a key with a nil or empty value removes that
	// header (e.g. Header{"X-Shopify-Topic": nil}).
	Header http.Header
}

// Shopify's webhook headers. Receivers must read them case-insensitively;
// Go sends them canonicalised.
const (
	HeaderTopic       = "X-Shopify-Topic"
	HeaderHmac        = "X-Shopify-Hmac-Sha256"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
)

// triggeredAtLayout is X-Shopify-Triggered-At's form, as seen in real
// deliveries: "2025-03-11T20:54:30.516267807Z".
const triggeredAtLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Sign returns the X-Shopify-Hmac-Sha256 value for d.Body keyed with
// secret: base64(HMAC-SHA256(secret, body)) over the raw bytes.
func (d Delivery) Sign(secret string) string {
	return sign(secret, d.Body)
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Request builds the signed POST of d to url. Empty fields of d leave
// their headers out; d.Header is applied last.
func (d Delivery) Request(ctx context.Context, url, secret string) (*http.Request, error) {
	return d.request(ctx, url, d.Sign(secret))
}

func (d Delivery) request(ctx context.Context, url, signature string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	for _, kv := range [...][2]string{{HeaderTopic, d.Topic}, {HeaderHmac, signature},
		{HeaderShopDomain, d.ShopDomain}, {HeaderAPIVersion, d.APIVersion},
		{HeaderWebhookID, d.WebhookID}, {HeaderEventID, d.EventID}} {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	if !d.TriggeredAt.IsZero() {
		h.Set(HeaderTriggeredAt, d.TriggeredAt.UTC().Format(triggeredAtLayout))
	}
	for k, v := range d.Header {
		k = http.CanonicalHeaderKey(k)
		if len(v) == 0 {
			h.Del(k)
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	return req, nil
}

// newUUID returns a random (version 4) UUID, the form of Shopify's
// webhook and event ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[:8], b[:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newWebhookClient is an HTTP client with Shopify's delivery limits: 1 s
// to connect, 5 s for the whole answer (SHOPIFY.md §6).
func newWebhookClient() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post sends req and reads the answer whole, returning its status.
func post(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
