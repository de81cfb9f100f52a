package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAppendTimes holds appendStoredTime to time.AppendFormat, for
// the edges of their range and random times in every zone offset.
func TestAppendTimes(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 100, time.FixedZone("", -4*3600)),
		time.Date(2024, 4, 1, 0, 0, 0, 120000000, time.FixedZone("", 9*3600)),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Unix(1<<40, 5).In(time.FixedZone("", 5*3600+1800)),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		sec := r.Int64N(400*365*86400) - 100*365*86400 // 1870–2270
		nsec := r.Int64N(1e9)
		switch r.IntN(3) {
		case 0:
			nsec = nsec / 1000 * 1000 // microseconds, as most stored times
		case 1:
			nsec = 0
		}
		times = append(times, time.Unix(sec, nsec).In(time.FixedZone("", (r.IntN(27)-12)*3600)))
	}
	for _, tm := range times {
		if got, want := string(appendStoredTime([]byte("x"), tm)), "x"+tm.UTC().Format(storedTime); got != want {
			t.Errorf("appendStoredTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

func BenchmarkAppendStoredTime(b *testing.B) {
	tm := time.Date(2024, 4, 1, 10, 11, 12, 123456000, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = tm.UTC().AppendFormat(buf[:0], storedTime)
		}
	})
	b.Run("appendStoredTime", func(b *testing.B) {
		for b.Loop() {
			buf = appendStoredTime(buf[:0], tm)
		}
	})
}
