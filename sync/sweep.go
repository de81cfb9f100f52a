package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// Fetcher is what sweeps and re-fetches need of Shopify.
type Fetcher interface {
	ListCustomersUpdatedSince(ctx context.Context, since time.Time, limit int) (*shopify.Page, error)
	NextPage(ctx context.Context, p *shopify.Page) (*shopify.Page, error)
	CustomersByID(ctx context.Context, ids []int64) (*shopify.Page, error)
}

// ChangeStore is what sweeps and re-fetches need of the store.
type ChangeStore interface {
	LockSync() (release func(), err error)
	ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error)
	HighWaterMark(ctx context.Context) (time.Time, bool, error)
	BeginSweep(ctx context.Context) (*shopsync.SyncRun, error)
	AddRunCounts(ctx context.Context, runID, fetched int64, c shopsync.PageCounts) error
	FinishSweep(ctx context.Context, runID int64) error
	FailRun(ctx context.Context, runID int64, reason string) error
	RefetchBatch(ctx context.Context, limit int) ([]int64, time.Time, error)
	DequeueRefetch(ctx context.Context, ids []int64, taken time.Time) error
}

var _ Fetcher = (*shopify.Client)(nil)

// Sweeper runs reconciliation sweeps: it fetches the customers Shopify
// changed since the newest updated_at stored, minus an overlap, and merges
// them through the same gates as webhooks. It catches what webhooks missed
// (Shopify drops deliveries after its retries, and says never to rely on
// webhooks alone). The mark comes from the data, never the local clock,
// so clock skew cannot open a gap. The cost is proportional to the
// changes, not the store.
type Sweeper struct {
	store   ChangeStore
	source  Fetcher
	mapper  *mapping.Mapper
	overlap time.Duration
	logger  *slog.Logger
}

// NewSweeper returns a Sweeper looking back overlap before the mark.
func NewSweeper(st ChangeStore, src Fetcher, m *mapping.Mapper, overlap time.Duration, logger *slog.Logger) *Sweeper {
	return &Sweeper{store: st, source: src, mapper: m, overlap: overlap, logger: logger.With("component", "sweeper")}
}

// ErrNoMark is returned by Sweep on an empty store: a full import must
// run first.
var ErrNoMark = errors.New("the store is empty: a full import must run before a sweep")

// Sweep runs one sweep. It returns a *RunningError, doing nothing, while
// a full import runs: that import brings the same changes.
func (sw *Sweeper) Sweep(ctx context.Context) (*shopsync.SyncRun, error) {
	release, err := sw.store.LockSync()
	if errors.Is(err, shopsync.ErrSyncRunning) {
		return nil, &RunningError{}
	}
	if err != nil {
		return nil, err
	}
	defer release()
	mark, ok, err := sw.store.HighWaterMark(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoMark
	}
	run, err := sw.store.BeginSweep(ctx)
	if err != nil {
		return nil, err
	}
	since := mark.Add(-sw.overlap)
	if err := sw.sweep(ctx, run, since); err != nil {
		run.State, run.Error = shopsync.RunFailed, err.Error()
		if ferr := sw.store.FailRun(context.WithoutCancel(ctx), run.ID, run.Error); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return run, err
	}
	if err := sw.store.FinishSweep(ctx, run.ID); err != nil {
		return run, err
	}
	run.State = shopsync.RunSucceeded
	sw.logger.Info("sweep done", "run_id", run.ID, "since", since, "fetched", run.Fetched,
		"created", run.Created, "updated", run.Updated, "unchanged", run.Unchanged)
	return run, nil
}

func (sw *Sweeper) sweep(ctx context.Context, run *shopsync.SyncRun, since time.Time) error {
	page, err := sw.source.ListCustomersUpdatedSince(ctx, since, PageSize)
	for {
		if err != nil {
			return fmt.Errorf("list customers updated since %s: %w", shopsync.FormatTime(since), err)
		}
		counts, aerr := applyCustomers(ctx, sw.store, sw.mapper, page.Customers, page.Date, shopsync.SourceReconcile)
		if aerr != nil {
			return aerr
		}
		if err := sw.store.AddRunCounts(ctx, run.ID, int64(len(page.Customers)), counts); err != nil {
			return err
		}
		run.Fetched += int64(len(page.Customers))
		run.Created += counts.Created
		run.Updated += counts.Updated
		run.Unchanged += counts.Unchanged
		if !page.HasNext() {
			return nil
		}
		page, err = sw.source.NextPage(ctx, page)
	}
}

// applyCustomers merges full customer records read from the API, the
// truth as of seen (the answer's Date), in one transaction.
func applyCustomers(ctx context.Context, st ChangeStore, m *mapping.Mapper, customers []shopify.Customer, seen time.Time, source string) (shopsync.PageCounts, error) {
	var counts shopsync.PageCounts
	if len(customers) == 0 {
		return counts, nil
	}
	changes := make([]shopsync.Change, 0, len(customers))
	for i := range customers {
		c, err := m.Contact(&customers[i])
		if err != nil {
			return counts, fmt.Errorf("map customer %d: %w", customers[i].ID, err)
		}
		changes = append(changes, shopsync.Change{
			Kind: shopsync.ChangeUpsert, ShopifyID: c.ShopifyID, Contact: &c, Seen: seen, Read: true, Source: source,
		})
	}
	results, err := st.ApplyChanges(ctx, changes)
	if err != nil {
		return counts, err
	}
	for i, r := range results {
		switch {
		case r.Err != nil:
			return counts, fmt.Errorf("customer %d: %w", changes[i].ShopifyID, r.Err)
		case r.Created:
			counts.Created++
		case r.Outcome == shopsync.OutcomeApplied:
			counts.Updated++
		default:
			counts.Unchanged++
		}
	}
	return counts, nil
}
