package shopifytest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestPaginationWalksEveryCustomerOnce(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 1234, Seed: 7})
	want := s.CustomerIDs()
	next := s.URL + "/admin/api/2024-04/customers.json?limit=250"
	linkFormat := regexp.MustCompile(`^<` + regexp.QuoteMeta(s.URL) +
		`/admin/api/2024-04/customers\.json\?limit=250&page_info=[A-Za-z0-9_-]+>; rel="next"$`)
	var got []int64
	for page := 1; next != ""; page++ {
		r := fetch(t, next, token)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: status %d %s", page, r.status, r.body)
		}
		got = append(got, ids(r.list(t))...)
		link := r.header.Get("Link")
		m, order := parseLinks(t, link)
		switch {
		case page == 1 && !linkFormat.MatchString(link):
			t.Errorf("page 1 Link %q: want only rel=next in Shopify's format", link)
		case page > 1 && page < 5 && !slices.Equal(order, []string{"previous", "next"}):
			t.Errorf("page %d Link rels %v, want previous then next: %q", page, order, link)
		case page == 5 && !slices.Equal(order, []string{"previous"}):
			t.Errorf("last page Link rels %v, want only previous", order)
		}
		if sep := strings.Index(link, `rel="previous", <`); page > 1 && page < 5 && sep < 0 {
			t.Errorf("page %d: previous and next not joined by \", \": %q", page, link)
		}
		next = m["next"]
		if page > 5 {
			t.Fatal("more than 5 pages for 1234 customers at 250")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk got %d ids, want %d, in order, each once", len(got), len(want))
	}
}

func TestSinglePageHasNoLink(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 30, Seed: 1})
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json", token)
	if r.status != http.StatusOK || len(r.list(t)) != 30 || r.header.Get("Link") != "" {
		t.Errorf("status %d, %d customers, Link %q; want 200, 30, none", r.status, len(r.list(t)), r.header.Get("Link"))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestDefaultLimitIs50(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 120, Seed: 1})
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json", token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	if n := len(r.list(t)); n != 50 || !strings.Contains(m["next"], "limit=50&") {
		t.Errorf("got %d customers and next %q; want 50 and limit=50 in the link", n, m["next"])
	}
}

func TestPreviousWalksBack(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 100, Seed: 3})
	all := s.CustomerIDs()
	base := s.URL + "/admin/api/2024-04/customers.json?limit=30"
	p1 := fetch(t, base, token)
	m, _ := parseLinks(t, p1.header.Get("Link"))
	p2 := fetch(t, m["next"], token)
	m, _ = parseLinks(t, p2.header.Get("Link"))
	p3 := fetch(t, m["next"], token)
	if got := ids(p3.list(t)); !slices.Equal(got, all[60:90]) {
		t.Fatalf("page 3: got %v", got)
	}
	m, _ = parseLinks(t, p3.header.Get("Link"))
	back := fetch(t, m["previous"], token)
	if got := ids(back.list(t)); !slices.Equal(got, all[30:60]) {
		t.Errorf("previous of page 3: got %v, want page 2", got)
	}
	m, _ = parseLinks(t, back.header.Get("Link"))
	first := fetch(t, m["previous"], token)
	if got := ids(first.list(t)); !slices.Equal(got, all[:30]) {
		t.Errorf("previous of page 2: got %v, want page 1", got)
	}
	if _, order := parseLinks(t, first.header.Get("Link")); !slices.Equal(order, []string{"next"}) {
		t.Errorf("page 1 reached backwards: rels %v, want only next", order)
	}
}

func TestDeletedBetweenPagesShiftsNothing(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 100, Seed: 4})
	all := s.CustomerIDs()
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=10", token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	s.Delete(all[5])  // on page 1, already served
	s.Delete(all[12]) // on page 2
	got := ids(fetch(t, m["next"], token).list(t))
	want := append(slices.Clone(all[10:12]), all[13:21]...)
	if !slices.Equal(got, want) {
		t.Errorf("page 2 after deletes: got %v, want %v", got, want)
	}
}

func TestEmptyPageAfterDeletes(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 20, Seed: 8})
	all := s.CustomerIDs()
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=10", token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	for _, id := range all[10:] {
		s.Delete(id)
	}
	r = fetch(t, m["next"], token)
	m, order := parseLinks(t, r.header.Get("Link"))
	if r.status != http.StatusOK || string(r.body) != `{"customers":[]}` || !slices.Equal(order, []string{"previous"}) {
		t.Fatalf("status %d %s, rels %v; want an empty page with only rel=previous", r.status, r.body, order)
	}
	if got := ids(fetch(t, m["previous"], token).list(t)); !slices.Equal(got, all[:10]) {
		t.Errorf("previous of the empty page: %v, want page 1", got)
	}
}

