package shopifytest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// defaultAPIVersions are served when Options.APIVersions is empty.
var defaultAPIVersions = []string{"2024-04", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10"}

// Options configure a simulated shop. The zero value is a shop with no
// customers, no accepted token and no rate limit.
type Options struct {
	// Customers is how many customers Generate makes at start, from Seed.
	Customers int
	// Seed seeds the customer generator.
	Seed int64
	// Token is a permanent Admin API access token ("shpat_...") that is
	// always accepted; "" accepts none.
	Token string
	// ClientID and ClientSecret, when both set, enable the
	// client-credentials grant at POST /admin/oauth/access_token.
	ClientID, ClientSecret string
	// TokenTTL is the lifetime of granted tokens; 0 means 24 h.
	TokenTTL time.Duration
	// Scopes are the access scopes the app was granted, listed by GET
	// /admin/oauth/access_scopes.json, by currentAppInstallation and in a
	// granted token's scope; nil means read_customers. A bulk query
	// reading Customer.lastOrder fails ACCESS_DENIED without read_orders.
	Scopes []string
	// BucketSize is the leaky bucket's size; 0 disables rate limiting.
	BucketSize int
	// LeakRate is how many requests a second the bucket leaks. Required
	// (> 0) when BucketSize > 0.
	LeakRate float64
	// APIVersions are the supported versions, oldest first. Empty means
	// 2024-04 and 2025-01 through 2026-10 quarterly: 2024-04 is out of
	// support at Shopify (SHOPIFY.md §2) but is kept so that a default
	// shopsync configuration is served as asked; leave it out to test the
	// fall-forward. A well-formed version not in the list is served as the
	// oldest one, as Shopify does.
	APIVersions []string
	// Latency is added to every response.
	Latency time.Duration
	// Logf, when set, receives one line per request. Tokens are never
	// logged.
	Logf func(format string, args ...any)
	// Now is the simulator's clock: the updated_at of changes, webhooks'
	// X-Shopify-Triggered-At, tokens' expiry, the bucket's leak and the
	// Date header of every answer. nil means time.Now.
	Now func() time.Time

	// ShopDomain is the shop's permanent domain, sent in webhooks'
	// X-Shopify-Shop-Domain; "" means DefaultShopDomain.
	ShopDomain string
	// WebhookSecret, when set, turns on automatic webhook delivery:
	// Upsert, Update and Delete send deliveries signed with this key (the
	// app's client secret) to the subscriptions made through
	// webhooks.json or graphql.json. See customerChanged for the topics.
	WebhookSecret string
	// WebhookGeneration is the customer payload's generation; the zero
	// value is Gen2025_01, what Shopify sends today.
	WebhookGeneration Generation
	// WebhookAPIVersion is the webhook payload version, in
	// X-Shopify-API-Version and every subscription's api_version; ""
	// means the newest of APIVersions.
	WebhookAPIVersion string
	// WebhookRetries is how many times a failed delivery is retried; 0
	// means 8, as Shopify does, and a negative value none.
	WebhookRetries int
	// WebhookBackoff is the wait before the first retry, doubling for
	// each next one up to 1 s; 0 means 10 ms. (Shopify spreads its
	// retries over 4 hours.)
	WebhookBackoff time.Duration
	// WebhookClient sends the deliveries; nil means Shopify's limits: 1 s
	// to connect and 5 s for the whole answer.
	WebhookClient *http.Client

	// BulkRate is how many objects a second a bulk query processes, so
	// that a job takes time as Shopify's do; 0 completes it at once.
	BulkRate float64
	// BulkCancelDelay is how long a canceled bulk query stays CANCELING;
	// 0 means 100 ms.
	BulkCancelDelay time.Duration
	// BulkDir is where bulk result files are written (a temporary
	// directory in it, removed by Close); "" means os.TempDir().
	BulkDir string
	// GraphQLRestoreRate is the GraphQL cost bucket's restore rate in
	// points a second, reported in every answer's throttleStatus (the
	// bucket holds twenty seconds of it): 100 Standard (the default),
	// 200 Advanced, 1,000 Plus.
	GraphQLRestoreRate float64
}

// Server is a simulated shop: an http.Handler and, from NewServer, a
// listening test server. It is safe for concurrent use.
type Server struct {
	// URL is the base URL of the listening server, "http://127.0.0.1:port",
	// to use as the shop's address. Empty for NewHandler.
	URL string

	opts     Options
	versions []string // sorted, oldest first
	ts       *httptest.Server
	now      func() time.Time
	bucket   *bucket // nil when unlimited
	done     chan struct{}
	stop     sync.Once

	cmu       sync.RWMutex
	customers []*Customer // sorted by ID; never mutated once stored

	mu         sync.Mutex
	tokens     map[string]time.Time // granted token -> expiry
	hook       func(*http.Request)
	failN      int
	failStatus int
	truncN     int
	dropN      int
	stats      Stats
	gqlRestore float64 // Options.GraphQLRestoreRate; see SetGraphQLRestoreRate

	hooks webhookState // subscriptions and webhook delivery
	bulk  bulkState    // bulk operations

	encCache sync.Map // *Customer -> *encodedCustomer; see encoded
}

// Stats count what the simulator served.
type Stats struct {
	// Requests counts the authenticated /admin/api requests, whatever
	// their answer (429s, injected failures and drops included).
	Requests int64
	// Throttled counts 429s, Unauthorized 401s (not in Requests) and
	// TokenGrants the tokens granted by the client-credentials grant.
	Throttled, Unauthorized, TokenGrants int64
	// ByPath splits Requests by the path after /admin/api/{version}/:
	// "customers.json", "customers/count.json", "customers/{id}.json".
	ByPath map[string]int64
	// MaxUsed is the highest bucket level reported.
	MaxUsed int
}

// NewServer starts a simulated shop on an httptest server on 127.0.0.1;
// Close stops it. It panics if BucketSize > 0 and LeakRate <= 0.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler builds a simulated shop without listening: serve it with
// ServeHTTP. Links in its answers use the request's Host. It panics if
// BucketSize > 0 and LeakRate <= 0.
func NewHandler(opts Options) *Server {
	if opts.BucketSize > 0 && opts.LeakRate <= 0 {
		panic("shopifytest: Options.LeakRate must be > 0 when BucketSize > 0")
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	versions := opts.APIVersions
	if len(versions) == 0 {
		versions = defaultAPIVersions
	}
	versions = slices.Clone(versions)
	slices.Sort(versions)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{opts: opts, versions: versions, now: now, done: make(chan struct{}),
		tokens: map[string]time.Time{}, stats: Stats{ByPath: map[string]int64{}}, gqlRestore: opts.GraphQLRestoreRate}
	if opts.BucketSize > 0 {
		s.bucket = newBucket(opts.BucketSize, opts.LeakRate, s.now)
	}
	gen := generate(opts.Customers, opts.Seed)
	s.customers = make([]*Customer, len(gen))
	for i := range gen {
		s.customers[i] = &gen[i]
	}
	return s
}

// Close stops the server, wakes requests waiting out Latency and stops
// webhook delivery, discarding what is still queued.
func (s *Server) Close() {
	s.stop.Do(func() { close(s.done) })
	if s.ts != nil {
		s.ts.Close()
	}
	s.closeDelivery()
	s.closeBulk()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := s.stats
	st.ByPath = make(map[string]int64, len(s.stats.ByPath))
	for k, v := range s.stats.ByPath {
		st.ByPath[k] = v
	}
	s.mu.Unlock()
	if s.bucket != nil {
		st.MaxUsed = s.bucket.maxLevel()
	}
	return st
}

// DrainBucket adds n to the bucket level, capped at its size, as if
// another client of the same app had made n requests, and returns how
// much it added (less than n when the bucket filled; a real client would
// have been throttled). No-op without a rate limit.
func (s *Server) DrainBucket(n int) float64 {
	if s.bucket == nil {
		return 0
	}
	return s.bucket.drain(n)
}

// SetLeakRate changes how many requests a second the bucket leaks, from
// now on, as Shopify may lower a shop's limits for a while (SHOPIFY.md
// §5). It panics if rate <= 0. No-op without a rate limit.
func (s *Server) SetLeakRate(rate float64) {
	if !(rate > 0) {
		panic("shopifytest: SetLeakRate wants a rate > 0")
	}
	if s.bucket != nil {
		s.bucket.setRate(rate)
	}
}

// Customer returns a copy of the customer with id.
func (s *Server) Customer(id int64) (Customer, bool) {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	if i, ok := s.find(id); ok {
		return s.customers[i].clone(), true
	}
	return Customer{}, false
}

// CustomerIDs returns every customer id, ascending.
func (s *Server) CustomerIDs() []int64 {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	ids := make([]int64, len(s.customers))
	for i, c := range s.customers {
		ids[i] = c.ID
	}
	return ids
}

// Upsert adds c, or replaces the customer with its id. The simulator keeps
// a copy, with admin_graphql_api_id and the addresses' customer_id set
// from c.ID and nil arrays made empty. Times are taken as given. With
// Options.WebhookSecret set it queues customers/create or, when
// something changed, customers/update and related topics.
func (s *Server) Upsert(c Customer) {
	c = c.clone()
	c.normalize()
	s.cmu.Lock()
	i, ok := s.find(c.ID)
	var old *Customer
	if ok {
		old = s.customers[i]
		s.customers[i] = &c
	} else {
		s.customers = slices.Insert(s.customers, i, &c)
	}
	s.cmu.Unlock()
	s.forget(old)
	s.customerChanged(old, &c)
}

// Update edits the customer with id through fn, then sets updated_at to
// the simulator clock (now, in the customer's offset, to the second).
// fn receives a copy; changing its ID is ignored. No-op if id is unknown.
// With Options.WebhookSecret set it queues customers/update and related
// topics.
func (s *Server) Update(id int64, fn func(*Customer)) {
	s.cmu.Lock()
	i, ok := s.find(id)
	if !ok {
		s.cmu.Unlock()
		return
	}
	old := s.customers[i]
	c := s.customers[i].clone()
	fn(&c)
	c.ID = id
	loc := time.UTC
	if t, err := time.Parse(time.RFC3339, s.customers[i].UpdatedAt); err == nil {
		loc = t.Location()
	}
	now := s.now().Truncate(time.Second)
	if created, err := time.Parse(time.RFC3339, c.CreatedAt); err == nil && !now.After(created) {
		now = created.Add(time.Second) // never updated before it was created
	}
	c.UpdatedAt = shopifyTime(now.In(loc))
	c.normalize()
	s.customers[i] = &c
	s.cmu.Unlock()
	s.forget(old)
	s.customerChanged(old, &c)
}

// Delete removes the customer with id and reports whether it existed.
// With Options.WebhookSecret set it queues customers/delete.
func (s *Server) Delete(id int64) bool {
	s.cmu.Lock()
	i, ok := s.find(id)
	var old *Customer
	if ok {
		old = s.customers[i]
		s.customers = slices.Delete(s.customers, i, i+1)
	}
	s.cmu.Unlock()
	if ok {
		s.forget(old)
		s.customerChanged(old, nil)
	}
	return ok
}

// find returns where id is or would be in s.customers. s.cmu is held.
func (s *Server) find(id int64) (int, bool) {
	return slices.BinarySearchFunc(s.customers, id, func(c *Customer, id int64) int { return cmp.Compare(c.ID, id) })
}

var versionRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// servedVersion is the version a request for v gets: v when supported,
// the oldest supported one when v is well-formed but not supported.
func (s *Server) servedVersion(v string) (string, bool) {
	if !versionRE.MatchString(v) {
		return "", false
	}
	if _, ok := slices.BinarySearch(s.versions, v); ok {
		return v, true
	}
	return s.versions[0], true
}

// ServeHTTP serves the Admin API: /admin/oauth/access_token,
// /admin/api/{version}/customers*.json, webhooks*.json and graphql.json
// (webhook subscriptions only). Anything else is a JSON 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
		}
	}
	// Date, as Shopify sends it: shopsync reads it as the time a page
	// was true (on the simulator's clock, which may be a test's).
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	rw := &statusWriter{ResponseWriter: w}
	switch {
	case r.URL.Path == "/admin/oauth/access_token":
		s.handleToken(rw, r)
	case r.URL.Path == "/admin/oauth/access_scopes.json":
		s.handleScopes(rw, r)
	case strings.HasPrefix(r.URL.Path, "/admin/api/"):
		s.handleAPI(rw, r)
	case strings.HasPrefix(r.URL.Path, "/bulk-results/") && r.Method == http.MethodGet:
		s.handleBulkFile(rw, r)
	default:
		writeJSON(rw, http.StatusNotFound, errNotFound)
	}
	if s.opts.Logf != nil {
		s.opts.Logf("%s %s %d", r.Method, r.URL.Path, rw.status)
	}
}

