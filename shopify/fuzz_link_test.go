package shopify_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopify"
)

// FuzzLinkHeader has the Admin API answer customers.json with an empty
// page and a fuzzed Link header, then follows whatever next page the
// client found. The client returns a page or an error and never panics;
// it only ever asks the API base it was given: an absolute next URL on
// another host (seeded with a second live server) is reduced to its
// cursor, never followed there; and the next request carries only the
// cursor, the limit and the client's own fields, as Shopify requires of
// page_info requests.
func FuzzLinkHeader(f *testing.F) {
	var (
		mu          gosync.Mutex
		link        string
		requests    []*url.URL
		otherCalled bool
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherCalled = true
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"customers":[{"id":666}]}`))
	}))
	f.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL)
		l := link
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Shopify-API-Version", "2024-04")
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "1/40")
		w.Header()["Link"] = []string{l}
		w.Write([]byte(`{"customers":[]}`))
	}))
	f.Cleanup(api.Close)

	o := other.URL + "/admin/api/2024-04/customers.json"
	for _, s := range []string{
		``,
		`<https://acme.myshopify.com/admin/api/2024-04/customers.json?limit=250&page_info=abc>; rel="next"`,
		`<https://acme.myshopify.com/admin/api/2024-04/customers.json?page_info=p>; rel="previous", <https://acme.myshopify.com/admin/api/2024-04/customers.json?page_info=n>; rel="next"`,
		`<` + o + `?limit=1&page_info=evil>; rel="next"`,
		`<` + o + `?limit=1&page_info=evil&since_id=5&fields=id>; rel="next"`,
		`<//` + strings.TrimPrefix(other.URL, "http://") + `/x?page_info=evil>; rel="next"`,
		`</relative?page_info=rel&limit=2>; rel="next"`,
		`<?page_info=%zz>; rel="next"`,
		`<https://a/?page_info=a%26limit%3D1%26ids%3D5&limit=250>; rel="next"`,
		`<https://a/?page_info=x&limit=99999999999999999999>; rel="next"`,
		`<https://a/?page_info=x&limit=-1>; rel="next"`,
		`<https://a/?limit=3>; rel="next"`,
		`<https://a/?page_info=x>; rel="nextish"`,
		`<https://a/?page_info=x>; rel="next",`,
		`<:>; rel="next"`,
		`<https://a/?page_info=x>; rel="next", <https://b/?page_info=y>; rel="next"`,
		"<https://a/?page_info=\x00>; rel=\"next\"",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, l string) {
		mu.Lock()
		link, requests, otherCalled = l, nil, false
		mu.Unlock()
		c, err := shopify.NewClient(shopify.Config{
			Shop: "acme", AccessToken: "shpat_static_secret", APIVersion: "2024-04",
			APIBaseURL: api.URL, RequestTimeout: 2 * time.Second, LeakRate: 1e6,
		}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		p, err := c.ListCustomers(ctx, 0, 250)
		if err != nil {
			return
		}
		if len(p.Customers) != 0 {
			t.Fatalf("got %d customers from an empty page", len(p.Customers))
		}
		followed := p.HasNext()
		if followed {
			p, err = c.NextPage(ctx, p)
			if err == nil && len(p.Customers) != 0 {
				t.Fatalf("next page: got customers %+v from another server", p.Customers)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if followed && len(requests) < 2 {
			t.Fatalf("Link %q: the next page was not asked of the API base (%d requests)", l, len(requests))
		}
		if otherCalled {
			t.Fatalf("Link %q: the client followed a next URL to another host", l)
		}
		for i, u := range requests {
			if u.Path != "/admin/api/2024-04/customers.json" {
				t.Fatalf("Link %q: request %d to path %q", l, i, u.Path)
			}
			if i == 0 {
				continue
			}
			// A page_info request: the cursor, limit at most, and the
			// first request's own fields, never the Link's.
			q := u.Query()
			if q.Get("fields") != requests[0].Query().Get("fields") || !q.Has("fields") {
				t.Fatalf("Link %q: next request %q asks for fields %q, the first %q",
					l, u.RawQuery, q.Get("fields"), requests[0].Query().Get("fields"))
			}
			if q.Get("page_info") == "" {
				t.Fatalf("Link %q: next request %q without page_info", l, u.RawQuery)
			}
			for k := range q {
				if k != "page_info" && k != "limit" && k != "fields" {
					t.Fatalf("Link %q: next request %q carries %q", l, u.RawQuery, k)
				}
			}
		}
	})
}
