package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shopsync/shopsync"
)

// An import read through a GraphQL bulk operation (issue 20) stores the
// same way as a REST one: ranges of ascending ids (ApplyPages' pages), the
// checkpoint, and missing contacts noted range by range for FinishImport.
// A result file is not sorted by id, so the importer sorts what it reads a
// chunk at a time; a line whose id falls at or below the checkpoint (its
// range is applied already) is applied on its own and struck from the
// missing contacts its range noted. The file's offset is checkpointed with
// the pages, so a killed import resumes its download where it stopped.

// BulkJob returns the bulk state of an import; ok is false for an import
// the bulk engine does not read.
func (db *DB) BulkJob(ctx context.Context, importID int64) (job shopsync.BulkJob, ok bool, err error) {
	var (
		op, created sql.NullString
		started     string
	)
	err = db.read.QueryRowContext(ctx, `
		SELECT b.operation_id, b.created_at, b.expected, b.lines, b.bytes, i.started_at
		FROM bulk_imports b JOIN imports i ON i.id = b.import_id WHERE b.import_id = ?`, importID,
	).Scan(&op, &created, &job.Expected, &job.Lines, &job.Bytes, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return shopsync.BulkJob{}, false, nil
	}
	if err != nil {
		return shopsync.BulkJob{}, false, fmt.Errorf("bulk job of import %d: %w", importID, err)
	}
	job.ImportID, job.OperationID = importID, op.String
	if job.ImportStarted, err = parseTime(started); err != nil {
		return shopsync.BulkJob{}, false, fmt.Errorf("bulk job of import %d: %w", importID, err)
	}
	if created.Valid {
		if job.CreatedAt, err = parseTime(created.String); err != nil {
			return shopsync.BulkJob{}, false, fmt.Errorf("bulk job of import %d: %w", importID, err)
		}
	}
	return job, true, nil
}

// BeginBulkImport marks the run's import, and the run, as read by the bulk
// engine. An import already marked keeps its state.
func (db *DB) BeginBulkImport(ctx context.Context, run *shopsync.SyncRun) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin bulk import: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO bulk_imports (import_id) VALUES (?)`, run.ImportID); err != nil {
		return fmt.Errorf("begin bulk import: %w", err)
	}
	if _, err := tx.exec(ctx, `UPDATE sync_runs SET engine = ? WHERE id = ?`, shopsync.EngineBulk, run.ID); err != nil {
		return fmt.Errorf("begin bulk import: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("begin bulk import: %w", err)
	}
	run.Engine = shopsync.EngineBulk
	return nil
}

// SetBulkOperation records the job an import reads, from the start of its
// result file; an empty id forgets the job (the next run submits another).
func (db *DB) SetBulkOperation(ctx context.Context, importID int64, id string, createdAt time.Time, expected int64) error {
	var op, created any
	if id != "" {
		op, created = id, formatTime(createdAt)
	}
	if _, err := db.exec(ctx, `
		UPDATE bulk_imports SET operation_id = ?, created_at = ?, expected = ?, lines = 0, bytes = 0, submitted_at = ?
		WHERE import_id = ?`, op, created, expected, formatTime(db.Now()), importID); err != nil {
		return fmt.Errorf("set bulk operation of import %d: %w", importID, err)
	}
	return nil
}

// SetRunPrepared records how many objects Shopify has put in a bulk run's
// result file so far, for progress.
func (db *DB) SetRunPrepared(ctx context.Context, runID, prepared int64) error {
	if _, err := db.exec(ctx, `UPDATE sync_runs SET prepared = ? WHERE id = ?`, prepared, runID); err != nil {
		return fmt.Errorf("set run %d prepared: %w", runID, err)
	}
	return nil
}

// ApplyBulk applies a batch of a bulk import's result file in one
// transaction: the pages as ApplyPages does (checkpoint included), the late
// contacts, the file position, and the run's counts.
func (db *DB) ApplyBulk(ctx context.Context, run *shopsync.SyncRun, b shopsync.BulkBatch) (shopsync.PageCounts, error) {
	var counts shopsync.PageCounts
	fetched, pages := 0, b.Pages
	for i := range pages {
		pg := &pages[i]
		if i > 0 && pg.After != pages[i-1].Last {
			return counts, fmt.Errorf("apply bulk: page %d starts after %d, not at the previous page's last id %d", i, pg.After, pages[i-1].Last)
		}
		prev := pg.After
		for j := range pg.Contacts {
			id := pg.Contacts[j].ShopifyID
			if id <= prev || id > pg.Last {
				return counts, fmt.Errorf("apply bulk: contact %d out of order in (%d, %d]", id, pg.After, pg.Last)
			}
			prev = id
		}
		fetched += len(pg.Contacts)
	}
	fetched += len(b.Late)
	tx, err := db.begin(ctx)
	if err != nil {
		return counts, fmt.Errorf("apply bulk: %w", err)
	}
	defer tx.Rollback()
	for i := range pages {
		if err := tx.applyPage(ctx, run, &pages[i], &counts); err != nil {
			return counts, fmt.Errorf("apply bulk: %w", err)
		}
	}
	for i := range b.Late {
		c := &b.Late[i]
		// A page of one: it notes nothing missing, and the contact takes
		// the same gates as in a page.
		pg := shopsync.ImportPage{After: c.ShopifyID - 1, Last: c.ShopifyID, Fetched: b.Fetched, Contacts: b.Late[i : i+1]}
		if err := tx.applyPage(ctx, run, &pg, &counts); err != nil {
			return counts, fmt.Errorf("apply bulk: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM import_missing WHERE import_id = ? AND shopify_id = ?`, run.ImportID, c.ShopifyID); err != nil {
			return counts, fmt.Errorf("apply bulk: %w", err)
		}
	}
	if len(pages) > 0 {
		if _, err := tx.exec(ctx, `UPDATE imports SET checkpoint_id = ? WHERE id = ? AND finished_at IS NULL`,
			pages[len(pages)-1].Last, run.ImportID); err != nil {
			return counts, fmt.Errorf("apply bulk: %w", err)
		}
	}
	if _, err := tx.exec(ctx, `UPDATE bulk_imports SET lines = ?, bytes = ? WHERE import_id = ?`,
		b.Lines, b.Bytes, run.ImportID); err != nil {
		return counts, fmt.Errorf("apply bulk: %w", err)
	}
	if _, err := tx.exec(ctx, `
		UPDATE sync_runs SET fetched = fetched + ?, pages = pages + ?,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?
		WHERE id = ?`,
		fetched, len(pages), counts.Created, counts.Updated, counts.Unchanged, run.ID); err != nil {
		return counts, fmt.Errorf("apply bulk: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return counts, fmt.Errorf("apply bulk: %w", err)
	}
	return counts, nil
}

