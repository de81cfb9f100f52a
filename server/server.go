// Package server is shopsync's HTTP API and status page: "Sync now", sync
// status and history, the overview, contact search and lookups, exports,
// the change feed (GET /changes) and the outbound endpoints' status,
// resume and replay, rejected deliveries, "Check connection", health and
// metrics, behind the
// guards every request passes (the Host check against DNS rebinding, the
// API token with its failed-attempt limit). It mounts the webhook
// receiver (package webhook) at its path.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

// Config wires a Server.
type Config struct {
	Store     *store.DB
	Syncer    *ssync.Syncer
	Webhooks  http.Handler        // POST /webhooks/shopify
	Gatherer  prometheus.Gatherer // GET /metrics
	SyncToken string              // bearer token for the API; empty: open (loopback only)
	NextRun   func() time.Time    // when the schedule fires next; nil: unknown
	Logger    *slog.Logger

	// AllowedHosts are host names (no port) that requests may name in
	// their Host header besides loopback addresses and localhost, which
	// are always answered. Without a SyncToken only those are answered
	// (DNS rebinding: see hostGuard); with a token and an empty list,
	// every host is. The webhook receiver answers every host.
	AllowedHosts []string

	// The failed-authentication limiter, shared by every path (see
	// failedAuth); zero values take the defaults: a burst of 100
	// failures, then one every second, and a log line a minute.
	FailedAuthBurst    int
	FailedAuthEvery    time.Duration
	FailedAuthLogEvery time.Duration

	// For the status page's overview; each may be nil.
	Shop              string                   // the shop's myshopify.com domain
	APIVersion        string                   // the configured Admin API version
	ClientCredentials bool                     // a Dev Dashboard app's client id and secret, not a token
	ClientStats       func() shopify.Stats     // the Shopify client's counters
	Rejections        *RejectionLog            // refused webhook deliveries, kept in the store
	Subscriptions     func() SubscriptionState // what the last check of subscriptions found
	TestDeliveries    *doctor.TestReceiver     // shopsync's own test deliveries, when they arrived

	// Doctor runs the connection checks for the page's "Check
	// connection"; nil hides it.
	Doctor func(ctx context.Context) doctor.Report
	// ExportCSV writes every active contact as CSV, Excel-ready when
	// excel is set, for the page's download; nil hides it.
	ExportCSV func(ctx context.Context, w io.Writer, excel bool) error
	// Audience answers segments, marketing lists, exports and the mapping
	// preview; nil hides them.
	Audience *audience.Service

	// Outbound is the outbound webhooks' deliverer, for their status,
	// resume and replay; nil when none is configured.
	Outbound Outbound
}

// Server serves the API and the status page.
type Server struct {
	cfg      Config
	token    [sha256.Size]byte
	openCSRF string // the CSRF token handed out when there is no sync token
	sessions *sessions
	hosts    hostGuard
	failed   *failedAuth
	mux      *http.ServeMux
	logger   *slog.Logger
	checks   checks // the page's connection checks

	polls     context.Context // ended by StopLongPolls
	stopPolls context.CancelFunc
}

// New returns the API handler.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, mux: http.NewServeMux(), logger: cfg.Logger.With("component", "http"),
		sessions: newSessions(), openCSRF: randomHex(), hosts: newHostGuard(cfg.SyncToken, cfg.AllowedHosts)}
	s.failed = newFailedAuth(cfg.FailedAuthBurst, cfg.FailedAuthEvery, cfg.FailedAuthLogEvery, s.logger)
	s.token = sha256.Sum256([]byte(cfg.SyncToken))
	s.polls, s.stopPolls = context.WithCancel(context.Background())
	s.mux.Handle("POST "+webhookPath, cfg.Webhooks)
	s.mux.HandleFunc("POST /sync", s.auth(s.handleSync))
	s.mux.HandleFunc("GET /sync/status", s.auth(s.handleStatus))
	s.mux.HandleFunc("GET /sync/runs", s.auth(s.handleRuns))
	s.mux.HandleFunc("GET /contacts/{id}", s.auth(s.handleContact))
	s.mux.HandleFunc("GET /contacts", s.auth(s.handleContacts))
	s.mux.HandleFunc("GET /changes", s.auth(s.handleChanges))
	s.mux.HandleFunc("GET /outbound", s.auth(s.handleOutbound))
	s.mux.HandleFunc("POST /outbound/{name}/resume", s.auth(s.handleOutboundResume))
	s.mux.HandleFunc("POST /outbound/{name}/replay", s.auth(s.handleOutboundReplay))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))

	// The status page and the calls it makes.
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.Handle("GET /assets/", s.assets())
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("POST /login", s.handleLogin)
	s.mux.HandleFunc("POST /logout", s.auth(s.handleLogout))
	s.mux.HandleFunc("GET /api/session", s.handleSession)
	s.mux.HandleFunc("GET /api/overview", s.auth(s.handleOverview))
	s.mux.HandleFunc("GET /api/contacts", s.auth(s.handleSearch))
	s.mux.HandleFunc("GET /api/contacts/{id}", s.auth(s.handleContactDetail))
	s.mux.HandleFunc("GET /api/contacts.csv", s.auth(s.handleExport))
	s.mux.HandleFunc("GET /api/check", s.auth(s.handleLastCheck))
	s.mux.HandleFunc("POST /api/check", s.auth(s.handleCheck))
	s.routeAudience()
	return s
}

