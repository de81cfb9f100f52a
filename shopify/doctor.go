package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// Read-only calls for `shopsync doctor` and the status page's "Check
// connection": what the connection is, without reading any customer's
// personal data out of this package.

// ShopProbe is what one count of customers says about the connection.
type ShopProbe struct {
	Customers     int64     // customers/count.json
	ServedVersion string    // X-Shopify-API-Version: the version Shopify served
	ServerTime    time.Time // Shopify's Date header, to the second; zero if absent
	ReceivedAt    time.Time // when the answer came, by this machine's clock
	Latency       time.Duration
}

// Probe counts the shop's customers and reports the answer's headers: the
// API version Shopify served and its clock. The request goes through the
// client's transport (token, pacing, retries) like every other.
func (c *Client) Probe(ctx context.Context) (ShopProbe, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p ShopProbe
	req, err := c.gs.NewRequest(ctx, http.MethodGet, c.apiPath("customers/count.json"), nil, nil)
	if err != nil {
		return p, fmt.Errorf("count customers: %w", err)
	}
	start := time.Now()
	resp, err := (&http.Client{Transport: c.tr}).Do(req)
	if err != nil {
		return p, fmt.Errorf("count customers: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	p.ReceivedAt = time.Now()
	p.Latency = p.ReceivedAt.Sub(start)
	p.ServedVersion = resp.Header.Get(headerAPIVersion)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		p.ServerTime = d
	}
	if err := goshopify.CheckResponseError(resp); err != nil {
		return p, fmt.Errorf("count customers: %w", explain(err, c.tr.tokens))
	}
	var body struct {
		Count int64 `json:"count"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return p, fmt.Errorf("count customers: %w", err)
	}
	p.Customers = body.Count
	return p, nil
}

// AccessScopes returns the handles of the scopes the app was granted on
// the shop (GET /admin/oauth/access_scopes.json), e.g. read_customers.
func (c *Client) AccessScopes(ctx context.Context) ([]string, error) {
	var res struct {
		AccessScopes []struct {
			Handle string `json:"handle"`
		} `json:"access_scopes"`
	}
	err := c.do(ctx, func() error {
		req, err := c.gs.NewRequest(ctx, http.MethodGet, "admin/oauth/access_scopes.json", nil, nil)
		if err != nil {
			return err
		}
		return c.gs.Do(req, &res)
	})
	if err != nil {
		return nil, fmt.Errorf("access scopes: %w", err)
	}
	out := make([]string, 0, len(res.AccessScopes))
	for _, s := range res.AccessScopes {
		out = append(out, s.Handle)
	}
	return out, nil
}

// SampleStats count which protected fields a sample of customers carries.
// Only counts leave the client: never a name or an address.
type SampleStats struct {
	Sampled   int
	WithEmail int
	WithName  int // a first or a last name
	WithPhone int
}

// SampleCustomers reads up to n customers (the first by id) and counts
// those whose email, name and phone Shopify sent. An app without access
// to protected customer data gets them all as null (SHOPIFY.md §7).
func (c *Client) SampleCustomers(ctx context.Context, n int) (SampleStats, error) {
	var st SampleStats
	since := uint64(0)
	p, err := c.list(ctx, &goshopify.ListOptions{SinceId: &since, Limit: min(max(n, 1), 250)})
	if err != nil {
		return st, fmt.Errorf("sample customers: %w", err)
	}
	for i := range p.Customers {
		cu := &p.Customers[i]
		st.Sampled++
		if cu.Email.Valid() && cu.Email.V != "" {
			st.WithEmail++
		}
		if (cu.FirstName.Valid() && cu.FirstName.V != "") || (cu.LastName.Valid() && cu.LastName.V != "") {
			st.WithName++
		}
		if cu.Phone.Valid() && cu.Phone.V != "" {
			st.WithPhone++
		}
	}
	return st, nil
}
