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
			// The token request is another request: the listing's
			// body sink is not for its answer.
			if tok, err = t.tokens.Token(withBodySink(ctx, nil)); err != nil {
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
	sink, _ := req.Context().Value(bodySinkKey{}).(*bodySink)
	var b *bytes.Buffer
	if sink != nil {
		b = bytes.NewBuffer(sink.buf[:0]) // the last page's buffer, reused
	} else {
		b = new(bytes.Buffer)
	}
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		b.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free at the end
	}
	_, err = b.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response body: %w", err)
	}
	buf := b.Bytes()
	if len(buf) > maxBody {
		return nil, fmt.Errorf("response body over %d bytes", maxBody)
	}
	if sink != nil {
		sink.buf = buf
		sink.date = t.observeDate(resp.Header.Get("Date"), start)
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			// The caller decodes sink.buf; go-shopify would only copy
			// the body twice more (it reads every body to log it).
			resp.Body = http.NoBody
			resp.ContentLength = 0
			return resp, nil
		}
		buf = bytes.Clone(buf) // an error's body outlives the buffer's next use
	}
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	resp.ContentLength = int64(len(buf))
	return resp, nil
}

// bodySink, in a request's context under bodySinkKey, asks the transport
// for the body of a successful answer: it reads it into buf, reusing its
// space, and hands go-shopify an empty body. The customer listing decodes
// pages this way (see Client.list); one request uses a sink at a time.
type bodySink struct {
	buf  []byte
	date time.Time // the answer's Date, on Shopify's clock
}

type bodySinkKey struct{}

// withBodySink returns ctx asking the transport to put bodies in sink.
func withBodySink(ctx context.Context, sink *bodySink) context.Context {
	return context.WithValue(ctx, bodySinkKey{}, sink)
}

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

// observeDate reads an answer's Date header: when Shopify answered, on its
// own clock, whole seconds. It returns that time, and notes how far
// Shopify's clock is from the local one (the Date against the local time
// the request was sent, which Shopify's answer cannot precede). Without a
// usable Date it returns the local time the request was sent.
func (t *transport) observeDate(h string, sent time.Time) time.Time {
	d, err := http.ParseTime(h)
	if err != nil {
		return sent.UTC().Truncate(time.Second)
	}
	// Date is rounded down to the second: the answer came within the
	// second after it, so the offset is taken from the middle of it.
	t.stats.clockOffset.Store(int64(d.Add(500 * time.Millisecond).Sub(sent)))
	t.stats.clockKnown.Store(true)
	return d.UTC()
}

// shopifyNow is the time now on Shopify's clock, as the last Date seen
// tells it; the local clock before any answer.
func (t *transport) shopifyNow() time.Time {
	return time.Now().Add(time.Duration(t.stats.clockOffset.Load())).UTC()
}
