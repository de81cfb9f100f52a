package server

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	gosync "sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the failed-authentication limiter (Config.FailedAuthBurst,
// FailedAuthEvery, FailedAuthLogEvery).
const (
	defaultFailedAuthBurst    = 100
	defaultFailedAuthEvery    = time.Second
	defaultFailedAuthLogEvery = time.Minute
)

// What a failed authentication presented, for the aggregated log line.
const (
	authBearer = "bearer"
	authSignIn = "sign_in"
)

// failedAuth is one limiter for every failed authentication, whatever the
// path (a bearer token on the API, the page's sign-in form) and whoever
// sends it: a token bucket that only failures draw from. Once the bucket
// is empty, a wrong token is answered 429 with Retry-After instead of 401,
// at once (no sleeping, so concurrency buys nothing).
//
// A right token is always let through and never touches the bucket, so an
// attacker's failures cannot lock out a client that has the token. The
// price is that the limiter cannot bound how many guesses get compared; a
// token of 128 bits or more (required beyond loopback) is what makes
// guessing hopeless, and the limiter keeps floods cheap and visible.
//
// Failures are logged aggregated, one line per interval with counts,
// never a presented value.
type failedAuth struct {
	lim      *rate.Limiter
	logger   *slog.Logger
	logEvery time.Duration

	mu        gosync.Mutex
	counts    map[string]int64 // failures by authBearer, authSignIn
	limited   int64            // of which answered 429
	scheduled bool             // a flush is due
}

func newFailedAuth(burst int, every, logEvery time.Duration, logger *slog.Logger) *failedAuth {
	if burst <= 0 {
		burst = defaultFailedAuthBurst
	}
	if every <= 0 {
		every = defaultFailedAuthEvery
	}
	if logEvery <= 0 {
		logEvery = defaultFailedAuthLogEvery
	}
	return &failedAuth{lim: rate.NewLimiter(rate.Every(every), burst), logger: logger, logEvery: logEvery,
		counts: map[string]int64{}}
}

// fail records a failed authentication of kind and returns how long the
// client should wait before trying again: zero while the bucket holds
// tokens, else the time until it holds one.
func (f *failedAuth) fail(kind string) time.Duration {
	var wait time.Duration
	if !f.lim.Allow() {
		// A refused attempt takes nothing: it does not push the next
		// one further.
		wait = time.Duration((1 - f.lim.Tokens()) / float64(f.lim.Limit()) * float64(time.Second))
		wait = max(wait, time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[kind]++
	if wait > 0 {
		f.limited++
	}
	if !f.scheduled {
		f.scheduled = true
		time.AfterFunc(f.logEvery, f.flush)
	}
	return wait
}

// flush logs the failures counted since the last line.
func (f *failedAuth) flush() {
	f.mu.Lock()
	bearer, signIn, limited := f.counts[authBearer], f.counts[authSignIn], f.limited
	clear(f.counts)
	f.limited, f.scheduled = 0, false
	f.mu.Unlock()
	f.logger.Warn("failed authentications", slog.Int64("failures", bearer+signIn), slog.Int64("bearer", bearer),
		slog.Int64("sign_in", signIn), slog.Int64("rate_limited", limited), slog.Duration("interval", f.logEvery))
}

// retryAfter is a Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// tooManyFailures answers a failed authentication over the limit.
func tooManyFailures(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	writeError(w, http.StatusTooManyRequests, "too many failed authentications: retry after "+retryAfter(wait)+" s")
}
