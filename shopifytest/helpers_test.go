package shopifytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

const token = "shpat_test_static_token"

// newSim starts a simulator with a static token, closed when t ends.
func newSim(t *testing.T, opts shopifytest.Options) *shopifytest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = token
	}
	s := shopifytest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch fetches url with the access token tok ("" sends none).
func fetch(t *testing.T, url, tok string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("X-Shopify-Access-Token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

// decode unmarshals r's body into v, failing the test on a bad body.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wireCustomer is how a careful client decodes a customer.
type wireCustomer struct {
	ID         int64   `json:"id"`
	Email      *string `json:"email"`
	TotalSpent string  `json:"total_spent"`
	UpdatedAt  string  `json:"updated_at"`
	CreatedAt  string  `json:"created_at"`
}

// list decodes a customers.json body.
func (r response) list(t *testing.T) []wireCustomer {
	t.Helper()
	var body struct {
		Customers []wireCustomer `json:"customers"`
	}
	r.decode(t, &body)
	return body.Customers
}

var linkPattern = regexp.MustCompile(`<([^>]*)>; rel="(previous|next)"`)

// parseLinks parses a Link header into rel -> URL, and the rels in order.
func parseLinks(t *testing.T, h string) (map[string]string, []string) {
	t.Helper()
	m := map[string]string{}
	var order []string
	for _, sub := range linkPattern.FindAllStringSubmatch(h, -1) {
		m[sub[2]] = sub[1]
		order = append(order, sub[2])
	}
	return m, order
}

// ids returns the customers' ids.
func ids(cs []wireCustomer) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
