package shopifytest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// WebhookOptions configure a WebhookSender.
type WebhookOptions struct {
	// Secret signs every delivery: the app's client secret. Required.
	Secret string
	// ShopDomain fills Delivery.ShopDomain when empty; "" means
	// "shopifytest.myshopify.com".
	ShopDomain string
	// APIVersion fills Delivery.APIVersion when empty; "" means
	// "2025-01".
	APIVersion string
	// Client sends the deliveries; nil means Shopify's limits: 1 s to
	// connect and 5 s for the whole answer, no redirects followed.
	Client *http.Client
	// Now is the clock for TriggeredAt; nil means time.Now.
	Now func() time.Time
}

// DefaultShopDomain is the shop domain used when none is configured.
const DefaultShopDomain = "shopifytest.myshopify.com"

// WebhookSender posts signed webhook deliveries to a receiver the way
// Shopify does, with helpers for the faults a receiver must survive:
// duplicates (Replay), reordering (ReverseDeliveries, ShuffleDeliveries),
// bad signatures (SendCorrupt) and concurrency (SendAll). It is safe for
// concurrent use.
type WebhookSender struct {
	opts   WebhookOptions
	client *http.Client
	owned  bool // client made here: Close closes its connections
}

// NewWebhookSender returns a sender. It panics if opts.Secret is empty.
func NewWebhookSender(opts WebhookOptions) *WebhookSender {
	if opts.Secret == "" {
		panic("shopifytest: WebhookOptions.Secret is required")
	}
	if opts.ShopDomain == "" {
		opts.ShopDomain = DefaultShopDomain
	}
	if opts.APIVersion == "" {
		opts.APIVersion = "2025-01"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &WebhookSender{opts: opts, client: opts.Client}
	if s.client == nil {
		s.client, s.owned = newWebhookClient(), true
	}
	return s
}

// Close closes the idle connections of the sender's own client (not of
// WebhookOptions.Client), so that no goroutine outlives a test.
func (s *WebhookSender) Close() {
	if s.owned {
		s.client.CloseIdleConnections()
	}
}

// Prepare returns d with its empty header fields filled: new UUIDs for
// WebhookID and EventID, the sender's shop domain and API version, and
// now for TriggeredAt. Sending a prepared delivery twice is a duplicate
// as Shopify makes them.
func (s *WebhookSender) Prepare(d Delivery) Delivery {
	if d.WebhookID == "" {
		d.WebhookID = newUUID()
	}
	if d.EventID == "" {
		d.EventID = newUUID()
	}
	if d.ShopDomain == "" {
		d.ShopDomain = s.opts.ShopDomain
	}
	if d.APIVersion == "" {
		d.APIVersion = s.opts.APIVersion
	}
	if d.TriggeredAt.IsZero() {
		d.TriggeredAt = s.opts.Now()
	}
	return d
}

// Send prepares d, signs it and posts it to url. It returns the answer's
// status; err is set only when no answer came (connection refused,
// timeout, cancelled ctx). Like Shopify, anything but 2xx is a failure
// for the caller to judge.
func (s *WebhookSender) Send(ctx context.Context, url string, d Delivery) (int, error) {
	d = s.Prepare(d)
	return s.send(ctx, url, d, d.Sign(s.opts.Secret))
}

func (s *WebhookSender) send(ctx context.Context, url string, d Delivery, signature string) (int, error) {
	req, err := d.request(ctx, url, signature)
	if err != nil {
		return 0, err
	}
	return post(s.client, req)
}

// Replay prepares d once and sends it times times, each with the same
// webhook id, event id, timestamp and body, as Shopify's duplicate
// deliveries are. It returns each status and stops at the first error.
func (s *WebhookSender) Replay(ctx context.Context, url string, d Delivery, times int) ([]int, error) {
	d = s.Prepare(d)
	sig := d.Sign(s.opts.Secret)
	var statuses []int
	for range times {
		status, err := s.send(ctx, url, d, sig)
		if err != nil {
			return statuses, err
		}
		statuses = append(statuses, status)
	}
	return statuses, nil
}

// Corruption is a way SendCorrupt damages a delivery's authentication.
type Corruption int

const (
	// FlipBodyByte signs the true body, then flips the low bit of its
	// middle byte: a digit stays a digit, so the JSON often stays valid.
	FlipBodyByte Corruption = iota
	// WrongSecret signs with another secret.
	WrongSecret
	// NoSignature leaves X-Shopify-Hmac-Sha256 out.
	NoSignature
	// BadBase64Signature sends a signature that is not base64.
	BadBase64Signature
	// ShortSignature sends the base64 of a MAC cut to 16 bytes.
	ShortSignature
	// EmptySignature sends X-Shopify-Hmac-Sha256 with an empty value.
	EmptySignature
)

// String names c.
func (c Corruption) String() string {
	switch c {
	case FlipBodyByte:
		return "flip body byte"
	case WrongSecret:
		return "wrong secret"
	case NoSignature:
		return "no signature"
	case BadBase64Signature:
		return "bad base64 signature"
	case ShortSignature:
		return "short signature"
	case EmptySignature:
		return "empty signature"
	}
	return "unknown corruption"
}

// SendCorrupt prepares d and sends it damaged by c; a receiver must
// answer 401. Every other header is right. Other headers are dropped or
// forged through Delivery.Header.
func (s *WebhookSender) SendCorrupt(ctx context.Context, url string, d Delivery, c Corruption) (int, error) {
	d = s.Prepare(d)
	sig := d.Sign(s.opts.Secret)
	switch c {
	case FlipBodyByte:
		if len(d.Body) == 0 {
			return 0, errors.New("shopifytest: no body byte to flip")
		}
		d.Body = slices.Clone(d.Body)
		d.Body[len(d.Body)/2] ^= 0x01
	case WrongSecret:
		sig = d.Sign(s.opts.Secret + "-wrong")
	case NoSignature:
		sig = ""
	case BadBase64Signature:
		sig = "not*base64!" + sig[:8]
	case ShortSignature:
		m := hmac.New(sha256.New, []byte(s.opts.Secret))
		m.Write(d.Body)
		sig = base64.StdEncoding.EncodeToString(m.Sum(nil)[:16])
	case EmptySignature:
		if d.Header == nil {
			d.Header = http.Header{}
		} else {
			d.Header = d.Header.Clone()
		}
		d.Header[HeaderHmac] = []string{""}
		sig = ""
	default:
		return 0, errors.New("shopifytest: unknown corruption")
	}
	return s.send(ctx, url, d, sig)
}

// Result is the outcome of one delivery of SendAll.
type Result struct {
	// Delivery is what was sent, prepared (its ids filled).
	Delivery Delivery
	// Status is the answer's status; 0 when Err is set.
	Status int
	// Latency is the time from sending to the answer's end.
	Latency time.Duration
	// Err is set when no answer came.
	Err error
}

// SendAll prepares and sends ds to url with at most concurrency requests
// at once (at least 1; 1 sends them in order). Results are in ds's
// order.
func (s *WebhookSender) SendAll(ctx context.Context, url string, ds []Delivery, concurrency int) []Result {
	out := make([]Result, len(ds))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(max(concurrency, 1), max(len(ds), 1)) {
		wg.Go(func() {
			for i := range next {
				d := s.Prepare(ds[i])
				start := time.Now()
				status, err := s.send(ctx, url, d, d.Sign(s.opts.Secret))
				out[i] = Result{Delivery: d, Status: status, Latency: time.Since(start), Err: err}
			}
		})
	}
	for i := range ds {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// ReverseDeliveries returns ds reversed, for sending newest first.
func ReverseDeliveries(ds []Delivery) []Delivery {
	out := slices.Clone(ds)
	slices.Reverse(out)
	return out
}

// ShuffleDeliveries returns ds in a random order fixed by seed.
func ShuffleDeliveries(ds []Delivery, seed uint64) []Delivery {
	out := slices.Clone(ds)
	r := rand.New(rand.NewPCG(seed, 0x5109))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
