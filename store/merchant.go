package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// Queries for the merchant's view (issue 16): the counts that tell whether
// the copy is exact, run history by trigger, the contacts a sweep caught,
// and refused webhook deliveries kept across restarts.

// RejectionCount is a number of refused webhook deliveries with one
// reason: in one hour (AddRejections), or over a span (Rejections).
type RejectionCount struct {
	Hour   time.Time `json:"-"` // the hour's start; AddRejections only
	Reason string    `json:"reason"`
	Count  int64     `json:"count"`
	LastAt time.Time `json:"last_at"` // the last one counted
}

// AddRejections adds counts of refused deliveries, each to its hour and
// reason, in one transaction.
func (db *DB) AddRejections(ctx context.Context, counts []RejectionCount) error {
	if len(counts) == 0 {
		return nil
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("add rejections: %w", err)
	}
	defer tx.Rollback()
	for _, c := range counts {
		if _, err := tx.exec(ctx, `
			INSERT INTO webhook_rejections (hour, reason, count, last_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (hour, reason) DO UPDATE SET count = count + excluded.count,
				last_at = max(last_at, excluded.last_at)`,
			formatTime(c.Hour.UTC().Truncate(time.Hour)), c.Reason, c.Count, formatTime(c.LastAt)); err != nil {
			return fmt.Errorf("add rejections: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add rejections: %w", err)
	}
	return nil
}

// Rejections returns the refused deliveries counted in the hours from the
// one holding since, by reason, most first.
func (db *DB) Rejections(ctx context.Context, since time.Time) ([]RejectionCount, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT reason, sum(count), max(last_at) FROM webhook_rejections WHERE hour >= ?
		GROUP BY reason ORDER BY sum(count) DESC, reason`, formatTime(since.UTC().Truncate(time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("rejections: %w", err)
	}
	defer rows.Close()
	var out []RejectionCount
	for rows.Next() {
		var (
			rc   RejectionCount
			last string
		)
		if err := rows.Scan(&rc.Reason, &rc.Count, &last); err != nil {
			return nil, fmt.Errorf("rejections: %w", err)
		}
		if rc.LastAt, err = parseTime(last); err != nil {
			return nil, fmt.Errorf("rejections: %w", err)
		}
		out = append(out, rc)
	}
	return out, rows.Err()
}

// PruneRejections forgets the counts of hours before before.
func (db *DB) PruneRejections(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM webhook_rejections WHERE hour < ?`, formatTime(before.UTC()))
	if err != nil {
		return 0, fmt.Errorf("prune rejections: %w", err)
	}
	return res.RowsAffected()
}

// LastDelivery returns when the newest accepted webhook delivery was
// received; ok is false when none is kept.
func (db *DB) LastDelivery(ctx context.Context) (at time.Time, ok bool, err error) {
	var s sql.NullString
	if err := db.read.QueryRowContext(ctx, `SELECT max(received_at) FROM webhook_deliveries`).Scan(&s); err != nil {
		return at, false, fmt.Errorf("last delivery: %w", err)
	}
	if !s.Valid {
		return at, false, nil
	}
	if at, err = parseTime(s.String); err != nil {
		return at, false, fmt.Errorf("last delivery: %w", err)
	}
	return at, true, nil
}

// MaxRunContacts bounds the contacts kept per run: a sweep that caught
// more lists the first ones, and its counts say how many in all.
const MaxRunContacts = 200

// RunContact is a contact a run created or updated.
type RunContact struct {
	ShopifyID int64
	Created   bool // new to the store; else updated
}

// AddSweepCounts adds a page's counts to a sweep's run, as AddRunCounts
// does, and records which contacts the page created or updated, up to
// MaxRunContacts a run, in the same transaction.
func (db *DB) AddSweepCounts(ctx context.Context, runID, fetched int64, c shopsync.PageCounts, changed []RunContact) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("run %d counts: %w", runID, err)
	}
	defer tx.Rollback()
	if _, err := tx.exec(ctx, `
		UPDATE sync_runs SET fetched = fetched + ?, pages = pages + 1,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?
		WHERE id = ?`, fetched, c.Created, c.Updated, c.Unchanged, runID); err != nil {
		return fmt.Errorf("run %d counts: %w", runID, err)
	}
	if len(changed) > 0 {
		var kept int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM run_contacts WHERE run_id = ?`, runID).Scan(&kept); err != nil {
			return fmt.Errorf("run %d contacts: %w", runID, err)
		}
		for _, rc := range changed[:min(len(changed), max(MaxRunContacts-kept, 0))] {
			if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO run_contacts (run_id, shopify_id, created) VALUES (?, ?, ?)`,
				runID, rc.ShopifyID, rc.Created); err != nil {
				return fmt.Errorf("run %d contacts: %w", runID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("run %d counts: %w", runID, err)
	}
	return nil
}

// RunContactSummary is a contact a run created or updated, as the status
// page lists it: id, name and whether it is still in the store.
type RunContactSummary struct {
	ShopifyID int64
	Created   bool
	FirstName *string
	LastName  *string
	Email     *string
	Active    bool // not deleted since
}

