// Package outboundtest is a CRM's receiver of shopsync's outbound
// deliveries, for tests and benchmarks: a real HTTP server on a loopback
// port that verifies each delivery as the README tells receivers to
// (signature, timestamp), records what it accepted, and can fail at
// random, answer slowly, or go down for a while.
package outboundtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync/outbound"
)

// Event is an event as the receiver got it: its number and its JSON.
type Event struct {
	Seq  int64
	JSON json.RawMessage
}

// Delivery is a delivery the receiver accepted (answered 2xx).
type Delivery struct {
	ID         string
	Events     []Event
	ReceivedAt time.Time
}

// Behavior decides how the receiver answers the n-th delivery it
// verified (from 1): the status to answer (0: 200) and how long to wait
// first. A delivery answered 2xx is recorded as accepted before the wait:
// a sender that gives up waiting sends it again, as at least once allows.
type Behavior func(n int, d *Delivery) (status int, delay time.Duration)

// Receiver receives deliveries.
type Receiver struct {
	Secret    string
	Tolerance time.Duration // of the timestamp; default 5 minutes

	mu         gosync.Mutex
	behavior   Behavior
	n          int
	accepted   []Delivery
	refused    int // failed verification: a test fails on any
	refusedWhy []string
	onAccept   func(Delivery)

	addr  string
	ln    net.Listener
	srv   *http.Server
	conns gosync.WaitGroup
}

// NewReceiver starts a receiver on a loopback port.
func NewReceiver(secret string, b Behavior) (*Receiver, error) {
	r := &Receiver{Secret: secret, behavior: b}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	return r, nil
}

// URL is where it receives.
func (r *Receiver) URL() string { return "http://" + r.addr + "/hooks/shopsync" }

func (r *Receiver) serve(ln net.Listener) {
	r.ln = ln
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	srv := r.srv
	r.conns.Go(func() { srv.Serve(ln) })
}

// SetBehavior changes how it answers from now on.
func (r *Receiver) SetBehavior(b Behavior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behavior = b
}

// OnAccept calls fn with every delivery accepted, as it is.
func (r *Receiver) OnAccept(fn func(Delivery)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onAccept = fn
}

// Down stops listening: connections are refused until Up.
func (r *Receiver) Down() {
	r.srv.Close()
	r.conns.Wait()
}

// Up listens again on the same address.
func (r *Receiver) Up() error {
	var ln net.Listener
	var err error
	for range 50 { // the port was just released
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close stops it.
func (r *Receiver) Close() { r.Down() }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	if err != nil {
		return
	}
	tol := r.Tolerance
	if tol == 0 {
		tol = 5 * time.Minute
	}
	if err := outbound.Verify([]byte(r.Secret), req.Header, body, time.Now(), tol); err != nil {
		r.refuse(w, err.Error())
		return
	}
	var payload struct {
		DeliveryID string            `json:"delivery_id"`
		Events     []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		r.refuse(w, "body: "+err.Error())
		return
	}
	if payload.DeliveryID != req.Header.Get(outbound.HeaderDeliveryID) {
		r.refuse(w, "the delivery id of the body is not the header's")
		return
	}
	d := Delivery{ID: payload.DeliveryID, ReceivedAt: time.Now()}
	for _, raw := range payload.Events {
		var ev struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil || ev.Seq <= 0 {
			r.refuse(w, "an event without its seq")
			return
		}
		d.Events = append(d.Events, Event{Seq: ev.Seq, JSON: raw})
	}
	r.mu.Lock()
	r.n++
	status, delay := 0, time.Duration(0)
	if r.behavior != nil {
		status, delay = r.behavior(r.n, &d)
	}
	var onAccept func(Delivery)
	if status == 0 || status/100 == 2 {
		r.accepted = append(r.accepted, d)
		onAccept = r.onAccept
	}
	r.mu.Unlock()
	if onAccept != nil {
		onAccept(d)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
		}
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
}

func (r *Receiver) refuse(w http.ResponseWriter, why string) {
	r.mu.Lock()
	r.refused++
	r.refusedWhy = append(r.refusedWhy, why)
	r.mu.Unlock()
	http.Error(w, why, http.StatusUnauthorized)
}

// Accepted returns the deliveries accepted, in the order they came.
func (r *Receiver) Accepted() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted)
}

// Refused returns why deliveries failed verification.
func (r *Receiver) Refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.refusedWhy)
}

// Events returns every event accepted, once each, by seq.
func (r *Receiver) Events() []Event {
	seen := map[int64]Event{}
	for _, d := range r.Accepted() {
		for _, ev := range d.Events {
			seen[ev.Seq] = ev
		}
	}
	out := make([]Event, 0, len(seen))
	for _, ev := range seen {
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b Event) int { return int(a.Seq - b.Seq) })
	return out
}

// LastSeq is the newest event accepted.
func (r *Receiver) LastSeq() int64 {
	var last int64
	for _, d := range r.Accepted() {
		for _, ev := range d.Events {
			last = max(last, ev.Seq)
		}
	}
	return last
}

// CheckOrder checks what an endpoint that receives every event must have
// sent: each delivery in ascending order, starting at or before the
// event after the newest accepted before it (no event ever arrives before
// one that precedes it), redeliveries the same as the first time. from is
// the first event expected.
func (r *Receiver) CheckOrder(from int64) error {
	var errs []error
	seen := map[int64]string{}
	next := from // the first event not yet accepted
	for _, d := range r.Accepted() {
		for i, ev := range d.Events {
			if i > 0 && ev.Seq <= d.Events[i-1].Seq {
				errs = append(errs, fmt.Errorf("delivery %s: event %d after %d", d.ID, ev.Seq, d.Events[i-1].Seq))
			}
			if ev.Seq > next {
				errs = append(errs, fmt.Errorf("delivery %s: event %d before %d", d.ID, ev.Seq, next))
			}
			// The same event again reads the same, unless its contact was
			// erased (customers/redact) in between.
			if was, ok := seen[ev.Seq]; ok && was != string(ev.JSON) && !bytes.Contains(ev.JSON, []byte(`"erased":true`)) {
				errs = append(errs, fmt.Errorf("event %d delivered again as\n%s\nwas\n%s", ev.Seq, ev.JSON, was))
			}
			seen[ev.Seq] = string(ev.JSON)
			next = max(next, ev.Seq+1)
		}
		if len(errs) > 10 {
			break
		}
	}
	return errors.Join(errs...)
}
