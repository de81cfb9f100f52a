package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// A full import through a GraphQL bulk operation (issue 20):
//
//  1. count the customers (customersCount(limit: null)), for progress and
//     to check the result against;
//  2. re-attach to the import's job, or submit one (CustomerBulkQuery) and
//     record its id at once, so a killed run finds it again;
//  3. poll it with backoff, within the GraphQL cost bucket, waking early on
//     the bulk_operations/finish webhook, showing objectCount as progress;
//  4. stream its result file from where the import stopped (HTTP Range),
//     decode and map it a chunk of chunkSize lines at a time, sort each
//     chunk by id and store it like REST pages (ascending ranges, missing
//     contacts noted per range); a line whose id is at or below the
//     checkpoint (the file is not sorted) is applied alone and struck from
//     the missing contacts, so only what a complete file lacks is deleted;
//  5. verify before FinishImport may delete anything: lines read equal the
//     job's objectCount, bytes its fileSize, and objectCount agrees with
//     the customer counts before and after it. A job that failed, expired,
//     was canceled, completed without its file, or whose file does not
//     verify is given up (BulkError): nothing is deleted, and with
//     sync.engine auto the run imports over REST instead.
//
// Every row is versioned by the job's createdAt (Shopify's clock): data
// anything wrote after the job started (a webhook) wins over the file's.

// chunkSize is how many lines are sorted and stored together, in one
// transaction: four REST pages.
const chunkSize = 4 * PageSize

// pollTimes say how a bulk job is polled: the first look at once, then
// every min, growing to max while nothing changes; and how long to wait
// for bulk queries shopsync did not start to free the app's slot
// (sync.engine bulk; auto imports over REST instead).
type pollTimes struct {
	min, max, busy time.Duration
}

var defaultPoll = pollTimes{min: time.Second, max: 10 * time.Second, busy: 30 * time.Minute}

// BulkError is a bulk import that cannot finish: its job failed, expired,
// was canceled, or delivered a file that does not verify, or it could not
// start. Nothing was deleted. With Restarted, the import was given up: the
// run was moved to a new REST import (falling back), or the next run starts
// a new import.
type BulkError struct {
	Operation string // the job's id, when there was one
	Reason    string
	Err       error // the cause, when there was one
	Restarted bool
}

