package shopify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
)

// Header names Shopify uses (SHOPIFY.md §2, §5).
const (
	headerAccessToken = "X-Shopify-Access-Token"
	headerCallLimit   = "X-Shopify-Shop-Api-Call-Limit"
	headerAPIVersion  = "X-Shopify-API-Version"
)

// maxBody bounds a response body: a page of 250 customers is well under it.
const maxBody = 64 << 20

// maxThrottled bounds consecutive 429s for one request (each waits its
// Retry-After) before the 429 is returned as an error.
const maxThrottled = 30

// transport is the http.RoundTripper under go-shopify. go-shopify's own
// retry sleeps without watching the context, truncates a fractional
// Retry-After and races on its rate-limit fields (SHOPIFY.md §5), so the
// transport does all of it:
//
//   - rewrites scheme, host and path prefix to the configured base URL,
//     and sends nothing to any other origin (credentials stay with the
//     shop);
//   - sets the access token from the TokenSource, and renews it once on 401;
//   - paces requests to the leaky bucket (pacer);
//   - bounds each attempt, body included, by timeout, and reads the body
//     inside the attempt so a connection cut mid-body is retried;
//   - retries 429 after Retry-After, and 5xx, timeouts and connection
//     errors with capped exponential backoff and jitter;
//   - warns once per API version Shopify serves other than the one asked.
//
// Every wait watches the request's context.
type transport struct {
	base       http.RoundTripper
	baseURL    *url.URL    // nil: leave requests as they are
	origin     string      // the only scheme://host requests go to; "": any
	tokens     TokenSource // nil: no auth header (the token endpoint)
	pacer      *pacer      // nil: no pacing (the token endpoint)
	timeout    time.Duration
	maxRetries int
	version    string // the API version asked for; "" skips the check
	logger     *slog.Logger

	bodies    gosync.Pool // *[]byte: bodies' space, given back by Body.Close
	stats     stats
	warnedMu  gosync.Mutex
	warnedFor map[string]bool
}

// stats are the transport's counters; see Stats.
type stats struct {
	requests, throttled, retries, tokenRenewals atomic.Int64
	lastStatus                                  atomic.Int64
	lastAt                                      atomic.Int64 // unix nanoseconds
	servedVersion                               atomic.Value // string
	clockOffset                                 atomic.Int64 // Shopify's Date minus the local clock, ns; see observeDate
	clockKnown                                  atomic.Bool
	byClass                                     [6]atomic.Int64 // answers by status class: [2] is 2xx
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	var failures, throttled int
	renewed := false
	for {
		out := req.Clone(ctx)
		t.rewrite(out.URL)
		out.Host = ""
		if o := origin(out.URL); t.origin != "" && o != t.origin {
			// A redirect the client's CheckRedirect let through: the
			// token, or the token request's secret, stays home.
			return nil, &RedirectError{To: o, Allowed: []string{t.origin}}
		}
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		var tok string
		if t.tokens != nil {
			var err error
			if tok, err = t.tokens.Token(ctx); err != nil {
				return nil, err
			}
			out.Header.Set(headerAccessToken, tok)
		}
		if t.pacer != nil {
			if err := t.pacer.wait(ctx); err != nil {
				return nil, err
			}
		}
		resp, err := t.attempt(out)
		now := time.Now()
		if err != nil {
			if t.pacer != nil {
				t.pacer.forget()
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if failures >= t.maxRetries {
				return nil, fmt.Errorf("%s %s: %w (after %d retries)", req.Method, out.URL.Path, unwrapURLError(err), failures)
			}
			failures++
			t.stats.retries.Add(1)
			t.logger.Debug("retrying shopify request", "path", out.URL.Path, "error", err, "attempt", failures)
			if err := sleep(ctx, backoff(failures)); err != nil {
				return nil, err
			}
			continue
		}
		t.stats.requests.Add(1)
		t.stats.lastStatus.Store(int64(resp.StatusCode))
		if c := resp.StatusCode / 100; c >= 1 && c <= 5 {
			t.stats.byClass[c].Add(1)
		}
		t.stats.lastAt.Store(now.UnixNano())
		if t.pacer != nil {
			if resp.StatusCode == http.StatusTooManyRequests {
				t.pacer.throttled(resp.Header.Get(headerCallLimit), now)
			} else {
				t.pacer.observe(resp.Header.Get(headerCallLimit), now)
			}
		}
		t.checkVersion(resp.Header.Get(headerAPIVersion))

		switch {
		case resp.StatusCode == http.StatusTooManyRequests && throttled < maxThrottled:
			throttled++
			t.stats.throttled.Add(1)
			wait := parseRetryAfter(resp.Header.Get("Retry-After"), now)
			t.logger.Debug("shopify throttled the request", "path", out.URL.Path, "retry_after", wait)
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode == http.StatusUnauthorized && t.tokens != nil && !renewed && t.tokens.Invalidate(tok):
			renewed = true
			t.stats.tokenRenewals.Add(1)
			t.logger.Info("shopify refused the access token; getting a new one")
			continue
		case resp.StatusCode >= 500 && failures < t.maxRetries:
			failures++
			t.stats.retries.Add(1)
			t.logger.Debug("retrying shopify request", "path", out.URL.Path, "status", resp.StatusCode, "attempt", failures)
			if err := sleep(ctx, backoff(failures)); err != nil {
				return nil, err
			}
			continue
		}
		return resp, nil
	}
}

// attempt sends one request and reads its whole body within the attempt's
// timeout, so that a stalled or cut body is an error that can be retried.
func (t *transport) attempt(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	t.observeDate(resp.Header.Get("Date"), start)
	var buf []byte
	if p, ok := t.bodies.Get().(*[]byte); ok {
		buf = (*p)[:0] // an earlier answer's space, given back by Close
	}
	b := bytes.NewBuffer(buf)
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		b.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free at the end
	}
	_, err = b.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	if b.Len() > maxBody {
		return nil, fmt.Errorf("response body over %d bytes", maxBody)
	}
	body := &Body{buf: b.Bytes(), pool: &t.bodies}
	body.r.Reset(body.buf)
	resp.Body = body
	resp.ContentLength = int64(b.Len())
	return resp, nil
}

