// Package sync keeps the store equal to the shop through the Admin API:
// the full, resumable import of every customer (over REST pages or a
// GraphQL bulk operation, chosen by Engine), the sweep of customers
// updated since the store's mark, and the re-fetch of contacts a webhook
// left incomplete or that a merge or delete named. A Syncer runs one of
// them at a time, on a schedule or on demand.
//
// The package is named sync after its folder in the design; it shadows the
// standard library's sync, which it imports as gosync. Importers alias it
// (ssync "github.com/shopsync/shopsync/sync").
package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// PageSize is the number of customers asked for per page: Shopify's maximum.
const PageSize = 250

// Store is what the importer needs of the contact store.
type Store interface {
	LockSync() (release func(), err error)
	BeginRun(ctx context.Context, trigger shopsync.Trigger) (*shopsync.SyncRun, int64, error)
	SetRunTotal(ctx context.Context, runID, total int64) error
	ApplyPages(ctx context.Context, run *shopsync.SyncRun, pages []shopsync.ImportPage) (shopsync.PageCounts, error)
	FinishImport(ctx context.Context, run *shopsync.SyncRun, seen time.Time) (int64, error)
	FailRun(ctx context.Context, runID int64, reason string) error
	RunningRun(ctx context.Context) (*shopsync.SyncRun, error)
}

// Source is what the importer needs of Shopify.
type Source interface {
	CountCustomers(ctx context.Context) (int64, error)
	ListCustomers(ctx context.Context, sinceID int64, limit int) (*shopify.Page, error)
	NextPage(ctx context.Context, p *shopify.Page) (*shopify.Page, error)
}

var _ Source = (*shopify.Client)(nil)

// RunningError is returned when a run cannot start because another is
// going, in this process or another one. Run is that run when known.
type RunningError struct {
	Run *shopsync.SyncRun
}

func (e *RunningError) Error() string {
	if e.Run != nil {
		return fmt.Sprintf("sync run %d (%s) is already running", e.Run.ID, e.Run.Trigger)
	}
	return "a sync run is already running"
}

// Unwrap makes errors.Is(err, shopsync.ErrSyncRunning) hold.
func (e *RunningError) Unwrap() error { return shopsync.ErrSyncRunning }

// Importer runs full imports. Its Run is safe to call from several
// goroutines; the store's sync lock lets one run at a time.
type Importer struct {
	store  Store
	source Source
	mapper *mapping.Mapper
	logger *slog.Logger

	mu       gosync.Mutex
	progress func(shopsync.SyncRun) // called after each page; see OnProgress
	engine   Engine                 // see SetEngine; "" is EngineAuto
	minBulk  int64                  // minBulkCustomers; tests lower it
	poll     pollTimes              // how bulk jobs are polled; tests shorten it

	wake chan struct{} // see WakeBulk
}

// New returns an Importer.
func New(st Store, src Source, m *mapping.Mapper, logger *slog.Logger) *Importer {
	return &Importer{store: st, source: src, mapper: m, logger: logger.With("component", "importer"),
		wake: make(chan struct{}, 1), minBulk: minBulkCustomers, poll: defaultPoll}
}

// OnProgress sets a func called with the run's counts after it starts and
// after every page. It must not block for long.
func (im *Importer) OnProgress(fn func(shopsync.SyncRun)) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.progress = fn
}

func (im *Importer) report(run *shopsync.SyncRun) {
	im.mu.Lock()
	fn := im.progress
	im.mu.Unlock()
	if fn != nil {
		fn(*run)
	}
}

// Run performs one full import, resuming an interrupted one from its
// checkpoint. It returns the run's record whether it succeeded or failed;
// on failure the error says why, the run is recorded failed, and every page
// already applied stays stored. A *RunningError means nothing was started.
func (im *Importer) Run(ctx context.Context, trigger shopsync.Trigger) (*shopsync.SyncRun, error) {
	_, perform, err := im.Begin(ctx, trigger)
	if err != nil {
		return nil, err
	}
	return perform()
}

// Begin claims the next full import without doing it: it takes the sync
// lock and records the run (resuming an interrupted import), then returns
// the run's record at once with a perform func that does the import and
// returns as Run does. A *RunningError means another run holds the lock,
// in this process or another, and nothing was recorded. The caller must
// call perform, which releases the lock; until then no customer is read.
func (im *Importer) Begin(ctx context.Context, trigger shopsync.Trigger) (*shopsync.SyncRun, func() (*shopsync.SyncRun, error), error) {
	release, err := im.store.LockSync()
	if errors.Is(err, shopsync.ErrSyncRunning) {
		running, _ := im.store.RunningRun(ctx)
		return nil, nil, &RunningError{Run: running}
	}
	if err != nil {
		return nil, nil, err
	}
	run, checkpoint, err := im.store.BeginRun(ctx, trigger)
	if err != nil {
		release()
		return nil, nil, err
	}
	first := *run
	perform := func() (*shopsync.SyncRun, error) {
		defer release()
		return im.run(ctx, run, checkpoint)
	}
	return &first, perform, nil
}

func (im *Importer) run(ctx context.Context, run *shopsync.SyncRun, checkpoint int64) (*shopsync.SyncRun, error) {
	log := im.logger.With("run_id", run.ID, "import_id", run.ImportID, "trigger", string(run.Trigger))
	log.Info("sync run started", "resumed", run.Resumed, "checkpoint", checkpoint)
	start := time.Now()

	if err := im.importWith(ctx, run, checkpoint); err != nil {
		run.State = shopsync.RunFailed
		run.Error = err.Error()
		// Record the failure even when ctx is what ended the run.
		if ferr := im.store.FailRun(context.WithoutCancel(ctx), run.ID, run.Error); ferr != nil {
			err = errors.Join(err, ferr)
		}
		now := time.Now()
		run.FinishedAt = &now
		im.report(run)
		log.Error("sync run failed", "error", err, "fetched", run.Fetched, "duration", time.Since(start))
		return run, err
	}
	im.report(run)
	log.Info("sync run succeeded", "fetched", run.Fetched, "created", run.Created, "updated", run.Updated,
		"unchanged", run.Unchanged, "deleted", run.Deleted, "duration", time.Since(start))
	return run, nil
}