// handleAPI authenticates, applies faults and the bucket, then routes.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	version, route, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/admin/api/"), "/")
	s.mu.Lock()
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	if !s.authorized(r.Header.Get("X-Shopify-Access-Token")) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, errInvalidToken)
		return
	}
	key := routeKey(route)
	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByPath[key]++
	s.mu.Unlock()
	if s.take(&s.dropN) {
		drop(w)
		return
	}
	served, ok := s.servedVersion(version)
	if ok {
		w.Header().Set("X-Shopify-API-Version", served)
	}
	if s.bucket != nil && key != "graphql.json" { // GraphQL has its own cost-based limit
		u, admitted, retry := s.bucket.take()
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", s.bucket.header(u))
		if !admitted {
			s.mu.Lock()
			s.stats.Throttled++
			s.mu.Unlock()
			w.Header().Set("Retry-After", retry)
			writeJSON(w, http.StatusTooManyRequests, errThrottled)
			return
		}
	}
	if !ok || !methodAllowed(key, r.Method) {
		writeJSON(w, http.StatusNotFound, errNotFound)
		return
	}
	if status, ok := s.failure(); ok {
		writeJSON(w, status, map[string]string{"errors": http.StatusText(status)})
		return
	}
	switch key {
	case "customers.json":
		s.handleList(w, r, version)
	case "customers/count.json":
		s.handleCount(w, r)
	case "customers/{id}.json":
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(route, "customers/"), ".json"), 10, 64)
		s.handleGet(w, r, id)
	case "webhooks.json", "webhooks/count.json", "webhooks/{id}.json":
		s.handleWebhooks(w, r, key, route)
	case "graphql.json":
		s.handleGraphQL(w, r)
	default:
		writeJSON(w, http.StatusNotFound, errNotFound)
	}
}

// routeKey names a route for Stats.ByPath, customer and webhook ids as
// {id}.
func routeKey(route string) string {
	for _, res := range []string{"customers/", "webhooks/"} {
		if id, ok := strings.CutPrefix(route, res); ok {
			if id, ok = strings.CutSuffix(id, ".json"); ok && id != "" && strings.Trim(id, "0123456789") == "" && len(id) <= 19 {
				return res + "{id}.json"
			}
		}
	}
	return route
}

// Shopify's error bodies.
var (
	errNotFound     = map[string]string{"errors": "Not Found"}
	errInvalidToken = map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
	errThrottled    = map[string]string{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// statusWriter remembers the status, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, for drops.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