// Body is the body of an answer the transport read whole within its
// attempt. Bytes gives it without a copy, valid until Close, which gives
// the space back for a later answer (the listing decodes page after page
// in one buffer this way).
type Body struct {
	r    bytes.Reader
	buf  []byte
	pool *gosync.Pool
}

func (b *Body) Read(p []byte) (int, error) { return b.r.Read(p) }

// Bytes returns the whole body, valid until Close.
func (b *Body) Bytes() []byte { return b.buf }

// Close gives the body's space back. The body reads as empty after it.
func (b *Body) Close() error {
	if b.pool != nil && cap(b.buf) <= maxKeptBody {
		buf := b.buf[:0]
		b.pool.Put(&buf)
	}
	b.buf, b.pool = nil, nil
	b.r.Reset(nil)
	return nil
}

// maxKeptBody bounds the space of a body kept for reuse; a page of 250
// customers takes about a quarter of it.
const maxKeptBody = 1 << 20

// rewrite points u at the configured base URL, keeping the path under it.
func (t *transport) rewrite(u *url.URL) {
	if t.baseURL == nil {
		return
	}
	u.Scheme = t.baseURL.Scheme
	u.Host = t.baseURL.Host
	if p := strings.TrimSuffix(t.baseURL.Path, "/"); p != "" {
		u.Path = p + u.Path
		u.RawPath = ""
	}
}

// checkVersion warns once for each API version Shopify serves other than
// the one asked for: an unsupported version is not refused but silently
// served as the oldest supported one (SHOPIFY.md §2).
func (t *transport) checkVersion(served string) {
	if served == "" {
		return
	}
	t.stats.servedVersion.Store(served)
	if t.version == "" || served == t.version {
		return
	}
	t.warnedMu.Lock()
	defer t.warnedMu.Unlock()
	if t.warnedFor[served] {
		return
	}
	if t.warnedFor == nil {
		t.warnedFor = map[string]bool{}
	}
	t.warnedFor[served] = true
	t.logger.Warn("shopify serves a different api version than configured; set shopify.api_version to a supported one",
		"configured", t.version, "served", served)
}

// backoff is the wait before retry n (from 1): exponential from 250ms,
// capped at 10s, with jitter in [d/2, d] so that clients spread out.
func backoff(n int) time.Duration {
	d := min(250*time.Millisecond<<min(n-1, 10), 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// unwrapURLError keeps the cause of a *url.Error; the caller names the path.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// observeDate reads an answer's Date header (when Shopify answered, on
// its own clock, whole seconds) and notes how far Shopify's clock is from
// the local one: the Date against the local time the request was sent,
// which Shopify's answer cannot precede. An answer without a usable Date
// changes nothing.
func (t *transport) observeDate(h string, sent time.Time) {
	d, err := http.ParseTime(h)
	if err != nil {
		return
	}
	// Date is rounded down to the second: the answer came within the
	// second after it, so the offset is taken from the middle of it.
	t.stats.clockOffset.Store(int64(d.Add(500 * time.Millisecond).Sub(sent)))
	t.stats.clockKnown.Store(true)
}

// shopifyNow is the time now on Shopify's clock, as the last Date seen
// tells it; the local clock before any answer.
func (t *transport) shopifyNow() time.Time {
	return time.Now().Add(time.Duration(t.stats.clockOffset.Load())).UTC()
}
