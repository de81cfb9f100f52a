package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shopsync/shopsync"
)

// ApplyPage applies one page of a full import in one transaction; see
// ApplyPages.
func (db *DB) ApplyPage(ctx context.Context, run *shopsync.SyncRun, after, last int64, fetched time.Time, contacts []shopsync.Contact) (shopsync.PageCounts, error) {
	return db.ApplyPages(ctx, run, []shopsync.ImportPage{{After: after, Last: last, Fetched: fetched, Contacts: contacts}})
}

// ApplyPages applies consecutive pages of a full import in one
// transaction: it upserts their contacts, notes the stored contacts in
// each page's id range that Shopify's page no longer has, moves the
// import's checkpoint to the last page's Last, and adds the pages' counts
// to the run. Each page must start where the one before it ended.
//
// The import obeys the same gates as webhooks: a part whose stored
// version is newer (a webhook brought newer data) keeps it. A contact
// already equal to the stored one is not written; one with nothing newer
// counts as unchanged too.
func (db *DB) ApplyPages(ctx context.Context, run *shopsync.SyncRun, pages []shopsync.ImportPage) (shopsync.PageCounts, error) {
	var counts shopsync.PageCounts
	if len(pages) == 0 {
		return counts, nil
	}
	fetched := 0
	for i := range pages {
		pg := &pages[i]
		if i > 0 && pg.After != pages[i-1].Last {
			return counts, fmt.Errorf("apply pages: page %d starts after %d, not at the previous page's last id %d", i, pg.After, pages[i-1].Last)
		}
		prev := pg.After
		for j := range pg.Contacts {
			id := pg.Contacts[j].ShopifyID
			if id <= prev || id > pg.Last {
				return counts, fmt.Errorf("apply page: contact %d out of order in (%d, %d]", id, pg.After, pg.Last)
			}
			prev = id
		}
		fetched += len(pg.Contacts)
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	defer tx.Rollback()
	for i := range pages {
		if err := tx.applyPage(ctx, run, &pages[i], &counts); err != nil {
			return counts, fmt.Errorf("apply page: %w", err)
		}
	}
	last := pages[len(pages)-1].Last
	if _, err := tx.exec(ctx,
		`UPDATE imports SET checkpoint_id = ? WHERE id = ? AND finished_at IS NULL`, last, run.ImportID); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	if _, err := tx.exec(ctx, `
		UPDATE sync_runs SET fetched = fetched + ?, pages = pages + ?,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?
		WHERE id = ?`,
		fetched, len(pages), counts.Created, counts.Updated, counts.Unchanged, run.ID); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return counts, fmt.Errorf("apply page: %w", err)
	}
	return counts, nil
}

// applyPage writes one page within tx and adds its effects to counts.
func (tx *Tx) applyPage(ctx context.Context, run *shopsync.SyncRun, pg *shopsync.ImportPage, counts *shopsync.PageCounts) error {
	have, err := tx.storedRange(ctx, pg.After, pg.Last)
	if err != nil {
		return err
	}
	redacted, err := tx.redactedIn(ctx, pg.After, pg.Last)
	if err != nil {
		return err
	}
	// Contacts to merge with the stored one: read in one query when they
	// are many, one by one when few.
	merge := make([]*shopsync.Contact, 0, len(pg.Contacts))
	stored := 0
	for i := range pg.Contacts {
		c := &pg.Contacts[i]
		s, ok := have[c.ShopifyID]
		if redacted[c.ShopifyID] || ok && s.unchangedBy(c) {
			counts.Unchanged++
			continue
		}
		merge = append(merge, c)
		if ok {
			stored++
		}
	}
	var records map[int64]*record
	if stored > len(pg.Contacts)/2 {
		if records, err = tx.loadRange(ctx, pg.After, pg.Last); err != nil {
			return err
		}
	}
	for _, c := range merge {
		var old *record
		if records != nil {
			old = records[c.ShopifyID]
		} else if _, ok := have[c.ShopifyID]; ok {
			if old, err = tx.loadRecord(ctx, c.ShopifyID); err != nil {
				return err
			}
		}
		res, err := tx.upsert(ctx, old, c, pg.Fetched, true, shopsync.SourceImport)
		if err != nil {
			return err
		}
		switch res.effect {
		case effectCreated:
			counts.Created++
		case effectUpdated:
			counts.Updated++
		default:
			counts.Unchanged++
		}
	}
	for i := range pg.Contacts {
		delete(have, pg.Contacts[i].ShopifyID)
	}
	seen := formatTime(pg.Fetched)
	for id, s := range have {
		if s.deleted {
			continue
		}
		if _, err := tx.exec(ctx,
			`INSERT OR IGNORE INTO import_missing (import_id, shopify_id, seen) VALUES (?, ?, ?)`, run.ImportID, id, seen); err != nil {
			return err
		}
	}
	return nil
}

