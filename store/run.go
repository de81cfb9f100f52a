package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shopsync/shopsync"
)

// interrupted is the error text given to runs found still "running" when
// a new run starts: their process died (the sync lock proves it).
const interrupted = "interrupted: the process stopped before the run finished"

// BeginRun records a new run of a full import and returns it with the
// checkpoint to start after. If an earlier import did not complete, the run
// resumes it from its checkpoint; otherwise it starts a new import.
//
// The caller must hold the sync lock (see LockSync), so any run still marked
// running belongs to a dead process: it is marked failed here.
func (db *DB) BeginRun(ctx context.Context, trigger shopsync.Trigger) (*shopsync.SyncRun, int64, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("begin run: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.exec(ctx,
		`UPDATE sync_runs SET state = 'failed', finished_at = ?, error = ? WHERE state = 'running'`,
		tx.nowText, interrupted); err != nil {
		return nil, 0, fmt.Errorf("begin run: %w", err)
	}
	var (
		importID   int64
		checkpoint int64
		resumed    bool
	)
	err = tx.queryRow(ctx,
		`SELECT id, checkpoint_id FROM imports WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1`,
	).Scan(&importID, &checkpoint)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.exec(ctx, `INSERT INTO imports (started_at) VALUES (?)`, tx.nowText)
		if err != nil {
			return nil, 0, fmt.Errorf("begin run: %w", err)
		}
		if importID, err = res.LastInsertId(); err != nil {
			return nil, 0, fmt.Errorf("begin run: %w", err)
		}
	case err != nil:
		return nil, 0, fmt.Errorf("begin run: %w", err)
	default:
		resumed = true
	}
	res, err := tx.exec(ctx,
		`INSERT INTO sync_runs (import_id, trigger, state, resumed, started_at) VALUES (?, ?, 'running', ?, ?)`,
		importID, string(trigger), resumed, tx.nowText)
	if err != nil {
		return nil, 0, fmt.Errorf("begin run: %w", err)
	}
	runID, err := res.LastInsertId()
	if err != nil {
		return nil, 0, fmt.Errorf("begin run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("begin run: %w", err)
	}
	run, err := db.Run(ctx, runID)
	if err != nil {
		return nil, 0, err
	}
	return run, checkpoint, nil
}

// SetRunTotal records how many customers Shopify counted, for progress.
func (db *DB) SetRunTotal(ctx context.Context, runID, total int64) error {
	if _, err := db.exec(ctx, `UPDATE sync_runs SET total = ? WHERE id = ?`, total, runID); err != nil {
		return fmt.Errorf("set run %d total: %w", runID, err)
	}
	return nil
}

// FailRun marks a run failed with the reason. Everything its pages stored
// stays, and its import stays open so the next run resumes it.
func (db *DB) FailRun(ctx context.Context, runID int64, reason string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("fail run %d: %w", runID, err)
	}
	defer tx.Rollback()
	if _, err := tx.exec(ctx,
		`UPDATE sync_runs SET state = 'failed', finished_at = ?, error = ? WHERE id = ? AND state = 'running'`,
		tx.nowText, reason, runID); err != nil {
		return fmt.Errorf("fail run %d: %w", runID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fail run %d: %w", runID, err)
	}
	return nil
}

const runSelect = `SELECT id, coalesce(import_id, 0), trigger, state, resumed, started_at, finished_at,
	total, fetched, pages, created, updated, unchanged, deleted, error, engine, prepared FROM sync_runs`

// Run returns the run with the given id.
func (db *DB) Run(ctx context.Context, id int64) (*shopsync.SyncRun, error) {
	runs, err := db.queryRuns(ctx, ` WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return runs[0], nil
}

// Runs returns the most recent runs, newest first.
func (db *DB) Runs(ctx context.Context, limit int) ([]*shopsync.SyncRun, error) {
	return db.queryRuns(ctx, ` ORDER BY id DESC LIMIT ?`, limit)
}

// RunningRun returns the run marked running, or ErrNotFound.
func (db *DB) RunningRun(ctx context.Context) (*shopsync.SyncRun, error) {
	runs, err := db.queryRuns(ctx, ` WHERE state = 'running' ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, ErrNotFound
	}
	return runs[0], nil
}

func (db *DB) queryRuns(ctx context.Context, where string, args ...any) ([]*shopsync.SyncRun, error) {
	rows, err := db.read.QueryContext(ctx, runSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query runs: %w", err)
	}
	defer rows.Close()
	var runs []*shopsync.SyncRun
	for rows.Next() {
		var (
			r        shopsync.SyncRun
			started  string
			finished sql.NullString
		)
		if err := rows.Scan(&r.ID, &r.ImportID, &r.Trigger, &r.State, &r.Resumed, &started, &finished,
			&r.Total, &r.Fetched, &r.Pages, &r.Created, &r.Updated, &r.Unchanged, &r.Deleted, &r.Error,
			&r.Engine, &r.Prepared); err != nil {
			return nil, fmt.Errorf("query runs: %w", err)
		}
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("query runs: %w", err)
		}
		if r.FinishedAt, err = nullTime(finished); err != nil {
			return nil, fmt.Errorf("query runs: %w", err)
		}
		runs = append(runs, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query runs: %w", err)
	}
	return runs, nil
}