func (e *BulkError) Error() string {
	msg := "bulk import: " + e.Reason
	if e.Operation != "" {
		msg += " (" + e.Operation + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *BulkError) Unwrap() error { return e.Err }

// importBulk runs or resumes a bulk import. fallback says the run falls
// back to REST when it cannot finish (sync.engine auto).
func (im *Importer) importBulk(ctx context.Context, run *shopsync.SyncRun, checkpoint int64, plan bulkPlan, fallback bool) error {
	bs, src := im.bulkParts()
	log := im.logger.With(slog.Int64("run_id", run.ID), slog.Int64("import_id", run.ImportID))
	if err := bs.BeginBulkImport(ctx, run); err != nil {
		return err
	}
	job, _, err := bs.BulkJob(ctx, run.ImportID)
	if err != nil {
		return err
	}
	before := plan.count
	if before.N < 0 {
		if before, _, err = src.CountCustomersExact(ctx); err != nil {
			return err
		}
	}
	run.Total = before.N
	if err := im.store.SetRunTotal(ctx, run.ID, run.Total); err != nil {
		return err
	}
	im.report(run)

	query := shopify.CustomerBulkQuery(plan.withLastOrder)
	if job.OperationID != "" {
		op, _, err := src.BulkOperation(ctx, job.OperationID)
		if err == nil && op.Query != query {
			// The job reads other fields than this run would map (the
			// app's scopes or shopsync changed since): its file would not
			// give full contacts. Start again with a new job.
			log.Info("bulk import restarted: its job's query is not this release's", slog.String("operation_id", op.ID))
			im.cancelJob(ctx, src, op.ID, log)
			if err := bs.RestartImport(ctx, run, shopsync.EngineBulk); err != nil {
				return err
			}
			checkpoint = 0
			if job, _, err = bs.BulkJob(ctx, run.ImportID); err != nil {
				return err
			}
		}
	}
	op, err := im.attachOrSubmit(ctx, run, &job, query, before.N, fallback, log)
	if err != nil {
		return err
	}
	if op, err = im.follow(ctx, run, op, log); err != nil {
		return err
	}
	giveUp := func(reason string, cause error) error {
		return im.giveUp(ctx, run, op, reason, cause, fallback, log)
	}
	if op.Status != shopify.BulkCompleted {
		reason := fmt.Sprintf("the job ended %s", op.Status)
		if op.ErrorCode != "" {
			reason += " with " + op.ErrorCode
		}
		if op.PartialDataURL != "" {
			reason += "; its partial data is not used: a partial file cannot tell which customers were deleted"
		}
		return giveUp(reason, nil)
	}
	after, _, err := src.CountCustomersExact(ctx)
	if err != nil {
		return err
	}
	counts := []shopify.Count{before, after}
	if job.OperationID == op.ID && job.Expected > 0 { // resumed: the count when the job was submitted too
		counts = append(counts, shopify.Count{N: job.Expected, Exact: true})
	}
	if err := checkCounts(op.ObjectCount, counts...); err != nil {
		return giveUp(err.Error(), nil)
	}
	var lines, bytes int64
	switch {
	case op.URL != "":
		lines, bytes, err = im.applyFile(ctx, run, op, job, checkpoint, log)
		var urlErr *shopify.BulkURLError
		if errors.As(err, &urlErr) || isBulkError(err) {
			return giveUp("the result file could not be read to its end", err)
		}
		if err != nil {
			return err // network, store, shutdown: the next run resumes here
		}
	case op.ObjectCount != 0 || before.N != 0 || after.N != 0:
		// airbytehq/airbyte#85372: a COMPLETED job without url read as
		// "no customers" lost a whole import.
		return giveUp(fmt.Sprintf("the job completed without a result file though it counted %d objects and the shop %d customers",
			op.ObjectCount, after.N), nil)
	}
	if lines != op.ObjectCount {
		return giveUp(fmt.Sprintf("the result file has %d lines, the job counted %d objects: it is short", lines, op.ObjectCount), nil)
	}
	if op.FileSize >= 0 && op.URL != "" && bytes != op.FileSize {
		return giveUp(fmt.Sprintf("the result file has %d bytes, the job said %d", bytes, op.FileSize), nil)
	}
	log.Info("bulk result verified", slog.String("operation_id", op.ID), slog.Int64("lines", lines),
		slog.Int64("customers_before", before.N), slog.Int64("customers_after", after.N))

	// The file is the shop as of the job's start, to the customers it
	// did not list as well.
	deleted, err := im.store.FinishImport(ctx, run, op.CreatedAt)
	if err != nil {
		return err
	}
	run.Deleted = deleted
	run.State = shopsync.RunSucceeded
	now := time.Now()
	run.FinishedAt = &now
	return nil
}

func isBulkError(err error) bool {
	var be *BulkError
	return errors.As(err, &be)
}

// checkCounts holds the job's objectCount to the customer counts taken
// before it was submitted and after it completed: customers added or
// deleted meanwhile may or may not be in the file, so anything between the
// two counts is right, with a slack of 10 plus 0.1% for changes that both
// counts missed. A count that is only a lower bound (AT_LEAST) bounds
// nothing above.
func checkCounts(objects int64, counts ...shopify.Count) error {
	lo, hi, exact := counts[0].N, counts[0].N, true
	for _, c := range counts {
		lo, hi, exact = min(lo, c.N), max(hi, c.N), exact && c.Exact
	}
	slack := 10 + lo/1000
	if objects < lo-slack {
		return fmt.Errorf("the job counted %d objects, the shop %d to %d customers: the result would be short", objects, lo, hi)
	}
	if exact && objects > hi+slack {
		return fmt.Errorf("the job counted %d objects, the shop %d to %d customers", objects, lo, hi)
	}
	return nil
}

// giveUp ends a bulk import that cannot finish with its job: cancels the
// job if it still runs (it will not be resumed), and ends the import
// without deleting anything; falling back, the run moves to a new REST
// import, else the next run starts a new one.
func (im *Importer) giveUp(ctx context.Context, run *shopsync.SyncRun, op *shopify.BulkOperation, reason string, cause error,
	fallback bool, log *slog.Logger) error {
	bs, src := im.bulkParts()
	be := &BulkError{Reason: reason, Err: cause}
	if op != nil {
		be.Operation = op.ID
		im.cancelJob(ctx, src, op.ID, log)
	}
	var err error
	if fallback {
		err = bs.RestartImport(context.WithoutCancel(ctx), run, shopsync.EngineREST)
	} else {
		err = bs.GiveUpImport(context.WithoutCancel(ctx), run.ImportID)
	}
	if err != nil {
		return errors.Join(be, err)
	}
	be.Restarted = true
	log.Warn("bulk import given up; nothing deleted", slog.Any("error", be))
	return be
}

// attachOrSubmit returns the import's job, or submits one and records it.
func (im *Importer) attachOrSubmit(ctx context.Context, run *shopsync.SyncRun, job *shopsync.BulkJob, query string, expected int64,
	fallback bool, log *slog.Logger) (*shopify.BulkOperation, error) {
	bs, src := im.bulkParts()
	if job.OperationID != "" {
		op, _, err := src.BulkOperation(ctx, job.OperationID)
		if errors.Is(err, shopify.ErrBulkNotFound) {
			return nil, im.giveUp(ctx, run, nil, "Shopify no longer knows the import's job "+job.OperationID, nil, fallback, log)
		}
		if err != nil {
			return nil, err
		}
		log.Info("bulk import resumed", slog.String("operation_id", op.ID), slog.String("status", string(op.Status)),
			slog.Int64("lines_applied", job.Lines), slog.Int64("byte_offset", job.Bytes))
		return op, nil
	}
	deadline := time.Now().Add(im.poll.busy)
	wait := im.poll.min
	for {
		op, err := src.RunBulkQuery(ctx, query)
		if err == nil {
			if err := bs.SetBulkOperation(ctx, run.ImportID, op.ID, op.CreatedAt, expected); err != nil {
				return nil, err
			}
			*job = shopsync.BulkJob{ImportID: run.ImportID, OperationID: op.ID, CreatedAt: op.CreatedAt, Expected: expected}
			log.Info("bulk operation submitted", slog.String("operation_id", op.ID), slog.Int64("customers", expected))
			return op, nil
		}
		var busy *shopify.BulkBusyError
		if !errors.As(err, &busy) {
			var ue shopify.UserErrors
			var ge *shopify.GraphQLError
			if errors.As(err, &ue) || errors.As(err, &ge) {
				return nil, &BulkError{Reason: "Shopify refused the bulk query", Err: err}
			}
			return nil, err
		}
		// Ours, submitted by a run killed before it recorded the id? The
		// app's most recent job with this query, created since the import
		// began, is adopted instead of waited for.
		cur, cerr := src.CurrentBulkOperation(ctx)
		if cerr != nil {
			return nil, cerr
		}
		if cur != nil && cur.Query == query && !cur.CreatedAt.Before(job.ImportStarted) &&
			(cur.Status == shopify.BulkCreated || cur.Status == shopify.BulkRunning || cur.Status == shopify.BulkCompleted) {
			if err := bs.SetBulkOperation(ctx, run.ImportID, cur.ID, cur.CreatedAt, expected); err != nil {
				return nil, err
			}
			*job = shopsync.BulkJob{ImportID: run.ImportID, OperationID: cur.ID, CreatedAt: cur.CreatedAt, Expected: expected}
			log.Info("bulk operation adopted", slog.String("operation_id", cur.ID), slog.String("status", string(cur.Status)))
			return cur, nil
		}
		others := busy.Running
		if len(others) == 0 && cur != nil {
			others = []string{cur.ID}
		}
		if fallback {
			return nil, &BulkError{Reason: fmt.Sprintf("the app's bulk operations are all taken by jobs shopsync did not start (%v)", others), Err: err}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bulk import: waited %s for bulk operations shopsync did not start to finish (%v); "+
				"cancel them (bulkOperationCancel) or import with --engine rest: %w", im.poll.busy, others, err)
		}
		log.Warn("waiting for bulk operations shopsync did not start; Shopify runs one at a time before API 2026-01, five from it",
			slog.Any("operation_ids", others))
		if err := im.pause(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*2, im.poll.max)
	}
}

