package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// pageContact is a contact for the page: JavaScript numbers lose ids
// above 2^53, so ids (and such integer attributes) are strings.
type pageContact struct {
	ID               string         `json:"id"`
	Email            *string        `json:"email"`
	FirstName        *string        `json:"first_name"`
	LastName         *string        `json:"last_name"`
	Phone            *string        `json:"phone"`
	State            *string        `json:"state,omitempty"`
	Tags             []string       `json:"tags,omitempty"`
	ShopifyCreatedAt *time.Time     `json:"shopify_created_at,omitempty"`
	ShopifyUpdatedAt *time.Time     `json:"shopify_updated_at"`
	Attributes       map[string]any `json:"attributes,omitempty"`
}

const maxSafeInteger = 1<<53 - 1

func toPage(c *shopsync.Contact, full bool) pageContact {
	p := pageContact{ID: strconv.FormatInt(c.ShopifyID, 10), Email: c.Email, FirstName: c.FirstName,
		LastName: c.LastName, Phone: c.Phone, ShopifyUpdatedAt: c.ShopifyUpdatedAt}
	if !full {
		return p
	}
	p.State, p.Tags, p.ShopifyCreatedAt = c.State, c.Tags, c.ShopifyCreatedAt
	p.Attributes = make(map[string]any, len(c.Attributes))
	for _, a := range c.Attributes {
		switch v := a.Value.(type) {
		case int64:
			if v > maxSafeInteger || v < -maxSafeInteger {
				p.Attributes[a.Name] = strconv.FormatInt(v, 10)
			} else {
				p.Attributes[a.Name] = v
			}
		case nil, bool, string:
			p.Attributes[a.Name] = v
		default:
			p.Attributes[a.Name], _ = a.Text()
		}
	}
	return p
}

// handleSearch finds contacts by email, name or phone for the page.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if len(q) > 200 {
		writeError(w, http.StatusBadRequest, "q: at most 200 characters")
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 200")
			return
		}
		limit = n
	}
	cs, err := s.cfg.Store.SearchContacts(r.Context(), q, limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := make([]pageContact, len(cs))
	for i, c := range cs {
		out[i] = toPage(c, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out})
}

// handleContactDetail is a contact's page: its data, when it was first
// stored, when each part last changed and by what, and its address in
// the Shopify admin.
func (s *Server) handleContactDetail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "want a Shopify customer id: a positive integer")
		return
	}
	ctx := r.Context()
	c, err := s.cfg.Store.Contact(ctx, id)
	var (
		row   store.LastChange
		attrs map[string]store.LastChange
		first time.Time
	)
	if err == nil {
		row, attrs, err = s.cfg.Store.ContactChanges(ctx, id)
	}
	if err == nil {
		first, err = s.cfg.Store.ContactFirstStored(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such contact")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	body := map[string]any{
		"contact": toPage(c, true),
		"changed": map[string]any{"updated_at": row.At, "changed_by": row.By, "attributes": attrs, "first_stored_at": first},
	}
	if a := adminURL(s.cfg.Shop); a != "" {
		body["admin_url"] = a + "/customers/" + strconv.FormatInt(id, 10)
	}
	writeJSON(w, http.StatusOK, body)
}
