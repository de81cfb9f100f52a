package shopifytest

import (
	"testing"
	"time"
)

func TestBucketArithmetic(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newBucket(40, 2, func() time.Time { return now })
	for i := 1; i <= 40; i++ {
		if u, ok, _ := b.take(); !ok || u != i {
			t.Fatalf("request %d: used %d ok %v", i, u, ok)
		}
	}
	u, ok, retry := b.take()
	if ok || u != 40 || retry != "0.5" {
		t.Fatalf("full: used %d ok %v Retry-After %q, want 40 false 0.5", u, ok, retry)
	}
	now = now.Add(250 * time.Millisecond) // half a request leaked
	if u, ok, retry := b.take(); ok || u != 40 || retry != "0.3" {
		t.Errorf("39.5 full: used %d ok %v Retry-After %q, want 40 false 0.3 (0.25 rounded up)", u, ok, retry)
	}
	now = now.Add(250 * time.Millisecond)
	if u, ok, _ := b.take(); !ok || u != 40 {
		t.Errorf("after one leaked: used %d ok %v", u, ok)
	}
	now = now.Add(time.Hour)
	if u, ok, _ := b.take(); !ok || u != 1 {
		t.Errorf("after an hour: used %d ok %v, want 1", u, ok)
	}
	b.drain(100)
	if u, ok, retry := b.take(); ok || u != 40 || retry != "0.5" || b.maxLevel() != 40 {
		t.Errorf("drained: used %d ok %v Retry-After %q max %d", u, ok, retry, b.maxLevel())
	}
}

func TestBucketRateChanges(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newBucket(10, 2, func() time.Time { return now })
	for range 10 {
		b.take()
	}
	now = now.Add(time.Second) // 2 leaked at 2/s: 8
	b.setRate(0.5)
	now = now.Add(2 * time.Second) // 1 more at 0.5/s: 7
	if u, ok, _ := b.take(); !ok || u != 8 {
		t.Fatalf("after the change: used %d ok %v, want 8 (7 left, +1)", u, ok)
	}
	b.drain(10)
	if _, ok, retry := b.take(); ok || retry != "2.0" {
		t.Errorf("full at 0.5/s: ok %v Retry-After %q, want false 2.0", ok, retry)
	}
	b.setRate(4)
	if _, ok, retry := b.take(); ok || retry != "0.3" {
		t.Errorf("full at 4/s: ok %v Retry-After %q, want false 0.3 (0.25 rounded up)", ok, retry)
	}
}

func TestShopifyTimeMatchesFormat(t *testing.T) {
	for _, z := range zones {
		for _, at := range []time.Time{time.Date(2024, 4, 2, 9, 23, 53, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)} {
			want := at.In(z).Format("2006-01-02T15:04:05-07:00")
			if got := shopifyTime(at.In(z)); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		}
	}
}