// pause waits d, or less when woken.
func (im *Importer) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-im.wake:
	}
	return nil
}

// follow polls op until it is finished, reporting objectCount as the run's
// progress. Shopify builds the file on its side; the wait grows from
// im.poll.min to im.poll.max, but not past when the job should end at the
// rate objectCount grew (so the end is seen soon after it comes), never
// below what the cost bucket needs to hold two more polls, and ends early
// on WakeBulk.
func (im *Importer) follow(ctx context.Context, run *shopsync.SyncRun, op *shopify.BulkOperation, log *slog.Logger) (*shopify.BulkOperation, error) {
	bs, src := im.bulkParts()
	var (
		wait   time.Duration
		cost   shopify.Cost
		rate   float64 // objects a second, as last seen
		seen   = op.ObjectCount
		seenAt = time.Now()
	)
	for {
		if op.ObjectCount != run.Prepared {
			run.Prepared = op.ObjectCount
			if err := bs.SetRunPrepared(ctx, run.ID, run.Prepared); err != nil {
				return nil, err
			}
			im.report(run)
		}
		if op.Status.Finished() {
			log.Info("bulk operation finished", slog.String("operation_id", op.ID), slog.String("status", string(op.Status)),
				slog.Int64("object_count", op.ObjectCount), slog.Int64("file_size", op.FileSize))
			return op, nil
		}
		if op.Status == shopify.BulkCanceling {
			log.Warn("bulk operation is being canceled by someone else", slog.String("operation_id", op.ID))
		}
		if now := time.Now(); op.ObjectCount > seen {
			rate = float64(op.ObjectCount-seen) / now.Sub(seenAt).Seconds()
			seen, seenAt = op.ObjectCount, now
		}
		if left := run.Total - op.ObjectCount; rate > 0 && left > 0 {
			wait = min(wait, time.Duration(float64(left)/rate*float64(time.Second)))
		}
		if err := im.pause(ctx, max(wait, cost.Wait(2*max(cost.Requested, 1)))); err != nil {
			return nil, err
		}
		wait = min(max(wait*3/2, im.poll.min), im.poll.max)
		var err error
		if op, cost, err = src.BulkOperation(ctx, op.ID); err != nil {
			return nil, err
		}
	}
}

