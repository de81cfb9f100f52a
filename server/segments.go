package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/marketing"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/store"
)

// The audience API: segments, their counts and contacts, marketing
// reports, exports and the mapping preview. Contacts come as the CRM sees
// them (the mapping's projection). A segment's text is the caller's own:
// it is echoed in errors to them, never logged (it may hold an email).

func (s *Server) routeAudience() {
	if s.cfg.Audience == nil {
		return
	}
	s.mux.HandleFunc("GET /segments", s.auth(s.handleSegments))
	s.mux.HandleFunc("POST /segments", s.auth(s.handleSaveSegment))
	s.mux.HandleFunc("GET /segments/preview", s.auth(s.handleSegmentPreview))
	s.mux.HandleFunc("GET /segments/{name}", s.auth(s.handleSegment))
	s.mux.HandleFunc("PUT /segments/{name}", s.auth(s.handleSaveSegment))
	s.mux.HandleFunc("DELETE /segments/{name}", s.auth(s.handleDeleteSegment))
	s.mux.HandleFunc("GET /segments/{name}/count", s.auth(s.handleSegmentCount))
	s.mux.HandleFunc("GET /segments/{name}/contacts", s.auth(s.handleSegmentContacts))
	s.mux.HandleFunc("GET /segments/{name}/audience", s.auth(s.handleSegmentAudience))
	s.mux.HandleFunc("GET /contacts/export", s.auth(s.handleContactsExport))
	s.mux.HandleFunc("GET /mapping/preview", s.auth(s.handleMappingPreview))
}

// maxSegmentBody bounds a segment's JSON: the language takes 8 KiB.
const maxSegmentBody = 16 << 10

func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	segs, err := s.cfg.Audience.Segments(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": segs, "fields": s.cfg.Audience.Fields()})
}

func (s *Server) handleSegment(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segment(w, r)
	if ok {
		writeJSON(w, http.StatusOK, seg)
	}
}

// segment finds the segment the path names, answering 404 when there is
// none.
func (s *Server) segment(w http.ResponseWriter, r *http.Request) (audience.Segment, bool) {
	seg, err := s.cfg.Audience.Segment(r.Context(), r.PathValue("name"))
	if errors.Is(err, audience.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such segment: GET /segments lists them")
		return seg, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return seg, false
	}
	return seg, true
}