// ServeHTTP answers every request with X-Content-Type-Options: nosniff,
// and only for a Host the server serves (see hostGuard), the webhook
// receiver excepted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path != webhookPath && !s.hosts.allows(r.Host) {
		misdirected(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// auth lets a request through with "Authorization: Bearer <sync token>"
// (API clients), or with the page's session cookie, whose unsafe requests
// must also pass the CSRF checks. Without a configured token (loopback
// only) everyone is let through, browsers' cross-site POSTs excepted.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		authz := r.Header.Get("Authorization")
		switch {
		case s.cfg.SyncToken == "":
			if unsafe && authz == "" && !csrfOK(r, nil) {
				writeError(w, http.StatusForbidden, "cross-site request refused")
				return
			}
			h(w, r)
			return
		case authz != "":
			// The scheme is case-insensitive (RFC 9110 §11.1).
			scheme, got, _ := strings.Cut(authz, " ")
			if !strings.EqualFold(scheme, "Bearer") || !s.tokenOK(got) {
				if wait := s.failed.fail(authBearer); wait > 0 {
					tooManyFailures(w, wait)
					return
				}
				s.unauthorized(w)
				return
			}
			h(w, r)
			return
		}
		sess := s.sessions.get(r)
		if sess == nil {
			s.unauthorized(w)
			return
		}
		if unsafe && !csrfOK(r, sess) {
			writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+": reload the page")
			return
		}
		h(w, r)
	}
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="shopsync"`)
	writeError(w, http.StatusUnauthorized, "a valid sync token is required: Authorization: Bearer <http.sync_token>")
}

// handleSync is "Sync now": it starts a full import, or answers with the
// run already going (started by the button, the schedule, or `shopsync
// sync` in another process). Either way 202 and the run's id.
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	run, started, err := s.cfg.Syncer.Trigger(shopsync.TriggerButton)
	var busy *ssync.RunningError
	if errors.As(err, &busy) {
		// The lock is held but the run not yet recorded: say so plainly.
		writeJSON(w, http.StatusConflict, map[string]any{"error": "a sync run is starting in another process", "state": "running"})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !started && run.Trigger == shopsync.TriggerReconcile {
		// A sweep holds the store for a few seconds: it is not the import
		// the button asked for, so do not show it as one.
		writeJSON(w, http.StatusConflict, map[string]any{"error": "a sweep is running for a few seconds: press Sync now again in a moment", "state": "running"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"run_id": run.ID, "state": shopsync.RunRunning, "started": started})
}

// status is the body of GET /sync/status.
type status struct {
	Running        bool              `json:"running"`
	LastRun        *shopsync.SyncRun `json:"last_run"`    // the newest run: a full import or a sweep
	LastImport     *pageRun          `json:"last_import"` // the newest full import, any state
	NextRun        *time.Time        `json:"next_run,omitempty"`
	RefetchPending int64             `json:"refetch_pending"`
	Contacts       struct {
		Active  int64 `json:"active"`
		Deleted int64 `json:"deleted"`
	} `json:"contacts"`
	Changes  feedBounds        `json:"changes"`  // the change feed
	Outbound []outbound.Status `json:"outbound"` // the outbound endpoints
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.status(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) status(r *http.Request) (status, error) {
	ctx := r.Context()
	var st status
	runs, err := s.cfg.Store.Runs(ctx, 1)
	if err != nil {
		return st, err
	}
	if len(runs) > 0 {
		st.LastRun = runs[0]
		if runs[0].Trigger != shopsync.TriggerReconcile {
			st.LastImport = s.pageRun(runs[0])
		} else {
			imp, err := s.cfg.Store.LastRun(ctx, store.RunFilter{Triggers: store.FullImports})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return st, err
			}
			st.LastImport = s.pageRun(imp)
		}
	}
	if _, ok := s.cfg.Syncer.Running(); ok {
		st.Running = true
	} else if st.LastRun != nil && st.LastRun.State == shopsync.RunRunning {
		// Another process's run, or one left by a killed process.
		st.Running = s.cfg.Store.SyncLocked()
	}
	if s.cfg.NextRun != nil {
		if t := s.cfg.NextRun(); !t.IsZero() {
			st.NextRun = &t
		}
	}
	if st.RefetchPending, err = s.cfg.Store.RefetchPending(ctx); err != nil {
		return st, err
	}
	if st.Contacts.Active, st.Contacts.Deleted, err = s.cfg.Store.ContactCounts(ctx); err != nil {
		return st, err
	}
	if st.Changes.Oldest, st.Changes.Last, err = s.cfg.Store.FeedBounds(ctx); err != nil {
		return st, err
	}
	st.Outbound = []outbound.Status{}
	if s.cfg.Outbound != nil {
		if st.Outbound, err = s.cfg.Outbound.Status(ctx); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (s *Server) handleContact(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "want a Shopify customer id: a positive integer")
		return
	}
	c, err := s.cfg.Store.Contact(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such contact")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if email == "" {
		writeError(w, http.StatusBadRequest, "email: required, e.g. /contacts?email=bob@example.com")
		return
	}
	cs, err := s.cfg.Store.ContactsByEmail(r.Context(), email)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no contact with that email")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": cs})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.logger.Error("not ready", "error", err)
		writeError(w, http.StatusServiceUnavailable, "store not ready")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// serverError logs err and answers 500 without its text: errors may name
// paths or queries, never for clients.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
