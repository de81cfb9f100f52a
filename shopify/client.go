// Package shopify talks to the Shopify Admin API: listing, counting and
// fetching customers over REST, full reads through GraphQL bulk
// operations, webhook subscriptions, and the checks doctor runs, through
// go-shopify over a transport that paces requests to the shop's leaky
// bucket and retries what can be retried. It imports nothing internal.
package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/go-json-experiment/json/jsontext"
)

// Client reads customers from one shop. It is safe for concurrent use,
// but serialises its requests: the bucket is shared, so parallel fetches
// would not be faster (SHOPIFY.md §5), and go-shopify's client is not safe
// for concurrent use.
type Client struct {
	gs         *goshopify.Client
	tr         *transport // holds the TokenSource too
	maxRetries int

	mu gosync.Mutex // one request at a time through gs
}

// NewClient returns a client for cfg. It validates cfg first.
//
// Credentials go only to the shop, or to the configured base URL: a
// redirect to any other host is refused (RedirectError), by the
// http.Clients' CheckRedirect, and again by the transport before it sends.
func NewClient(cfg Config, logger *slog.Logger) (*Client, error) {
	return newClient(cfg, logger, http.DefaultTransport)
}

// newClient is NewClient over the base round tripper base.
func newClient(cfg Config, logger *slog.Logger, base http.RoundTripper) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	shop, _ := NormalizeShop(cfg.Shop)
	apiBase, err := cfg.baseURL()
	if err != nil {
		return nil, fmt.Errorf("shopify.api_base_url: %w", err)
	}
	timeout := cfg.RequestTimeout
	if timeout == 0 {
		timeout = defaultRequestTimeout
	}
	logger = logger.With("component", "shopify")
	rewrite := apiBase
	if cfg.APIBaseURL == "" {
		rewrite = nil // go-shopify already addresses https://{shop}
	}
	// go-shopify addresses https://{shop}, which the transport rewrites
	// to the base URL; a redirect may name either.
	origins := []string{"https://" + shop}
	if o := origin(apiBase); o != origins[0] {
		origins = append(origins, o)
	}
	var tokens TokenSource = StaticToken(cfg.AccessToken)
	if cfg.AccessToken == "" {
		tokenTransport := &transport{base: base, baseURL: rewrite, origin: origin(apiBase), timeout: timeout,
			maxRetries: cfg.MaxRetries, logger: logger}
		tokens = NewClientCredentials(apiBase.String(), cfg.ClientID, cfg.ClientSecret,
			&http.Client{Transport: tokenTransport, CheckRedirect: credentialRedirects(origins...)})
	}
	tr := &transport{
		base:       base,
		baseURL:    rewrite,
		origin:     origin(apiBase),
		tokens:     tokens,
		pacer:      newPacer(cfg.LeakRate),
		timeout:    timeout,
		maxRetries: cfg.MaxRetries,
		version:    cfg.APIVersion,
		logger:     logger,
	}
	// The token is left out of go-shopify (""): the transport sets it on
	// every attempt, so that a renewed token is used at once.
	gs, err := goshopify.NewClient(goshopify.App{}, shop, "",
		goshopify.WithVersion(cfg.APIVersion),
		goshopify.WithHTTPClient(&http.Client{Transport: tr, CheckRedirect: credentialRedirects(origins...)}))
	if err != nil {
		return nil, fmt.Errorf("shopify client: %w", err)
	}
	return &Client{gs: gs, tr: tr, maxRetries: cfg.MaxRetries}, nil
}

// Page is one page of customers and the cursor to the next.
type Page struct {
	Customers []Customer
	// Date is when Shopify answered, on its own clock: the response's
	// Date header, whole seconds (the local time of the answer when
	// Shopify sent none). The page is the truth as of Date.
	Date time.Time
	next *goshopify.ListOptions
}

// HasNext reports whether Shopify announced another page.
func (p *Page) HasNext() bool { return p.next != nil }