// chunk is a chunk of the result file, decoded and mapped, and the file's
// position after it; or the error that ended the read.
type chunk struct {
	contacts     []shopsync.Contact
	lines, bytes int64 // after the chunk
	err          error
}

// applyFile streams op's result file from the job's position on and stores
// it; it returns the lines and bytes of the file read in all (those of
// earlier runs included).
func (im *Importer) applyFile(ctx context.Context, run *shopsync.SyncRun, op *shopify.BulkOperation, job shopsync.BulkJob,
	checkpoint int64, log *slog.Logger) (int64, int64, error) {
	bs, src := im.bulkParts()
	f := src.OpenBulkFile(ctx, op.URL, job.Bytes, op.FileSize)
	f.Refresh = func(ctx context.Context) (string, error) {
		// A refused URL: its signature expired, or the job did.
		fresh, _, err := src.BulkOperation(ctx, op.ID)
		if err != nil {
			return "", err
		}
		if fresh.Status != shopify.BulkCompleted || fresh.URL == "" {
			return "", &BulkError{Operation: op.ID, Reason: fmt.Sprintf("the job is %s: its file is gone", fresh.Status)}
		}
		return fresh.URL, nil
	}
	defer f.Close()
	if job.Bytes > 0 {
		log.Info("bulk download resumed", slog.Int64("byte_offset", job.Bytes), slog.Int64("lines_applied", job.Lines))
	}

	// One goroutine downloads, decodes and maps a chunk while this one
	// stores the one before, as the REST import does with pages.
	rctx, cancel := context.WithCancel(ctx)
	chunks := make(chan chunk, 1)
	go im.readFile(rctx, f, job, chunks)
	defer func() {
		cancel()
		for range chunks {
		}
	}()
	after, lines, bytes := checkpoint, job.Lines, job.Bytes
	late := 0
	for ch := range chunks {
		if ch.err != nil {
			return lines, bytes, ch.err
		}
		if len(ch.contacts) == 0 { // the end of the file
			lines, bytes = ch.lines, ch.bytes
			continue
		}
		b := shopsync.BulkBatch{Fetched: op.CreatedAt, Lines: ch.lines, Bytes: ch.bytes}
		b.Pages, b.Late, after = pagesOf(ch.contacts, after, op.CreatedAt)
		counts, err := bs.ApplyBulk(ctx, run, b)
		if err != nil {
			return lines, bytes, err
		}
		if len(b.Late) > 0 && late == 0 {
			log.Info("the result file is not in id order; lines below the checkpoint are stored one by one")
		}
		late += len(b.Late)
		lines, bytes = ch.lines, ch.bytes
		run.Pages += int64(len(b.Pages))
		run.Fetched += int64(len(ch.contacts))
		run.Created += counts.Created
		run.Updated += counts.Updated
		run.Unchanged += counts.Unchanged
		im.report(run)
	}
	if err := ctx.Err(); err != nil {
		return lines, bytes, err
	}
	st := f.Stats()
	log.Info("bulk file read", slog.Int64("lines", lines), slog.Int64("bytes", bytes), slog.Int("late_lines", late),
		slog.Int("requests", st.Requests), slog.Int("resumed", st.Resumed), slog.Int64("bytes_skipped", st.Skipped))
	return lines, bytes, nil
}

