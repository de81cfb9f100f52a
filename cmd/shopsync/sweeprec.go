package main

import (
	"context"
	gosync "sync"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

// sweepRecorder is the store as the sweeper sees it, remembering which
// contacts each sweep created or updated: the status page lists them as
// the changes webhooks missed. The sweeper applies a page
// (ApplyChanges), then adds its counts (AddRunCounts); the contacts the
// page changed are written with the counts, in one transaction.
//
// It wraps the store here, in the wiring, rather than changing the
// sweeper: a hook in sync.Sweeper would do the same with less
// indirection.
type sweepRecorder struct {
	*store.DB

	mu      gosync.Mutex
	changed []store.RunContact // of the page applied last
}

var _ ssync.ChangeStore = (*sweepRecorder)(nil)

func (r *sweepRecorder) ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error) {
	res, err := r.DB.ApplyChanges(ctx, changes)
	if err != nil {
		return res, err
	}
	var changed []store.RunContact
	for i, x := range res {
		if x.Err == nil && (x.Created || x.Outcome == shopsync.OutcomeApplied) && len(changed) < store.MaxRunContacts {
			changed = append(changed, store.RunContact{ShopifyID: changes[i].ShopifyID, Created: x.Created})
		}
	}
	r.mu.Lock()
	r.changed = changed
	r.mu.Unlock()
	return res, nil
}

func (r *sweepRecorder) AddRunCounts(ctx context.Context, runID, fetched int64, c shopsync.PageCounts) error {
	r.mu.Lock()
	changed := r.changed
	r.changed = nil
	r.mu.Unlock()
	return r.DB.AddSweepCounts(ctx, runID, fetched, c, changed)
}
