package shopifytest

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Automatic delivery. When Options.WebhookSecret is set, Upsert, Update
// and Delete queue signed deliveries to every subscription of each topic
// the change causes (see customerChanged); a small pool of workers sends
// them, never under the customer lock, retrying failures with a doubling
// backoff. Like Shopify (SHOPIFY.md §6), a subscription is deleted after
// maxFailures consecutive failed attempts, and a retry carries the
// original payload and webhook id.

const (
	// maxFailures is how many consecutive failed attempts delete a
	// subscription.
	maxFailures = 8
	// deliveryWorkers is how many deliveries are in flight at once.
	deliveryWorkers = 4
	// maxBackoff caps the wait between attempts.
	maxBackoff = time.Second
)

// WebhookCounts count delivery attempts.
type WebhookCounts struct {
	// Sent counts deliveries answered 2xx.
	Sent int64
	// Failed counts failed attempts: non-2xx, timeout, no connection.
	Failed int64
	// Retried counts attempts that were retries.
	Retried int64
	// Dropped counts deliveries given up: retries exhausted or the
	// subscription deleted.
	Dropped int64
}

func (c *WebhookCounts) add(o WebhookCounts) {
	c.Sent += o.Sent
	c.Failed += o.Failed
	c.Retried += o.Retried
	c.Dropped += o.Dropped
}

// WebhookStats is a snapshot of the automatic delivery counters.
type WebhookStats struct {
	// WebhookCounts are the totals.
	WebhookCounts
	// ByTopic splits them by topic.
	ByTopic map[string]WebhookCounts
	// SubscriptionsRemoved counts subscriptions deleted after 8
	// consecutive failed attempts.
	SubscriptionsRemoved int64
}

// job is one delivery to one subscription.
type job struct {
	sub     int64
	address string
	d       Delivery
	attempt int // attempts made
	due     time.Time
}

// jobHeap orders delayed jobs by due time.
type jobHeap []*job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	*h = old[:len(old)-1]
	return j
}

// webhookState is the server's subscriptions and delivery queue. Its
// zero value is ready; the goroutines start with the first delivery.
type webhookState struct {
	smu     sync.Mutex
	subs    []*Subscription // ascending ID
	nextID  int64
	removed int64

	dmu     sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	client  *http.Client
	owned   bool
	ready   []*job
	delayed jobHeap
	pending int           // jobs queued, delayed or in flight
	idle    chan struct{} // closed when pending drops to 0
	wake    chan struct{}
	work    chan *job
	stats   map[string]*WebhookCounts
}

// topics returns the set of topics with a subscription.
func (h *webhookState) topics() map[string]bool {
	h.smu.Lock()
	defer h.smu.Unlock()
	if len(h.subs) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, sub := range h.subs {
		m[sub.Topic] = true
	}
	return m
}

// start launches the dispatcher and workers. h.dmu is held.
func (s *Server) startDelivery() {
	h := &s.hooks
	h.started = true
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.client, h.owned = s.opts.WebhookClient, false
	if h.client == nil {
		h.client, h.owned = newWebhookClient(), true
	}
	h.wake = make(chan struct{}, 1)
	h.work = make(chan *job)
	h.wg.Go(func() { s.dispatch(ctx) })
	for range deliveryWorkers {
		h.wg.Go(func() {
			for {
				select {
				case j := <-h.work:
					s.attempt(ctx, j)
				case <-ctx.Done():
					return
				}
			}
		})
	}
}

// signal wakes the dispatcher. h.dmu is held.
func (h *webhookState) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// enqueue queues deliveries of one action to every subscription of their
// topics.
func (s *Server) enqueue(ds []Delivery) {
	h := &s.hooks
	type target struct {
		id      int64
		address string
		fields  []string
	}
	byTopic := map[string][]target{}
	h.smu.Lock()
	for _, sub := range h.subs {
		byTopic[sub.Topic] = append(byTopic[sub.Topic], target{sub.ID, sub.Address, sub.Fields})
	}
	h.smu.Unlock()
	var jobs []*job
	for _, d := range ds {
		for _, t := range byTopic[d.Topic] {
			d := d
			d.WebhookID = newUUID()
			if len(t.fields) > 0 {
				d.Body = keepKeys(d.Body, t.fields)
			}
			jobs = append(jobs, &job{sub: t.id, address: t.address, d: d})
		}
	}
	if len(jobs) == 0 {
		return
	}
	h.dmu.Lock()
	defer h.dmu.Unlock()
	if h.closed {
		return
	}
	if !h.started {
		s.startDelivery()
	}
	h.ready = append(h.ready, jobs...)
	h.pending += len(jobs)
	h.signal()
}

// keepKeys keeps only the listed top-level keys of a JSON object, their
// values byte for byte.
func keepKeys(body []byte, keys []string) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return body
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return body
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return body
		}
		if k, _ := t.(string); slices.Contains(keys, k) {
			if out.Len() > 1 {
				out.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			out.Write(kb)
			out.WriteByte(':')
			out.Write(v)
		}
	}
	out.WriteByte('}')
	return out.Bytes()
}

