package outbound_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/outbound/outboundtest"
	"github.com/shopsync/shopsync/store"
)

const secret = "whsec_0123456789abcdef0123456789abcdef"

// person is a full customer as an import maps it.
func person(id int64, email string, orders int64) shopsync.Contact {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Second)
	c := shopsync.Contact{ShopifyID: id, Email: &email, Tags: []string{"vip"}, ShopifyCreatedAt: &t, ShopifyUpdatedAt: &t,
		Fields: shopsync.AllFields, Parts: shopsync.AllParts, Full: shopsync.AllParts,
		Attributes: shopsync.Attributes{shopsync.IntAttr("orders_count", &orders)}}
	c.Attributes[0].Part = shopsync.PartPurchasing
	for p := range c.Clocks {
		c.Clocks[p] = shopsync.Clock{Time: t, Kind: shopsync.ClockUpdatedAt}
	}
	return c
}

// changeContacts writes contacts ids [from, from+n) with orders, one event
// each, as reads from the Admin API seen at seen.
func changeContacts(t *testing.T, db *store.DB, from, n int, orders int64, seen time.Time) {
	t.Helper()
	var changes []shopsync.Change
	for id := from; id < from+n; id++ {
		c := person(int64(id), fmt.Sprintf("c%d@example.com", id), orders)
		changes = append(changes, shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: c.ShopifyID, Contact: &c,
			Seen: seen, Read: true, Source: shopsync.SourceReconcile})
	}
	res, err := db.ApplyChanges(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.Outcome != shopsync.OutcomeApplied {
			t.Fatalf("change: %+v", r)
		}
	}
}

// feedLines is the store's feed after after, as JSON lines by seq.
func feedLines(t *testing.T, db *store.DB, after int64) map[int64]string {
	t.Helper()
	events, err := db.Changes(context.Background(), after, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, ev := range events {
		out[ev.Seq] = string(ev.AppendJSON(nil))
	}
	return out
}

// running is a deliverer running until the test ends, or stop.
type running struct {
	d      *outbound.Deliverer
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *running) stop() {
	r.cancel()
	<-r.done
}

func start(t *testing.T, cfg outbound.Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = time.Millisecond, 20*time.Millisecond
	}
	d, err := outbound.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, cancel: cancel, done: make(chan struct{})}
	go func() { d.Run(ctx); close(r.done) }()
	t.Cleanup(r.stop)
	// Opened: it starts at the end of the feed as it was then.
	for _, name := range d.Endpoints() {
		waitFor(t, "endpoint "+name+" opened", func() string {
			if _, err := cfg.Feed.EndpointState(context.Background(), name); err != nil {
				return err.Error()
			}
			return ""
		})
	}
	return r
}

// waitFor retries check until it returns "" or 20 s pass.
func waitFor(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func receiver(t *testing.T, b outboundtest.Behavior) *outboundtest.Receiver {
	t.Helper()
	r, err := outboundtest.NewReceiver(secret, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		if refused := r.Refused(); len(refused) > 0 {
			t.Errorf("the receiver refused deliveries: %v", refused)
		}
	})
	return r
}

// received waits until the receiver has every event up to last.
func received(t *testing.T, r *outboundtest.Receiver, last int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("events up to %d received", last), func() string {
		if got := r.LastSeq(); got < last {
			return fmt.Sprintf("up to %d", got)
		}
		return ""
	})
}

// sameAsFeed checks that the receiver has exactly the feed's events
// after after, once deduplicated, each as the feed reads it.
func sameAsFeed(t *testing.T, db *store.DB, r *outboundtest.Receiver, after int64) {
	t.Helper()
	want := feedLines(t, db, after)
	got := r.Events()
	if len(got) != len(want) {
		t.Errorf("received %d events, the feed has %d", len(got), len(want))
	}
	for _, ev := range got {
		if string(ev.JSON) != want[ev.Seq] {
			t.Errorf("event %d received as\n%s\nthe feed has\n%s", ev.Seq, ev.JSON, want[ev.Seq])
		}
	}
	if err := r.CheckOrder(after + 1); err != nil {
		t.Error(err)
	}
}

