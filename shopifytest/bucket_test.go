package shopifytest_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

var retryAfterRE = regexp.MustCompile(`^[0-9]+\.[0-9]$`)

func TestBucketThrottles(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 5, BucketSize: 40, LeakRate: 2})
	var ok, throttled int
	for i := range 60 {
		r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token)
		limit := r.header.Get("X-Shopify-Shop-Api-Call-Limit")
		switch r.status {
		case http.StatusOK:
			ok++
			if want := strconv.Itoa(i+1) + "/40"; limit != want {
				t.Errorf("request %d: call limit %q, want %q", i, limit, want)
			}
		case http.StatusTooManyRequests:
			throttled++
			ra := r.header.Get("Retry-After")
			if !retryAfterRE.MatchString(ra) || limit != "40/40" ||
				string(r.body) != `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}` {
				t.Errorf("429: Retry-After %q, limit %q, body %s", ra, limit, r.body)
			}
			if secs, _ := strconv.ParseFloat(ra, 64); secs <= 0 || secs > 0.5 {
				t.Errorf("Retry-After %q: want the time for one request to leak, at most 0.5s at 2/s", ra)
			}
			if v := r.header.Get("X-Shopify-API-Version"); v != "2024-04" {
				t.Errorf("429 without the version header: %q", v)
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	// Sixty requests take far less than a second: about one leaks.
	if ok < 40 || ok > 42 || throttled != 60-ok {
		t.Errorf("%d answered, %d throttled; want about 40 and 20", ok, throttled)
	}
	if st := s.Stats(); st.Throttled != int64(throttled) || st.Requests != 60 || st.MaxUsed != 40 {
		t.Errorf("stats %+v", st)
	}
}

func TestBucketLeaks(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 5, BucketSize: 3, LeakRate: 20})
	u := s.URL + "/admin/api/2024-04/customers/count.json"
	for range 3 {
		fetch(t, u, token)
	}
	r := fetch(t, u, token)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "0.1" {
		t.Fatalf("4th request: status %d Retry-After %q, want 429 and 0.1 (one leaks in 50ms)", r.status, r.header.Get("Retry-After"))
	}
	time.Sleep(120 * time.Millisecond) // two leak
	for i := range 2 {
		if r := fetch(t, u, token); r.status != http.StatusOK {
			t.Errorf("after the leak, request %d: status %d", i, r.status)
		}
	}
	time.Sleep(200 * time.Millisecond) // empty
	r = fetch(t, u, token)
	if r.status != http.StatusOK || r.header.Get("X-Shopify-Shop-Api-Call-Limit") != "1/3" {
		t.Errorf("drained bucket: status %d, limit %q, want 1/3", r.status, r.header.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
}

func TestDrainBucket(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 5, BucketSize: 10, LeakRate: 0.5})
	s.DrainBucket(100) // capped at the size
	r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token)
	if r.status != http.StatusTooManyRequests || r.header.Get("X-Shopify-Shop-Api-Call-Limit") != "10/10" {
		t.Errorf("status %d, limit %q; want 429 at 10/10", r.status, r.header.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
	if ra := r.header.Get("Retry-After"); ra != "2.0" {
		t.Errorf("Retry-After %q, want 2.0 (one request leaks in 2s at 0.5/s)", ra)
	}
	if st := s.Stats(); st.MaxUsed != 10 {
		t.Errorf("MaxUsed %d, want 10", st.MaxUsed)
	}
	unlimited := newSim(t, shopifytest.Options{Customers: 5})
	unlimited.DrainBucket(5)
	if r := fetch(t, unlimited.URL+"/admin/api/2024-04/customers/count.json", token); r.status != http.StatusOK || r.header.Get("X-Shopify-Shop-Api-Call-Limit") != "" {
		t.Errorf("no bucket: status %d, limit %q", r.status, r.header.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
}

func TestSetLeakRate(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 5, BucketSize: 4, LeakRate: 1})
	u := s.URL + "/admin/api/2024-04/customers/count.json"
	s.DrainBucket(4)
	// Retry-After is the time for one request to leak, so it shows the rate.
	for _, tt := range []struct {
		rate float64
		want string
	}{{1, "1.0"}, {4, "0.3"}, {0.5, "2.0"}} {
		s.SetLeakRate(tt.rate)
		s.DrainBucket(1) // full again, whatever leaked meanwhile
		if r := fetch(t, u, token); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != tt.want {
			t.Errorf("at %v/s: status %d Retry-After %q, want 429 and %s", tt.rate, r.status, r.header.Get("Retry-After"), tt.want)
		}
	}
	unlimited := newSim(t, shopifytest.Options{Customers: 5})
	unlimited.SetLeakRate(3) // no bucket: nothing to change
}

func TestBucketConcurrent(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 5, BucketSize: 20, LeakRate: 1})
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		oks  int
		seen = map[string]bool{}
	)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token)
				mu.Lock()
				if r.status == http.StatusOK {
					oks++
					seen[r.header.Get("X-Shopify-Shop-Api-Call-Limit")] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if oks < 20 || oks > 22 {
		t.Errorf("%d of 40 concurrent requests admitted by a bucket of 20, want about 20", oks)
	}
	if !seen["20/20"] {
		t.Errorf("the bucket never reported full: %v", seen)
	}
	for h := range seen {
		used, size, _ := strings.Cut(h, "/")
		if n, err := strconv.Atoi(used); err != nil || n < 1 || n > 20 || size != "20" {
			t.Errorf("call limit %q", h)
		}
	}
}