func (im *Importer) importAll(ctx context.Context, run *shopsync.SyncRun, checkpoint int64) error {
	total, err := im.source.CountCustomers(ctx)
	if err != nil {
		return err
	}
	return im.importPages(ctx, run, checkpoint, total)
}

// importPages is importAll once Shopify has counted total customers.
func (im *Importer) importPages(ctx context.Context, run *shopsync.SyncRun, checkpoint, total int64) error {
	run.Total = total
	if err := im.store.SetRunTotal(ctx, run.ID, total); err != nil {
		return err
	}
	im.report(run)

	// One goroutine fetches and maps the next pages while this one stores
	// the ones fetched: the network and JSON on one core, SQLite on the
	// other. The store takes every page that is ready, up to maxBatch, in
	// one transaction: when it is the slower side, pages queue and share
	// a commit; when Shopify is (a throttled import), each page is stored
	// as it comes. At most 2×maxBatch pages are in memory: a batch being
	// stored, and those fetched meanwhile. Returning stops
	// the fetcher and waits for it, so nothing uses the client after the
	// run.
	fctx, cancel := context.WithCancel(ctx)
	pages := make(chan fetchedPage, maxBatch-1)
	go im.fetch(fctx, checkpoint, pages)
	defer func() {
		cancel()
		for range pages {
		}
	}()
	after := checkpoint
	var seen time.Time // the Date of the last answer: the listing ended as of then
	batch := make([]shopsync.ImportPage, 0, maxBatch)
	for p := range pages {
		batch = batch[:0]
		var failed error
		for {
			if p.err != nil {
				failed = p.err
				break
			}
			if p.end {
				seen = p.fetched
				if !ready(pages, &p) {
					break
				}
				continue
			}
			batch = append(batch, shopsync.ImportPage{After: after, Last: p.last, Fetched: p.fetched, Contacts: p.contacts})
			after = p.last
			if len(batch) == maxBatch || !ready(pages, &p) {
				break
			}
		}
		if len(batch) > 0 {
			counts, err := im.store.ApplyPages(ctx, run, batch)
			if err != nil {
				return err
			}
			for i := range batch {
				run.Pages++
				run.Fetched += int64(len(batch[i].Contacts))
			}
			run.Created += counts.Created
			run.Updated += counts.Updated
			run.Unchanged += counts.Unchanged
			im.report(run)
		}
		if failed != nil {
			return failed // after storing the pages before it
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if seen.IsZero() {
		return errors.New("the listing of customers ended without its last page")
	}
	deleted, err := im.store.FinishImport(ctx, run, seen)
	if err != nil {
		return err
	}
	run.Deleted = deleted
	run.State = shopsync.RunSucceeded
	now := time.Now()
	run.FinishedAt = &now
	return nil
}

// maxBatch is the most pages stored in one transaction. A crash loses at
// most the batch being stored, which the next run fetches again.
const maxBatch = 4

// ready receives the next page into p if one is waiting, without waiting
// for one; false when none is, or the fetcher is done.
func ready(pages <-chan fetchedPage, p *fetchedPage) bool {
	select {
	case q, ok := <-pages:
		if ok {
			*p = q
		}
		return ok
	default:
		return false
	}
}

// fetchedPage is a mapped page of customers, the end of the listing, or
// the error that ended it.
type fetchedPage struct {
	contacts []shopsync.Contact
	last     int64     // the page's last id
	fetched  time.Time // the answer's Date: the page is the truth as of then
	end      bool      // the last answer came: fetched is its Date
	err      error
}

// fetch lists every customer with an id above after, page by page, maps
// each page and sends it to out, then closes out. An error is sent as the
// last page. It stops when ctx ends.
func (im *Importer) fetch(ctx context.Context, after int64, out chan<- fetchedPage) {
	defer close(out)
	send := func(p fetchedPage) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	page, err := im.source.ListCustomers(ctx, after, PageSize)
	for {
		if err != nil {
			send(fetchedPage{err: fmt.Errorf("list customers after id %d: %w", after, err)})
			return
		}
		if len(page.Customers) > 0 {
			contacts, last, err := im.mapPage(page.Customers, after)
			if err != nil {
				send(fetchedPage{err: err})
				return
			}
			if !send(fetchedPage{contacts: contacts, last: last, fetched: page.Date}) {
				return
			}
			after = last
		}
		if !page.HasNext() {
			send(fetchedPage{end: true, fetched: page.Date})
			return
		}
		page, err = im.source.NextPage(ctx, page)
	}
}

// mapPage maps a page and checks it continues the id order the checkpoint
// relies on: since_id pages come in strictly ascending id order.
func (im *Importer) mapPage(customers []shopify.Customer, after int64) ([]shopsync.Contact, int64, error) {
	contacts := make([]shopsync.Contact, len(customers))
	last := after
	for i := range customers {
		c, err := im.mapper.Contact(&customers[i])
		if err != nil {
			return nil, 0, fmt.Errorf("map customer %d: %w", customers[i].ID, err)
		}
		if c.ShopifyID <= last {
			return nil, 0, fmt.Errorf("shopify returned customer %d after %d: pages are not in ascending id order, so the import cannot checkpoint", c.ShopifyID, last)
		}
		last = c.ShopifyID
		contacts[i] = c
	}
	return contacts, last, nil
}
