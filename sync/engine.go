package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// Engine chooses how a full import reads Shopify (sync.engine).
type Engine string

// The engines. Sweeps and re-fetches always read over REST: they ask for a
// few customers, and a bulk job's fixed cost would dwarf them.
const (
	// EngineAuto reads over REST, or through a bulk operation where that is
	// expected to be faster (see chooseBulk); an interrupted import resumes
	// with the engine it started with.
	EngineAuto Engine = "auto"
	// EngineREST pages through customers.json, paced to the leaky bucket.
	EngineREST Engine = "rest"
	// EngineBulk runs a GraphQL bulk query and reads its result file.
	EngineBulk Engine = "bulk"
)

// ParseEngine reads an engine's name.
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(s); e {
	case EngineAuto, EngineREST, EngineBulk:
		return e, nil
	}
	return "", fmt.Errorf("%q: want auto, rest or bulk", s)
}

// SetEngine chooses how the next full imports read Shopify.
func (im *Importer) SetEngine(e Engine) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.engine = e
}

func (im *Importer) chosenEngine() Engine {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.engine == "" {
		return EngineAuto
	}
	return im.engine
}

// WakeBulk makes a bulk import waiting for its job look at it now: the
// daemon calls it on a bulk_operations/finish webhook. It never blocks.
func (im *Importer) WakeBulk() {
	select {
	case im.wake <- struct{}{}:
	default:
	}
}

// BulkStore is what a bulk import needs of the store, beside Store.
type BulkStore interface {
	BulkJob(ctx context.Context, importID int64) (shopsync.BulkJob, bool, error)
	BeginBulkImport(ctx context.Context, run *shopsync.SyncRun) error
	SetBulkOperation(ctx context.Context, importID int64, id string, createdAt time.Time, expected int64) error
	SetRunPrepared(ctx context.Context, runID, prepared int64) error
	ApplyBulk(ctx context.Context, run *shopsync.SyncRun, b shopsync.BulkBatch) (shopsync.PageCounts, error)
	RestartImport(ctx context.Context, run *shopsync.SyncRun, engine string) error
	GiveUpImport(ctx context.Context, importID int64) error
}

// BulkSource is what a bulk import needs of Shopify, beside Source.
type BulkSource interface {
	CountCustomersExact(ctx context.Context) (shopify.Count, shopify.Cost, error)
	AccessScopes(ctx context.Context) ([]string, error)
	RunBulkQuery(ctx context.Context, query string) (*shopify.BulkOperation, error)
	BulkOperation(ctx context.Context, id string) (*shopify.BulkOperation, shopify.Cost, error)
	CurrentBulkOperation(ctx context.Context) (*shopify.BulkOperation, error)
	CancelBulkOperation(ctx context.Context, id string) (*shopify.BulkOperation, error)
	OpenBulkFile(ctx context.Context, url string, offset, size int64) *shopify.BulkFile
}

var _ BulkSource = (*shopify.Client)(nil)

// bulkParts returns the store and source as bulk ones, or nils when either
// cannot do bulk imports (test doubles).
func (im *Importer) bulkParts() (BulkStore, BulkSource) {
	bs, ok1 := im.store.(BulkStore)
	src, ok2 := im.source.(BulkSource)
	if !ok1 || !ok2 {
		return nil, nil
	}
	return bs, src
}

// The assumptions behind EngineAuto's choice (README "How the import
// works"). Shopify publishes no figure for how fast it builds a bulk file;
// the assumption is about four times the Standard plan's REST ceiling
// (500 customers/s): a bulk job is Shopify paging its own database without
// the network round trips or the bucket, and its changelog says bulk
// queries got "up to 4X faster" (shopify.dev/changelog/bulk-queries-now-execute-faster).
const (
	assumedBulkRate = 2000.0           // objects/s Shopify writes a customers file at
	bulkOverhead    = 60 * time.Second // submission, queueing, polling, download and verification
)