// CountCustomers returns the shop's number of customers.
func (c *Client) CountCustomers(ctx context.Context) (int64, error) {
	var n int
	err := c.do(ctx, func() (err error) {
		n, err = c.gs.Count(ctx, "customers/count.json", nil)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return int64(n), nil
}

// ListCustomers returns the first page of customers with an id above
// sinceID, in ascending id order, limit to a page (at most 250). since_id
// is always sent, 0 included, so that the order is by id: the importer
// checkpoints on it.
func (c *Client) ListCustomers(ctx context.Context, sinceID int64, limit int) (*Page, error) {
	since := uint64(max(sinceID, 0))
	return c.list(ctx, &goshopify.ListOptions{SinceId: &since, Limit: limit})
}

// NextPage follows p's rel="next" cursor. Only rel="next" is followed,
// never rel="previous", and a page_info request carries only limit and
// fields, as Shopify requires.
func (c *Client) NextPage(ctx context.Context, p *Page) (*Page, error) {
	if p.next == nil {
		return nil, errors.New("next page: no next page")
	}
	return c.list(ctx, p.next)
}

// CustomersByID fetches up to 250 customers by id in one request, for
// re-fetching customers whose webhook payload lacked fields, and for
// confirming deletions: an id the page lacks is a customer Shopify did
// not have as of the page's Date.
func (c *Client) CustomersByID(ctx context.Context, ids []int64) (*Page, error) {
	if len(ids) == 0 {
		return &Page{Date: c.tr.shopifyNow()}, nil
	}
	if len(ids) > 250 {
		return nil, fmt.Errorf("customers by id: %d ids, at most 250 a request", len(ids))
	}
	opts := &goshopify.ListOptions{Limit: len(ids), Ids: make([]uint64, len(ids))}
	for i, id := range ids {
		opts.Ids[i] = uint64(id)
	}
	p, err := c.list(ctx, opts)
	if err != nil {
		return nil, err
	}
	p.next = nil // ids= answers in one page
	return p, nil
}

// customerFields is the fields parameter of every customer listing: the
// keys Customer decodes, derived from its tags. Shopify then leaves out
// what shopsync never reads (the addresses list, tax exemptions,
// multipass identifier): a third less JSON to send and decode, and less
// protected customer data fetched (SHOPIFY.md §3, §9).
var customerFields = func() string {
	t := reflect.TypeFor[Customer]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return strings.Join(names, ",")
}()

func (c *Client) list(ctx context.Context, opts *goshopify.ListOptions) (*Page, error) {
	opts.Fields = customerFields
	var page *Page
	// go-shopify builds the request and explains error answers, but the
	// listing is sent and read here: go-shopify would copy the body to
	// log it, and decode it with encoding/json through an interface{},
	// scanning each page three times. The body the transport read is
	// decoded in one pass, straight into Customer (decodeCustomers).
	err := c.do(ctx, func() error {
		req, err := c.gs.NewRequest(ctx, http.MethodGet, c.apiPath("customers.json"), nil, opts)
		if err != nil {
			return err
		}
		sent := c.tr.shopifyNow()
		resp, err := c.tr.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := goshopify.CheckResponseError(resp); err != nil {
			return err
		}
		body, ok := resp.Body.(*Body)
		if !ok {
			return fmt.Errorf("customers.json: the transport did not read the body")
		}
		page = &Page{Date: answeredAt(resp, sent)}
		if page.next, err = nextPage(resp.Header.Get("Link")); err != nil {
			return err
		}
		// Customers keep no reference to the body: decodeValue copies.
		page.Customers, err = decodeCustomers(body.Bytes(), opts.Limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	if page.next != nil {
		// Shopify accepts fields beside page_info and limit, and needs
		// it on every page: ours, whatever the link says.
		page.next.Fields = opts.Fields
	}
	// Every key was asked for (customerFields): one the answer lacks is
	// one Shopify has no value for. A customer without an address comes
	// without default_address, and a read is the whole truth.
	for i := range page.Customers {
		page.Customers[i].nullAbsent()
	}
	return page, nil
}

// apiPath is the path of an Admin API resource at the client's version.
func (c *Client) apiPath(resource string) string {
	return "admin/api/" + c.tr.version + "/" + resource
}

// answeredAt is when Shopify answered, on its clock: the answer's Date
// (whole seconds), or without one the time the request was sent, which
// the answer cannot precede.
func answeredAt(resp *http.Response, sent time.Time) time.Time {
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		return d.UTC()
	}
	return sent.UTC().Truncate(time.Second)
}

// nextPage reads the cursor of the rel="next" link in a Link header
// (SHOPIFY.md §3): <https://{shop}/admin/api/{version}/customers.json?limit=250&page_info=…>; rel="next",
// beside a rel="previous" one from the second page on, which is never
// followed. nil when there is no next page.
func nextPage(header string) (*goshopify.ListOptions, error) {
	if header == "" {
		return nil, nil
	}
	for link := range strings.SplitSeq(header, ",") {
		target, params, _ := strings.Cut(strings.TrimSpace(link), ";")
		target, open := strings.CutPrefix(strings.TrimSpace(target), "<")
		target, closed := strings.CutSuffix(target, ">")
		if !open || !closed {
			return nil, fmt.Errorf("link header: %q is not <URL>; rel=…", link)
		}
		if !hasRel(params, "next") {
			continue
		}
		u, err := url.Parse(target)
		if err != nil {
			return nil, fmt.Errorf("link header: next URL: %w", err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("link header: next URL: %w", err)
		}
		next := &goshopify.ListOptions{PageInfo: q.Get("page_info")}
		if next.PageInfo == "" {
			return nil, errors.New("link header: the next URL has no page_info")
		}
		if l := q.Get("limit"); l != "" {
			if next.Limit, err = strconv.Atoi(l); err != nil || next.Limit <= 0 {
				return nil, fmt.Errorf("link header: the next URL's limit %q is not a count", l)
			}
		}
		return next, nil
	}
	return nil, nil
}

// hasRel reports whether a link's parameters (;-separated, after its URL)
// name rel among its relations (rel="next", rel=next, rel="next last").
func hasRel(params, rel string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for r := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
			if strings.EqualFold(r, rel) {
				return true
			}
		}
	}
	return false
}

// do runs one go-shopify call, retrying it when the body Shopify sent was
// cut short (the transport retries everything else), and explains errors.
func (c *Client) do(ctx context.Context, call func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if truncated(err) && attempt < c.maxRetries {
			c.tr.stats.retries.Add(1)
			if err := sleep(ctx, backoff(attempt+1)); err != nil {
				return err
			}
			continue
		}
		return explain(err, c.tr.tokens)
	}
}

// truncated reports whether a decode error means the JSON was cut short.
func truncated(err error) bool {
	var (
		syn   *json.SyntaxError
		synV2 *jsontext.SyntacticError
	)
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syn) || errors.As(err, &synV2)
}

// APIError is an answer from the Admin API other than 2xx.
type APIError struct {
	Status  int
	Message string // Shopify's message
	Hint    string // what the operator can do about it
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("shopify answered HTTP %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// explain turns go-shopify's response errors into *APIError with a hint.
func explain(err error, tokens TokenSource) error {
	var (
		re  goshopify.ResponseError
		rle goshopify.RateLimitError
	)
	switch {
	case errors.As(err, &rle):
		re = rle.ResponseError
	case errors.As(err, &re):
	default:
		return err
	}
	e := &APIError{Status: re.Status, Message: re.Message}
	if e.Message == "" && len(re.Errors) > 0 {
		e.Message = re.Errors[0]
	}
	switch re.Status {
	case http.StatusUnauthorized:
		if _, static := tokens.(StaticToken); static {
			e.Hint = "check shopify.access_token: it may be revoked or mistyped"
		} else {
			e.Hint = "a fresh token was refused too: check the app is installed on the store"
		}
	case http.StatusForbidden:
		e.Hint = "the app lacks the read_customers scope"
	case http.StatusNotFound:
		e.Hint = "check shopify.shop and shopify.api_version"
	case http.StatusTooManyRequests:
		e.Hint = "Shopify kept throttling; another app may be using the whole bucket"
	}
	return e
}

// Stats are the client's counters since it was made.
type Stats struct {
	Requests      int64     // answers received
	Throttled     int64     // 429 answers
	Retries       int64     // retried 5xx, timeouts, dropped connections, cut bodies
	TokenRenewals int64     // tokens renewed after a 401
	LastStatus    int       // HTTP status of the last answer
	LastAt        time.Time // when it came; zero if never
	ServedVersion string    // X-Shopify-API-Version of the last answer
	TokenKind     string    // the kind of credentials
	ByClass       [6]int64  // answers by status class: ByClass[2] counts 2xx
	// ClockOffset is how far Shopify's clock (its answers' Date) is ahead
	// of the local one, to about half a second; ClockKnown is false until
	// an answer carried a Date.
	ClockOffset time.Duration
	ClockKnown  bool
}

// ShopifyNow returns the time now on Shopify's clock, as far as the
// answers' Date headers tell; the local time before the first answer.
func (c *Client) ShopifyNow() time.Time { return c.tr.shopifyNow() }

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	s := &c.tr.stats
	out := Stats{
		Requests:      s.requests.Load(),
		Throttled:     s.throttled.Load(),
		Retries:       s.retries.Load(),
		TokenRenewals: s.tokenRenewals.Load(),
		LastStatus:    int(s.lastStatus.Load()),
		TokenKind:     c.tr.tokens.Kind(),
	}
	if ns := s.lastAt.Load(); ns != 0 {
		out.LastAt = time.Unix(0, ns)
	}
	out.ServedVersion, _ = s.servedVersion.Load().(string)
	out.ClockOffset, out.ClockKnown = time.Duration(s.clockOffset.Load()), s.clockKnown.Load()
	for i := range s.byClass {
		out.ByClass[i] = s.byClass[i].Load()
	}
	return out
}
