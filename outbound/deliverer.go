package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// Feed is what the deliverer needs of the store: the change feed, and
// each endpoint's durable state.
type Feed interface {
	Changes(ctx context.Context, after int64, limit int) ([]shopsync.ChangeEvent, error)
	WaitChanges(ctx context.Context, after int64) error
	FeedBounds(ctx context.Context) (oldest, last int64, err error)
	OpenEndpoint(ctx context.Context, name, config string) (store.Endpoint, error)
	EndpointState(ctx context.Context, name string) (store.Endpoint, error)
	AckEndpoint(ctx context.Context, name string, gen, cursor, delivered int64) (bool, error)
	EndpointFailing(ctx context.Context, name string, gen int64, since time.Time) (bool, error)
	PauseEndpoint(ctx context.Context, name string, gen int64, reason string) (bool, error)
	ResumeEndpoint(ctx context.Context, name string) (store.Endpoint, error)
	ReplayEndpoint(ctx context.Context, name string, from int64) (store.Endpoint, error)
}

var _ Feed = (*store.DB)(nil)

// Config configures a Deliverer; zero durations and sizes take the
// defaults.
type Config struct {
	Feed      Feed       // required
	Endpoints []Endpoint // checked by New
	BatchSize int        // events a delivery at most; default 100
	// Timeout bounds an attempt, from connecting to the end of the
	// answer's headers and the bounded read of its body; default 10s.
	Timeout time.Duration
	// RetryMin and RetryMax bound the wait between attempts of a batch:
	// it doubles from RetryMin up to RetryMax, each wait drawn between half
	// and all of it (jitter). Defaults 1s and 5m.
	RetryMin, RetryMax time.Duration
	// PauseAfter is how long a batch may fail before the endpoint is
	// paused; default 24h.
	PauseAfter time.Duration
	// InSegment reports whether c, as of an event at at, is in the saved
	// segment called segment, for the endpoints with a segment; nil: no
	// contact is (only the segment's own events reach them).
	InSegment func(segment string, c *shopsync.Contact, at time.Time) bool
	Client    *http.Client // nil: one that follows no redirect
	Logger    *slog.Logger // required
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
	// Now is the clock of failures and pauses; nil: time.Now. Deliveries
	// are signed with the time of the system.
	Now       func() time.Time
	UserAgent string
}

// The defaults of Config.
const (
	DefaultBatchSize  = 100
	DefaultTimeout    = 10 * time.Second
	DefaultRetryMin   = time.Second
	DefaultRetryMax   = 5 * time.Minute
	DefaultPauseAfter = 24 * time.Hour
	MaxBatchSize      = 1000
)

// maxAnswer is how much of an answer's body is read (and dropped), so
// that the connection can be used again; the rest is not read.
const maxAnswer = 64 << 10

// statePoll is how often a waiting endpoint reads its state again, to see
// a resume or replay made by another process (`shopsync outbound`).
const statePoll = 2 * time.Second

// Deliverer delivers the change feed to the configured endpoints.
type Deliverer struct {
	cfg     Config
	client  *http.Client
	logger  *slog.Logger
	workers []*worker
	byName  map[string]*worker
	metrics *metrics
}

// worker delivers to one endpoint.
type worker struct {
	d    *Deliverer
	ep   Endpoint
	fp   string
	kick chan struct{} // a resume or replay in this process: look again now

	mu     gosync.Mutex
	status Status // what Status shows of what is in memory only
}

