package shopify

import (
	"context"
	"math"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// pacer keeps requests inside Shopify's leaky bucket (SHOPIFY.md §5), so
// that an import runs at the bucket's ceiling without a 429, whatever the
// bucket's size and leak.
//
// The pacer mirrors the bucket: level is its estimate of the bucket's
// level, our requests in flight included, falling at the leak rate. A
// request goes when it fits under the bucket size less a margin. Every
// response's X-Shopify-Shop-Api-Call-Limit ("32/40") corrects the mirror
// in both directions. The header gives the level rounded up to a whole
// request, so the mirror keeps its own, finer level while it agrees with
// the header's to within that rounding, and takes the header's otherwise. An
// over-estimated leak is thus corrected at the next response, and an
// under-estimated one costs little: the room that leaked meanwhile is
// used at once. The bucket is shared with every other client of the app
// on the store, so the server's count, not ours, is the truth; the margin
// absorbs what others send between two of our requests.
//
// The leak is learned from successive headers (leakEstimator). Set,
// shopify.leak_rate replaces what is learned and answers only take room
// away from the mirror, never give it back: the import keeps to the
// configured rate. A new bucket size (a plan change, or Shopify lowering
// limits) starts the learning again.
//
// A mirror of our own replaces rate.Limiter: a limiter's tokens can only
// be taken, not given back when the server reports more room, and a
// waiter's reservation would be lost when the limiter is rebuilt.
type pacer struct {
	fixedLeak float64 // requests/s; 0 = learn it

	mu       gosync.Mutex
	size     int
	level    float64   // the mirror's level at `at`, in requests
	at       time.Time // zero until the first request
	leak     leakEstimator
	inflight int           // let through and not yet answered
	sent     uint64        // let through, ever
	answered uint64        // sent as of the last answer
	changed  chan struct{} // closed, and replaced, when an answer changes the mirror
}

// defaultBucket is Shopify's standard plan, assumed until the first
// response says otherwise.
const defaultBucket = 40

func newPacer(fixedLeak float64) *pacer {
	p := &pacer{fixedLeak: fixedLeak, changed: make(chan struct{})}
	p.resize(defaultBucket)
	return p
}

// margin is the room kept free in the bucket for other clients of the
// app: a fortieth of it (1 on Standard, 10 on Plus). Every response
// re-corrects the mirror, so the margin need only absorb what others send
// between two of our requests; a larger one would cost the import its
// opening burst.
func margin(size int) int { return max(1, size/40) }

// resize starts mirroring a bucket of a new size: the leak is learned
// again, from the plan's. The caller holds mu or owns p.
func (p *pacer) resize(size int) {
	p.size = size
	p.leak.reset(planLeak(size))
}

// rate is the leak the mirror assumes, in requests/s. The caller holds mu.
func (p *pacer) rate() float64 {
	if p.fixedLeak > 0 {
		return p.fixedLeak
	}
	return p.leak.rate()
}

// levelAt is the mirror's level at now. The caller holds mu.
func (p *pacer) levelAt(now time.Time) float64 {
	if !now.After(p.at) {
		return p.level
	}
	return max(0, p.level-now.Sub(p.at).Seconds()*p.rate())
}

// setLevel sets the mirror's level at now; a clock that went back (two
// goroutines' readings) keeps the later time. The caller holds mu.
func (p *pacer) setLevel(level float64, now time.Time) {
	p.level = level
	if now.After(p.at) {
		p.at = now
	}
}

// wait blocks until a request fits in the bucket, or ctx ends. An answer
// that gives room back wakes it early.
func (p *pacer) wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, changed := p.reserve(time.Now())
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-changed:
			t.Stop()
		}
	}
}

// reserve lets a request through at now if it fits, and returns 0.
// Otherwise it returns how long the mirror takes to leak room for it, and
// a channel closed when an answer changes the mirror sooner.
func (p *pacer) reserve(now time.Time) (time.Duration, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	level := p.levelAt(now)
	room := float64(p.size-margin(p.size)) - level
	if room >= 1 {
		p.setLevel(level+1, now)
		p.inflight++
		p.sent++
		return 0, nil
	}
	// Rounded up to the microsecond, so that the room is there on waking;
	// at most an hour, which a configured leak near zero would overflow.
	secs := min((1-room)/p.rate(), time.Hour.Seconds())
	return max(time.Duration(math.Ceil(secs*1e6))*time.Microsecond, time.Microsecond), p.changed
}

// observe corrects the mirror with the call-limit header of an answer to a
// request let through by wait: the request was counted in the bucket.
func (p *pacer) observe(header string, now time.Time) { p.answer(header, now, true) }

// throttled corrects the mirror after a 429: Shopify says the bucket is
// full and did not count the request. The transport waits out the
// Retry-After; the mirror then holds the next request until the margin
// has leaked again. Retry-After is not taken as a bound on the leak:
// Shopify sends a fixed 2.0 (SHOPIFY.md §5), which would cap every plan
// at half a request a second.
func (p *pacer) throttled(header string, now time.Time) { p.answer(header, now, false) }

// forget is told of a request let through by wait that got no answer (a
// dropped connection, a timeout). The mirror keeps counting it, as it may
// have reached the bucket, and the next answer is not used to learn the
// leak.
func (p *pacer) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight = max(0, p.inflight-1)
}

// answer corrects the mirror with an answer's call-limit header; counted
// says whether the bucket took the request (every answer but a 429).
func (p *pacer) answer(header string, now time.Time, counted bool) {
	used, size, ok := parseCallLimit(header)
	p.mu.Lock()
	defer p.mu.Unlock()
	ours := p.sent - p.answered // requests of ours since the last answer: 1 when they go one at a time
	p.answered = p.sent
	p.inflight = max(0, p.inflight-1)
	if !ok {
		if counted {
			// No header (GraphQL, a proxy's error page): the mirror
			// keeps counting on its own, and the next answer is not
			// compared with the last.
			p.leak.breakRun()
			return
		}
		used, size = p.size, p.size // a 429 says the bucket is full
	}
	level := p.levelAt(now) // at the rate learned so far
	if !counted {
		level-- // the mirror counted the request when it went
	}
	if size != p.size {
		p.resize(size)
	}
	// Requests of ours still in flight may or may not be in the header's
	// count: the mirror keeps counting them.
	others := float64(p.inflight)
	// The header rounds up: the level was in (used-1, used] when Shopify
	// counted this request, and has leaked a little since. Out of that
	// range, the mirror is wrong, and takes the highest level the header
	// allows. With shopify.leak_rate set, the configured leak wins: an
	// answer only raises the mirror's level, never gives room back.
	switch u := float64(used); {
	case p.fixedLeak > 0:
		level = max(level, u+others)
	case level-others <= u-1 || level-others > u:
		level = u + others
	}
	p.setLevel(level, now)
	added := 0
	if counted {
		added = 1
	}
	// A pair of answers teaches the leak when exactly one request of ours
	// went between them and the bucket did not run empty (used >= 2: the
	// level before our request was above zero).
	p.leak.add(now, used, added, ours == 1 && p.inflight == 0 && used >= 2)
	close(p.changed)
	p.changed = make(chan struct{})
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