// handleSaveSegment is POST /segments {"name", "query"} (a new segment)
// and PUT /segments/{name} {"query"} (a new text for a saved one).
func (s *Server) handleSaveSegment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name  string `json:"name"`
		Query string `json:"query"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxSegmentBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `want JSON {"name": "...", "query": "..."}`)
		return
	}
	replace := r.Method == http.MethodPut
	if replace {
		body.Name = r.PathValue("name")
	}
	err := s.cfg.Audience.Save(r.Context(), body.Name, body.Query, replace)
	if s.segmentError(w, err) {
		return
	}
	if errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "a segment with this name exists: PUT /segments/"+body.Name+" replaces it")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	seg, err := s.cfg.Audience.Segment(r.Context(), body.Name)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replace {
		status = http.StatusOK
	}
	writeJSON(w, status, seg)
}

// segmentError answers 400 for a segment that does not parse (where, and
// what is wrong) or a name that cannot be saved, and reports whether it
// did.
func (s *Server) segmentError(w http.ResponseWriter, err error) bool {
	var (
		se *segment.Error
		ne *audience.NameError
	)
	switch {
	case errors.As(err, &se):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": se.Error(), "position": se.Pos, "message": se.Msg, "caret": se.Caret()})
	case errors.As(err, &ne):
		writeError(w, http.StatusBadRequest, ne.Error())
	case errors.Is(err, audience.ErrBuiltin):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		return false
	}
	return true
}

func (s *Server) handleDeleteSegment(w http.ResponseWriter, r *http.Request) {
	err := s.cfg.Audience.Delete(r.Context(), r.PathValue("name"))
	switch {
	case s.segmentError(w, err):
	case errors.Is(err, audience.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such segment")
	case err != nil:
		s.serverError(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) handleSegmentCount(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segment(w, r)
	if !ok {
		return
	}
	n, err := s.cfg.Audience.Count(r.Context(), seg.Query)
	if s.segmentError(w, err) {
		return // a saved segment the mapping no longer allows
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": seg.Name, "count": n})
}

// page reads ?after (a Shopify id, as text) and ?limit (1–1000, 100).
func page(w http.ResponseWriter, r *http.Request) (after int64, limit int, ok bool) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 1000")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "after: want the next_after of the previous page")
			return 0, 0, false
		}
		after = n
	}
	return after, limit, true
}

// contactsPage answers a page of query's contacts as records, with the
// cursor of the next page ("" after the last).
func (s *Server) contactsPage(w http.ResponseWriter, r *http.Request, query string, extra map[string]any) {
	after, limit, ok := page(w, r)
	if !ok {
		return
	}
	cs, err := s.cfg.Audience.Contacts(r.Context(), query, after, limit)
	if s.segmentError(w, err) {
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	records := make([]mapping.Record, len(cs))
	for i, c := range cs {
		if records[i], err = s.cfg.Audience.Project(c); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	body := map[string]any{"contacts": records, "next_after": ""}
	if len(cs) == limit {
		// Ids as text: JavaScript numbers lose ids above 2^53.
		body["next_after"] = strconv.FormatInt(cs[len(cs)-1].ShopifyID, 10)
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleSegmentContacts(w http.ResponseWriter, r *http.Request) {
	if seg, ok := s.segment(w, r); ok {
		s.contactsPage(w, r, seg.Query, map[string]any{"name": seg.Name})
	}
}

// handleSegmentPreview is the page's live preview of a segment being
// written: GET /segments/preview?q=...&limit=5 gives its count and first
// contacts, or where it is wrong.
func (s *Server) handleSegmentPreview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if len(q) > maxSegmentBody {
		writeError(w, http.StatusBadRequest, "q: too long: a segment takes at most 8 KiB")
		return
	}
	n, err := s.cfg.Audience.Count(r.Context(), q)
	if s.segmentError(w, err) {
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.contactsPage(w, r, q, map[string]any{"count": n})
}

// handleSegmentAudience is a marketing list's report without the list:
// GET /segments/{name}/audience?for=email says how many contacts of the
// segment would be sent, and what would be left out and why.
func (s *Server) handleSegmentAudience(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segment(w, r)
	if !ok {
		return
	}
	ch, err := marketing.ParseChannel(r.URL.Query().Get("for"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "for: want email or sms")
		return
	}
	rep, err := s.cfg.Audience.Export(r.Context(), io.Discard, audience.ExportRequest{Segment: seg.Name, For: ch, Format: audience.JSONL})
	if s.segmentError(w, err) {
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": seg.Name, "for": ch, "report": rep.Marketing, "summary": rep.Marketing.String()})
}

// handleContactsExport streams contacts as the CRM sees them:
// ?segment=NAME (default: every active contact), ?for=email|sms (only
// those that may receive it), ?format=csv|csv-excel|jsonl (default csv).
// The request is checked before the first byte; an error after it can
// only cut the file short, so it is logged.
func (s *Server) handleContactsExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := audience.ExportRequest{Segment: q.Get("segment"), Format: audience.CSV}
	if v := q.Get("format"); v != "" {
		f, err := audience.ParseFormat(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		req.Format = f
	}
	if v := q.Get("for"); v != "" {
		ch, err := marketing.ParseChannel(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "for: want email or sms")
			return
		}
		req.For = ch
	}
	name := "all"
	if req.Segment != "" {
		seg, err := s.cfg.Audience.Segment(r.Context(), req.Segment)
		if errors.Is(err, audience.ErrNotFound) {
			writeError(w, http.StatusNotFound, "no such segment: GET /segments lists them")
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if err := s.cfg.Audience.Check(seg.Query); s.segmentError(w, err) {
			return
		}
		name = seg.Name
	}
	if req.For != "" {
		name += "-for-" + string(req.For)
	}
	file := "shopsync-" + strings.TrimSuffix(s.cfg.Shop, ".myshopify.com") + "-" + name + "-" + time.Now().UTC().Format("2006-01-02")
	w.Header().Set("Content-Type", req.Format.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+"."+req.Format.Ext()+`"`)
	w.Header().Set("Cache-Control", "no-store")
	// The change feed's last event before the export: the export holds
	// every change up to it (and maybe some after, which following the
	// feed from it applies again, harmlessly).
	if _, last, err := s.cfg.Store.FeedBounds(r.Context()); err == nil {
		w.Header().Set("X-Shopsync-Change-Seq", strconv.FormatInt(last, 10))
	}
	if _, err := s.cfg.Audience.Export(r.Context(), w, req); err != nil {
		s.logger.Error("export contacts", "error", err)
	}
}

// handleMappingPreview shows one contact before and after the mapping:
// GET /mapping/preview?id=ID (default: the newest, the highest id).
func (s *Server) handleMappingPreview(w http.ResponseWriter, r *http.Request) {
	var id int64
	if v := r.URL.Query().Get("id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "id: want a Shopify customer id: a positive integer")
			return
		}
		id = n
	}
	p, err := s.cfg.Audience.Preview(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such contact")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"contact": toPage(p.Contact, true), "record": p.Record, "fields": s.cfg.Audience.Projection().Fields(),
	})
}