// New checks the configuration and returns the deliverer; nothing runs
// until Run.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Feed == nil || cfg.Logger == nil {
		return nil, errors.New("outbound: Feed and Logger are required")
	}
	cfg.BatchSize = defaultTo(cfg.BatchSize, DefaultBatchSize)
	cfg.Timeout = defaultTo(cfg.Timeout, DefaultTimeout)
	cfg.RetryMin = defaultTo(cfg.RetryMin, DefaultRetryMin)
	cfg.RetryMax = max(defaultTo(cfg.RetryMax, DefaultRetryMax), cfg.RetryMin)
	cfg.PauseAfter = defaultTo(cfg.PauseAfter, DefaultPauseAfter)
	if cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("outbound: batch size %d: at most %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "shopsync"
	}
	d := &Deliverer{cfg: cfg, client: cfg.Client, logger: cfg.Logger.With("component", "outbound"),
		byName: map[string]*worker{}}
	if d.client == nil {
		d.client = NewClient(cfg.Timeout)
	}
	for _, ep := range cfg.Endpoints {
		switch {
		case !ValidName(ep.Name):
			return nil, fmt.Errorf("outbound: endpoint name %q: want lower-case letters, digits, - and _", ep.Name)
		case d.byName[ep.Name] != nil:
			return nil, fmt.Errorf("outbound: two endpoints are called %s", ep.Name)
		case ep.Secret == "":
			return nil, fmt.Errorf("outbound: endpoint %s has no secret", ep.Name)
		}
		if err := CheckURL(ep.URL); err != nil {
			return nil, fmt.Errorf("outbound: endpoint %s url: %w", ep.Name, err)
		}
		w := &worker{d: d, ep: ep, fp: ep.fingerprint(), kick: make(chan struct{}, 1)}
		w.status = Status{Name: ep.Name, URL: ShowURL(ep.URL), State: StateStarting, Segment: ep.Segment,
			Events: eventNames(ep.Events)}
		d.workers = append(d.workers, w)
		d.byName[ep.Name] = w
	}
	d.metrics = newMetrics(cfg.Registerer, d)
	return d, nil
}

func defaultTo[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func eventNames(types []shopsync.EventType) []string {
	if len(types) == 0 {
		types = shopsync.EventTypes()
	}
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = t.String()
	}
	return out
}

// NewClient returns the HTTP client of deliveries: it follows no
// redirect (a 3xx is a failed attempt), and bounds each step by timeout.
func NewClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   min(timeout, 10*time.Second),
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run delivers to every endpoint until ctx ends. A delivery in flight
// then is cut short, unacknowledged: it is sent again after a restart.
func (d *Deliverer) Run(ctx context.Context) {
	var wg gosync.WaitGroup
	for _, w := range d.workers {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
}

// Endpoints returns the names of the configured endpoints.
func (d *Deliverer) Endpoints() []string {
	names := make([]string, len(d.workers))
	for i, w := range d.workers {
		names[i] = w.ep.Name
	}
	return names
}

// ErrUnknownEndpoint is a name no configured endpoint has.
var ErrUnknownEndpoint = errors.New("no such outbound endpoint")

// Resume makes a paused endpoint (or one waiting to retry) deliver again
// from its cursor, now.
func (d *Deliverer) Resume(ctx context.Context, name string) (Status, error) {
	w := d.byName[name]
	if w == nil {
		return Status{}, ErrUnknownEndpoint
	}
	if _, err := d.cfg.Feed.ResumeEndpoint(ctx, name); err != nil {
		return Status{}, err
	}
	w.poke()
	return w.currentStatus(ctx)
}

// Replay makes an endpoint deliver again from the event from on, and
// resumes it. A from older than the feed keeps is a
// *store.CursorExpiredError.
func (d *Deliverer) Replay(ctx context.Context, name string, from int64) (Status, error) {
	w := d.byName[name]
	if w == nil {
		return Status{}, ErrUnknownEndpoint
	}
	if _, err := d.cfg.Feed.ReplayEndpoint(ctx, name, from); err != nil {
		return Status{}, err
	}
	w.poke()
	return w.currentStatus(ctx)
}

func (w *worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run is the endpoint's loop: read the events after its cursor, deliver
// the ones it wants as one batch, move the cursor when acknowledged; wait
// when there are none; stop while paused.
func (w *worker) run(ctx context.Context) {
	feed, log := w.d.cfg.Feed, w.d.logger.With("endpoint", w.ep.Name)
	var st store.Endpoint
	for {
		var err error
		if st, err = feed.OpenEndpoint(ctx, w.ep.Name, w.fp); err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		log.Error("open outbound endpoint", slog.Any("error", err))
		if !w.sleep(ctx, w.d.cfg.RetryMin) {
			return
		}
	}
	for ctx.Err() == nil {
		w.observe(ctx, st)
		if st.PausedAt != nil {
			w.setState(StatePaused)
			w.wait(ctx, statePoll, nil)
		} else if err := w.step(ctx, st, log); err != nil && ctx.Err() == nil {
			log.Error("outbound delivery", slog.Any("error", err))
			w.wait(ctx, w.d.cfg.RetryMin, nil)
		}
		if ctx.Err() != nil {
			return
		}
		next, err := feed.EndpointState(ctx, w.ep.Name)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("read outbound endpoint", slog.Any("error", err))
				w.wait(ctx, w.d.cfg.RetryMin, nil)
			}
			continue
		}
		st = next
	}
}