// dispatch hands ready jobs to the workers and moves delayed jobs to
// ready when due.
func (s *Server) dispatch(ctx context.Context) {
	h := &s.hooks
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		h.dmu.Lock()
		now := time.Now()
		for len(h.delayed) > 0 && !h.delayed[0].due.After(now) {
			h.ready = append(h.ready, heap.Pop(&h.delayed).(*job))
		}
		var next *job
		if len(h.ready) > 0 {
			next = h.ready[0]
		}
		wait := time.Hour
		if len(h.delayed) > 0 {
			wait = h.delayed[0].due.Sub(now)
		}
		h.dmu.Unlock()
		if next != nil {
			select {
			case h.work <- next:
				h.dmu.Lock()
				h.ready[0] = nil
				h.ready = h.ready[1:]
				h.dmu.Unlock()
			case <-ctx.Done():
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-h.wake:
		case <-timer.C:
		case <-ctx.Done():
			return
		}
	}
}

// attempt sends j once and settles its outcome.
func (s *Server) attempt(ctx context.Context, j *job) {
	h := &s.hooks
	if _, ok := s.subscription(j.sub); !ok {
		s.settle(j, WebhookCounts{Dropped: 1})
		return
	}
	var status int
	req, err := j.d.Request(ctx, j.address, s.opts.WebhookSecret)
	if err == nil {
		status, err = post(h.client, req)
	}
	if ctx.Err() != nil {
		return // closing: Close discards the queue
	}
	var c WebhookCounts
	if j.attempt > 0 {
		c.Retried = 1
	}
	j.attempt++
	if err == nil && status >= 200 && status < 300 {
		c.Sent = 1
		s.recordOutcome(j.sub, true)
		s.settle(j, c)
		return
	}
	c.Failed = 1
	deleted := s.recordOutcome(j.sub, false)
	if deleted || j.attempt > s.webhookRetries() {
		c.Dropped = 1
		s.settle(j, c)
		return
	}
	delay := min(s.webhookBackoff()<<(j.attempt-1), maxBackoff)
	j.due = time.Now().Add(delay)
	h.dmu.Lock()
	s.count(j.d.Topic, c)
	heap.Push(&h.delayed, j)
	h.signal()
	h.dmu.Unlock()
}

// recordOutcome updates a subscription's failure count and deletes it at
// maxFailures, reporting whether it did.
func (s *Server) recordOutcome(id int64, ok bool) bool {
	h := &s.hooks
	h.smu.Lock()
	defer h.smu.Unlock()
	i := slices.IndexFunc(h.subs, func(sub *Subscription) bool { return sub.ID == id })
	if i < 0 {
		return false
	}
	if ok {
		h.subs[i].Failures = 0
		return false
	}
	h.subs[i].Failures++
	if h.subs[i].Failures < maxFailures {
		return false
	}
	h.subs = slices.Delete(h.subs, i, i+1)
	h.removed++
	return true
}

// settle counts c and finishes j.
func (s *Server) settle(j *job, c WebhookCounts) {
	h := &s.hooks
	h.dmu.Lock()
	defer h.dmu.Unlock()
	s.count(j.d.Topic, c)
	h.pending--
	if h.pending == 0 && h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
}

// count adds c to topic's counters. h.dmu is held.
func (s *Server) count(topic string, c WebhookCounts) {
	h := &s.hooks
	if h.stats == nil {
		h.stats = map[string]*WebhookCounts{}
	}
	if h.stats[topic] == nil {
		h.stats[topic] = &WebhookCounts{}
	}
	h.stats[topic].add(c)
}

func (s *Server) webhookRetries() int {
	switch n := s.opts.WebhookRetries; {
	case n == 0:
		return 8
	case n < 0:
		return 0
	default:
		return n
	}
}

func (s *Server) webhookBackoff() time.Duration {
	if s.opts.WebhookBackoff > 0 {
		return s.opts.WebhookBackoff
	}
	return 10 * time.Millisecond
}

// WebhookStats returns a snapshot of the automatic delivery counters.
func (s *Server) WebhookStats() WebhookStats {
	h := &s.hooks
	st := WebhookStats{ByTopic: map[string]WebhookCounts{}}
	h.dmu.Lock()
	for topic, c := range h.stats {
		st.ByTopic[topic] = *c
		st.add(*c)
	}
	h.dmu.Unlock()
	h.smu.Lock()
	st.SubscriptionsRemoved = h.removed
	h.smu.Unlock()
	return st
}

// FlushWebhooks waits until every queued delivery is done: answered 2xx
// or given up, retries included. It returns ctx's error if ctx ends
// first, and nil at once after Close.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	h := &s.hooks
	for {
		h.dmu.Lock()
		if h.pending == 0 || h.closed {
			h.dmu.Unlock()
			return nil
		}
		if h.idle == nil {
			h.idle = make(chan struct{})
		}
		idle := h.idle
		h.dmu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closeDelivery stops the delivery goroutines, discarding what is queued.
func (s *Server) closeDelivery() {
	h := &s.hooks
	h.dmu.Lock()
	if h.closed {
		h.dmu.Unlock()
		return
	}
	h.closed = true
	started := h.started
	if started {
		h.cancel()
	}
	h.dmu.Unlock()
	if !started {
		return
	}
	h.wg.Wait()
	h.dmu.Lock()
	h.ready, h.delayed, h.pending = nil, nil, 0
	if h.idle != nil {
		close(h.idle)
		h.idle = nil
	}
	h.dmu.Unlock()
	if h.owned {
		h.client.CloseIdleConnections()
	}
}
