package server

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync/store"
)

// RejectionLog counts refused webhook deliveries by hour and reason and
// keeps the counts in the store, so that the page's warning survives a
// restart. Refused deliveries are unauthenticated: Add only bumps a
// counter in memory (a bounded map: reasons are the receiver's fixed
// set), and Run writes the counts every few seconds, one row per hour and
// reason at most.
type RejectionLog struct {
	db     *store.DB
	logger *slog.Logger
	now    func() time.Time

	mu      gosync.Mutex
	pending map[rejectionKey]*store.RejectionCount
	total   int64 // since start
}

type rejectionKey struct {
	hour   time.Time
	reason string
}

// maxPendingKeys bounds the counts waiting for a write, should the store
// be unwritable for long: past it, new hours and reasons are dropped (the
// metrics still count them).
const maxPendingKeys = 1024

// NewRejectionLog returns a log writing to db.
func NewRejectionLog(db *store.DB, logger *slog.Logger) *RejectionLog {
	return &RejectionLog{db: db, logger: logger.With("component", "rejections"), now: time.Now,
		pending: map[rejectionKey]*store.RejectionCount{}}
}

// Add counts one refused delivery. Safe for concurrent use; never blocks
// on the store.
func (l *RejectionLog) Add(reason string) {
	now := l.now().UTC()
	k := rejectionKey{now.Truncate(time.Hour), reason}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	c := l.pending[k]
	if c == nil {
		if len(l.pending) >= maxPendingKeys {
			return
		}
		c = &store.RejectionCount{Hour: k.hour, Reason: reason}
		l.pending[k] = c
	}
	c.Count++
	c.LastAt = now
}

// Total returns the deliveries refused since the log was made.
func (l *RejectionLog) Total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Flush writes the counts waiting. On failure they wait for the next.
func (l *RejectionLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	if len(l.pending) == 0 {
		l.mu.Unlock()
		return nil
	}
	batch := make([]store.RejectionCount, 0, len(l.pending))
	for _, c := range l.pending {
		batch = append(batch, *c)
	}
	clear(l.pending)
	l.mu.Unlock()
	if err := l.db.AddRejections(ctx, batch); err != nil {
		l.mu.Lock()
		for _, c := range batch { // put them back, merged with newer ones
			k := rejectionKey{c.Hour, c.Reason}
			if p := l.pending[k]; p != nil {
				p.Count += c.Count
			} else if len(l.pending) < maxPendingKeys {
				cc := c
				l.pending[k] = &cc
			}
		}
		l.mu.Unlock()
		return err
	}
	return nil
}

// Run writes the counts every interval until ctx ends, then once more.
func (l *RejectionLog) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := l.Flush(context.WithoutCancel(ctx)); err != nil {
				l.logger.Error("write refused webhook counts", slog.Any("error", err))
			}
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
				l.logger.Error("write refused webhook counts", slog.Any("error", err))
			}
		}
	}
}

// Counts returns the refused deliveries since since, by reason, the ones
// not yet written included.
func (l *RejectionLog) Counts(ctx context.Context, since time.Time) ([]store.RejectionCount, error) {
	stored, err := l.db.Rejections(ctx, since)
	if err != nil {
		return nil, err
	}
	from := since.UTC().Truncate(time.Hour)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range l.pending {
		if k.hour.Before(from) {
			continue
		}
		i := 0
		for i < len(stored) && stored[i].Reason != k.reason {
			i++
		}
		if i == len(stored) {
			stored = append(stored, store.RejectionCount{Reason: k.reason})
		}
		stored[i].Count += c.Count
		if c.LastAt.After(stored[i].LastAt) {
			stored[i].LastAt = c.LastAt
		}
	}
	slices.SortStableFunc(stored, func(a, b store.RejectionCount) int { return cmp.Compare(b.Count, a.Count) })
	return stored, nil
}
