package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// RefetchBatch returns up to limit queued contact ids, oldest first, and
// the time they were read: DequeueRefetch removes only entries queued
// before it, so one queued again meanwhile is fetched again.
func (db *DB) RefetchBatch(ctx context.Context, limit int) ([]int64, time.Time, error) {
	taken := db.Now()
	rows, err := db.read.QueryContext(ctx,
		`SELECT shopify_id FROM refetch_queue ORDER BY queued_at, shopify_id LIMIT ?`, limit)
	if err != nil {
		return nil, taken, fmt.Errorf("refetch batch: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, taken, fmt.Errorf("refetch batch: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, taken, rows.Err()
}

// DequeueRefetch removes ids queued up to taken (see RefetchBatch).
func (db *DB) DequeueRefetch(ctx context.Context, ids []int64, taken time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, formatTime(taken))
	for _, id := range ids {
		args = append(args, id)
	}
	q := `DELETE FROM refetch_queue WHERE queued_at <= ? AND shopify_id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	if _, err := db.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("dequeue refetch: %w", err)
	}
	return nil
}

// RefetchPending returns how many contacts wait for a re-fetch.
func (db *DB) RefetchPending(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM refetch_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("refetch pending: %w", err)
	}
	return n, nil
}

// PruneDeliveries forgets webhook deliveries received before before. Keep
// at least 7 days: Shopify retries a delivery for 4 hours and may deliver
// one up to a day late.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM webhook_deliveries WHERE received_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return res.RowsAffected()
}

// DeliveryCount is the number of deliveries of one topic with one outcome.
type DeliveryCount struct {
	Topic   string           `json:"topic"`
	Outcome shopsync.Outcome `json:"outcome"`
	Count   int64            `json:"count"`
}

// DeliveryCounts counts the deliveries received since since, by topic and
// outcome.
func (db *DB) DeliveryCounts(ctx context.Context, since time.Time) ([]DeliveryCount, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT topic, outcome, count(*) FROM webhook_deliveries WHERE received_at >= ?
		GROUP BY topic, outcome ORDER BY topic, outcome`, formatTime(since))
	if err != nil {
		return nil, fmt.Errorf("delivery counts: %w", err)
	}
	defer rows.Close()
	var out []DeliveryCount
	for rows.Next() {
		var dc DeliveryCount
		if err := rows.Scan(&dc.Topic, &dc.Outcome, &dc.Count); err != nil {
			return nil, fmt.Errorf("delivery counts: %w", err)
		}
		out = append(out, dc)
	}
	return out, rows.Err()
}

// HighWaterMark returns the newest Shopify updated_at the store has
// written (kept in the marks table as writes commit): the reconciliation
// sweep starts from it (the data's clock, not the local one). ok is false
// when nothing has been stored yet, or after shop/redact.
func (db *DB) HighWaterMark(ctx context.Context) (mark time.Time, ok bool, err error) {
	var s *string
	if err := db.read.QueryRowContext(ctx, `SELECT max(value) FROM marks WHERE name = 'data'`).Scan(&s); err != nil {
		return mark, false, fmt.Errorf("high-water mark: %w", err)
	}
	if s == nil {
		return mark, false, nil
	}
	mark, err = parseTime(*s)
	if err != nil {
		return mark, false, fmt.Errorf("high-water mark: %w", err)
	}
	return mark, true, nil
}

// BeginSweep records a run of a reconciliation sweep, which, unlike a
// full import, deletes nothing and has no checkpoint. The caller must hold
// the sync lock.
func (db *DB) BeginSweep(ctx context.Context) (*shopsync.SyncRun, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin sweep: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.exec(ctx,
		`UPDATE sync_runs SET state = 'failed', finished_at = ?, error = ? WHERE state = 'running'`,
		tx.nowText, interrupted); err != nil {
		return nil, fmt.Errorf("begin sweep: %w", err)
	}
	res, err := tx.exec(ctx,
		`INSERT INTO sync_runs (trigger, state, started_at) VALUES (?, 'running', ?)`,
		string(shopsync.TriggerReconcile), tx.nowText)
	if err != nil {
		return nil, fmt.Errorf("begin sweep: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, fmt.Errorf("begin sweep: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("begin sweep: %w", err)
	}
	return db.Run(ctx, id)
}

// AddRunCounts adds a page's counts to a run.
func (db *DB) AddRunCounts(ctx context.Context, runID, fetched int64, c shopsync.PageCounts) error {
	if _, err := db.exec(ctx, `
		UPDATE sync_runs SET fetched = fetched + ?, pages = pages + 1,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?
		WHERE id = ?`, fetched, c.Created, c.Updated, c.Unchanged, runID); err != nil {
		return fmt.Errorf("run %d counts: %w", runID, err)
	}
	return nil
}

// FinishSweep records a sweep run as succeeded.
func (db *DB) FinishSweep(ctx context.Context, runID int64) error {
	if _, err := db.exec(ctx,
		`UPDATE sync_runs SET state = 'succeeded', finished_at = ? WHERE id = ? AND state = 'running'`,
		formatTime(db.Now()), runID); err != nil {
		return fmt.Errorf("finish sweep %d: %w", runID, err)
	}
	return nil
}