func status(t *testing.T, d *outbound.Deliverer) outbound.Status {
	t.Helper()
	st, err := d.Status(context.Background())
	if err != nil || len(st) != 1 {
		t.Fatalf("status %v %v", st, err)
	}
	return st[0]
}

// TestDeliversInOrder: events go in batches, in order, signed, each as
// the feed reads it; the cursor follows the acknowledgements; new events
// wake the endpoint.
func TestDeliversInOrder(t *testing.T) {
	db := testutil.MustOpenDB(t)
	changeContacts(t, db, 1, 5, 0, time.Now()) // before the endpoint: not for it
	r := receiver(t, nil)
	reg := prometheus.NewRegistry()
	run := start(t, outbound.Config{Feed: db, BatchSize: 100, Registerer: reg,
		Endpoints: []outbound.Endpoint{{Name: "crm", URL: r.URL(), Secret: secret}}})
	changeContacts(t, db, 10, 250, 1, time.Now())
	received(t, r, 255)
	sameAsFeed(t, db, r, 5)
	var ids []string
	for _, d := range r.Accepted() {
		ids = append(ids, fmt.Sprintf("%s:%d", d.ID, len(d.Events)))
	}
	if got := strings.Join(ids, " "); got != "crm-0-6-105:100 crm-0-106-205:100 crm-0-206-255:50" {
		t.Errorf("deliveries %s", got)
	}
	changeContacts(t, db, 10, 3, 2, time.Now().Add(time.Second))
	received(t, r, 258)
	sameAsFeed(t, db, r, 5)
	waitFor(t, "idle at 258", func() string {
		if s := status(t, run.d); s.State != outbound.StateIdle || s.Cursor != 258 || s.Delivered != 253 || s.Behind != 0 {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	if got := metric(t, reg, "shopsync_outbound_events_total", "crm"); got != 253 {
		t.Errorf("events metric %v, want 253", got)
	}
}

// metric is the value of the series of name whose labels include value.
func metric(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == value {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, value)
	return 0
}

// TestRetriesUntilAcknowledged: a 500, a 503, an answer slower than the
// timeout and a redirect are failed attempts; the batch goes again,
// the same batch with the same id, until a 2xx; nothing is skipped, and
// a redirect is never followed.
func TestRetriesUntilAcknowledged(t *testing.T) {
	db := testutil.MustOpenDB(t)
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	r := receiver(t, func(n int, _ *outboundtest.Delivery) (int, time.Duration) {
		switch n {
		case 1:
			return http.StatusInternalServerError, 0
		case 2:
			return http.StatusServiceUnavailable, 0
		case 3:
			return 0, 400 * time.Millisecond // accepted, but after the sender stopped waiting
		case 4:
			return http.StatusFound, 0
		}
		return 0, 0
	})
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(redirectTo{w, other.URL}, req)
	}))
	defer redirecting.Close()
	run := start(t, outbound.Config{Feed: db, BatchSize: 10, Timeout: 100 * time.Millisecond,
		Endpoints: []outbound.Endpoint{{Name: "crm", URL: redirecting.URL, Secret: secret}}})
	changeContacts(t, db, 1, 25, 0, time.Now())
	received(t, r, 25)
	sameAsFeed(t, db, r, 0)
	acc := r.Accepted()
	// Accepted: the slow answer and the fifth attempt; the 500, 503 and
	// 302 were refusals.
	if acc[0].ID != "crm-0-1-10" || acc[1].ID != "crm-0-1-10" || acc[2].ID != "crm-0-11-20" {
		t.Errorf("deliveries %s %s %s: want the first batch accepted twice (too slowly, then in time)", acc[0].ID, acc[1].ID, acc[2].ID)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
	waitFor(t, "idle", func() string {
		if s := status(t, run.d); s.State != outbound.StateIdle || s.Cursor != 25 || s.Attempts != 0 || s.LastError != "" {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
}

// redirectTo turns the receiver's 302 into a redirect to url.
type redirectTo struct {
	http.ResponseWriter
	url string
}

func (w redirectTo) WriteHeader(status int) {
	if status == http.StatusFound {
		w.Header().Set("Location", w.url)
	}
	w.ResponseWriter.WriteHeader(status)
}

// fakeClock moves by step each time it is read.
type fakeClock struct {
	mu   gosync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// TestPausesAndResumes: an endpoint failing for PauseAfter is paused,
// with why and the fix, in the status and the metrics; once fixed, a
// resume (here, or in another process through the store) delivers from
// its cursor.
func TestPausesAndResumes(t *testing.T) {
	db := testutil.MustOpenDB(t)
	down := func(int, *outboundtest.Delivery) (int, time.Duration) { return http.StatusBadGateway, 0 }
	r := receiver(t, down)
	reg := prometheus.NewRegistry()
	clock := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), step: 20 * time.Minute}
	run := start(t, outbound.Config{Feed: db, PauseAfter: time.Hour, Now: clock.now, Registerer: reg,
		Endpoints: []outbound.Endpoint{{Name: "crm", URL: r.URL(), Secret: secret}}})
	changeContacts(t, db, 1, 5, 0, time.Now())
	var s outbound.Status
	waitFor(t, "paused", func() string {
		if s = status(t, run.d); s.State != outbound.StatePaused {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	if !strings.Contains(s.PauseReason, "no delivery was acknowledged for 1h0m0s") || !strings.Contains(s.PauseReason, "HTTP 502") ||
		!strings.Contains(s.Fix, "shopsync outbound resume crm") || s.Cursor != 0 || s.Behind != 5 {
		t.Errorf("paused status: %+v", s)
	}
	waitFor(t, "paused metric", func() string {
		if v := metric(t, reg, "shopsync_outbound_paused", "crm"); v != 1 {
			return fmt.Sprint(v)
		}
		return ""
	})
	if len(r.Accepted()) != 0 {
		t.Fatal("accepted while down")
	}

	r.SetBehavior(nil) // fixed
	if _, err := run.d.Resume(context.Background(), "crm"); err != nil {
		t.Fatal(err)
	}
	received(t, r, 5)
	sameAsFeed(t, db, r, 0)
	waitFor(t, "paused metric back to 0", func() string {
		if v := metric(t, reg, "shopsync_outbound_paused", "crm"); v != 0 {
			return fmt.Sprint(v)
		}
		return ""
	})

	// Paused again; resumed from another process: the loop sees it in
	// the store.
	r.SetBehavior(down)
	changeContacts(t, db, 1, 5, 1, time.Now().Add(time.Second))
	waitFor(t, "paused again", func() string {
		if s = status(t, run.d); s.State != outbound.StatePaused {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	r.SetBehavior(nil)
	if _, err := db.ResumeEndpoint(context.Background(), "crm"); err != nil {
		t.Fatal(err)
	}
	received(t, r, 10)
	sameAsFeed(t, db, r, 0)
}

// TestReplay: a replay delivers again from any event kept, as a new
// generation of deliveries; one from a pruned event is refused.
func TestReplay(t *testing.T) {
	db := testutil.MustOpenDB(t)
	r := receiver(t, nil)
	run := start(t, outbound.Config{Feed: db, BatchSize: 8,
		Endpoints: []outbound.Endpoint{{Name: "crm", URL: r.URL(), Secret: secret}}})
	changeContacts(t, db, 1, 20, 0, time.Now())
	received(t, r, 20)
	first := len(r.Accepted())
	if _, err := run.d.Replay(context.Background(), "crm", 5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replayed", func() string {
		acc := r.Accepted()
		if len(acc) < first+2 || acc[len(acc)-1].Events[len(acc[len(acc)-1].Events)-1].Seq != 20 {
			return fmt.Sprintf("%d deliveries", len(acc))
		}
		return ""
	})
	acc := r.Accepted()[first:]
	if acc[0].ID != "crm-1-5-12" || acc[0].Events[0].Seq != 5 {
		t.Errorf("the replay's first delivery %s from %d, want crm-1-5-12", acc[0].ID, acc[0].Events[0].Seq)
	}
	sameAsFeed(t, db, r, 0)
	if _, err := db.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var expired *store.CursorExpiredError
	if _, err := run.d.Replay(context.Background(), "crm", 3); !errors.As(err, &expired) {
		t.Errorf("replay of pruned events: %v", err)
	}
	if _, err := run.d.Replay(context.Background(), "nope", 3); !errors.Is(err, outbound.ErrUnknownEndpoint) {
		t.Errorf("replay of an unknown endpoint: %v", err)
	}
}

// TestFilters: an endpoint receives the event types it asked for, and
// with a segment only that segment's; its cursor moves past the others.
func TestFilters(t *testing.T) {
	db := testutil.MustOpenDB(t)
	deletes, vips := receiver(t, nil), receiver(t, nil)
	cfg := outbound.Config{Feed: db,
		InSegment: func(segment string, c *shopsync.Contact, _ time.Time) bool {
			a, _ := c.Attributes.Get("orders_count")
			return segment == "big spenders" && a.Value == int64(7)
		},
		Endpoints: []outbound.Endpoint{
			{Name: "deletes", URL: deletes.URL(), Secret: secret, Events: []shopsync.EventType{shopsync.EventDeleted}},
			{Name: "vips", URL: vips.URL(), Secret: secret, Segment: "big spenders"},
		}}
	start(t, cfg).stop() // opened at the start of the feed; the events come while it is stopped
	changeContacts(t, db, 1, 4, 0, time.Now())
	changeContacts(t, db, 3, 1, 7, time.Now().Add(time.Second))
	if _, err := db.ApplyChanges(context.Background(), []shopsync.Change{
		{Kind: shopsync.ChangeDelete, ShopifyID: 2, Seen: time.Now().Add(2 * time.Second), Read: true, Source: shopsync.SourceRefetch},
		{Kind: shopsync.ChangeRedactCustomer, ShopifyID: 4, Source: "customers/redact"},
	}); err != nil {
		t.Fatal(err)
	}
	run := start(t, cfg)
	received(t, deletes, 6)
	received(t, vips, 7)
	summary := func(r *outboundtest.Receiver) string {
		var out []string
		for _, ev := range r.Events() {
			var e struct {
				Type      string `json:"type"`
				ContactID int64  `json:"contact_id"`
			}
			if err := jsonUnmarshal(ev.JSON, &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d %s %d", ev.Seq, e.Type, e.ContactID))
		}
		return strings.Join(out, "; ")
	}
	if got := summary(deletes); got != "6 contact.deleted 2" {
		t.Errorf("deletes got %s", got)
	}
	// 4's created event was erased by the redaction: it goes everywhere.
	if got := summary(vips); got != "4 contact.created 4; 5 contact.updated 3; 7 contact.redacted 4" {
		t.Errorf("vips got %s", got)
	}
	waitFor(t, "cursors past everything", func() string {
		st, err := run.d.Status(context.Background())
		if err != nil {
			return err.Error()
		}
		for _, s := range st {
			if s.Cursor != 7 {
				return fmt.Sprintf("%s at %d", s.Name, s.Cursor)
			}
		}
		return ""
	})
}

// TestStoppedMidDeliveryLosesNothing: a deliverer stopped while a
// delivery is in flight (as a kill would) has not moved its cursor; the
// next one sends that batch again, and the rest, in order.
func TestStoppedMidDeliveryLosesNothing(t *testing.T) {
	db := testutil.MustOpenDB(t)
	inFlight := make(chan struct{})
	var once gosync.Once
	r := receiver(t, func(n int, _ *outboundtest.Delivery) (int, time.Duration) {
		if n == 2 {
			once.Do(func() { close(inFlight) })
			return 0, 5 * time.Second // accepted; the answer never comes back in time
		}
		return 0, 0
	})
	cfg := outbound.Config{Feed: db, BatchSize: 10, Timeout: 10 * time.Second,
		Endpoints: []outbound.Endpoint{{Name: "crm", URL: r.URL(), Secret: secret}}}
	first := start(t, cfg)
	changeContacts(t, db, 1, 30, 0, time.Now())
	<-inFlight
	first.stop()
	if s, _ := db.EndpointState(context.Background(), "crm"); s.Cursor != 10 {
		t.Fatalf("cursor %d after the stop, want 10: the batch in flight was not acknowledged", s.Cursor)
	}
	r.SetBehavior(nil)
	start(t, cfg)
	received(t, r, 30)
	sameAsFeed(t, db, r, 0)
	acc := r.Accepted()
	if acc[1].ID != "crm-0-11-20" || acc[2].ID != "crm-0-11-20" {
		t.Errorf("deliveries %s then %s: want the batch in flight sent again", acc[1].ID, acc[2].ID)
	}
}

// TestPrunedCursorPauses: an endpoint whose next events were pruned is
// paused, with the fix: a full export, then a replay.
func TestPrunedCursorPauses(t *testing.T) {
	db := testutil.MustOpenDB(t)
	r := receiver(t, nil)
	cfg := outbound.Config{Feed: db, Endpoints: []outbound.Endpoint{{Name: "crm", URL: r.URL(), Secret: secret}}}
	start(t, cfg).stop()
	changeContacts(t, db, 1, 5, 0, time.Now())
	if _, err := db.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	run := start(t, cfg)
	waitFor(t, "paused", func() string {
		if s := status(t, run.d); s.State != outbound.StatePaused || !strings.Contains(s.Fix, "full export") ||
			!strings.Contains(s.PauseReason, "events 1 to 5") {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	if _, err := run.d.Replay(context.Background(), "crm", 6); err != nil {
		t.Fatal(err)
	}
	changeContacts(t, db, 1, 2, 1, time.Now().Add(time.Second))
	received(t, r, 7)
	sameAsFeed(t, db, r, 5)
}

// TestLargeAnswerIsNotRead: a receiver answering with a huge body is
// acknowledged without its body being read whole.
func TestLargeAnswerIsNotRead(t *testing.T) {
	db := testutil.MustOpenDB(t)
	var sent atomic.Int64
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 1 << 12 { // 256 MiB, unless the client stops reading
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	run := start(t, outbound.Config{Feed: db, Endpoints: []outbound.Endpoint{{Name: "crm", URL: huge.URL, Secret: secret}}})
	changeContacts(t, db, 1, 3, 0, time.Now())
	waitFor(t, "acknowledged", func() string {
		if s := status(t, run.d); s.Cursor != 3 {
			return fmt.Sprintf("%+v", s)
		}
		return ""
	})
	if n := sent.Load(); n > 64<<20 {
		t.Errorf("the server could write %d bytes: the answer was read whole", n)
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	db := testutil.MustOpenDB(t)
	for _, tt := range []struct {
		ep   outbound.Endpoint
		want string
	}{
		{outbound.Endpoint{Name: "Bad Name", URL: "https://x.example.com", Secret: secret}, "name"},
		{outbound.Endpoint{Name: "a", URL: "http://crm.example.com/hook", Secret: secret}, "loopback"},
		{outbound.Endpoint{Name: "a", URL: "https://user:pw@crm.example.com/hook", Secret: secret}, "password"},
		{outbound.Endpoint{Name: "a", URL: "ftp://crm.example.com/hook", Secret: secret}, "https"},
		{outbound.Endpoint{Name: "a", URL: "https://crm.example.com/hook"}, "secret"},
	} {
		_, err := outbound.New(outbound.Config{Feed: db, Logger: slog.New(slog.DiscardHandler), Endpoints: []outbound.Endpoint{tt.ep}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want an error about %s", tt.ep, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error holds the secret: %v", err)
		}
	}
	if err := outbound.CheckURL("http://[::1]:8080/hook"); err != nil {
		t.Errorf("http to ::1: %v", err)
	}
	if got := outbound.ShowURL("https://crm.example.com/hooks/x?key=abc"); got != "https://crm.example.com/hooks/x?…" {
		t.Errorf("shown %s", got)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
