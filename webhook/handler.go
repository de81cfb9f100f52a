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
	"sync/atomic"
	"time"

	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/store"
)

// DefaultMaxBody caps a delivery's body. A customer with 250 tags of 255
// characters and its addresses stays far below it.
const DefaultMaxBody = 1 << 20

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
}

// Rejected returns how many deliveries were refused (4xx) since start.
func (h *Handler) Rejected() int64 { return h.rejected.Load() }

// NewHandler returns a receiver for cfg.
func NewHandler(cfg Config) *Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, logger: cfg.Logger.With("component", "webhook")}
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
	outcomeFailed   = "failed"   // 5xx: the store failed; Shopify will retry
)

// ServeHTTP verifies, decodes and applies one delivery. It answers 200
// only after the effect is committed; 401 for a missing or bad signature;
// 403 for another shop; 400 for missing headers or a payload that is not
// the topic's JSON; 413 for a body over the cap; 415 for a body that is
// not JSON; 500 when the store failed, so that Shopify delivers again.
// Nothing is stored from a rejected delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	topic := r.Header.Get("X-Shopify-Topic")
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(w, start, topic, http.StatusRequestEntityTooLarge, "too_large")
			return
		}
		h.reject(w, start, topic, http.StatusBadRequest, "read")
		return
	}
	sig := r.Header.Get("X-Shopify-Hmac-Sha256")
	if sig == "" || len(h.secrets) == 0 || !Verify(body, sig, h.secrets) {
		h.reject(w, start, topic, http.StatusUnauthorized, "signature")
		return
	}
	if shop := r.Header.Get("X-Shopify-Shop-Domain"); !strings.EqualFold(shop, h.cfg.Shop) {
		h.reject(w, start, topic, http.StatusForbidden, "shop")
		return
	}
	meta := Meta{Topic: topic, WebhookID: r.Header.Get("X-Shopify-Webhook-Id")}
	if meta.Topic == "" || meta.WebhookID == "" {
		h.reject(w, start, topic, http.StatusBadRequest, "headers")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			h.reject(w, start, topic, http.StatusUnsupportedMediaType, "content_type")
			return
		}
	}
	now := h.cfg.Now()
	meta.TriggeredAt = now
	if ta := r.Header.Get("X-Shopify-Triggered-At"); ta != "" {
		t, err := time.Parse(time.RFC3339Nano, ta)
		if err != nil {
			h.reject(w, start, topic, http.StatusBadRequest, "headers")
			return
		}
		meta.TriggeredAt = t.UTC()
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
	if ch.Kind == store.ChangeIgnore {
		h.logger.Info("webhook topic not used", "topic", topicLabel(topic), "webhook_id", meta.WebhookID)
	}
	h.observe(start, topic, string(res.Outcome))
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) reject(w http.ResponseWriter, start time.Time, topic string, status int, reason string) {
	h.rejected.Add(1)
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(reason)
	}
	if m := h.cfg.Metrics; m != nil {
		m.Rejected.WithLabelValues(reason).Inc()
	}
	h.logger.Warn("webhook rejected", "topic", topicLabel(topic), "reason", reason, "status", status)
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
	if slices.Contains(Topics, topic) {
		return topic
	}
	return topicUnknown
}
