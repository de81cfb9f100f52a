package shopify

import (
	"context"
	"math"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/time/rate"
)

// pacer keeps requests inside Shopify's leaky bucket (SHOPIFY.md §5), so
// that an import runs at the bucket's ceiling without a 429.
//
// A rate.Limiter mirrors the bucket: its burst is the bucket size and it
// refills at the leak rate, so its tokens are the requests Shopify would
// accept now. Every response's X-Shopify-Shop-Api-Call-Limit ("32/40")
// corrects the mirror: the limiter never holds more tokens than the bucket
// has room for, less a margin. The bucket is shared with every other
// client of the app on the store, so the server's count, not our own, is
// the truth; the margin absorbs what others send between two of our
// requests. A new bucket size (a plan change, or Shopify lowering limits)
// rebuilds the limiter.
type pacer struct {
	fixedLeak float64 // requests/s; 0 = a twentieth of the bucket size

	mu   gosync.Mutex
	lim  *rate.Limiter
	size int
}

// Shopify's standard plan, assumed until the first response says otherwise.
const (
	defaultBucket = 40
	leakDivisor   = 20 // every plan leaks size/20 per second: 40/2, 80/4, 400/20
)

func newPacer(fixedLeak float64) *pacer {
	p := &pacer{fixedLeak: fixedLeak}
	p.resize(defaultBucket)
	return p
}

func (p *pacer) leak(size int) rate.Limit {
	if p.fixedLeak > 0 {
		return rate.Limit(p.fixedLeak)
	}
	return rate.Limit(float64(size) / leakDivisor)
}

// margin is the room kept free in the bucket for other clients of the
// app: a fortieth of it (1 on Standard, 10 on Plus). Every response
// re-corrects the mirror, so the margin need only absorb what others send
// between two of our requests; a larger one would cost the import its
// opening burst (measured: a tenth made a Standard import 1.10× the floor).
func margin(size int) int { return max(1, size/40) }

// resize sets up a full mirror of a bucket of the given size; the caller
// holds mu or owns p.
func (p *pacer) resize(size int) {
	p.size = size
	p.lim = rate.NewLimiter(p.leak(size), size)
}

// wait blocks until a request fits in the bucket, or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	lim := p.lim
	p.mu.Unlock()
	return lim.Wait(ctx)
}

// observe corrects the mirror with a response's call-limit header.
func (p *pacer) observe(header string, now time.Time) {
	used, size, ok := parseCallLimit(header)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if size != p.size {
		p.resize(size)
	}
	p.lower(float64(size-used-margin(size)), now)
}

// throttled empties the mirror after a 429: Shopify says the bucket is full.
func (p *pacer) throttled(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lower(float64(-margin(p.size)), now)
}

// lower takes tokens out of the limiter until it holds at most target,
// which may be negative: the next wait then lasts until the bucket has
// leaked that much. The caller holds mu.
func (p *pacer) lower(target float64, now time.Time) {
	excess := p.lim.TokensAt(now) - target
	if excess <= 0 {
		return
	}
	n := min(int(math.Ceil(excess)), p.lim.Burst())
	p.lim.ReserveN(now, n) // never cancelled: the tokens stay spent
}

// parseCallLimit parses "used/size", e.g. "32/40".
func parseCallLimit(h string) (used, size int, ok bool) {
	u, s, found := strings.Cut(strings.TrimSpace(h), "/")
	if !found {
		return 0, 0, false
	}
	used, err1 := strconv.Atoi(u)
	size, err2 := strconv.Atoi(s)
	if err1 != nil || err2 != nil || size <= 0 || used < 0 || size > 1_000_000 {
		return 0, 0, false
	}
	return min(used, size), size, true
}

// parseRetryAfter reads Retry-After as Shopify sends it: seconds, maybe
// fractional ("2.0"). An HTTP date is accepted too. The wait is clamped to
// [100ms, 1min]; missing or bad means the standard plan's 2 s.
func parseRetryAfter(h string, now time.Time) time.Duration {
	d := 2 * time.Second
	if h = strings.TrimSpace(h); h != "" {
		if s, err := strconv.ParseFloat(h, 64); err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
			d = time.Duration(s * float64(time.Second))
		} else if t, err := time.Parse(time.RFC1123, h); err == nil {
			d = t.Sub(now)
		}
	}
	return min(max(d, 100*time.Millisecond), time.Minute)
}
