package server

import (
	"context"
	"net/http"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync/doctor"
)

// checks runs the page's connection checks one at a time, and keeps the
// last report to show when the page loads.
type checks struct {
	run  gosync.Mutex // held while a check runs
	mu   gosync.Mutex
	last *doctor.Report
}

// checkTimeout bounds a whole check: Shopify calls, the test delivery.
const checkTimeout = 30 * time.Second

// checkInterval is the shortest time between two checks: each costs a
// few API calls from the shop's bucket.
const checkInterval = 5 * time.Second

// handleCheck runs the connection checks ("Check connection") and answers
// the report; while one runs, or within checkInterval of the last, it
// answers the last report (202 and "running" while one runs).
func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Doctor == nil {
		writeError(w, http.StatusNotFound, "connection checks are not available")
		return
	}
	if !s.checks.run.TryLock() {
		writeJSON(w, http.StatusAccepted, map[string]any{"running": true, "report": s.lastCheck()})
		return
	}
	defer s.checks.run.Unlock()
	if last := s.lastCheck(); last != nil && time.Since(last.At) < checkInterval {
		writeJSON(w, http.StatusOK, map[string]any{"running": false, "report": last})
		return
	}
	// The check outlives a closed tab: its report is kept for the next.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), checkTimeout)
	defer cancel()
	rep := s.cfg.Doctor(ctx)
	s.checks.mu.Lock()
	s.checks.last = &rep
	s.checks.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"running": false, "report": rep})
}

// handleLastCheck answers the last report, or null.
func (s *Server) handleLastCheck(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"available": s.cfg.Doctor != nil, "report": s.lastCheck()})
}

func (s *Server) lastCheck() *doctor.Report {
	s.checks.mu.Lock()
	defer s.checks.mu.Unlock()
	return s.checks.last
}