func TestPageInfoAllowsOnlyLimitAndFields(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 60, Seed: 1})
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=10", token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	next := m["next"]
	for _, tt := range []struct {
		name, extra string
		status      int
	}{
		{"limit changed", "&limit=5", http.StatusOK},
		{"fields", "&fields=id", http.StatusOK},
		{"since_id", "&since_id=1", http.StatusBadRequest},
		{"updated_at_min", "&updated_at_min=2020-01-01T00:00:00Z", http.StatusBadRequest},
		{"ids", "&ids=1,2", http.StatusBadRequest},
		{"unknown", "&order=id+desc", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := strings.Replace(next, "limit=10", "", 1) + tt.extra
			r := fetch(t, u, token)
			if r.status != tt.status {
				t.Fatalf("status %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status == http.StatusBadRequest {
				var body struct{ Errors map[string]string }
				r.decode(t, &body)
				if len(body.Errors) != 1 {
					t.Errorf("body %s, want {\"errors\":{param: message}}", r.body)
				}
			}
		})
	}
	for _, bad := range []string{"", "garbage!", "eyJ4IjoxfQ", url.QueryEscape("not base64 at all")} {
		r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?page_info="+bad, token)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"page_info":"Invalid value."`) {
			t.Errorf("page_info=%q: status %d %s, want 400 Invalid value", bad, r.status, r.body)
		}
	}
}

func TestLimitOutOfRange(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 10, Seed: 1})
	for _, limit := range []string{"251", "0", "-1", "abc", "1.5", ""} {
		r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit="+limit, token)
		var body struct{ Errors map[string]string }
		r.decode(t, &body)
		if r.status != http.StatusBadRequest || body.Errors["limit"] == "" {
			t.Errorf("limit=%q: status %d %s, want 400 naming limit", limit, r.status, r.body)
		}
	}
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=250", token); r.status != http.StatusOK {
		t.Errorf("limit=250: status %d", r.status)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 300, Seed: 9})
	all := s.CustomerIDs()
	list := func(query string) []int64 {
		t.Helper()
		r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=250&"+query, token)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d %s", query, r.status, r.body)
		}
		return ids(r.list(t))
	}
	if got := list(fmt.Sprintf("since_id=%d", all[280])); !slices.Equal(got, all[281:]) {
		t.Errorf("since_id: got %v", got)
	}
	pick := []int64{all[200], all[3], all[3], all[100], 42}
	if got := list(fmt.Sprintf("ids=%d,%d,%d,%d,%d", pick[0], pick[1], pick[2], pick[3], pick[4])); !slices.Equal(got, []int64{all[3], all[100], all[200]}) {
		t.Errorf("ids: got %v, want three, ascending", got)
	}

	// updated_at_min: move ten customers to now, then ask for them.
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	var changed []int64
	for i := 0; i < 300; i += 30 {
		s.Update(all[i], func(c *shopifytest.Customer) { c.Tags = "changed" })
		changed = append(changed, all[i])
	}
	q := "updated_at_min=" + url.QueryEscape(before.Format(time.RFC3339))
	if got := list(q); !slices.Equal(got, changed) {
		t.Errorf("updated_at_min: got %v, want %v", got, changed)
	}
	// The filter stays with the cursor on the following pages.
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=4&"+q, token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	r2 := fetch(t, m["next"], token)
	m2, _ := parseLinks(t, r2.header.Get("Link"))
	r3 := fetch(t, m2["next"], token)
	got := append(append(ids(r.list(t)), ids(r2.list(t))...), ids(r3.list(t))...)
	if !slices.Equal(got, changed) || r3.header.Get("Link") == "" || strings.Contains(r3.header.Get("Link"), `"next"`) {
		t.Errorf("paged updated_at_min: got %v, Link %q", got, r3.header.Get("Link"))
	}

	// created_at_min/max bound the creation time, inclusive.
	c, _ := s.Customer(all[150])
	at := url.QueryEscape(c.CreatedAt)
	for _, id := range list("created_at_min=" + at + "&created_at_max=" + at) {
		o, _ := s.Customer(id)
		if !sameInstant(t, o.CreatedAt, c.CreatedAt) {
			t.Errorf("created_at bounds: got customer created %s, want %s", o.CreatedAt, c.CreatedAt)
		}
	}
	if got := list("created_at_min=" + at + "&created_at_max=" + at); !slices.Contains(got, all[150]) {
		t.Errorf("created_at_min=max=%s does not include the customer created then", c.CreatedAt)
	}
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?updated_at_min=yesterday", token); r.status != http.StatusBadRequest {
		t.Errorf("bad date: status %d, want 400", r.status)
	}
}

