package store

import (
	"context"
	"fmt"
	"time"

	"github.com/shopsync/shopsync"
)

// redactCustomer erases a customer's personal data (customers/redact):
// the contact row (attributes included) and its queue entries go, its
// change feed events keep their number, type and time only, and only the
// record of the erasure stays (the id, when, and which delivery asked),
// with a contact.redacted event that carries the id alone.
// secure_delete zeroes the freed bytes; ApplyChanges then checkpoints the
// WAL so that no older copy survives there either.
func (tx *Tx) redactCustomer(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	if ch.ShopifyID <= 0 {
		return shopsync.Result{}, fmt.Errorf("customers/redact without a customer id")
	}
	if red, err := tx.redacted(ctx, ch.ShopifyID); err != nil || red {
		return shopsync.Result{Outcome: shopsync.OutcomeUnchanged}, err
	}
	if err := tx.eraseEvents(ctx, ch.ShopifyID); err != nil {
		return shopsync.Result{}, err
	}
	var erased int64
	for _, q := range []string{
		`DELETE FROM contacts WHERE shopify_id = ?`,
		`DELETE FROM refetch_queue WHERE shopify_id = ?`,
		`DELETE FROM import_missing WHERE shopify_id = ?`,
	} {
		res, err := tx.exec(ctx, q, ch.ShopifyID)
		if err != nil {
			return shopsync.Result{}, fmt.Errorf("redact customer %d: %w", ch.ShopifyID, err)
		}
		if q == `DELETE FROM contacts WHERE shopify_id = ?` {
			erased, _ = res.RowsAffected()
		}
	}
	if erased > 0 {
		if err := tx.appendEvent(ctx, ch.ShopifyID, shopsync.EventRedacted, ch.Source, "", []byte{}); err != nil {
			return shopsync.Result{}, err
		}
	}
	if err := tx.recordRedaction(ctx, "customer", ch, erased); err != nil {
		return shopsync.Result{}, err
	}
	return shopsync.Result{Outcome: shopsync.OutcomeApplied}, nil
}

// redactShop erases every contact (shop/redact) and the data of every
// change feed event, appending a contact.redacted event for each contact,
// and keeps the run history and delivery records, which hold no personal
// data.
func (tx *Tx) redactShop(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	tx.w.mark = "" // whatever this transaction wrote before is erased too
	var erased int64
	if err := tx.queryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&erased); err != nil {
		return shopsync.Result{}, fmt.Errorf("redact shop: %w", err)
	}
	if err := tx.eraseAllEvents(ctx, ch.Source); err != nil {
		return shopsync.Result{}, fmt.Errorf("redact shop: %w", err)
	}
	for _, q := range []string{
		`DELETE FROM contacts`,
		`DELETE FROM marks`, // nothing stored: a full import must come first
		`DELETE FROM refetch_queue`,
		`DELETE FROM import_missing`,
		`DELETE FROM data_requests`,
		`DELETE FROM contact_merges`,
		`UPDATE webhook_deliveries SET shopify_id = NULL`,
	} {
		if _, err := tx.exec(ctx, q); err != nil {
			return shopsync.Result{}, fmt.Errorf("redact shop: %w", err)
		}
	}
	if err := tx.recordRedaction(ctx, "shop", ch, erased); err != nil {
		return shopsync.Result{}, err
	}
	return shopsync.Result{Outcome: shopsync.OutcomeApplied}, nil
}

func (tx *Tx) recordRedaction(ctx context.Context, scope string, ch *shopsync.Change, erased int64) error {
	var id, webhookID any
	if scope == "customer" {
		id = ch.ShopifyID
	}
	if ch.Delivery != nil {
		webhookID = ch.Delivery.WebhookID
	}
	if _, err := tx.exec(ctx, `
		INSERT INTO redactions (scope, shopify_id, webhook_id, requested_at, erased) VALUES (?, ?, ?, ?, ?)`,
		scope, id, webhookID, tx.nowText, erased); err != nil {
		return fmt.Errorf("record %s redaction: %w", scope, err)
	}
	return nil
}

// checkpointWait bounds how long a write that erased data waits for
// readers to leave the WAL. Past it the write reports an error (Shopify
// then delivers the redaction again, and the repeat checkpoints again)
// rather than hold every other webhook behind a long reader.
const checkpointWait = 2 * time.Second

// checkpoint copies the WAL into the database file and truncates it to
// zero bytes, retrying while readers hold older snapshots (a TRUNCATE
// checkpoint cannot finish past them) until ctx ends. It waits here, where
// ctx is watched, and not in SQLite's busy handler, which ignores ctx and
// would hold the writer for the whole busy timeout.
func (db *DB) checkpoint(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.ExecContext(context.Background(), `PRAGMA busy_timeout = `+busyTimeout)
	delay := 5 * time.Millisecond
	for {
		var busy, logFrames, done int
		if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("checkpoint: readers kept the WAL busy: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// Checkpoint checkpoints and truncates the WAL (see checkpoint).
func (db *DB) Checkpoint(ctx context.Context) error { return db.checkpoint(ctx) }
