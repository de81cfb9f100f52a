package webhook

import (
	"context"
	"errors"
	gosync "sync"

	"github.com/shopsync/shopsync"
)

// Applier applies changes durably: store.DB.ApplyChanges.
type Applier interface {
	ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error)
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("webhook committer closed")

// maxBatch bounds one group commit.
const maxBatch = 256

type job struct {
	change shopsync.Change
	done   chan result
}

type result struct {
	res shopsync.Result
	err error
}

// Committer applies changes with group commit: one goroutine takes every
// change waiting, applies them in one transaction, and answers each once
// it is committed. While one commit's fsync runs, the next batch gathers,
// so concurrent deliveries cost about one fsync per batch rather than one
// each, and none is answered before its commit.
type Committer struct {
	applier Applier
	jobs    chan job

	mu     gosync.RWMutex // guards closed against sends on jobs
	closed bool
	done   chan struct{}
}

// NewCommitter starts a committer. Close it to stop it.
func NewCommitter(a Applier) *Committer {
	c := &Committer{applier: a, jobs: make(chan job, maxBatch), done: make(chan struct{})}
	go c.loop()
	return c
}

// Submit applies ch and returns its result once committed. A change that
// failed alone comes back with Result.Err set. err means the batch's
// commit failed (nothing of it was stored) or, after a redaction, that
// the WAL could not be truncated yet (the batch was stored): either way
// the delivery must not be acknowledged, and Shopify's redelivery is
// harmless (a duplicate, or the redaction's checkpoint retried).
func (c *Committer) Submit(ctx context.Context, ch shopsync.Change) (shopsync.Result, error) {
	j := job{change: ch, done: make(chan result, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return shopsync.Result{}, ErrClosed
	}
	select {
	case c.jobs <- j:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return shopsync.Result{}, ctx.Err()
	}
	// Once queued, the change will be applied: wait for it even if ctx
	// ends, so that the caller never answers before knowing.
	r := <-j.done
	return r.res, r.err
}

// Close stops taking changes, applies those already submitted, and
// returns when the last is committed.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.jobs)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *Committer) loop() {
	defer close(c.done)
	batch := make([]job, 0, maxBatch)
	changes := make([]shopsync.Change, 0, maxBatch)
	for {
		j, ok := <-c.jobs
		if !ok {
			return
		}
		batch = append(batch[:0], j)
	gather:
		for len(batch) < maxBatch {
			select {
			case j, ok := <-c.jobs:
				if !ok {
					break gather
				}
				batch = append(batch, j)
			default:
				break gather
			}
		}
		changes = changes[:0]
		for _, j := range batch {
			changes = append(changes, j.change)
		}
		// The daemon's shutdown waits for this commit, so it must not be
		// cut short by a request's context.
		results, err := c.applier.ApplyChanges(context.Background(), changes)
		for i, j := range batch {
			if err != nil {
				j.done <- result{err: err}
				continue
			}
			j.done <- result{res: results[i]}
		}
		clear(batch)
		clear(changes)
	}
}
