package shopifytest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// filter is what a first list request asks for; page_info cursors carry
// it to the following pages.
type filter struct {
	SinceID    int64      `json:"since_id,omitempty"`
	IDs        []int64    `json:"ids,omitempty"` // sorted, unique
	CreatedMin *time.Time `json:"created_at_min,omitempty"`
	CreatedMax *time.Time `json:"created_at_max,omitempty"`
	UpdatedMin *time.Time `json:"updated_at_min,omitempty"`
	UpdatedMax *time.Time `json:"updated_at_max,omitempty"`
}

// match reports whether c passes every filter but ids, which selects the
// candidates beforehand. Date bounds are inclusive.
func (f *filter) match(c *Customer) bool {
	return c.ID > f.SinceID &&
		(f.CreatedMin == nil || !c.created.Before(*f.CreatedMin)) &&
		(f.CreatedMax == nil || !c.created.After(*f.CreatedMax)) &&
		(f.UpdatedMin == nil || !c.updated.Before(*f.UpdatedMin)) &&
		(f.UpdatedMax == nil || !c.updated.After(*f.UpdatedMax))
}

// cursor is the opaque page_info: a position by id, so customers deleted
// or added between pages shift nothing. "next" lists ids above ID,
// "prev" the last page of ids below it.
type cursor struct {
	Dir    string `json:"dir"`
	ID     int64  `json:"id"`
	Filter filter `json:"filter"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, bool) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(&c) != nil || (c.Dir != "next" && c.Dir != "prev") || c.ID < 0 || c.ID == math.MaxInt64 {
		return c, false
	}
	return c, true
}

// paramError is a 400 {"errors":{param: msg}}.
type paramError struct{ param, msg string }

func (e *paramError) write(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, map[string]map[string]string{"errors": {e.param: e.msg}})
}

func parseLimit(q url.Values) (int, *paramError) {
	if !q.Has("limit") {
		return 50, nil
	}
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n < 1 || n > 250 {
		return 0, &paramError{"limit", "must be an integer between 1 and 250"}
	}
	return n, nil
}

// parseDates reads the four date filters, RFC 3339 each.
func parseDates(q url.Values, f *filter) *paramError {
	for _, d := range []struct {
		name string
		dst  **time.Time
	}{{"created_at_min", &f.CreatedMin}, {"created_at_max", &f.CreatedMax},
		{"updated_at_min", &f.UpdatedMin}, {"updated_at_max", &f.UpdatedMax}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return &paramError{d.name, "Invalid value: want a date like 2024-04-02T09:23:53-05:00"}
			}
			*d.dst = &t
		}
	}
	return nil
}

// parseFilter reads a first request's filters.
func parseFilter(q url.Values) (filter, *paramError) {
	var f filter
	if v := q.Get("since_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, &paramError{"since_id", "Invalid value: want a customer id"}
		}
		f.SinceID = n
	}
	if v := q.Get("ids"); v != "" {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return f, &paramError{"ids", "Invalid value: want comma-separated customer ids"}
			}
			f.IDs = append(f.IDs, n)
		}
		slices.Sort(f.IDs)
		f.IDs = slices.Compact(f.IDs)
	}
	return f, parseDates(q, &f)
}

// pageBufs hold listing bodies between requests: a page of 250 is some
// 300 KB, and allocating one a request was as many bytes as the client's
// whole import allocates, making the benchmark's garbage collector work
// for the simulator.
var pageBufs sync.Pool

// handleList serves GET customers.json.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, version string) {
	q := r.URL.Query()
	limit, perr := parseLimit(q)
	if perr != nil {
		perr.write(w)
		return
	}
	fields := q.Get("fields")
	cur := cursor{Dir: "next"}
	first := !q.Has("page_info")
	if first {
		cur.Filter, perr = parseFilter(q)
		if perr != nil {
			perr.write(w)
			return
		}
	} else {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				(&paramError{k, k + " cannot be passed when page_info is present. See https://shopify.dev/api/usage/pagination-rest for more information."}).write(w)
				return
			}
		}
		var ok bool
		if cur, ok = decodeCursor(q.Get("page_info")); !ok {
			(&paramError{"page_info", "Invalid value."}).write(w)
			return
		}
	}

	page, prev, next := s.page(cur, limit, first)

	// The page's encodings first, to size the body once: growing it
	// customer by customer was most of the simulator's allocation.
	encs := make([]*encodedCustomer, len(page))
	size := len(`{"customers":[]}`)
	for i, c := range page {
		e, err := s.encoded(c)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"errors": "Internal Server Error"})
			return
		}
		encs[i] = e
		size += len(e.json) + 1
	}
	buf, _ := pageBufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer pageBufs.Put(buf) // the body is written by then
	buf.Reset()
	buf.Grow(size)
	buf.WriteString(`{"customers":[`)
	keep := keptKeys(parseFields(fields))
	for i, e := range encs {
		if i > 0 {
			buf.WriteByte(',')
		}
		e.appendTo(buf, keep)
	}
	buf.WriteString("]}")

	var links []string
	base := baseURL(r) + "/admin/api/" + version + "/customers.json?limit=" + strconv.Itoa(limit)
	if fields != "" {
		base += "&fields=" + url.QueryEscape(fields)
	}
	if prev != nil {
		links = append(links, "<"+base+"&page_info="+prev.encode()+`>; rel="previous"`)
	}
	if next != nil {
		links = append(links, "<"+base+"&page_info="+next.encode()+`>; rel="next"`)
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	body := buf.Bytes()
	if s.take(&s.truncN) {
		body = body[:len(body)/2]
	}
	writeBody(w, http.StatusOK, body)
}

// page returns the customers at cur, at most limit, ascending, with the
// cursors of the pages before and after it (nil when there is none; a
// first request has no previous page).
func (s *Server) page(cur cursor, limit int, first bool) (page []*Customer, prev, next *cursor) {
	s.cmu.RLock()
	defer s.cmu.RUnlock()
	f := &cur.Filter
	cand := s.customers
	if f.IDs != nil {
		cand = make([]*Customer, 0, len(f.IDs))
		for _, id := range f.IDs {
			if i, ok := s.find(id); ok {
				cand = append(cand, s.customers[i])
			}
		}
	}
	search := func(id int64) int { // first index with an id >= id
		i, _ := slices.BinarySearchFunc(cand, id, func(c *Customer, id int64) int { return cmp.Compare(c.ID, id) })
		return i
	}
	// lo and hi bound the page's ids, inclusive, even when it is empty.
	var lo, hi int64
	if cur.Dir == "next" {
		start := search(f.SinceID + 1)
		if !first {
			start = max(start, search(cur.ID+1))
		}
		for i := start; i < len(cand) && len(page) < limit; i++ {
			if f.match(cand[i]) {
				page = append(page, cand[i])
			}
		}
		lo, hi = cur.ID+1, cur.ID
	} else {
		for i := search(cur.ID) - 1; i >= 0 && cand[i].ID > f.SinceID && len(page) < limit; i-- {
			if f.match(cand[i]) {
				page = append(page, cand[i])
			}
		}
		slices.Reverse(page)
		lo, hi = cur.ID, cur.ID-1
	}
	if len(page) > 0 {
		lo, hi = page[0].ID, page[len(page)-1].ID
	}
	for i := search(hi + 1); i < len(cand); i++ {
		if f.match(cand[i]) {
			next = &cursor{Dir: "next", ID: hi, Filter: *f}
			break
		}
	}
	if !first {
		for i := search(lo) - 1; i >= 0 && cand[i].ID > f.SinceID; i-- {
			if f.match(cand[i]) {
				prev = &cursor{Dir: "prev", ID: lo, Filter: *f}
				break
			}
		}
	}
	return page, prev, next
}

// baseURL is the scheme and host the client used: Link URLs point back
// at them, as Shopify's point at the shop's myshopify.com domain.
func baseURL(r *http.Request) string {
	if r.TLS != nil || strings.HasSuffix(r.Host, ".myshopify.com") {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// handleCount serves GET customers/count.json, with the date filters.
func (s *Server) handleCount(w http.ResponseWriter, r *http.Request) {
	var f filter
	if perr := parseDates(r.URL.Query(), &f); perr != nil {
		perr.write(w)
		return
	}
	n := 0
	s.cmu.RLock()
	if f.CreatedMin == nil && f.CreatedMax == nil && f.UpdatedMin == nil && f.UpdatedMax == nil {
		n = len(s.customers)
	} else {
		for _, c := range s.customers {
			if f.match(c) {
				n++
			}
		}
	}
	s.cmu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]int{"count": n})
}

// handleGet serves GET customers/{id}.json, with fields.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, id int64) {
	s.cmu.RLock()
	i, ok := s.find(id)
	var c *Customer
	if ok {
		c = s.customers[i]
	}
	s.cmu.RUnlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, errNotFound)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(`{"customer":`)
	if err := appendCustomer(&buf, c, parseFields(r.URL.Query().Get("fields"))); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errors": "Internal Server Error"})
		return
	}
	buf.WriteByte('}')
	writeBody(w, http.StatusOK, buf.Bytes())
}
