package shopifytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"
)

// Options configure a simulated shop.
type Options struct {
	Customers int   // generated customers, deterministic from Seed
	Seed      int64 // generator seed
	Token     string

	// ClientID and ClientSecret, when set, make the client-credentials
	// grant at POST /admin/oauth/access_token work. Granted tokens live
	// TokenTTL (default 24h).
	ClientID, ClientSecret string
	TokenTTL               time.Duration

	// BucketSize and LeakRate (requests/s) set the leaky bucket; a zero
	// BucketSize means no rate limit.
	BucketSize int
	LeakRate   float64

	// APIVersions are the supported versions, oldest first. A request for
	// another well-formed version is served as the oldest (SHOPIFY.md §2).
	APIVersions []string

	Latency time.Duration // added to every API answer
}

// Stats count what the simulator served.
type Stats struct {
	Requests     int64            // API answers (401s excluded)
	Throttled    int64            // 429 answers
	Unauthorized int64            // 401 answers
	TokenGrants  int64            // tokens granted
	ByPath       map[string]int64 // e.g. "customers.json", "customers/count.json"
	MaxUsed      int              // highest bucket level reached
}

// Server is a simulated shop. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port) when started by NewServer.
	URL string

	opts Options
	srv  *httptest.Server

	mu        gosync.Mutex
	customers []Customer // sorted by id
	tokens    map[string]time.Time
	level     float64
	leakedAt  time.Time
	failN     int
	failCode  int
	truncN    int
	dropN     int
	onRequest func(*http.Request)
	stats     Stats
}

// NewServer starts a simulated shop on a loopback port.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// NewHandler returns a simulated shop without listening: serve it with
// ServeHTTP (cmd/shopifysim listens itself).
func NewHandler(opts Options) *Server {
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if len(opts.APIVersions) == 0 {
		opts.APIVersions = []string{"2024-04", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07", "2026-10"}
	}
	s := &Server{opts: opts, tokens: map[string]time.Time{}, leakedAt: time.Now(), stats: Stats{ByPath: map[string]int64{}}}
	s.customers = s.Generate(opts.Customers, opts.Seed)
	return s
}

// Close stops the server started by NewServer.
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

func (s *Server) find(id int64) (int, bool) {
	return slices.BinarySearchFunc(s.customers, id, func(c Customer, id int64) int { return cmpInt(c.ID, id) })
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Customer returns the customer with id.
func (s *Server) Customer(id int64) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(id)
	if !ok {
		return Customer{}, false
	}
	return s.customers[i], true
}

// CustomerIDs returns every customer id, ascending.
func (s *Server) CustomerIDs() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, len(s.customers))
	for i, c := range s.customers {
		ids[i] = c.ID
	}
	return ids
}

