package marketing_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/marketing"
)

// stream yields n contacts in Rule.OrderBy's order for email, each
// address held by one to three of them, without keeping them.
func stream(n int, yield func(*shopsync.Contact) error) error {
	subscribed, unsubscribed := "subscribed", "unsubscribed"
	for i := 0; i < n; {
		addr := fmt.Sprintf("u%08d@example.com", i)
		for j := range 1 + i%3 {
			if i == n {
				break
			}
			consent := &subscribed
			if i%7 == 0 {
				consent = &unsubscribed
			}
			u := t0.Add(-time.Duration(j) * time.Hour)
			c := &shopsync.Contact{ShopifyID: int64(i + 1), Email: &addr, ShopifyUpdatedAt: &u,
				Attributes: shopsync.Attributes{shopsync.StringAttr("email_marketing_consent", consent)}}
			if err := yield(c); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMillionContactsBoundedMemory runs 1,000,000 contacts through an
// Eligibility: the heap does not grow with them.
func TestMillionContactsBoundedMemory(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	var kept int64
	e := marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error {
		kept++
		return nil
	})
	base := heapInUse()
	var peak uint64
	i := 0
	err := stream(n, func(c *shopsync.Contact) error {
		if i++; i%(n/10) == 0 {
			peak = max(peak, heapInUse())
		}
		return e.Add(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	r := e.Report()
	if r.Read != int64(n) || r.Included != kept || r.Included+r.LeftOut() != r.Read {
		t.Fatalf("report %v for %d contacts", r, n)
	}
	if growth := int64(peak) - int64(base); growth > 1<<20 {
		t.Errorf("heap grew by %d bytes over %d contacts", growth, n)
	}
	t.Logf("%d contacts: %v; heap %d KiB at start, %d KiB at most", n, r, base>>10, peak>>10)
}

// BenchmarkEligibility is the cost of Add per contact, contacts made
// outside the timer's concern (they are what a store scan yields).
func BenchmarkEligibility(b *testing.B) {
	subscribed := "subscribed"
	cs := make([]*shopsync.Contact, 4096)
	for i := range cs {
		addr := fmt.Sprintf("u%08d@example.com", i/2)
		u := t0.Add(-time.Duration(i%2) * time.Hour)
		cs[i] = &shopsync.Contact{ShopifyID: int64(i + 1), Email: &addr, ShopifyUpdatedAt: &u,
			Attributes: shopsync.Attributes{shopsync.StringAttr("email_marketing_consent", &subscribed)}}
	}
	b.ReportAllocs()
	e := marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error { return nil })
	i := 0
	for b.Loop() {
		if i == len(cs) {
			e.Flush()
			e = marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error { return nil })
			i = 0
		}
		if err := e.Add(cs[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
