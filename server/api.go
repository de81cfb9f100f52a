package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// SubscriptionState is what the daemon's last check of the webhook
// subscriptions found.
type SubscriptionState struct {
	State     string    `json:"state"` // not_configured, ok, missing, unknown
	Address   string    `json:"address,omitempty"`
	Missing   []string  `json:"missing,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

type connection struct {
	OK                bool       `json:"ok"`
	LastCallAt        *time.Time `json:"last_call_at"`
	LastStatus        int        `json:"last_status"`
	ServedVersion     string     `json:"served_version"`
	ConfiguredVersion string     `json:"configured_version"`
	TokenKind         string     `json:"token_kind"`
	Requests          int64      `json:"requests"`
	Throttled         int64      `json:"throttled"`
}

type overview struct {
	Shop       string     `json:"shop"`
	Connection connection `json:"connection"`
	status
	Webhooks struct {
		Since         time.Time             `json:"since"`
		Deliveries    []store.DeliveryCount `json:"deliveries"`
		Rejected      int64                 `json:"rejected"` // since the daemon started
		Subscriptions SubscriptionState     `json:"subscriptions"`
	} `json:"webhooks"`
}

// handleOverview is everything the status page shows at a glance.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	st, err := s.status(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	o := overview{Shop: s.cfg.Shop, status: st}
	o.Connection.ConfiguredVersion = s.cfg.APIVersion
	if s.cfg.ClientStats != nil {
		cs := s.cfg.ClientStats()
		o.Connection.LastStatus, o.Connection.ServedVersion, o.Connection.TokenKind = cs.LastStatus, cs.ServedVersion, cs.TokenKind
		o.Connection.Requests, o.Connection.Throttled = cs.Requests, cs.Throttled
		if !cs.LastAt.IsZero() {
			t := cs.LastAt.UTC()
			o.Connection.LastCallAt = &t
		}
		o.Connection.OK = cs.LastStatus >= 200 && cs.LastStatus < 300
	}
	o.Webhooks.Since = time.Now().Add(-24 * time.Hour).UTC()
	if o.Webhooks.Deliveries, err = s.cfg.Store.DeliveryCounts(r.Context(), o.Webhooks.Since); err != nil {
		s.serverError(w, r, err)
		return
	}
	if o.Webhooks.Deliveries == nil {
		o.Webhooks.Deliveries = []store.DeliveryCount{}
	}
	if s.cfg.Rejected != nil {
		o.Webhooks.Rejected = s.cfg.Rejected()
	}
	o.Webhooks.Subscriptions = SubscriptionState{State: "not_configured"}
	if s.cfg.Subscriptions != nil {
		o.Webhooks.Subscriptions = s.cfg.Subscriptions()
	}
	writeJSON(w, http.StatusOK, o)
}

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

// handleContactDetail is a contact's page: its data, and when each part
// last changed and by what.
func (s *Server) handleContactDetail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "want a Shopify customer id: a positive integer")
		return
	}
	c, err := s.cfg.Store.Contact(r.Context(), id)
	if err == nil {
		var (
			row   store.LastChange
			attrs map[string]store.LastChange
		)
		row, attrs, err = s.cfg.Store.ContactChanges(r.Context(), id)
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{
				"contact": toPage(c, true),
				"changed": map[string]any{"updated_at": row.At, "changed_by": row.By, "attributes": attrs},
			})
			return
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such contact")
		return
	}
	s.serverError(w, r, err)
}
