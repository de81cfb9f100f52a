package shopify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseCallLimit(t *testing.T) {
	tests := []struct {
		in         string
		used, size int
		ok         bool
	}{
		{"32/40", 32, 40, true},
		{" 1/400 ", 1, 400, true},
		{"41/40", 40, 40, true}, // clamped: never more used than the bucket holds
		{"40", 0, 0, false},
		{"a/40", 0, 0, false},
		{"1/0", 0, 0, false},
		{"-1/40", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		used, size, ok := parseCallLimit(tt.in)
		if used != tt.used || size != tt.size || ok != tt.ok {
			t.Errorf("parseCallLimit(%q) = %d, %d, %v; want %d, %d, %v", tt.in, used, size, ok, tt.used, tt.size, tt.ok)
		}
	}
}

func FuzzParseCallLimit(f *testing.F) {
	for _, s := range []string{"32/40", "1/400", "/", "9999999999/1", "0/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		used, size, ok := parseCallLimit(s)
		if ok && (size <= 0 || used < 0 || used > size) {
			t.Fatalf("parseCallLimit(%q) = %d, %d: out of range", s, used, size)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"2.0", 2 * time.Second},
		{"1.5", 1500 * time.Millisecond}, // fractional, not truncated to 1s as go-shopify does
		{"0.01", 100 * time.Millisecond},
		{"", 2 * time.Second},
		{"garbage", 2 * time.Second},
		{"NaN", 2 * time.Second},
		{"86400", time.Minute},
		{now.Add(3 * time.Second).Format(time.RFC1123), 3 * time.Second},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestPacerMirrorsBucket(t *testing.T) {
	now := time.Now()
	p := newPacer(0)
	send(t, p, now)
	// A Plus shop reports a bucket of 400: the mirror grows and assumes
	// the plan's 20/s until it has learned otherwise.
	p.observe("1/400", now)
	if p.size != 400 || p.rate() != 20 {
		t.Fatalf("got size %d leak %v, want 400 and 20/s", p.size, p.rate())
	}
	if got, want := p.levelAt(now), 1.0; got != want {
		t.Errorf("level %v, want %v", got, want)
	}
	// Another client filled the bucket: nothing fits until the margin
	// and one request have leaked, 11 at 20/s.
	send(t, p, now)
	p.observe("400/400", now)
	if d, _ := p.reserve(now); d != 550*time.Millisecond {
		t.Errorf("wait after a full bucket: %s, want 550ms", d)
	}
	// An emptier report gives the room back at once.
	now = now.Add(550 * time.Millisecond)
	send(t, p, now)
	p.observe("10/400", now)
	if d, _ := p.reserve(now); d != 0 {
		t.Errorf("wait after 10/400: %s, want none", d)
	}
}

// send lets a request through the pacer at now, failing if it must wait.
func send(t *testing.T, p *pacer, now time.Time) {
	t.Helper()
	if d, _ := p.reserve(now); d != 0 {
		t.Fatalf("a request must wait %s", d)
	}
}

func TestPacerKeepsItsFinerLevel(t *testing.T) {
	now := time.Now()
	p := newPacer(0) // the plan's 2/s until learned
	send(t, p, now)
	p.observe("1/40", now)
	now = now.Add(250 * time.Millisecond) // half a request leaked
	send(t, p, now)
	p.observe("2/40", now) // 1.5, rounded up
	if got := p.levelAt(now); got != 1.5 {
		t.Errorf("level %v, want 1.5: the header's 2 is the same level rounded up", got)
	}
	p.throttled("40/40", now)
	if got := p.levelAt(now); got != 40 {
		t.Errorf("level after a 429 %v, want 40", got)
	}
}

// bucketSim is Shopify's leaky bucket as shopifytest models it, on a
// clock the test moves: the header rounds the level up, and a refused
// request's Retry-After is the time for one request to leak.
type bucketSim struct {
	size  int
	rate  float64
	level float64
	at    time.Time
}

func (b *bucketSim) leakTo(now time.Time) {
	if now.After(b.at) {
		b.level = max(0, b.level-now.Sub(b.at).Seconds()*b.rate)
		b.at = now
	}
}

func (b *bucketSim) header() string {
	return fmt.Sprintf("%d/%d", int(math.Ceil(b.level-1e-9)), b.size)
}

// take counts a request at now if it fits.
func (b *bucketSim) take(now time.Time) (header string, ok bool, retryAfter time.Duration) {
	b.leakTo(now)
	if b.level+1 > float64(b.size)+1e-9 {
		wait := math.Ceil((b.level+1-float64(b.size))/b.rate*10) / 10
		return b.header(), false, time.Duration(max(wait, 0.1) * float64(time.Second))
	}
	b.level++
	return b.header(), true, 0
}

// importSim is an import paced by a pacer against a bucketSim, on a
// simulated clock: no test sleeps.
type importSim struct {
	bucket, requests int
	leak             float64
	// then, when > 0, is the leak from switchAt on.
	then     float64
	switchAt time.Duration
	// other, when > 0, is another client of the app: a request every
	// other seconds, or at random times that many a second if random.
	other  float64
	random bool
	// latency is each answer's round trip; jitter adds up to that much
	// more at random.
	latency, jitter time.Duration
	fixedLeak       float64
}

// importResult is what a simulated import did.
type importResult struct {
	elapsed, floor time.Duration
	throttled      int
	worstRun       int     // the most 429s in a row
	learned        float64 // the pacer's leak at the end
	learnedAt      []float64
}

func (s importSim) run(t *testing.T) importResult {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Unix(1_700_000_000, 0)
	now := start
	b := &bucketSim{size: s.bucket, rate: s.leak, at: start}
	p := newPacer(s.fixedLeak)
	var res importResult
	var others float64
	nextOther := start
	if s.other > 0 {
		nextOther = start.Add(time.Duration(float64(time.Second) / s.other))
	}
	switched := false
	// advance moves the bucket to `to`, with the leak change and the
	// other client's requests on the way.
	advance := func(to time.Time) {
		for {
			next := to
			if s.then > 0 && !switched && start.Add(s.switchAt).Before(next) {
				next = start.Add(s.switchAt)
			}
			if s.other > 0 && nextOther.Before(next) {
				next = nextOther
			}
			b.leakTo(next)
			if !next.Before(to) {
				return
			}
			if s.then > 0 && !switched && next.Equal(start.Add(s.switchAt)) {
				b.rate, switched = s.then, true
				continue
			}
			if b.level+1 <= float64(b.size) {
				b.level++
				others++
			}
			gap := 1 / s.other
			if s.random {
				gap = rng.ExpFloat64() / s.other
			}
			nextOther = next.Add(time.Duration(gap * float64(time.Second)))
		}
	}
	run := 0
	for done := 0; done < s.requests; {
		if d, _ := p.reserve(now); d > 0 {
			now = now.Add(d)
			continue
		}
		rtt := s.latency
		if s.jitter > 0 {
			rtt += time.Duration(rng.Int64N(int64(s.jitter)))
		}
		// Shopify counts the request half way through the round trip.
		now = now.Add(rtt / 2)
		advance(now)
		header, ok, retryAfter := b.take(now)
		now = now.Add(rtt - rtt/2)
		advance(now)
		if !ok {
			p.throttled(header, now)
			res.throttled++
			run++
			res.worstRun = max(res.worstRun, run)
			now = now.Add(retryAfter)
			continue
		}
		run = 0
		p.observe(header, now)
		done++
		res.learnedAt = append(res.learnedAt, p.rate())
	}
	res.elapsed = now.Sub(start)
	res.learned = p.rate()
	// The floor, as BenchmarkImportVsFloor computes it: the time the
	// bucket takes to leak what did not fit.
	excess := float64(s.requests) + others - float64(s.bucket)
	floor := max(0, excess) / s.leak
	if sw := s.switchAt.Seconds(); s.then > 0 && floor > sw {
		floor = sw + (excess-s.leak*sw)/s.then
	}
	res.floor = time.Duration(floor * float64(time.Second))
	return res
}

func (r importResult) ratio() float64 { return r.elapsed.Seconds() / r.floor.Seconds() }

func TestPacerLearnsLeak(t *testing.T) {
	tests := []struct {
		name             string
		bucket, requests int
		leak             float64
	}{
		{"10 leaking 2/s", 10, 60, 2}, // the plan's leak would be 0.5/s
		{"40 leaking 2/s", 40, 120, 2},
		{"80 leaking 4/s", 80, 240, 4},
		{"400 leaking 20/s", 400, 1200, 20},
		{"40 leaking 1/s", 40, 80, 1},     // the plan's leak would be 2/s
		{"400 leaking 5/s", 400, 1000, 5}, // the margin of 10 is 2 s of leak
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := importSim{bucket: tt.bucket, requests: tt.requests, leak: tt.leak, latency: 20 * time.Millisecond}.run(t)
			t.Logf("%.3f× the floor, %d 429s, learned %.3f/s", r.ratio(), r.throttled, r.learned)
			if r.learned < 0.85*tt.leak || r.learned > 1.02*tt.leak {
				t.Errorf("learned %.3f/s, want %v/s (-15%%, +2%%)", r.learned, tt.leak)
			}
			if r.ratio() > 1.10 || r.throttled > 2 {
				t.Errorf("took %s for a floor of %s (%.3f×) with %d 429s; want at most 1.10× and 2", r.elapsed, r.floor, r.ratio(), r.throttled)
			}
		})
	}
}

func TestPacerFollowsLeakChange(t *testing.T) {
	tests := []struct {
		name       string
		from, to   float64
		switchAt   time.Duration
		requests   int
		maxThrottl int
	}{
		{"halves", 4, 2, 20 * time.Second, 160, 2},
		{"doubles", 2, 4, 20 * time.Second, 160, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := importSim{bucket: 40, requests: tt.requests, leak: tt.from, then: tt.to, switchAt: tt.switchAt,
				latency: 20 * time.Millisecond}
			r := s.run(t)
			t.Logf("%.3f× the floor, %d 429s, learned %.3f/s", r.ratio(), r.throttled, r.learned)
			if r.learned < 0.85*tt.to || r.learned > 1.02*tt.to {
				t.Errorf("learned %.3f/s at the end, want %v/s", r.learned, tt.to)
			}
			if r.ratio() > 1.10 || r.throttled > tt.maxThrottl {
				t.Errorf("took %s for a floor of %s (%.3f×) with %d 429s; want at most 1.10× and %d", r.elapsed, r.floor, r.ratio(), r.throttled, tt.maxThrottl)
			}
		})
	}
}