// Upsert adds or replaces a customer.
func (s *Server) Upsert(c Customer) {
	c.created, _ = time.Parse(time.RFC3339, c.CreatedAt)
	c.updated, _ = time.Parse(time.RFC3339, c.UpdatedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.find(c.ID); ok {
		s.customers[i] = c
	} else {
		s.customers = slices.Insert(s.customers, i, c)
	}
}

// Update edits a customer in place and moves its updated_at to now, as
// Shopify does on every change.
func (s *Server) Update(id int64, fn func(*Customer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(id)
	if !ok {
		return
	}
	c := &s.customers[i]
	fn(c)
	c.updated = time.Now().UTC().Truncate(time.Second)
	if !c.updated.After(c.created) {
		c.updated = c.created.Add(time.Second)
	}
	c.UpdatedAt = shopifyTime(c.updated)
}

// Delete removes a customer, reporting whether it existed.
func (s *Server) Delete(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.find(id)
	if ok {
		s.customers = slices.Delete(s.customers, i, i+1)
	}
	return ok
}

// FailNext makes the next n API requests answer status with a JSON
// error body, as Shopify's 5xx pages do. n = 0 clears it.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// TruncateNext makes the next n customer list answers a 200 whose JSON
// body is cut in half.
func (s *Server) TruncateNext(n int) { s.mu.Lock(); s.truncN = n; s.mu.Unlock() }

// DropNext makes the next n API requests lose their connection without
// an answer.
func (s *Server) DropNext(n int) { s.mu.Lock(); s.dropN = n; s.mu.Unlock() }

// ExpireTokens invalidates every granted token: requests get 401.
func (s *Server) ExpireTokens() { s.mu.Lock(); clear(s.tokens); s.mu.Unlock() }

// OnRequest sets a hook called for each API request before it is
// served; nil removes it.
func (s *Server) OnRequest(fn func(*http.Request)) { s.mu.Lock(); s.onRequest = fn; s.mu.Unlock() }

// DrainBucket adds n to the bucket level, as another client of the same
// app on the store would.
func (s *Server) DrainBucket(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leak(time.Now())
	s.level = min(float64(s.opts.BucketSize), s.level+float64(n))
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByPath = make(map[string]int64, len(s.stats.ByPath))
	for k, v := range s.stats.ByPath {
		st.ByPath[k] = v
	}
	return st
}

// leak drains the bucket for the time passed; the caller holds mu.
func (s *Server) leak(now time.Time) {
	if s.opts.BucketSize > 0 {
		s.level = max(0, s.level-s.opts.LeakRate*now.Sub(s.leakedAt).Seconds())
	}
	s.leakedAt = now
}

var versionRE = regexp.MustCompile(`^/admin/api/([0-9]{4}-[0-9]{2})/(.+)$`)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/admin/oauth/access_token" {
		s.serveToken(w, r)
		return
	}
	m := versionRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeJSON(w, http.StatusNotFound, `{"errors":"Not Found"}`)
		return
	}
	version, resource := m[1], m[2]
	served := version
	if !slices.Contains(s.opts.APIVersions, version) {
		served = s.opts.APIVersions[0]
	}
	w.Header().Set("X-Shopify-API-Version", served)

	s.mu.Lock()
	hook := s.onRequest
	s.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	tok := r.Header.Get("X-Shopify-Access-Token")
	exp, granted := s.tokens[tok]
	if tok == "" || (tok != s.opts.Token && (!granted || time.Now().After(exp))) {
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	s.stats.Requests++
	now := time.Now()
	s.leak(now)
	if size := s.opts.BucketSize; size > 0 {
		if s.level+1 > float64(size) {
			s.stats.Throttled++
			wait := math.Ceil((s.level+1-float64(size))/s.opts.LeakRate*10) / 10
			w.Header().Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", int(math.Ceil(s.level)), size))
			w.Header().Set("Retry-After", strconv.FormatFloat(max(wait, 0.1), 'f', 1, 64))
			s.mu.Unlock()
			writeJSON(w, http.StatusTooManyRequests, fmt.Sprintf(`{"errors":"Exceeded %g calls per second for api client. Reduce request rates to resume uninterrupted service."}`, s.opts.LeakRate))
			return
		}
		s.level++
		used := int(math.Ceil(s.level))
		s.stats.MaxUsed = max(s.stats.MaxUsed, used)
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", used, size))
	}
	key := resource
	if strings.HasPrefix(resource, "customers/") && resource != "customers/count.json" {
		key = "customers/{id}.json"
	}
	s.stats.ByPath[key]++
	drop := s.dropN > 0
	if drop {
		s.dropN--
	}
	fail := 0
	if !drop && s.failN > 0 {
		s.failN--
		fail = s.failCode
	}
	truncate := !drop && fail == 0 && resource == "customers.json" && s.truncN > 0
	if truncate {
		s.truncN--
	}
	s.mu.Unlock()

	switch {
	case drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case fail != 0:
		writeJSON(w, fail, fmt.Sprintf(`{"errors":%q}`, http.StatusText(fail)))
		return
	}
	switch {
	case resource == "customers.json":
		s.serveList(w, r, version, truncate)
	case resource == "customers/count.json":
		s.serveCount(w, r)
	case strings.HasPrefix(resource, "customers/") && strings.HasSuffix(resource, ".json"):
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(resource, "customers/"), ".json"), 10, 64)
		c, ok := s.Customer(id)
		if err != nil || !ok {
			writeJSON(w, http.StatusNotFound, `{"errors":"Not Found"}`)
			return
		}
		body, _ := json.Marshal(map[string]any{"customer": c})
		writeJSON(w, http.StatusOK, string(body))
	default:
		writeJSON(w, http.StatusNotFound, `{"errors":"Not Found"}`)
	}
}

// serveToken is the client-credentials grant (SHOPIFY.md §1).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"form-encoded POST required"}`)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request"}`)
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, `{"error":"unsupported_grant_type"}`)
		return
	}
	if s.opts.ClientID == "" || f.Get("client_id") != s.opts.ClientID || f.Get("client_secret") != s.opts.ClientSecret {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
		return
	}
	var b [16]byte
	rand.Read(b[:])
	tok := "shpat_" + hex.EncodeToString(b[:])
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.opts.TokenTTL)
	s.stats.TokenGrants++
	s.stats.ByPath["oauth/access_token"]++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"access_token":%q,"scope":"read_customers","expires_in":%d}`, tok, int64(s.opts.TokenTTL.Seconds())))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}