// storedRange reads the version of each stored contact with an id in
// (after, last], by id.
func (tx *Tx) storedRange(ctx context.Context, after, last int64) (map[int64]version, error) {
	rows, err := tx.query(ctx, `SELECT shopify_id, content_hash, deleted_at IS NOT NULL, stamps, shopify_updated_at
		FROM contacts WHERE shopify_id > ? AND shopify_id <= ?`, after, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := make(map[int64]version)
	for rows.Next() {
		var (
			id      int64
			v       version
			blob    []byte
			updated sql.NullString
		)
		if err := rows.Scan(&id, &v.hash, &v.deleted, &blob, &updated); err != nil {
			return nil, err
		}
		u, err := nullTime(updated)
		if err != nil {
			return nil, err
		}
		st, err := decodeStamps(blob, u)
		if err != nil {
			return nil, fmt.Errorf("contact %d: %w", id, err)
		}
		v.known = st.known()
		have[id] = v
	}
	return have, rows.Err()
}

// loadRange reads the stored records with ids in (after, last], by id.
func (tx *Tx) loadRange(ctx context.Context, after, last int64) (map[int64]*record, error) {
	rows, err := tx.query(ctx, `SELECT `+recordColumns+` FROM contacts WHERE shopify_id > ? AND shopify_id <= ?`, after, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]*record)
	for rows.Next() {
		r, err := tx.db.scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out[r.c.ShopifyID] = r
	}
	return out, rows.Err()
}

// FinishImport completes the run's import after its last page: stored
// contacts past the checkpoint are missing too (as of the last read, at
// seen), and every contact found missing is marked deleted, as of the
// read that did not list it — unless some of its data is not older than
// that read (a webhook triggered after it brought the contact). It
// returns how many contacts it deleted and records the run as succeeded.
// Only a completed import deletes anything.
func (db *DB) FinishImport(ctx context.Context, run *shopsync.SyncRun, seen time.Time) (int64, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("finish import: %w", err)
	}
	defer tx.Rollback()
	var checkpoint int64
	if err := tx.queryRow(ctx,
		`SELECT checkpoint_id FROM imports WHERE id = ? AND finished_at IS NULL`, run.ImportID,
	).Scan(&checkpoint); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.exec(ctx, `
		INSERT OR IGNORE INTO import_missing (import_id, shopify_id, seen)
		SELECT ?, shopify_id, ? FROM contacts WHERE shopify_id > ? AND deleted_at IS NULL`,
		run.ImportID, formatTime(seen), checkpoint); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	rows, err := tx.query(ctx, `
		SELECT m.shopify_id, m.seen FROM import_missing AS m JOIN contacts AS c USING (shopify_id)
		WHERE m.import_id = ? AND c.deleted_at IS NULL ORDER BY m.shopify_id`, run.ImportID)
	if err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	type missing struct {
		id   int64
		seen time.Time
	}
	var gone []missing
	for rows.Next() {
		var (
			m    missing
			when sql.NullString
		)
		if err := rows.Scan(&m.id, &when); err != nil {
			rows.Close()
			return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
		}
		m.seen = seen // noted by a release before 0007: as of the last read
		if when.Valid {
			if m.seen, err = parseTime(when.String); err != nil {
				rows.Close()
				return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
			}
		}
		gone = append(gone, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	var deleted int64
	for _, m := range gone {
		e, err := tx.markDeleted(ctx, m.id, stampOf(shopsync.Clock{}, m.seen, true), shopsync.SourceImport)
		if err != nil {
			return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
		}
		if e == effectUpdated {
			deleted++
		}
	}
	if _, err := tx.exec(ctx, `DELETE FROM import_missing WHERE import_id = ?`, run.ImportID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.exec(ctx, `UPDATE imports SET finished_at = ? WHERE id = ?`, tx.nowText, run.ImportID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if _, err := tx.exec(ctx,
		`UPDATE sync_runs SET state = 'succeeded', finished_at = ?, deleted = ? WHERE id = ?`,
		tx.nowText, deleted, run.ID); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("finish import %d: %w", run.ImportID, err)
	}
	return deleted, nil
}
