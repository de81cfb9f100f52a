package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
)

// DefaultMaxBody caps a delivery's body. A customer with 250 tags of 255
// characters and its addresses stays far below it.
const DefaultMaxBody = 1 << 20

// DefaultMaxUnverified caps the bytes held at once by bodies whose
// signature is not checked yet: what unauthenticated senders can make the
// daemon hold. Half of it holds 128 genuine deliveries of 64 KiB at once.
const DefaultMaxUnverified = 16 << 20

// TriggeredAtSkew is how far X-Shopify-Triggered-At may lie ahead of the
// time of receipt (on Shopify's clock, as its answers' Date tell it)
// before it is taken for a lie and replaced by the time of receipt.
const TriggeredAtSkew = time.Minute

// bodyTimeout bounds the time to receive a body: Shopify sends a delivery
// at once, and gives up on an answer after 5 s.
const bodyTimeout = 5 * time.Second

// Config configures a Handler.
type Config struct {
	Shop      string   // the shop's myshopify.com domain; deliveries for another are refused
	Secrets   []string // keys a delivery may be signed with
	MaxBody   int64    // 0: DefaultMaxBody
	Mapper    *mapping.Mapper
	Committer *Committer
	Metrics   *Metrics         // nil: none
	Logger    *slog.Logger     // nil: discard
	Now       func() time.Time // nil: time.Now

	// MaxUnverified caps the bytes of bodies held before their signature
	// is checked; past it a delivery is answered 503 with Retry-After
	// (Shopify retries). Half of it is kept for bodies up to 64 KiB, the
	// size of every genuine customer delivery. 0: DefaultMaxUnverified.
	MaxUnverified int64

	// ShopifyNow is the time now on Shopify's clock, to compare
	// X-Shopify-Triggered-At with; nil: Now.
	ShopifyNow func() time.Time

	// OnQueued is called after a delivery queued a contact for a re-fetch.
	OnQueued func()

	// OnReject, when set, is called with the reason of each refused
	// delivery (the reasons of the rejected metric: signature, shop,
	// headers, payload, content_type, too_large, read, method). It must be
	// fast and must not block: refused deliveries are unauthenticated.
	OnReject func(reason string)
}

// Handler is the webhook receiver, POST /webhooks/shopify.
type Handler struct {
	cfg      Config
	secrets  [][]byte
	logger   *slog.Logger
	rejected atomic.Int64
	budget   budget
	rejects  rejectLog
}

// Rejected returns how many deliveries were refused (4xx) since start.
func (h *Handler) Rejected() int64 { return h.rejected.Load() }

// NewHandler returns a receiver for cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxUnverified <= 0 {
		cfg.MaxUnverified = DefaultMaxUnverified
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShopifyNow == nil {
		cfg.ShopifyNow = cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, logger: cfg.Logger.With("component", "webhook")}
	h.budget = budget{limit: cfg.MaxUnverified, largeLimit: cfg.MaxUnverified / 2}
	h.rejects = rejectLog{logger: h.logger, every: rejectLogEvery, now: cfg.Now}
	seen := map[string]bool{}
	for _, s := range cfg.Secrets {
		if s != "" && !seen[s] {
			seen[s] = true
			h.secrets = append(h.secrets, []byte(s))
		}
	}
	return h
}

// Outcomes of a delivery that never reaches the store.
const (
	outcomeRejected = "rejected" // 4xx: bad signature, headers or payload
	outcomeBusy     = "busy"     // 503: too many unverified bytes held; Shopify will retry
	outcomeFailed   = "failed"   // 5xx: the store failed; Shopify will retry
)

// header returns a Shopify header under either of its spellings:
// X-Shopify-Name, or Shopify-Name as Shopify's newer event deliveries send
// it (shopify-app-js's ShopifyEventsHeader, shopify-api-ruby PR #1437).
// Both present and different is a conflict: neither is signed, and the
// receiver will not guess.
func header(r *http.Request, name string) (string, bool) {
	x, s := r.Header.Get("X-Shopify-"+name), r.Header.Get("Shopify-"+name)
	switch {
	case x == "":
		return s, true
	case s == "" || s == x:
		return x, true
	}
	return "", false
}

