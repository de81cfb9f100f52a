package shopifytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// filter is what a first request asks for; a cursor carries it on.
type filter struct {
	SinceID    int64     `json:"s,omitempty"`
	IDs        []int64   `json:"i,omitempty"`
	CreatedMin time.Time `json:"cn,omitzero"`
	CreatedMax time.Time `json:"cx,omitzero"`
	UpdatedMin time.Time `json:"un,omitzero"`
	UpdatedMax time.Time `json:"ux,omitzero"`
}

// cursor is the opaque page_info: the filter, a direction and the id the
// page starts after (next) or before (previous). A position by id, so a
// customer deleted between pages shifts nothing.
type cursor struct {
	F    filter `json:"f"`
	Prev bool   `json:"p,omitempty"`
	ID   int64  `json:"b"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

func (f *filter) match(c *Customer) bool {
	if c.ID <= f.SinceID {
		return false
	}
	if len(f.IDs) > 0 && !containsID(f.IDs, c.ID) {
		return false
	}
	return inRange(c.created, f.CreatedMin, f.CreatedMax) && inRange(c.updated, f.UpdatedMin, f.UpdatedMax)
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func inRange(t, lo, hi time.Time) bool {
	return (lo.IsZero() || !t.Before(lo)) && (hi.IsZero() || !t.After(hi))
}

func badRequest(w http.ResponseWriter, key, msg string) {
	body, _ := json.Marshal(map[string]any{"errors": map[string][]string{key: {msg}}})
	writeJSON(w, http.StatusBadRequest, string(body))
}

// parseFilter reads the filters of a first request.
func parseFilter(q url.Values) (filter, string, string) {
	var f filter
	if v := q.Get("since_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return f, "since_id", "must be an integer"
		}
		f.SinceID = id
	}
	if v := q.Get("ids"); v != "" {
		for p := range strings.SplitSeq(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				return f, "ids", "must be a comma-separated list of integers"
			}
			f.IDs = append(f.IDs, id)
		}
		if len(f.IDs) > 250 {
			return f, "ids", "at most 250"
		}
	}
	for _, d := range []struct {
		key string
		dst *time.Time
	}{{"created_at_min", &f.CreatedMin}, {"created_at_max", &f.CreatedMax}, {"updated_at_min", &f.UpdatedMin}, {"updated_at_max", &f.UpdatedMax}} {
		if v := q.Get(d.key); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, d.key, "must be an ISO 8601 date"
			}
			*d.dst = t
		}
	}
	return f, "", ""
}

// serveList is GET customers.json with Shopify's cursor pagination.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, version string, truncate bool) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			badRequest(w, "limit", "must be between 1 and 250")
			return
		}
		limit = n
	}
	fields := q.Get("fields")
	var cur cursor
	viaCursor := q.Has("page_info")
	if viaCursor {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				writeJSON(w, http.StatusBadRequest, `{"errors":{"page_info":["Invalid value."]}}`)
				return
			}
		}
		var err error
		if cur, err = decodeCursor(q.Get("page_info")); err != nil {
			writeJSON(w, http.StatusBadRequest, `{"errors":{"page_info":["Invalid value."]}}`)
			return
		}
	} else {
		f, key, msg := parseFilter(q)
		if key != "" {
			badRequest(w, key, msg)
			return
		}
		cur = cursor{F: f, ID: f.SinceID}
	}

	s.mu.Lock()
	var page []Customer
	hasBefore, hasAfter := false, false
	if cur.Prev {
		// The limit matching customers just before cur.ID.
		i, _ := s.find(cur.ID)
		for j := i - 1; j >= 0; j-- {
			if c := &s.customers[j]; cur.F.match(c) {
				if len(page) == limit {
					hasBefore = true
					break
				}
				page = append(page, *c)
			}
		}
		for a, b := 0, len(page)-1; a < b; a, b = a+1, b-1 {
			page[a], page[b] = page[b], page[a]
		}
		hasAfter = true
	} else {
		i, found := s.find(cur.ID)
		if found {
			i++
		}
		for ; i < len(s.customers); i++ {
			if c := &s.customers[i]; cur.F.match(c) {
				if len(page) == limit {
					hasAfter = true
					break
				}
				page = append(page, *c)
			}
		}
		hasBefore = viaCursor
	}
	s.mu.Unlock()

	var links []string
	base := "http://" + r.Host + "/admin/api/" + version + "/customers.json?limit=" + strconv.Itoa(limit)
	if fields != "" {
		base += "&fields=" + url.QueryEscape(fields)
	}
	if hasBefore && len(page) > 0 {
		links = append(links, fmt.Sprintf(`<%s&page_info=%s>; rel="previous"`, base, cursor{F: cur.F, Prev: true, ID: page[0].ID}.encode()))
	}
	if hasAfter && len(page) > 0 {
		links = append(links, fmt.Sprintf(`<%s&page_info=%s>; rel="next"`, base, cursor{F: cur.F, ID: page[len(page)-1].ID}.encode()))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}

	var body bytes.Buffer
	body.WriteString(`{"customers":[`)
	for i := range page {
		if i > 0 {
			body.WriteByte(',')
		}
		b, _ := json.Marshal(&page[i])
		if fields != "" {
			b = pick(b, fields)
		}
		body.Write(b)
	}
	body.WriteString("]}")
	out := body.String()
	if truncate {
		out = out[:len(out)/2]
	}
	writeJSON(w, http.StatusOK, out)
}

// pick keeps only the named top-level keys of a JSON object.
func pick(obj []byte, fields string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return obj
	}
	keep := map[string]json.RawMessage{}
	for f := range strings.SplitSeq(fields, ",") {
		if v, ok := m[strings.TrimSpace(f)]; ok {
			keep[strings.TrimSpace(f)] = v
		}
	}
	b, _ := json.Marshal(keep)
	return b
}

// serveCount is GET customers/count.json, with the date filters.
func (s *Server) serveCount(w http.ResponseWriter, r *http.Request) {
	f, key, msg := parseFilter(r.URL.Query())
	if key != "" {
		badRequest(w, key, msg)
		return
	}
	f.SinceID, f.IDs = 0, nil
	s.mu.Lock()
	n := 0
	for i := range s.customers {
		if f.match(&s.customers[i]) {
			n++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"count":%d}`, n))
}