// step delivers the next batch after st's cursor, or waits for one.
func (w *worker) step(ctx context.Context, st store.Endpoint, log *slog.Logger) error {
	feed := w.d.cfg.Feed
	events, err := feed.Changes(ctx, st.Cursor, w.d.cfg.BatchSize)
	var expired *store.CursorExpiredError
	if errors.As(err, &expired) {
		reason := fmt.Sprintf("events %d to %d, which it had not received, are older than outbound.retention and were pruned",
			expired.After+1, expired.Oldest-1)
		log.Warn("outbound endpoint paused: its cursor is older than the change feed keeps", "cursor", st.Cursor, "oldest", expired.Oldest)
		_, err := feed.PauseEndpoint(ctx, w.ep.Name, st.Generation, reason)
		return err
	}
	if err != nil {
		return err
	}
	if len(events) == 0 {
		w.setState(StateIdle)
		wctx, cancel := context.WithTimeout(ctx, statePoll)
		defer cancel()
		w.wait(wctx, statePoll, func(ctx context.Context) { feed.WaitChanges(ctx, st.Cursor) })
		return nil
	}
	last := events[len(events)-1].Seq
	batch := events[:0:0]
	for i := range events {
		if w.ep.wants(&events[i], w.d.cfg.InSegment) {
			batch = append(batch, events[i])
		}
	}
	if len(batch) == 0 { // none for this endpoint: move past them
		_, err := feed.AckEndpoint(ctx, w.ep.Name, st.Generation, last, 0)
		return err
	}
	return w.deliver(ctx, st, batch, last, log)
}

