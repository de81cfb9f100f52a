package shopifytest_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestUpsertUpdateDelete(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 50, Seed: 6})
	ids := s.CustomerIDs()
	if !slices.IsSorted(ids) || len(ids) != 50 {
		t.Fatalf("CustomerIDs: %d, sorted %v", len(ids), slices.IsSorted(ids))
	}

	// Upsert inserts in id order, normalizing what Shopify always sends.
	email := "new@example.com"
	nc := shopifytest.Customer{ID: ids[10] + 1, Email: &email, TotalSpent: "1.00", Currency: "USD", State: "enabled",
		CreatedAt: "2024-04-02T09:23:53-05:00", UpdatedAt: "2024-04-02T09:23:53-05:00"}
	s.Upsert(nc)
	got, ok := s.Customer(nc.ID)
	if !ok || *got.Email != email || got.AdminGraphQLAPIID != fmt.Sprintf("gid://shopify/Customer/%d", nc.ID) ||
		got.Addresses == nil || got.TaxExemptions == nil {
		t.Fatalf("upserted: %+v", got)
	}
	if all := s.CustomerIDs(); len(all) != 51 || all[11] != nc.ID {
		t.Errorf("upsert did not insert in order")
	}
	r := fetch(t, fmt.Sprintf("%s/admin/api/2024-04/customers.json?ids=%d", s.URL, nc.ID), token)
	if cs := r.list(t); len(cs) != 1 || cs[0].ID != nc.ID || *cs[0].Email != email {
		t.Errorf("list of the upserted customer: %s", r.body)
	}

	// The copy handed out is the caller's: changing it changes nothing.
	*got.Email = "changed@example.com"
	if again, _ := s.Customer(nc.ID); *again.Email != email {
		t.Error("writing through a returned customer changed the simulator")
	}

	// Update edits and moves updated_at to now, in the customer's offset.
	before, _ := s.Customer(ids[0])
	start := time.Now().Truncate(time.Second)
	s.Update(ids[0], func(c *shopifytest.Customer) { c.Tags = "VIP, Léon" })
	after, _ := s.Customer(ids[0])
	u, err := time.Parse(time.RFC3339, after.UpdatedAt)
	if err != nil || after.Tags != "VIP, Léon" || u.Before(start) || u.After(time.Now()) {
		t.Errorf("updated: tags %q updated_at %q (start %s)", after.Tags, after.UpdatedAt, start)
	}
	if after.UpdatedAt[19:] != before.UpdatedAt[19:] || after.CreatedAt != before.CreatedAt {
		t.Errorf("offset changed: %s -> %s", before.UpdatedAt, after.UpdatedAt)
	}
	s.Update(42, func(c *shopifytest.Customer) { t.Error("fn called for an unknown id") })

	// Delete.
	if !s.Delete(ids[1]) || s.Delete(ids[1]) {
		t.Error("Delete should report true then false")
	}
	if _, ok := s.Customer(ids[1]); ok {
		t.Error("deleted customer still there")
	}
	if r := fetch(t, fmt.Sprintf("%s/admin/api/2024-04/customers/%d.json", s.URL, ids[1]), token); r.status != http.StatusNotFound {
		t.Errorf("deleted customer: status %d", r.status)
	}
}

func TestLatency(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 1, Latency: 80 * time.Millisecond})
	start := time.Now()
	fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("answered in %s, want at least the 80ms latency", d)
	}
}

func TestNewHandlerServesWithoutListening(t *testing.T) {
	s := shopifytest.NewHandler(shopifytest.Options{Customers: 3, Token: token})
	defer s.Close()
	if s.URL != "" {
		t.Errorf("URL %q, want empty", s.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://acme.myshopify.com/admin/api/2024-04/customers.json?limit=1", nil)
	req.Header.Set("X-Shopify-Access-Token", token)
	w := newRecorder()
	s.ServeHTTP(w, req)
	if w.status != http.StatusOK || w.header.Get("Link") == "" {
		t.Fatalf("status %d, Link %q", w.status, w.header.Get("Link"))
	}
	m, _ := parseLinks(t, w.header.Get("Link"))
	if want := "https://acme.myshopify.com/admin/api/2024-04/customers.json?limit=1&page_info="; len(m["next"]) <= len(want) || m["next"][:len(want)] != want {
		t.Errorf("next %q, want it on the shop's https address", m["next"])
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.body = append(r.body, b...)
	return len(b), nil
}