// GiveUpImport ends an import without deleting anything: the missing
// contacts it noted may be wrong (a short or unfinished file), so they are
// dropped, never deleted. What its pages stored stays, and the next run
// starts a new import.
func (db *DB) GiveUpImport(ctx context.Context, importID int64) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("give up import %d: %w", importID, err)
	}
	defer tx.Rollback()
	if err := tx.endImport(ctx, importID); err != nil {
		return fmt.Errorf("give up import %d: %w", importID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("give up import %d: %w", importID, err)
	}
	return nil
}

func (tx *Tx) endImport(ctx context.Context, importID int64) error {
	for _, q := range []string{
		`DELETE FROM import_missing WHERE import_id = ?`,
		`DELETE FROM bulk_imports WHERE import_id = ?`,
	} {
		if _, err := tx.exec(ctx, q, importID); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, `UPDATE imports SET finished_at = ? WHERE id = ? AND finished_at IS NULL`, tx.nowText, importID)
	return err
}

// RestartImport ends the run's import without deleting anything and gives
// the run a new import, from the first customer, read by engine (one of
// shopsync.EngineREST, EngineBulk). It is how an import changes engine, and
// how a bulk import that cannot finish is given up: the missing contacts
// it noted may be wrong (a short or unfinished file), so they are dropped,
// never deleted. What its pages stored stays.
func (db *DB) RestartImport(ctx context.Context, run *shopsync.SyncRun, engine string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	defer tx.Rollback()
	if err := tx.endImport(ctx, run.ImportID); err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	res, err := tx.exec(ctx, `INSERT INTO imports (started_at) VALUES (?)`, tx.nowText)
	if err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	if engine == shopsync.EngineBulk {
		if _, err := tx.exec(ctx, `INSERT INTO bulk_imports (import_id) VALUES (?)`, id); err != nil {
			return fmt.Errorf("restart import %d: %w", run.ImportID, err)
		}
	}
	if _, err := tx.exec(ctx, `UPDATE sync_runs SET import_id = ?, engine = ?, prepared = 0, resumed = 0 WHERE id = ?`,
		id, engine, run.ID); err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restart import %d: %w", run.ImportID, err)
	}
	run.ImportID, run.Engine, run.Prepared, run.Resumed = id, engine, 0, false
	return nil
}
