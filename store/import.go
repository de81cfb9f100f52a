package store

import (
	"context"
	"fmt"

	"github.com/shopsync/shopsync"
)

// Source names what wrote a contact, kept in changed_by.
const SourceImport = "import"

// stored is what a page apply needs of a stored contact.
type stored struct {
	hash      int64
	updatedAt string // shopify_updated_at, RFC 3339 UTC; "" when null
	deleted   bool
}

// ApplyPage applies one page of a full import in one transaction: it
// upserts the page's contacts, notes the stored contacts in the id range
// (after, last] that Shopify's page no longer has, moves the import's
// checkpoint to last, and adds the page's counts to the run.
//
// contacts must be full records (every field and configured attribute) in
// strictly ascending id order within (after, last]. A contact already equal
// to the stored one is not written; one whose Shopify updated_at is older
// than the stored one is not written either (a webhook brought newer data):
// both count as unchanged.
func (db *DB) ApplyPage(ctx context.Context, run *shopsync.SyncRun, after, last int64, contacts []shopsync.Contact) (shopsync.PageCounts, error) {
	var counts shopsync.PageCounts
	prev := after
	for i := range contacts {
		id := contacts[i].ShopifyID
		if id <= prev || id > last {
			return counts, fmt.Errorf("apply page: contact %d out of order in (%d, %d]", id, after, last)
		}
		prev = id
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	defer tx.Rollback()

	have, err := tx.storedRange(ctx, after, last)
	if err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	for i := range contacts {
		c := &contacts[i]
		hash := contentHash(c)
		s, ok := have[c.ShopifyID]
		delete(have, c.ShopifyID)
		switch {
		case !ok || s.deleted:
			counts.Created++
		case s.hash == hash:
			counts.Unchanged++
			continue
		case olderThan(c, s.updatedAt):
			counts.Unchanged++
			continue
		default:
			counts.Updated++
		}
		if err := tx.writeContact(ctx, c, hash, SourceImport); err != nil {
			return counts, fmt.Errorf("apply page: %w", err)
		}
	}
	for id, s := range have {
		if s.deleted {
			continue
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT OR IGNORE INTO import_missing (import_id, shopify_id) VALUES (?, ?)`, run.ImportID, id); err != nil {
			return counts, fmt.Errorf("apply page: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE imports SET checkpoint_id = ? WHERE id = ? AND finished_at IS NULL`, last, run.ImportID); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE sync_runs SET fetched = fetched + ?, pages = pages + 1,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?
		WHERE id = ?`,
		len(contacts), counts.Created, counts.Updated, counts.Unchanged, run.ID); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	return counts, nil
}

// olderThan reports whether c's Shopify updated_at is before the stored one.
func olderThan(c *shopsync.Contact, storedUpdatedAt string) bool {
	if c.ShopifyUpdatedAt == nil || storedUpdatedAt == "" {
		return false
	}
	t, err := parseTime(storedUpdatedAt)
	if err != nil {
		return false
	}
	return c.ShopifyUpdatedAt.Before(t)
}

func (tx *Tx) storedRange(ctx context.Context, after, last int64) (map[int64]stored, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT shopify_id, content_hash, coalesce(shopify_updated_at, ''), deleted_at IS NOT NULL
		FROM contacts WHERE shopify_id > ? AND shopify_id <= ?`, after, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := make(map[int64]stored)
	for rows.Next() {
		var (
			id int64
			s  stored
		)
		if err := rows.Scan(&id, &s.hash, &s.updatedAt, &s.deleted); err != nil {
			return nil, err
		}
		have[id] = s
	}
	return have, rows.Err()
}

// FinishImport completes the run's import after its last page: stored
// contacts past the checkpoint are missing too, and every contact found
// missing is marked deleted — unless something (a webhook) wrote it after
// the import started. It returns how many contacts it deleted and records
// the run as succeeded. Only a completed import deletes anything.
func (db *DB) FinishImport(ctx context.Context, run *shopsync.SyncRun) (int64, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("finish import: %w", err)
	}
	defer tx.Rollback()
	var checkpoint int64
	var started string
	if err := tx.QueryRowContext(ctx,
		`SELECT checkpoint_id, started_at FROM imports WHERE id = ? AND finished_at IS NULL`, run.ImportID,
	).Scan(&checkpoint, &started); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT OR IGNORE INTO import_missing (import_id, shopify_id)
		SELECT ?, shopify_id FROM contacts WHERE shopify_id > ? AND deleted_at IS NULL`,
		run.ImportID, checkpoint); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE contacts SET deleted_at = ?, updated_at = ?, changed_by = ?
		WHERE deleted_at IS NULL AND updated_at < ?
			AND shopify_id IN (SELECT shopify_id FROM import_missing WHERE import_id = ?)`,
		tx.now, tx.now, SourceImport, started, run.ImportID)
	if err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	deleted, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_missing WHERE import_id = ?`, run.ImportID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE imports SET finished_at = ? WHERE id = ?`, tx.now, run.ImportID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE sync_runs SET state = 'succeeded', finished_at = ?, deleted = ? WHERE id = ?`,
		tx.now, deleted, run.ID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	return deleted, nil
}
