// Package outbound delivers the change feed to the CRM's endpoints
// (outbound.endpoints): batches of events in sequence order, signed like
// Shopify's webhooks, at least once and in order per endpoint, each from
// its durable cursor in the store. A failing endpoint is retried with
// exponential backoff and jitter, then paused; it resumes from its cursor
// (Resume, a changed configuration) and can be replayed from any event
// still kept (Replay).
package outbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// The headers of a delivery.
const (
	// HeaderSignature is the base64 HMAC-SHA256, keyed with the endpoint's
	// secret, of the timestamp, a dot, and the raw body (see Sign).
	HeaderSignature = "X-Shopsync-Hmac-Sha256"
	// HeaderTimestamp is when the delivery was signed, in Unix seconds;
	// each attempt is signed again.
	HeaderTimestamp = "X-Shopsync-Timestamp"
	// HeaderDeliveryID names the batch, the same across its attempts; the
	// body carries it too, so it is signed.
	HeaderDeliveryID = "X-Shopsync-Delivery-Id"
)

// Sign returns a delivery's signature: the base64 (standard, padded) of
// HMAC-SHA256 keyed with secret over timestamp + "." + body, where
// timestamp is the HeaderTimestamp value as sent (decimal Unix seconds)
// and body the raw bytes of the request body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The reasons Verify refuses a delivery.
var (
	ErrNoSignature  = errors.New("no " + HeaderSignature + " or " + HeaderTimestamp + " header")
	ErrBadSignature = errors.New("the signature does not match the body, the timestamp and the secret")
	ErrStale        = errors.New("the timestamp is too far from now: a replay, or a clock to fix")
)

// Verify checks a delivery as a receiver does: its signature against
// secret (compared in constant time) and its timestamp within tolerance
// of now, before the body is parsed. A receiver then skips the events
// whose seq it has already applied: deliveries come at least once.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(secret, ts, body))
	if !hmac.Equal(got, want) {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature // signed, but not a time: not a delivery of ours
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