// ServeHTTP verifies, decodes and applies one delivery. It answers 200
// only after the effect is committed; 401 for a missing or bad signature;
// 403 for another shop; 400 for missing headers or a payload that is not
// the topic's JSON; 413 for a body over the cap; 415 for a body that is
// not JSON; 503 while too many unverified bytes are held; 500 when the
// store failed, so that Shopify delivers again. Nothing is stored from a
// rejected delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	topic, _ := header(r, "Topic")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, start, topic, http.StatusMethodNotAllowed, "method")
		return
	}
	// A declared length over the cap is refused before reading anything:
	// a flood of oversized deliveries must not buffer the cap each.
	if r.ContentLength > h.cfg.MaxBody {
		h.reject(w, start, topic, http.StatusRequestEntityTooLarge, "too_large")
		return
	}
	sig, ok := header(r, "Hmac-Sha256")
	if !ok || sig == "" || len(h.secrets) == 0 {
		h.reject(w, start, topic, http.StatusUnauthorized, "signature")
		return
	}
	// Shopify sends the whole delivery at once: a body trickled in holds
	// its bytes for nothing.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout)) // not supported by test recorders
	body, held, err := h.read(w, r)
	defer h.budget.release(held)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, errBusy):
			h.observe(start, topic, outcomeBusy)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close") // the body is not read: do not wait to drain it
			http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		case errors.As(err, &tooBig):
			h.reject(w, start, topic, http.StatusRequestEntityTooLarge, "too_large")
		default:
			h.reject(w, start, topic, http.StatusBadRequest, "read")
		}
		return
	}
	if !Verify(body, sig, h.secrets) {
		h.reject(w, start, topic, http.StatusUnauthorized, "signature")
		return
	}
	// Compliance deliveries have come without X-Shopify-Shop-Domain
	// (shopify-api-ruby #1261); their bodies name the shop, which Decode
	// checks. Every other topic must say whose it is.
	shop, ok := header(r, "Shop-Domain")
	if !ok || !strings.EqualFold(shop, h.cfg.Shop) && (shop != "" || topicFamily(topic) != familyCompliance) {
		h.reject(w, start, topic, http.StatusForbidden, "shop")
		return
	}
	webhookID, ok1 := header(r, "Webhook-Id")
	eventID, ok2 := header(r, "Event-Id")
	triggered, ok3 := header(r, "Triggered-At")
	meta := Meta{Topic: topic, WebhookID: webhookID, EventID: eventID, Shop: h.cfg.Shop}
	if !ok1 || !ok2 || !ok3 || meta.Topic == "" || meta.WebhookID == "" {
		h.reject(w, start, topic, http.StatusBadRequest, "headers")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			h.reject(w, start, topic, http.StatusUnsupportedMediaType, "content_type")
			return
		}
	}
	// The trigger time orders events whose bodies carry no clock of the
	// part they change. It is not signed: a time ahead of the receipt is
	// a lie (or a clock far off) and counts as the receipt.
	received := h.cfg.ShopifyNow().UTC()
	meta.TriggeredAt = received
	if triggered != "" {
		t, err := time.Parse(time.RFC3339Nano, triggered)
		if err != nil {
			h.reject(w, start, topic, http.StatusBadRequest, "headers")
			return
		}
		if !t.After(received.Add(TriggeredAtSkew)) {
			meta.TriggeredAt = t.UTC()
		}
	}
	ch, err := Decode(h.cfg.Mapper, meta, body)
	if err != nil {
		h.reject(w, start, topic, http.StatusBadRequest, "payload")
		return
	}
	// The change is applied even if Shopify hangs up meanwhile: it will
	// deliver again, and the webhook id makes that a duplicate.
	res, err := h.cfg.Committer.Submit(context.WithoutCancel(r.Context()), ch)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		h.logger.Error("webhook not stored", "topic", topicLabel(topic), "webhook_id", meta.WebhookID, "error", err)
		h.observe(start, topic, outcomeFailed)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if res.Queued && h.cfg.OnQueued != nil {
		h.cfg.OnQueued()
	}
	if ch.Kind == shopsync.ChangeIgnore {
		h.logger.Debug("webhook topic not used", "topic", topicLabel(topic), "webhook_id", meta.WebhookID)
	}
	h.observe(start, topic, string(res.Outcome))
	w.WriteHeader(http.StatusOK)
}

// errBusy is read's error when the bytes of unverified bodies are at
// their cap.
var errBusy = errors.New("too many unverified bytes held")

