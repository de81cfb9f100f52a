package shopifytest

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// bucket is Shopify's REST leaky bucket: each request adds one, the level
// leaks continuously at rate per second, and a request that would overflow
// is refused without adding to it (SHOPIFY.md §5). The rate can change
// during a run, as when Shopify lowers a shop's limits for a while.
type bucket struct {
	size float64
	now  func() time.Time // monotonic: time.Now

	mu      sync.Mutex
	rate    float64
	level   float64
	last    time.Time
	maxUsed int
}

func newBucket(size int, rate float64, now func() time.Time) *bucket {
	return &bucket{size: float64(size), rate: rate, now: now}
}

// leak lowers the level by what leaked since the last look. b.mu is held.
func (b *bucket) leak() {
	now := b.now()
	if !b.last.IsZero() {
		b.level = max(0, b.level-now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// used is the level as the call-limit header reports it: rounded up.
func used(level float64) int { return int(math.Ceil(level - 1e-9)) }

// take admits one request if it fits. It returns the level to report and,
// when refused, the Retry-After value: the time until one request has
// leaked, rounded up to a tenth of a second.
func (b *bucket) take() (usedNow int, ok bool, retryAfter string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leak()
	if b.level+1 > b.size+1e-9 {
		wait := math.Ceil((b.level+1-b.size)/b.rate*10) / 10
		return used(b.level), false, strconv.FormatFloat(max(wait, 0.1), 'f', 1, 64)
	}
	b.level++
	u := used(b.level)
	b.maxUsed = max(b.maxUsed, u)
	return u, true, ""
}

// drain adds n to the level, capped at the size, as another client of the
// same app would, and returns what it added.
func (b *bucket) drain(n int) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leak()
	before := b.level
	b.level = min(b.size, b.level+float64(n))
	b.maxUsed = max(b.maxUsed, used(b.level))
	return b.level - before
}

// setRate changes the leak rate from now on: what leaked until now leaked
// at the old rate.
func (b *bucket) setRate(rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leak()
	b.rate = rate
}

func (b *bucket) maxLevel() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.maxUsed
}

// header is the X-Shopify-Shop-Api-Call-Limit value for a level.
func (b *bucket) header(u int) string {
	return strconv.Itoa(u) + "/" + strconv.Itoa(int(b.size))
}