func sameInstant(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return ta.Equal(tb)
}

func TestFieldsFilter(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 20, Seed: 2})
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=5&fields=id,email,total_spent", token)
	var body struct{ Customers []map[string]any }
	r.decode(t, &body)
	for _, c := range body.Customers {
		if len(c) != 3 || c["id"] == nil || c["total_spent"] == nil {
			t.Errorf("customer %v: want exactly id, email, total_spent", c)
		}
		if _, ok := c["email"]; !ok {
			t.Errorf("customer %v: email missing (null is still sent)", c)
		}
	}
	m, _ := parseLinks(t, r.header.Get("Link"))
	if !strings.Contains(m["next"], "fields=id%2Cemail%2Ctotal_spent") {
		t.Errorf("next link %q does not carry fields", m["next"])
	}
	r = fetch(t, m["next"], token)
	body.Customers = nil
	r.decode(t, &body)
	if len(body.Customers) != 5 || len(body.Customers[0]) != 3 {
		t.Errorf("page 2 with fields: %s", r.body)
	}
	id := s.CustomerIDs()[0]
	r = fetch(t, fmt.Sprintf("%s/admin/api/2024-04/customers/%d.json?fields=id,tags", s.URL, id), token)
	if want := fmt.Sprintf(`{"customer":{"id":%d,"tags":`, id); !strings.HasPrefix(string(r.body), want) {
		t.Errorf("get with fields: %s", r.body)
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 321, Seed: 5})
	var body struct{ Count int }
	fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token).decode(t, &body)
	if body.Count != 321 {
		t.Errorf("count %d, want 321", body.Count)
	}
	before := time.Now().Add(-time.Second).Format(time.RFC3339)
	for _, id := range s.CustomerIDs()[:7] {
		s.Update(id, func(c *shopifytest.Customer) {})
	}
	s.Delete(s.CustomerIDs()[100])
	fetch(t, s.URL+"/admin/api/2024-04/customers/count.json?updated_at_min="+url.QueryEscape(before), token).decode(t, &body)
	if body.Count != 7 {
		t.Errorf("count updated since %s: %d, want 7", before, body.Count)
	}
	fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token).decode(t, &body)
	if body.Count != 320 {
		t.Errorf("count after a delete: %d, want 320", body.Count)
	}
}

func TestGetByID(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 10, Seed: 1})
	id := s.CustomerIDs()[3]
	r := fetch(t, fmt.Sprintf("%s/admin/api/2024-04/customers/%d.json", s.URL, id), token)
	var body struct{ Customer wireCustomer }
	r.decode(t, &body)
	if r.status != http.StatusOK || body.Customer.ID != id {
		t.Errorf("get %d: status %d, id %d", id, r.status, body.Customer.ID)
	}
	for _, path := range []string{"customers/1.json", "customers/abc.json", "orders.json", "customers/search.json"} {
		r := fetch(t, s.URL+"/admin/api/2024-04/"+path, token)
		if r.status != http.StatusNotFound || string(r.body) != `{"errors":"Not Found"}` {
			t.Errorf("%s: status %d %s, want 404 Not Found", path, r.status, r.body)
		}
	}
}

func TestVersions(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 1, APIVersions: []string{"2025-10", "2026-01"}})
	for _, tt := range []struct{ asked, served string }{
		{"2026-01", "2026-01"}, {"2025-10", "2025-10"}, {"2024-04", "2025-10"}, {"2031-07", "2025-10"},
	} {
		r := fetch(t, s.URL+"/admin/api/"+tt.asked+"/customers/count.json", token)
		if r.status != http.StatusOK || r.header.Get("X-Shopify-API-Version") != tt.served {
			t.Errorf("%s: status %d, served %q, want %s", tt.asked, r.status, r.header.Get("X-Shopify-API-Version"), tt.served)
		}
	}
	for _, bad := range []string{"2024-4", "latest", "2024-13", "customers.json"} {
		if r := fetch(t, s.URL+"/admin/api/"+bad+"/customers.json", token); r.status != http.StatusNotFound {
			t.Errorf("version %q: status %d, want 404", bad, r.status)
		}
	}
	def := newSim(t, shopifytest.Options{Customers: 1})
	if v := fetch(t, def.URL+"/admin/api/2024-04/customers/count.json", token).header.Get("X-Shopify-API-Version"); v != "2024-04" {
		t.Errorf("default versions serve 2024-04 as %q", v)
	}
	if r := fetch(t, s.URL+"/admin/customers.json", token); r.status != http.StatusNotFound {
		t.Errorf("unversioned path: status %d, want 404", r.status)
	}
}
