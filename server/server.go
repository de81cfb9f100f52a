// Package server is shopsync's HTTP API: the webhook receiver, "Sync now",
// sync status and history, contact lookups, health and metrics.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopsync/shopsync"
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
}

// Server serves the API.
type Server struct {
	cfg    Config
	token  [sha256.Size]byte
	mux    *http.ServeMux
	logger *slog.Logger
}

// New returns the API handler.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, mux: http.NewServeMux(), logger: cfg.Logger.With("component", "http")}
	s.token = sha256.Sum256([]byte(cfg.SyncToken))
	s.mux.Handle("POST /webhooks/shopify", cfg.Webhooks)
	s.mux.HandleFunc("POST /sync", s.auth(s.handleSync))
	s.mux.HandleFunc("GET /sync/status", s.auth(s.handleStatus))
	s.mux.HandleFunc("GET /sync/runs", s.auth(s.handleRuns))
	s.mux.HandleFunc("GET /contacts/{id}", s.auth(s.handleContact))
	s.mux.HandleFunc("GET /contacts", s.auth(s.handleContacts))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// auth requires "Authorization: Bearer <sync token>" when a token is
// configured. The comparison is of SHA-256 digests in constant time, so
// neither the token's content nor its length leaks through timing.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.SyncToken != "" {
			// The scheme is case-insensitive (RFC 9110 §11.1).
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			ok := strings.EqualFold(scheme, "Bearer")
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], s.token[:]) != 1 || !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="shopsync"`)
				writeError(w, http.StatusUnauthorized, "a valid sync token is required: Authorization: Bearer <http.sync_token>")
				return
			}
		}
		h(w, r)
	}
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
	writeJSON(w, http.StatusAccepted, map[string]any{"run_id": run.ID, "state": shopsync.RunRunning, "started": started})
}

// status is the body of GET /sync/status.
type status struct {
	Running        bool              `json:"running"`
	LastRun        *shopsync.SyncRun `json:"last_run"`
	NextRun        *time.Time        `json:"next_run,omitempty"`
	RefetchPending int64             `json:"refetch_pending"`
	Contacts       struct {
		Active  int64 `json:"active"`
		Deleted int64 `json:"deleted"`
	} `json:"contacts"`
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var st status
	runs, err := s.cfg.Store.Runs(ctx, 1)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(runs) > 0 {
		st.LastRun = runs[0]
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
		s.serverError(w, r, err)
		return
	}
	if st.Contacts.Active, st.Contacts.Deleted, err = s.cfg.Store.ContactCounts(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleRuns(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 1000")
			return
		}
		limit = n
	}
	runs, err := s.cfg.Store.Runs(r.Context(), limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if runs == nil {
		runs = []*shopsync.SyncRun{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
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
