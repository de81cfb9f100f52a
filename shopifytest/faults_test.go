package shopifytest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestFailNext(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 10, BucketSize: 40, LeakRate: 2})
	u := s.URL + "/admin/api/2024-04/customers.json"
	s.FailNext(2, http.StatusServiceUnavailable)
	for i := range 2 {
		r := fetch(t, u, token)
		if r.status != http.StatusServiceUnavailable || string(r.body) != `{"errors":"Service Unavailable"}` {
			t.Errorf("request %d: status %d %s, want 503 with a JSON body", i, r.status, r.body)
		}
		if r.header.Get("X-Shopify-Shop-Api-Call-Limit") == "" || r.header.Get("X-Shopify-API-Version") == "" {
			t.Errorf("request %d: error without Shopify's headers: %v", i, r.header)
		}
	}
	if r := fetch(t, u, token); r.status != http.StatusOK {
		t.Errorf("third request: status %d, want 200", r.status)
	}
	s.FailNext(5, http.StatusInternalServerError)
	s.FailNext(0, 0)
	if r := fetch(t, u, token); r.status != http.StatusOK {
		t.Errorf("after FailNext(0, 0): status %d", r.status)
	}
}

func TestTruncateNext(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 40})
	u := s.URL + "/admin/api/2024-04/customers.json"
	full := fetch(t, u, token)
	s.TruncateNext(1)
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token); r.status != http.StatusOK || !json.Valid(r.body) {
		t.Errorf("count is not a list: must not be cut, got %s", r.body)
	}
	cut := fetch(t, u, token)
	if cut.status != http.StatusOK || len(cut.body) != len(full.body)/2 || json.Valid(cut.body) || !strings.HasPrefix(string(full.body), string(cut.body)) {
		t.Errorf("truncated: status %d, %d of %d bytes, valid %v", cut.status, len(cut.body), len(full.body), json.Valid(cut.body))
	}
	if again := fetch(t, u, token); !json.Valid(again.body) {
		t.Error("the next list is still cut")
	}
}

func TestDropNext(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 10})
	u := s.URL + "/admin/api/2024-04/customers.json"
	fetch(t, u, token) // a kept-alive connection, as a real client has
	s.DropNext(1)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request: got status %d, want a connection error", resp.StatusCode)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("dropped request: error %v, want unexpected EOF, as DropNext documents", err)
	}
	if r := fetch(t, u, token); r.status != http.StatusOK {
		t.Errorf("after the drop: status %d", r.status)
	}
	if st := s.Stats(); st.Requests != 3 {
		t.Errorf("Requests %d, want 3 (the drop counts)", st.Requests)
	}
}

func TestOnRequest(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 600})
	var pages atomic.Int32
	s.OnRequest(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers.json") && pages.Add(1) == 2 {
			s.FailNext(1, http.StatusBadGateway) // fails this very request
		}
	})
	r := fetch(t, s.URL+"/admin/api/2024-04/customers.json?limit=250", token)
	m, _ := parseLinks(t, r.header.Get("Link"))
	if r := fetch(t, m["next"], token); r.status != http.StatusBadGateway {
		t.Errorf("page 2: status %d, want the 502 its hook asked for", r.status)
	}
	if r := fetch(t, m["next"], token); r.status != http.StatusOK || pages.Load() != 3 {
		t.Errorf("retry: status %d after %d hooked requests", r.status, pages.Load())
	}
	s.OnRequest(nil)
	fetch(t, m["next"], token)
	if pages.Load() != 3 {
		t.Error("the hook ran after OnRequest(nil)")
	}
	if st := s.Stats(); st.ByPath["customers.json"] != 4 {
		t.Errorf("ByPath %v", st.ByPath)
	}
}
