package store

import (
	"context"
	"fmt"
)

// CheckContentHashes reports a stored contact whose content_hash is not
// contentHash of its record as read back: what migration 0007 computes
// must be what the writers stored, or an upgraded store's next import
// would rewrite contacts that did not change.
func CheckContentHashes(ctx context.Context, db *DB) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.query(ctx, `SELECT `+recordColumns+` FROM contacts ORDER BY shopify_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := db.scanRecord(rows)
		if err != nil {
			return err
		}
		if h := contentHash(&r.c); h != r.hash {
			return fmt.Errorf("contact %d: stored content_hash %d, its record hashes to %d", r.c.ShopifyID, r.hash, h)
		}
	}
	return rows.Err()
}