// restFloor is the least time any client needs to list n customers over
// REST: (requests − bucket) / leak, with 250 customers a request plus the
// count. The plan is inferred from the GraphQL bucket's restore rate,
// which is fifty times the REST leak on every plan (SHOPIFY.md §5: 100
// points/s with 2 requests/s on Standard, 200 and 4 on Advanced, 1,000
// and 20 on Plus); the bucket holds twenty seconds of leak.
func restFloor(n int64, restoreRate float64) time.Duration {
	leak := restoreRate / 50
	if leak <= 0 {
		leak = 2 // Standard
	}
	requests := math.Ceil(float64(n)/PageSize) + 1
	return time.Duration(max(0, (requests-20*leak)/leak) * float64(time.Second))
}

// bulkEstimate is what a bulk import of n customers is expected to take.
func bulkEstimate(n int64) time.Duration {
	return bulkOverhead + time.Duration(float64(n)/assumedBulkRate*float64(time.Second))
}

// minBulkCustomers is the shop size below which EngineAuto reads over REST
// without asking more: the smallest size at which chooseBulk picks a bulk
// job on any plan is about 53,000 (Standard).
const minBulkCustomers = 50_000

// chooseBulk reports whether EngineAuto reads n customers through a bulk
// operation: when it is expected to beat the REST floor. On Standard that
// is above about 53,000 customers, on Advanced about 160,000; on Plus REST
// (5,000 customers/s) beats the assumed bulk rate at every size.
func chooseBulk(n int64, restoreRate float64) bool {
	return bulkEstimate(n) < restFloor(n, restoreRate)
}

// lastOrderAttrs are the attributes only Customer.lastOrder gives a bulk
// query.
var lastOrderAttrs = []string{"last_order_id", "last_order_name"}

func (im *Importer) needsLastOrder() bool {
	for _, a := range im.mapper.Attributes() {
		if slices.Contains(lastOrderAttrs, a) {
			return true
		}
	}
	return false
}

// bulkPlan is what a bulk import knows before it submits its job.
type bulkPlan struct {
	count         shopify.Count
	withLastOrder bool
}

// importWith runs the import with the engine chosen, resuming an
// interrupted import with the engine it started with (auto), or restarting
// it when the engine changed.
func (im *Importer) importWith(ctx context.Context, run *shopsync.SyncRun, checkpoint int64) error {
	log := im.logger.With(slog.Int64("run_id", run.ID))
	engine := im.chosenEngine()
	bs, src := im.bulkParts()
	if bs == nil {
		if engine == EngineBulk {
			return errors.New("the bulk engine needs the store and Shopify client of shopsync")
		}
		return im.importAll(ctx, run, checkpoint)
	}
	job, isBulk, err := bs.BulkJob(ctx, run.ImportID)
	if err != nil {
		return err
	}
	switch {
	case engine == EngineREST || (engine == EngineAuto && !isBulk && checkpoint > 0):
		if isBulk {
			// The bulk import will not be resumed: its job can go.
			im.cancelJob(ctx, src, job.OperationID, log)
			log.Info("bulk import restarted over rest", slog.Int64("import_id", run.ImportID))
			if err := bs.RestartImport(ctx, run, shopsync.EngineREST); err != nil {
				return err
			}
			checkpoint = 0
		}
		run.Engine = shopsync.EngineREST
		return im.importAll(ctx, run, checkpoint)
	case engine == EngineBulk || isBulk:
		if !isBulk && checkpoint > 0 {
			log.Info("rest import restarted as a bulk import", slog.Int64("import_id", run.ImportID))
			if err := bs.RestartImport(ctx, run, shopsync.EngineBulk); err != nil {
				return err
			}
			checkpoint = 0
		}
		fallback := engine == EngineAuto
		plan, err := im.planBulk(ctx, run, src)
		if err == nil {
			err = im.importBulk(ctx, run, checkpoint, plan, fallback)
		}
		return im.fallBack(ctx, run, fallback, err, log)
	}

	// A new import, auto: count (the REST import needs the count anyway),
	// then choose. Below minBulkCustomers no plan favours a bulk job, and
	// nothing more is asked.
	run.Engine = shopsync.EngineREST
	total, err := im.source.CountCustomers(ctx)
	if err != nil {
		return err
	}
	if total < im.minBulk {
		return im.importPages(ctx, run, checkpoint, total)
	}
	count, cost, err := src.CountCustomersExact(ctx)
	if err != nil {
		log.Info("bulk engine not considered: the graphql count failed", slog.Any("error", err))
		return im.importPages(ctx, run, checkpoint, total)
	}
	if !chooseBulk(count.N, cost.RestoreRate) {
		log.Info("rest engine chosen", slog.Int64("customers", count.N), slog.Float64("restore_rate", cost.RestoreRate),
			slog.Duration("rest_floor", restFloor(count.N, cost.RestoreRate)), slog.Duration("bulk_estimate", bulkEstimate(count.N)))
		return im.importPages(ctx, run, checkpoint, total)
	}
	plan, err := im.planBulk(ctx, run, src)
	if err != nil {
		return im.fallBack(ctx, run, true, err, log)
	}
	plan.count = count
	log.Info("bulk engine chosen", slog.Int64("customers", count.N), slog.Float64("restore_rate", cost.RestoreRate),
		slog.Duration("rest_floor", restFloor(count.N, cost.RestoreRate)), slog.Duration("bulk_estimate", bulkEstimate(count.N)))
	return im.fallBack(ctx, run, true, im.importBulk(ctx, run, checkpoint, plan, true), log)
}