func TestPacerSharesWithOtherClient(t *testing.T) {
	// Another client takes a quarter of the leak: what is left to us is
	// 1.5/s, which is what to pace to.
	s := importSim{bucket: 40, requests: 120, leak: 2, other: 0.5, latency: 20 * time.Millisecond}
	r := s.run(t)
	if r.learned < 0.85*1.5 || r.learned > 1.1*1.5 {
		t.Errorf("learned %.3f/s, want the 1.5/s left to us", r.learned)
	}
	if r.ratio() > 1.10 || r.throttled > 2 {
		t.Errorf("took %s for a floor of %s (%.3f×) with %d 429s; want at most 1.10× and 2", r.elapsed, r.floor, r.ratio(), r.throttled)
	}
}

func TestPacerLeakRateOverride(t *testing.T) {
	// shopify.leak_rate wins over what the answers say: told 1/s on a
	// bucket that leaks 2/s, the pacer keeps to 1/s.
	s := importSim{bucket: 40, requests: 80, leak: 2, fixedLeak: 1, latency: 20 * time.Millisecond}
	r := s.run(t)
	for i, l := range r.learnedAt {
		if l != 1 {
			t.Fatalf("answer %d: pacing at %v/s, want the configured 1/s", i, l)
		}
	}
	if want := time.Duration(float64(80-39) * float64(time.Second)); r.elapsed < want {
		t.Errorf("took %s, want at least %s at 1/s", r.elapsed, want)
	}
	// An emptier report does not give room back beyond the configured leak.
	now := time.Now()
	p := newPacer(1)
	send(t, p, now)
	p.observe("40/40", now)
	send2 := now.Add(2 * time.Second)
	send(t, p, send2)
	p.observe("1/40", send2)
	if d, _ := p.reserve(send2); d != time.Second {
		t.Errorf("wait after 1/40: %s, want the 1 s the configured leak takes", d)
	}
}