// readFile decodes and maps the file a chunk at a time and sends the
// chunks to out, then closes it; an error is the last chunk.
func (im *Importer) readFile(ctx context.Context, f *shopify.BulkFile, job shopsync.BulkJob, out chan<- chunk) {
	defer close(out)
	send := func(c chunk) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	dec := shopify.NewBulkDecoder(f, job.Bytes)
	lines := job.Lines
	cur := chunk{contacts: make([]shopsync.Contact, 0, chunkSize)}
	var c shopify.Customer
	for {
		end, err := dec.Next(&c)
		if err == io.EOF {
			if len(cur.contacts) > 0 && !send(cur) {
				return
			}
			// Every byte read: the file's size, its last newline included.
			send(chunk{lines: lines, bytes: f.Offset()})
			return
		}
		if err != nil {
			var (
				readErr *shopify.BulkReadError
				urlErr  *shopify.BulkURLError
				be      *BulkError
			)
			switch {
			case ctx.Err() != nil:
				err = ctx.Err()
			case errors.As(err, &readErr), errors.As(err, &urlErr), errors.As(err, &be):
				// The transfer kept failing (a later run resumes), or the
				// file is gone (the caller gives up).
			default:
				// A line that does not decode, or a file that ends inside
				// one: the file is not what the job promised.
				err = &BulkError{Reason: fmt.Sprintf("line %d of the result file", lines+1), Err: err}
			}
			send(chunk{err: err})
			return
		}
		contact, err := im.mapper.Contact(&c)
		if err != nil {
			send(chunk{err: &BulkError{Reason: fmt.Sprintf("line %d of the result file", lines+1), Err: err}})
			return
		}
		lines++
		cur.contacts = append(cur.contacts, contact)
		cur.lines, cur.bytes = lines, end
		if len(cur.contacts) == chunkSize {
			if !send(cur) {
				return
			}
			cur = chunk{contacts: make([]shopsync.Contact, 0, chunkSize)}
		}
	}
}

// pagesOf sorts a chunk by id and cuts it into pages of ids above after,
// each starting where the one before ended; ids at or below after (their
// range is stored already) and repeated ids are late. It returns the
// pages, the late contacts and the new after.
func pagesOf(cs []shopsync.Contact, after int64, fetched time.Time) ([]shopsync.ImportPage, []shopsync.Contact, int64) {
	if !slices.IsSortedFunc(cs, byID) {
		slices.SortStableFunc(cs, byID)
	}
	var (
		pages []shopsync.ImportPage
		late  []shopsync.Contact
		fresh = cs[:0:0]
	)
	for i := range cs {
		if cs[i].ShopifyID <= after || (len(fresh) > 0 && cs[i].ShopifyID == fresh[len(fresh)-1].ShopifyID) {
			late = append(late, cs[i])
			continue
		}
		fresh = append(fresh, cs[i])
	}
	for len(fresh) > 0 {
		n := min(len(fresh), PageSize)
		pg := shopsync.ImportPage{After: after, Last: fresh[n-1].ShopifyID, Fetched: fetched, Contacts: fresh[:n:n]}
		pages = append(pages, pg)
		after, fresh = pg.Last, fresh[n:]
	}
	return pages, late, after
}

func byID(a, b shopsync.Contact) int {
	switch {
	case a.ShopifyID < b.ShopifyID:
		return -1
	case a.ShopifyID > b.ShopifyID:
		return 1
	}
	return 0
}