// planBulk checks a bulk import can read what the mapper needs: the last
// order needs the read_orders and read_all_orders scopes over GraphQL
// (CustomerBulkQuery), which REST does not.
func (im *Importer) planBulk(ctx context.Context, run *shopsync.SyncRun, src BulkSource) (bulkPlan, error) {
	var plan bulkPlan
	scopes, err := src.AccessScopes(ctx)
	if err != nil {
		return plan, &BulkError{Reason: "the app's access scopes could not be read", Err: err}
	}
	plan.withLastOrder = shopify.LastOrderScopes(scopes)
	if im.needsLastOrder() && !plan.withLastOrder {
		return plan, &BulkError{Reason: "mapping.attributes has last_order_id or last_order_name, which a bulk " +
			"query reads from Customer.lastOrder, an Order: grant the app read_orders and read_all_orders, " +
			"leave those attributes out, or import with --engine rest"}
	}
	plan.count.N = -1 // counted by importBulk
	return plan, nil
}

// fallBack returns err, or with fallback set imports over REST from the
// first customer instead when err is a *BulkError (the bulk import was
// given up, or never started).
func (im *Importer) fallBack(ctx context.Context, run *shopsync.SyncRun, fallback bool, err error, log *slog.Logger) error {
	var be *BulkError
	if err == nil || !fallback || !errors.As(err, &be) || ctx.Err() != nil {
		return err
	}
	if be.Operation == "" && !be.Restarted {
		// Nothing was started: a limit of the app's set-up, not a fault.
		log.Info("bulk import not possible; importing over rest instead", slog.Any("error", err))
	} else {
		log.Warn("bulk import given up; importing over rest instead", slog.Any("error", err))
	}
	bs, _ := im.bulkParts()
	if !be.Restarted {
		// Marked bulk, the import may hold pages of a file: start afresh.
		if _, isBulk, err := bs.BulkJob(ctx, run.ImportID); err != nil {
			return errors.Join(be, err)
		} else if isBulk {
			if err := bs.RestartImport(ctx, run, shopsync.EngineREST); err != nil {
				return errors.Join(be, err)
			}
		}
	}
	run.Engine, run.Prepared = shopsync.EngineREST, 0
	return im.importAll(ctx, run, 0)
}

// cancelJob cancels a job shopsync will not resume; it may be finished or
// gone already, so errors are only logged.
func (im *Importer) cancelJob(ctx context.Context, src BulkSource, id string, log *slog.Logger) {
	if id == "" {
		return
	}
	op, _, err := src.BulkOperation(ctx, id)
	if err != nil || op.Status.Finished() || op.Status == shopify.BulkCanceling {
		return
	}
	if _, err := src.CancelBulkOperation(ctx, id); err != nil {
		log.Warn("bulk operation not canceled", slog.String("operation_id", id), slog.Any("error", err))
		return
	}
	log.Info("bulk operation canceled", slog.String("operation_id", id))
}
