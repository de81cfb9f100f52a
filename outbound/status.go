package outbound

import (
	"context"
	"strconv"
	"time"

	"github.com/shopsync/shopsync/store"
)

// The states of an endpoint.
const (
	StateStarting   = "starting"   // the daemon is opening it
	StateIdle       = "idle"       // every event is delivered: waiting for the next
	StateDelivering = "delivering" // a delivery is in flight
	StateRetrying   = "retrying"   // the last attempt failed: waiting to try again
	StatePaused     = "paused"     // stopped until resumed (see Fix)
)

// Status is an endpoint as the status page, the API and the CLI show it.
// It never holds the secret, the URL's query, or a customer's data.
type Status struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"` // scheme, host and path
	Events  []string `json:"events"`
	Segment string   `json:"segment,omitempty"`
	State   string   `json:"state"`
	// Cursor is the last event acknowledged (or not for this endpoint);
	// Last the feed's newest; Behind the events between them.
	Cursor        int64      `json:"cursor"`
	Last          int64      `json:"last"`
	Behind        int64      `json:"behind"`
	Delivered     int64      `json:"delivered"` // events acknowledged, all time
	LastSuccessAt *time.Time `json:"last_success_at"`
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	Attempts      int        `json:"attempts,omitempty"`   // failed attempts of the batch in flight
	LastError     string     `json:"last_error,omitempty"` // of the last failed attempt
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	PausedAt      *time.Time `json:"paused_at,omitempty"`
	PauseReason   string     `json:"pause_reason,omitempty"`
	Fix           string     `json:"fix,omitempty"` // what to do about a pause
}

// Status returns every configured endpoint's status, in configuration
// order.
func (d *Deliverer) Status(ctx context.Context) ([]Status, error) {
	out := make([]Status, 0, len(d.workers))
	for _, w := range d.workers {
		s, err := w.currentStatus(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// currentStatus is the endpoint's durable state with what the loop knows.
func (w *worker) currentStatus(ctx context.Context) (Status, error) {
	st, err := w.d.cfg.Feed.EndpointState(ctx, w.ep.Name)
	if err == store.ErrNotFound {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.status, nil // not opened yet
	}
	if err != nil {
		return Status{}, err
	}
	oldest, last, err := w.d.cfg.Feed.FeedBounds(ctx)
	if err != nil {
		return Status{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.merge(st, oldest, last)
	return w.status, nil
}

// observe takes in the endpoint's durable state, for the status and the
// metrics.
func (w *worker) observe(ctx context.Context, st store.Endpoint) {
	oldest, last, err := w.d.cfg.Feed.FeedBounds(ctx)
	if err != nil {
		oldest, last = st.Cursor+1, st.Cursor
	}
	w.mu.Lock()
	w.merge(st, oldest, last)
	s := w.status
	w.mu.Unlock()
	w.d.metrics.endpoint(s)
}

// merge takes in the durable state and the feed's bounds; w.mu held.
func (w *worker) merge(st store.Endpoint, oldest, last int64) {
	s := &w.status
	s.Cursor, s.Last, s.Behind = st.Cursor, last, max(0, last-st.Cursor)
	s.Delivered, s.LastSuccessAt, s.FailingSince = st.Delivered, st.LastSuccessAt, st.FailingSince
	s.PausedAt, s.PauseReason, s.Fix = st.PausedAt, st.PauseReason, ""
	if st.PausedAt != nil {
		s.State, s.NextAttemptAt = StatePaused, nil
		s.Fix = "Fix the endpoint, then resume it: shopsync outbound resume " + w.ep.Name +
			" (or POST /outbound/" + w.ep.Name + "/resume). It continues after event " +
			strconv.FormatInt(st.Cursor, 10) + ", where it stopped; changing its configuration and restarting resumes it too."
		if st.Cursor < oldest-1 { // events it had not received were pruned
			s.Fix = "Events it had not received are gone. Bring the CRM up to date with a full export " +
				"(shopsync contacts export, or the page's CSV download), which reports the change sequence it is " +
				"current to, then replay from there: shopsync outbound replay " + w.ep.Name + " --after <that sequence>."
		}
	} else if s.State == StatePaused || s.State == StateStarting {
		s.State = StateIdle
	}
	if st.FailingSince == nil && s.State != StateRetrying {
		s.Attempts, s.LastError, s.NextAttemptAt = 0, "", nil
	}
}

func (w *worker) setState(state string) {
	w.mu.Lock()
	w.status.State = state
	if state != StateRetrying {
		w.status.NextAttemptAt = nil
	}
	w.mu.Unlock()
}

func (w *worker) acknowledged(ok bool, n int) {
	w.mu.Lock()
	w.status.State, w.status.Attempts, w.status.LastError, w.status.NextAttemptAt = StateIdle, 0, "", nil
	w.mu.Unlock()
	if ok {
		w.d.metrics.delivered(w.ep.Name, n)
	}
}

func (w *worker) failed(attempt int, err error, next time.Time) {
	w.mu.Lock()
	w.status.State, w.status.Attempts, w.status.LastError = StateRetrying, attempt, err.Error()
	w.status.NextAttemptAt = &next
	w.mu.Unlock()
}