func TestPacerNoThrottleStorm(t *testing.T) {
	// Noisy answers: round trips that vary by two requests' worth of
	// leak, and another client taking a third of the leak at random
	// times, in bursts. The margin cannot absorb every burst, but a 429
	// must not bring more.
	for _, tt := range []struct {
		name   string
		bucket int
		leak   float64
	}{{"10 leaking 2/s", 10, 2}, {"40 leaking 2/s", 40, 2}, {"80 leaking 4/s", 80, 4}, {"400 leaking 20/s", 400, 20}} {
		t.Run(tt.name, func(t *testing.T) {
			s := importSim{bucket: tt.bucket, requests: int(100 * tt.leak), leak: tt.leak, other: tt.leak / 3, random: true,
				latency: 10 * time.Millisecond, jitter: time.Duration(2 / tt.leak * float64(time.Second))}
			r := s.run(t)
			if r.throttled > s.requests/20 || r.worstRun > 1 {
				t.Errorf("%d 429s, %d in a row, in %d requests; want at most %d and 1", r.throttled, r.worstRun, s.requests, s.requests/20)
			}
			if want := tt.leak * 2 / 3; r.learned > 1.25*want {
				t.Errorf("learned %.3f/s, want at most the %.3f/s left to us", r.learned, want)
			}
			t.Logf("%.3f× the floor, %d 429s, learned %.3f/s", r.ratio(), r.throttled, r.learned)
		})
	}
}