// smallBody is the size of bodies that half of the unverified budget is
// kept for: every genuine customer delivery fits.
const smallBody = 64 << 10

// readChunk is how much of a body of unknown length is taken from the
// budget at a time.
const readChunk = 32 << 10

// read reads the body within the caps, taking its bytes from the budget
// of unverified bytes as they come. It returns the bytes it took, for the
// caller to give back once the body is no longer needed.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (body []byte, held int64, err error) {
	src := http.MaxBytesReader(w, r.Body, h.cfg.MaxBody)
	if n := r.ContentLength; n >= 0 {
		if !h.budget.acquire(n, 0) {
			return nil, 0, errBusy
		}
		body = make([]byte, 0, n)
		held = n
	}
	for {
		if len(body) == cap(body) {
			if r.ContentLength >= 0 {
				// The declared length has come: anything more is an error
				// of the sender, as net/http reports it.
				var one [1]byte
				if n, err := src.Read(one[:]); n > 0 || (err != nil && err != io.EOF) {
					if err == nil {
						err = errors.New("body longer than its Content-Length")
					}
					return nil, held, err
				}
				return body, held, nil
			}
			if !h.budget.acquire(readChunk, held) {
				return nil, held, errBusy
			}
			held += readChunk
			body = slices.Grow(body, readChunk)
		}
		n, err := src.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, held, nil
		}
		if err != nil {
			return nil, held, err
		}
	}
}

func (h *Handler) reject(w http.ResponseWriter, start time.Time, topic string, status int, reason string) {
	h.rejected.Add(1)
	if m := h.cfg.Metrics; m != nil {
		m.Rejected.WithLabelValues(reason).Inc()
	}
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(reason)
	}
	h.rejects.note(topicLabel(topic), reason, status)
	h.observe(start, topic, outcomeRejected)
	http.Error(w, http.StatusText(status), status)
}

func (h *Handler) observe(start time.Time, topic, outcome string) {
	m := h.cfg.Metrics
	if m == nil {
		return
	}
	m.Deliveries.WithLabelValues(topicLabel(topic), outcome).Inc()
	m.Latency.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

// topicLabel bounds the label values a sender controls: known topics, or
// "unknown".
func topicLabel(topic string) string {
	if topicFamily(topic) != familyOther {
		return topic
	}
	return topicUnknown
}

// budget counts the bytes held by bodies not verified yet. Bodies over
// smallBody may take at most largeLimit of it, so that a flood of large
// bodies leaves room for genuine deliveries, which are small.
type budget struct {
	mu                    gosync.Mutex
	used, limit           int64
	largeUsed, largeLimit int64
}

// largeShare is what a body holding held bytes takes of the large share:
// all of them once it is over smallBody.
func largeShare(held int64) int64 {
	if held > smallBody {
		return held
	}
	return 0
}

// acquire takes n more bytes for a body that holds had already; false,
// taking nothing, when they do not fit.
func (b *budget) acquire(n, had int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	large := largeShare(had+n) - largeShare(had)
	if b.used+n > b.limit || b.largeUsed+large > b.largeLimit {
		return false
	}
	b.used += n
	b.largeUsed += large
	return true
}

// release gives back the bytes a body held.
func (b *budget) release(held int64) {
	if held == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= held
	b.largeUsed -= largeShare(held)
}

// rejectLogEvery is the least time between two log lines about refused
// deliveries of one reason: unauthenticated senders must not be able to
// grow the log at will.
const rejectLogEvery = time.Minute

// rejectLog logs refused deliveries, at most one line per reason every
// interval, counting those it left out.
type rejectLog struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu     gosync.Mutex
	last   map[string]time.Time
	missed map[string]int
}

func (l *rejectLog) note(topic, reason string, status int) {
	l.mu.Lock()
	now := l.now()
	if t, ok := l.last[reason]; ok && now.Sub(t) < l.every {
		l.missed[reason]++
		l.mu.Unlock()
		return
	}
	if l.last == nil {
		l.last, l.missed = map[string]time.Time{}, map[string]int{}
	}
	l.last[reason] = now
	missed := l.missed[reason]
	l.missed[reason] = 0
	l.mu.Unlock()
	l.logger.Warn("webhook rejected", "topic", topic, "reason", reason, "status", status,
		slog.Int("more_since_last", missed))
}
