package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/store"
)

// The change feed (GET /changes) and the outbound endpoints' status,
// resume and replay (issue 19).

// Outbound is what the server needs of the outbound deliverer.
type Outbound interface {
	Status(ctx context.Context) ([]outbound.Status, error)
	Resume(ctx context.Context, name string) (outbound.Status, error)
	Replay(ctx context.Context, name string, from int64) (outbound.Status, error)
}

var _ Outbound = (*outbound.Deliverer)(nil)

// The bounds of GET /changes.
const (
	defaultChangesLimit = 100
	maxChangesLimit     = 1000
	maxChangesWait      = 60 * time.Second
)

// feedBounds is the change feed's extent, in the status.
type feedBounds struct {
	Oldest int64 `json:"oldest"` // the oldest event kept (none when greater than last)
	Last   int64 `json:"last"`   // the newest event
}

// StopLongPolls ends the long polls of GET /changes, which answer at once
// with what they have: http.Server.Shutdown waits for requests in flight,
// so the daemon calls it as shutdown begins (RegisterOnShutdown).
func (s *Server) StopLongPolls() { s.stopPolls() }

// handleChanges is GET /changes?after=SEQ&limit=N&wait=30s: the events
// after SEQ, as JSON lines, in order; with wait, when there are none yet,
// it waits up to that long for one (ended early by the client leaving and
// by shutdown). X-Shopsync-Next-After is the cursor to ask with next;
// X-Shopsync-Last-Seq the newest event in the feed.
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after := int64(0)
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "after: want a change sequence number, 0 or more, e.g. /changes?after=0")
			return
		}
		after = n
	}
	limit := defaultChangesLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxChangesLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxChangesLimit))
			return
		}
		limit = n
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxChangesWait {
			writeError(w, http.StatusBadRequest, "wait: want a duration with its unit, up to 60s, e.g. wait=30s")
			return
		}
		wait = d
	}
	ctx := r.Context()
	events, err := s.cfg.Store.Changes(ctx, after, limit)
	if len(events) == 0 && err == nil && wait > 0 {
		// The server's write timeout would cut a long wait.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + writeGrace))
		wctx, cancel := context.WithTimeout(ctx, wait)
		stop := context.AfterFunc(s.polls, cancel) // shutdown
		if s.cfg.Store.WaitChanges(wctx, after) == nil {
			events, err = s.cfg.Store.Changes(ctx, after, limit)
		}
		stop()
		cancel()
	}
	var expired *store.CursorExpiredError
	if errors.As(err, &expired) {
		writeJSON(w, http.StatusGone, map[string]any{
			"error": fmt.Sprintf("the change feed no longer holds the events after %d: they were older than "+
				"outbound.retention and were pruned; the oldest kept is %d", expired.After, expired.Oldest),
			"fix": "Run a full export (shopsync contacts export, or GET /api/contacts.csv), which reports the change " +
				"sequence it is current to (on stderr, or in the X-Shopsync-Change-Seq header); load it into the " +
				"CRM, then follow GET /changes?after=<that sequence>.",
			"oldest": expired.Oldest,
			"last":   expired.Last,
		})
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			return // the client left
		}
		s.serverError(w, r, err)
		return
	}
	_, last, err := s.cfg.Store.FeedBounds(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	next := after
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Shopsync-Next-After", strconv.FormatInt(next, 10))
	h.Set("X-Shopsync-Last-Seq", strconv.FormatInt(max(last, next), 10))
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 64<<10)
	for i := range events {
		buf = append(events[i].AppendJSON(buf), '\n')
		if len(buf) >= 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
	w.Write(buf)
}

// writeGrace is the time a long poll's answer has to be written after
// its wait.
const writeGrace = 15 * time.Second

// handleOutbound is GET /outbound: every endpoint's status.
func (s *Server) handleOutbound(w http.ResponseWriter, r *http.Request) {
	st := []outbound.Status{}
	if s.cfg.Outbound != nil {
		var err error
		if st, err = s.cfg.Outbound.Status(r.Context()); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": st})
}

// handleOutboundResume is POST /outbound/{name}/resume.
func (s *Server) handleOutboundResume(w http.ResponseWriter, r *http.Request) {
	s.outboundAction(w, r, func(ctx context.Context, name string) (outbound.Status, error) {
		return s.cfg.Outbound.Resume(ctx, name)
	})
}

// handleOutboundReplay is POST /outbound/{name}/replay?from=SEQ (deliver
// SEQ and what follows again) or ?after=SEQ (what follows SEQ).
func (s *Server) handleOutboundReplay(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, after := q.Get("from"), q.Get("after")
	var seq int64
	var err error
	switch {
	case (from == "") == (after == ""):
		err = errors.New("want one of from=SEQ (the first event to deliver again) or after=SEQ")
	case from != "":
		if seq, err = strconv.ParseInt(from, 10, 64); err != nil || seq < 1 {
			err = errors.New("from: want a change sequence number, 1 or more")
		}
	default:
		if seq, err = strconv.ParseInt(after, 10, 64); err != nil || seq < 0 {
			err = errors.New("after: want a change sequence number, 0 or more")
		}
		seq++
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.outboundAction(w, r, func(ctx context.Context, name string) (outbound.Status, error) {
		return s.cfg.Outbound.Replay(ctx, name, seq)
	})
}

func (s *Server) outboundAction(w http.ResponseWriter, r *http.Request, do func(context.Context, string) (outbound.Status, error)) {
	if s.cfg.Outbound == nil {
		writeError(w, http.StatusNotFound, "no outbound endpoint is configured (outbound.endpoints)")
		return
	}
	st, err := do(r.Context(), r.PathValue("name"))
	var expired *store.CursorExpiredError
	switch {
	case errors.Is(err, outbound.ErrUnknownEndpoint):
		writeError(w, http.StatusNotFound, "no such outbound endpoint: see GET /outbound")
	case errors.As(err, &expired):
		writeJSON(w, http.StatusGone, map[string]any{
			"error":  fmt.Sprintf("events before %d are no longer kept (outbound.retention)", expired.Oldest),
			"fix":    "Replay from a kept event, or run a full export and replay after the sequence it reports.",
			"oldest": expired.Oldest, "last": expired.Last,
		})
	case errors.Is(err, store.ErrNotInFeed):
		writeError(w, http.StatusBadRequest, "from: that event is not in the change feed yet; see X-Shopsync-Last-Seq of GET /changes")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "the endpoint has not started yet: try again in a moment")
	case err != nil:
		if r.Context().Err() == nil {
			s.serverError(w, r, err)
		}
	case err == nil:
		writeJSON(w, http.StatusOK, st)
	}
}