func TestPacerWaitWokenByAnswer(t *testing.T) {
	now := time.Now()
	p := newPacer(0)
	p.leak.est = 0.001 // nothing leaks in this test's time
	send(t, p, now)
	p.observe("40/40", now)
	d, changed := p.reserve(now)
	if d < 10*time.Minute {
		t.Fatalf("wait %s, want half an hour at 0.001/s", d)
	}
	// Another goroutine's request is answered and gives room back: the
	// waiter is woken.
	p.mu.Lock()
	p.sent++
	p.inflight++
	p.mu.Unlock()
	p.observe("5/40", now)
	select {
	case <-changed:
	default:
		t.Fatal("the answer did not wake the waiter")
	}
	done := make(chan error, 1)
	go func() { done <- p.wait(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait slept on with room in the bucket")
	}
	ctx, cancel := context.WithCancel(context.Background())
	send(t, p, now)
	p.observe("40/40", now)
	go func() { done <- p.wait(ctx) }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestLeakEstimatorRuns(t *testing.T) {
	var e leakEstimator
	e.reset(0.5) // the plan's leak for a bucket of 10
	now := time.Unix(1_700_000_000, 0)
	e.add(now, 9, 1, false)
	for range 8 { // each request of ours takes the place of one that leaked
		now = now.Add(500 * time.Millisecond)
		e.add(now, 9, 1, true)
	}
	// 8 leaked in 4 s, less the request the rounding at the run's two
	// ends may be off by.
	if got := e.rate(); got != 1.75 {
		t.Errorf("rate %v, want 1.75", got)
	}
	// An answer without the header breaks the run; a run shorter than
	// minLeakRun is left out, however fast it seems to leak.
	e.breakRun()
	now = now.Add(500 * time.Millisecond)
	e.add(now, 9, 1, true)
	now = now.Add(500 * time.Millisecond)
	e.add(now, 5, 1, true)
	if got := e.rate(); got != 1.75 {
		t.Errorf("rate %v after a short run, want 1.75 still", got)
	}
}

func TestBackoffBounds(t *testing.T) {
	for n := 1; n < 40; n++ {
		d := backoff(n)
		hi := min(250*time.Millisecond<<min(n-1, 10), 10*time.Second)
		if d < hi/2 || d > hi {
			t.Fatalf("backoff(%d) = %s, want in [%s, %s]", n, d, hi/2, hi)
		}
	}
}
