package sync

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// Refetcher fetches in full the contacts queued because a payload lacked
// parts of them (a 2025-01 customers/create has no tags, consent or order
// stats). It waits a little after being poked so that a burst coalesces,
// then fetches up to 250 customers a request (customers.json?ids=) through
// the same paced client: 1,000 webhooks cost a handful of calls. The queue
// is in the store, so nothing queued is lost to a restart.
type Refetcher struct {
	store  ChangeStore
	source Fetcher
	mapper *mapping.Mapper
	delay  time.Duration
	logger *slog.Logger
	poke   chan struct{}
}

// NewRefetcher returns a Refetcher that waits delay after a poke.
func NewRefetcher(st ChangeStore, src Fetcher, m *mapping.Mapper, delay time.Duration, logger *slog.Logger) *Refetcher {
	return &Refetcher{store: st, source: src, mapper: m, delay: delay,
		logger: logger.With("component", "refetcher"), poke: make(chan struct{}, 1)}
}

// Poke tells the refetcher that the queue has work. It never blocks.
func (rf *Refetcher) Poke() {
	select {
	case rf.poke <- struct{}{}:
	default:
	}
}

// Run works the queue until ctx ends: at start (entries left by a previous
// process), after each poke, and every interval as a safety net.
func (rf *Refetcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	rf.Poke()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rf.poke:
		case <-t.C:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rf.delay):
		}
		if n, err := rf.Drain(ctx); err != nil && ctx.Err() == nil {
			rf.logger.Error("re-fetch failed; will retry", "error", err, "fetched", n)
		}
	}
}

// Drain fetches and applies queued contacts until the queue is empty and
// returns how many it fetched.
func (rf *Refetcher) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		ids, taken, err := rf.store.RefetchBatch(ctx, PageSize)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		page, err := rf.source.CustomersByID(ctx, ids)
		if err != nil {
			return total, err
		}
		if _, err := applyCustomers(ctx, rf.store, rf.mapper, page.Customers, page.Date, shopsync.SourceRefetch); err != nil {
			return total, err
		}
		// Ids Shopify did not return are customers it did not have as of
		// the answer: deleted (a customers/delete, or a merge, is
		// confirmed so before it takes effect).
		if err := confirmDeleted(ctx, rf.store, ids, page, shopsync.SourceRefetch); err != nil {
			return total, err
		}
		if err := rf.store.DequeueRefetch(ctx, ids, taken); err != nil {
			return total, err
		}
		total += len(page.Customers)
		rf.logger.Debug("re-fetched contacts", "asked", len(ids), "got", len(page.Customers))
	}
}

// confirmDeleted marks deleted, as of the page's Date, the ids asked for
// that the page does not hold.
func confirmDeleted(ctx context.Context, st ChangeStore, ids []int64, page *shopify.Page, source string) error {
	got := make(map[int64]bool, len(page.Customers))
	for i := range page.Customers {
		got[page.Customers[i].ID] = true
	}
	var changes []shopsync.Change
	for _, id := range ids {
		if !got[id] {
			changes = append(changes, shopsync.Change{Kind: shopsync.ChangeDelete, ShopifyID: id, Seen: page.Date, Read: true, Source: source})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	results, err := st.ApplyChanges(ctx, changes)
	if err != nil {
		return err
	}
	for i, r := range results {
		if r.Err != nil {
			return fmt.Errorf("customer %d: %w", changes[i].ShopifyID, r.Err)
		}
	}
	return nil
}