// RunContacts returns the contacts recorded for a run (at most
// MaxRunContacts), in id order.
func (db *DB) RunContacts(ctx context.Context, runID int64) ([]RunContactSummary, error) {
	rows, err := db.read.QueryContext(ctx, `
		SELECT r.shopify_id, r.created, c.first_name, c.last_name, c.email,
			c.shopify_id IS NOT NULL AND c.deleted_at IS NULL
		FROM run_contacts AS r LEFT JOIN contacts AS c ON c.shopify_id = r.shopify_id
		WHERE r.run_id = ? ORDER BY r.shopify_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("run %d contacts: %w", runID, err)
	}
	defer rows.Close()
	var out []RunContactSummary
	for rows.Next() {
		var (
			rc                 RunContactSummary
			first, last, email sql.NullString
		)
		if err := rows.Scan(&rc.ShopifyID, &rc.Created, &first, &last, &email, &rc.Active); err != nil {
			return nil, fmt.Errorf("run %d contacts: %w", runID, err)
		}
		rc.FirstName, rc.LastName, rc.Email = strPtr(first), strPtr(last), strPtr(email)
		out = append(out, rc)
	}
	return out, rows.Err()
}

// PruneRunContacts forgets the contacts of runs started before before.
func (db *DB) PruneRunContacts(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM run_contacts WHERE run_id IN
		(SELECT id FROM sync_runs WHERE started_at < ?)`, formatTime(before.UTC()))
	if err != nil {
		return 0, fmt.Errorf("prune run contacts: %w", err)
	}
	return res.RowsAffected()
}

// ShopCount is a count Shopify gave, and when.
type ShopCount struct {
	Count     int64
	CountedAt time.Time
}

// SetCustomerCount records Shopify's count of customers (customers/count.json).
func (db *DB) SetCustomerCount(ctx context.Context, n int64, at time.Time) error {
	if _, err := db.exec(ctx, `
		INSERT INTO shop_counts (name, count, counted_at) VALUES ('customers', ?, ?)
		ON CONFLICT (name) DO UPDATE SET count = excluded.count, counted_at = excluded.counted_at
		WHERE excluded.counted_at >= counted_at`, n, formatTime(at)); err != nil {
		return fmt.Errorf("set customer count: %w", err)
	}
	return nil
}

// CustomerCount returns the last count of customers SetCustomerCount
// recorded; ok is false when there is none.
func (db *DB) CustomerCount(ctx context.Context) (c ShopCount, ok bool, err error) {
	var at string
	err = db.read.QueryRowContext(ctx, `SELECT count, counted_at FROM shop_counts WHERE name = 'customers'`).Scan(&c.Count, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("customer count: %w", err)
	}
	if c.CountedAt, err = parseTime(at); err != nil {
		return c, false, fmt.Errorf("customer count: %w", err)
	}
	return c, true, nil
}

// RunFilter selects runs for RunsPage.
type RunFilter struct {
	Triggers []shopsync.Trigger // any of these; empty: every trigger
	State    shopsync.RunState  // "": any state
	Changed  bool               // only runs that created or updated contacts
	Before   int64              // runs with a smaller id; 0: from the newest
	Limit    int                // at most this many; 0: 50
}

// FullImports are the triggers of full imports: every run but sweeps.
var FullImports = []shopsync.Trigger{shopsync.TriggerButton, shopsync.TriggerSchedule, shopsync.TriggerCLI}

// RunsPage returns the runs f selects, newest first, and whether older
// ones match too (then the next page is Before the last id returned).
func (db *DB) RunsPage(ctx context.Context, f RunFilter) (runs []*shopsync.SyncRun, more bool, err error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var (
		where []string
		args  []any
	)
	if len(f.Triggers) > 0 {
		where = append(where, `trigger IN (?`+strings.Repeat(",?", len(f.Triggers)-1)+`)`)
		for _, t := range f.Triggers {
			args = append(args, string(t))
		}
	}
	if f.State != "" {
		where = append(where, `state = ?`)
		args = append(args, string(f.State))
	}
	if f.Changed {
		where = append(where, `created + updated > 0`)
	}
	if f.Before > 0 {
		where = append(where, `id < ?`)
		args = append(args, f.Before)
	}
	q := ""
	if len(where) > 0 {
		q = ` WHERE ` + strings.Join(where, " AND ")
	}
	runs, err = db.queryRuns(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return nil, false, err
	}
	if len(runs) > f.Limit {
		return runs[:f.Limit], true, nil
	}
	return runs, false, nil
}

// LastRun returns the newest run f selects (its Limit and Before are
// ignored), or ErrNotFound.
func (db *DB) LastRun(ctx context.Context, f RunFilter) (*shopsync.SyncRun, error) {
	f.Limit, f.Before = 1, 0
	runs, _, err := db.RunsPage(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, ErrNotFound
	}
	return runs[0], nil
}

// ContactFirstStored returns when an active contact was first stored.
func (db *DB) ContactFirstStored(ctx context.Context, id int64) (time.Time, error) {
	var at string
	err := db.read.QueryRowContext(ctx, `SELECT created_at FROM contacts WHERE shopify_id = ? AND deleted_at IS NULL`, id).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("contact %d: %w", id, err)
	}
	t, err := parseTime(at)
	if err != nil {
		return time.Time{}, fmt.Errorf("contact %d: %w", id, err)
	}
	return t, nil
}
