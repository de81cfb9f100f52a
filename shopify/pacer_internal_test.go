package shopify

import (
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
	// A Plus shop reports a bucket of 400: the mirror grows and leaks 20/s.
	p.observe("1/400", now)
	if p.size != 400 || float64(p.lim.Limit()) != 20 {
		t.Fatalf("got size %d leak %v, want 400 and 20/s", p.size, p.lim.Limit())
	}
	if got, want := p.lim.TokensAt(now), float64(400-1-10); got > want+1e-9 {
		t.Errorf("tokens %v, want at most %v (room less margin)", got, want)
	}
	// Another client filled the bucket: the mirror must hold no tokens,
	// and one token comes back after 1/20 s per missing request.
	p.observe("400/400", now)
	if got := p.lim.TokensAt(now); got > -10+1e-9 {
		t.Errorf("tokens after a full bucket: %v, want <= -10", got)
	}
	if got := p.lim.TokensAt(now.Add(550 * time.Millisecond)); got < 0.9 {
		t.Errorf("tokens 0.55s later: %v, want about 1", got)
	}
	// A later, emptier report never adds tokens beyond the leak.
	before := p.lim.TokensAt(now)
	p.observe("0/400", now)
	if got := p.lim.TokensAt(now); got != before {
		t.Errorf("tokens went from %v to %v on an emptier report", before, got)
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
