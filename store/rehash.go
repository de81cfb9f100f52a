package store

import (
	"context"
	"fmt"
)

// rehashBatch is how many contacts migration 0006 hashes a transaction:
// the WAL holds one batch, not the whole table.
const rehashBatch = 2000

// rehashContacts is migration 0006: it hashes every stored contact again
// with contentHash (xxHash64 since 0006, FNV-1a before), from its row, as
// the writer hashed it. Without it, the next import would find every hash
// changed, rewrite every row and count it updated. It commits a batch at
// a time; cut short, it starts again, and a contact hashed already gets
// the same hash.
func rehashContacts(ctx context.Context, db *DB) error {
	var after int64 // ids are positive
	for {
		last, n, err := db.rehashAfter(ctx, after)
		if err != nil {
			return fmt.Errorf("hash contacts after id %d: %w", after, err)
		}
		if n < rehashBatch {
			return nil
		}
		after = last
	}
}

// rehashAfter hashes again the next rehashBatch contacts with an id above
// after, in one transaction; it returns the last id and how many it read.
func (db *DB) rehashAfter(ctx context.Context, after int64) (last int64, n int, err error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+recordColumns+` FROM contacts
		WHERE shopify_id > ? ORDER BY shopify_id LIMIT ?`, after, rehashBatch)
	if err != nil {
		return 0, 0, err
	}
	var recs []*record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return 0, 0, err
		}
		recs = append(recs, r)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, r := range recs {
		if h := contentHash(&r.c, &r.stamps); h != r.hash {
			if _, err := tx.exec(ctx, `UPDATE contacts SET content_hash = ? WHERE shopify_id = ?`, h, r.c.ShopifyID); err != nil {
				return 0, 0, err
			}
		}
		last = r.c.ShopifyID
	}
	return last, len(recs), tx.Commit()
}