// deliver sends batch, the endpoint's events up to last, until it is
// acknowledged, the endpoint is paused, resumed or replayed meanwhile,
// or ctx ends.
func (w *worker) deliver(ctx context.Context, st store.Endpoint, batch []shopsync.ChangeEvent, last int64, log *slog.Logger) error {
	feed, cfg := w.d.cfg.Feed, &w.d.cfg
	id := fmt.Sprintf("%s-%d-%d-%d", w.ep.Name, st.Generation, batch[0].Seq, last)
	size := 64
	for i := range batch {
		size += len(batch[i].Contact) + 256
	}
	body := appendBody(make([]byte, 0, size), id, batch)
	failingSince := st.FailingSince
	for attempt := 1; ; attempt++ {
		w.setState(StateDelivering)
		start := time.Now()
		err := w.post(ctx, id, body)
		w.d.metrics.observe(w.ep.Name, err == nil, time.Since(start))
		if ctx.Err() != nil {
			return nil // cut short: not acknowledged, sent again after a restart
		}
		if err == nil {
			ok, aerr := feed.AckEndpoint(ctx, w.ep.Name, st.Generation, last, int64(len(batch)))
			if aerr != nil {
				return aerr
			}
			w.acknowledged(ok, len(batch))
			return nil
		}
		now := cfg.Now()
		if failingSince == nil {
			failingSince = &now
			if ok, err := feed.EndpointFailing(ctx, w.ep.Name, st.Generation, now); err != nil || !ok {
				return err // !ok: resumed or replayed meanwhile
			}
		}
		if now.Sub(*failingSince) >= cfg.PauseAfter {
			reason := fmt.Sprintf("no delivery was acknowledged for %s (since %s); the last attempt: %s",
				cfg.PauseAfter, failingSince.UTC().Format(time.RFC3339), err)
			log.Warn("outbound endpoint paused", "failing_since", *failingSince, "attempts", attempt, slog.Any("error", err))
			_, perr := feed.PauseEndpoint(ctx, w.ep.Name, st.Generation, reason)
			return perr
		}
		wait := backoff(cfg.RetryMin, cfg.RetryMax, attempt)
		w.failed(attempt, err, now.Add(wait))
		log.Info("outbound delivery failed; retrying", "attempt", attempt, "in", wait.Round(time.Millisecond), slog.Any("error", err))
		// Wait, looking at the state now and then: a resume or replay,
		// here or in another process, ends this batch's attempts.
		for remaining := wait; remaining > 0; remaining -= statePoll {
			if w.wait(ctx, min(remaining, statePoll), nil) {
				return nil
			}
			if ctx.Err() != nil {
				return nil
			}
			cur, err := feed.EndpointState(ctx, w.ep.Name)
			if err != nil {
				return err
			}
			if cur.Generation != st.Generation || cur.PausedAt != nil {
				return nil
			}
		}
	}
}

// backoff is the wait after the attempt-th failed attempt: doubling from
// min up to max, drawn between half and all of it.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for range attempt - 1 {
		if d >= hi/2 {
			d = hi
			break
		}
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// appendBody appends a delivery's body: {"delivery_id":…,"events":[…]}.
func appendBody(b []byte, id string, batch []shopsync.ChangeEvent) []byte {
	b = append(b, `{"delivery_id":"`...)
	b = append(b, id...) // a name of [a-z0-9_-] and numbers
	b = append(b, `","events":[`...)
	for i := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = batch[i].AppendJSON(b)
	}
	return append(b, "]}\n"...)
}

// post makes one attempt: a 2xx answer acknowledges the batch.
func (w *worker) post(ctx context.Context, id string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.ep.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("the URL cannot be requested")
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10) // the receiver's clock is the world's, not a test's
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.d.cfg.UserAgent)
	req.Header.Set(HeaderDeliveryID, id)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign([]byte(w.ep.Secret), ts, body))
	resp, err := w.d.client.Do(req)
	if err != nil {
		return describe(err, w.d.cfg.Timeout)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d: redirects are not followed; configure the URL it redirects to", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// describe says what went wrong with an attempt, without the URL (its
// query may hold a key) or anything the receiver sent.
func describe(err error, timeout time.Duration) error {
	var (
		dns  *net.DNSError
		op   *net.OpError
		cert *tls.CertificateVerificationError
		nerr net.Error
	)
	switch {
	case errors.As(err, &dns):
		return errors.New("the host name was not found")
	case errors.As(err, &cert):
		return errors.New("the TLS certificate was not accepted")
	case errors.As(err, &nerr) && nerr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %s", timeout)
	case errors.As(err, &op) && op.Op == "dial":
		return errors.New("connection refused or unreachable")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the connection was closed before an answer")
	}
	return errors.New("the request failed")
}

// wait waits for d, a kick (it returns true), or ctx's end; also, when
// also is set, for also(ctx) to return.
func (w *worker) wait(ctx context.Context, d time.Duration, also func(context.Context)) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan struct{})
	if also != nil {
		go func() { also(ctx); close(done) }()
	}
	select {
	case <-ctx.Done():
		return false
	case <-done:
		return false
	case <-w.kick:
		return true
	}
}

func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
