package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopsync/shopsync"
)

// ApplyChanges applies changes in one transaction, each in its own
// savepoint: a change that fails is rolled back alone and reported in its
// Result. When ApplyChanges returns nil, every change reported without Err
// is durably committed, so a webhook may then be acknowledged. Many
// concurrent deliveries share one commit this way (group commit).
//
// After a redaction it checkpoints the WAL into the database file and
// truncates it, so the erased bytes are gone from both. A repeated
// redaction (a redelivery, or a new request for a customer already erased)
// checkpoints too: when the first checkpoint failed, or the process died
// before it, the old bytes still in the WAL are then erased at last.
func (db *DB) ApplyChanges(ctx context.Context, changes []shopsync.Change) ([]shopsync.Result, error) {
	results := make([]shopsync.Result, len(changes))
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply changes: %w", err)
	}
	defer tx.Rollback()
	erased := false
	for i := range changes {
		var res shopsync.Result
		err := tx.savepoint(ctx, func() (err error) {
			res, err = tx.apply(ctx, &changes[i])
			return err
		})
		var failed *savepointError
		if errors.As(err, &failed) {
			res = shopsync.Result{Err: failed.err}
		} else if err != nil {
			return nil, fmt.Errorf("apply changes: %w", err)
		}
		results[i] = res
		k := changes[i].Kind
		erased = erased || (res.Err == nil && (k == shopsync.ChangeRedactCustomer || k == shopsync.ChangeRedactShop))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("apply changes: %w", err)
	}
	if erased {
		cctx, cancel := context.WithTimeout(ctx, checkpointWait)
		defer cancel()
		if err := db.checkpoint(cctx); err != nil {
			return results, fmt.Errorf("apply changes: erase: %w", err)
		}
	}
	return results, nil
}

func (tx *Tx) apply(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	d := ch.Delivery
	var eventKey any
	if d != nil {
		if d.EventKey != "" {
			eventKey = d.Topic + " " + d.EventKey
		}
		// A redelivery keeps its webhook id; the same event sent to a
		// second subscription of the topic has a new webhook id and the
		// same event id.
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?1
			OR (?2 IS NOT NULL AND event_key = ?2)`, d.WebhookID, eventKey).Scan(&n); err != nil {
			return shopsync.Result{}, fmt.Errorf("delivery %s: %w", d.WebhookID, err)
		}
		if n > 0 {
			return shopsync.Result{Outcome: shopsync.OutcomeDuplicate}, nil
		}
	}
	res, err := tx.applyEffect(ctx, ch)
	if err != nil {
		return shopsync.Result{}, err
	}
	if d != nil {
		var id, triggered any
		if ch.ShopifyID != 0 {
			id = ch.ShopifyID
		}
		if !d.TriggeredAt.IsZero() {
			triggered = formatTime(d.TriggeredAt)
		}
		if _, err := tx.exec(ctx, `
			INSERT INTO webhook_deliveries (webhook_id, topic, shopify_id, triggered_at, received_at, outcome, event_key)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, d.WebhookID, d.Topic, id, triggered, tx.nowText, string(res.Outcome), eventKey); err != nil {
			return shopsync.Result{}, fmt.Errorf("record delivery %s: %w", d.WebhookID, err)
		}
	}
	return res, nil
}

func (tx *Tx) applyEffect(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	switch ch.Kind {
	case shopsync.ChangeIgnore:
		return shopsync.Result{Outcome: shopsync.OutcomeIgnored}, nil
	case shopsync.ChangeRedactShop:
		return tx.redactShop(ctx, ch)
	case shopsync.ChangeRedactCustomer:
		return tx.redactCustomer(ctx, ch)
	case shopsync.ChangeDataRequest:
		return tx.recordDataRequest(ctx, ch)
	case shopsync.ChangeMerge:
		return tx.recordMerge(ctx, ch)
	}
	if ch.ShopifyID <= 0 {
		return shopsync.Result{}, fmt.Errorf("change without a customer id")
	}
	if red, err := tx.redacted(ctx, ch.ShopifyID); err != nil || red {
		return shopsync.Result{Outcome: shopsync.OutcomeIgnored}, err
	}
	var (
		res upsertResult
		err error
	)
	switch ch.Kind {
	case shopsync.ChangeRefetch:
		if err := tx.queue(ctx, ch.ShopifyID, ch.Source); err != nil {
			return shopsync.Result{}, err
		}
		return shopsync.Result{Outcome: shopsync.OutcomeQueued, Queued: true}, nil
	case shopsync.ChangeDelete:
		if !ch.Read {
			return shopsync.Result{}, fmt.Errorf("delete of contact %d without a read confirming it", ch.ShopifyID)
		}
		res.effect, err = tx.markDeleted(ctx, ch.ShopifyID, stampOf(shopsync.Clock{}, ch.Seen, true), ch.Source)
	case shopsync.ChangeUpsert, shopsync.ChangeTagsAdded, shopsync.ChangeTagsRemoved:
		var old *record
		if old, err = tx.loadRecord(ctx, ch.ShopifyID); err != nil {
			return shopsync.Result{}, err
		}
		if ch.Kind == shopsync.ChangeUpsert {
			if ch.Contact == nil || ch.Contact.ShopifyID != ch.ShopifyID {
				return shopsync.Result{}, fmt.Errorf("upsert of contact %d without its data", ch.ShopifyID)
			}
			res, err = tx.upsert(ctx, old, ch.Contact, ch.Seen, ch.Read, ch.Source)
		} else {
			st := stampOf(ch.Clock, ch.Seen, false)
			res, err = tx.upsertTags(ctx, old, ch.ShopifyID, ch.Tags, ch.Kind == shopsync.ChangeTagsAdded, st, ch.Source)
		}
	default:
		return shopsync.Result{}, fmt.Errorf("unknown change kind %d", ch.Kind)
	}
	if err != nil {
		return shopsync.Result{}, err
	}
	out := shopsync.Result{Created: res.effect == effectCreated}
	switch res.effect {
	case effectCreated, effectUpdated:
		out.Outcome = shopsync.OutcomeApplied
	case effectUnchanged:
		out.Outcome = shopsync.OutcomeUnchanged
	default:
		out.Outcome = shopsync.OutcomeStale
	}
	if res.refetch {
		if err := tx.queue(ctx, ch.ShopifyID, ch.Source); err != nil {
			return shopsync.Result{}, err
		}
		out.Queued = true
	} else if ch.Need != 0 && ch.Kind != shopsync.ChangeDelete && out.Outcome != shopsync.OutcomeStale {
		if ch.Need&^res.known != 0 {
			// A part this change needs is not known yet: read it whole.
			if err := tx.queue(ctx, ch.ShopifyID, ch.Source); err != nil {
				return shopsync.Result{}, err
			}
			out.Queued = true
		}
	}
	return out, nil
}

// recordMerge records a customers/merge and queues both customers to be
// read again.
func (tx *Tx) recordMerge(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	mg := ch.Merge
	if mg == nil || mg.KeptID <= 0 || mg.MergedID <= 0 {
		return shopsync.Result{}, fmt.Errorf("customers/merge without both customer ids")
	}
	var webhookID any
	if ch.Delivery != nil {
		webhookID = ch.Delivery.WebhookID
	}
	if _, err := tx.exec(ctx, `INSERT INTO contact_merges (kept_id, merged_id, merged_at, webhook_id) VALUES (?, ?, ?, ?)`,
		mg.KeptID, mg.MergedID, formatTime(ch.Seen), webhookID); err != nil {
		return shopsync.Result{}, fmt.Errorf("record merge of %d into %d: %w", mg.MergedID, mg.KeptID, err)
	}
	for _, id := range []int64{mg.KeptID, mg.MergedID} {
		if red, err := tx.redacted(ctx, id); err != nil {
			return shopsync.Result{}, err
		} else if red {
			continue
		}
		if err := tx.queue(ctx, id, ch.Source); err != nil {
			return shopsync.Result{}, err
		}
	}
	return shopsync.Result{Outcome: shopsync.OutcomeQueued, Queued: true}, nil
}

// queue queues the contact to be read again from the Admin API.
func (tx *Tx) queue(ctx context.Context, id int64, reason string) error {
	// Queued again: the newer time keeps the entry when a batch taken
	// before it is dequeued (see RefetchBatch).
	if _, err := tx.exec(ctx, `INSERT INTO refetch_queue (shopify_id, queued_at, reason) VALUES (?, ?, ?)
		ON CONFLICT (shopify_id) DO UPDATE SET queued_at = excluded.queued_at, reason = excluded.reason`,
		id, tx.nowText, reason); err != nil {
		return fmt.Errorf("queue re-fetch of %d: %w", id, err)
	}
	return nil
}

func (tx *Tx) recordDataRequest(ctx context.Context, ch *shopsync.Change) (shopsync.Result, error) {
	dr := ch.DataRequest
	if dr == nil {
		dr = &shopsync.DataRequest{}
	}
	orders := dr.OrdersRequested
	if orders == nil {
		orders = []int64{}
	}
	ob, err := json.Marshal(orders)
	if err != nil {
		return shopsync.Result{}, err
	}
	var drID, webhookID any
	if dr.ID != 0 {
		drID = dr.ID
	}
	if ch.Delivery != nil {
		webhookID = ch.Delivery.WebhookID
	}
	if _, err := tx.exec(ctx, `
		INSERT INTO data_requests (shopify_id, data_request_id, webhook_id, requested_at, orders_requested)
		VALUES (?, ?, ?, ?, ?)`, ch.ShopifyID, drID, webhookID, tx.nowText, string(ob)); err != nil {
		return shopsync.Result{}, fmt.Errorf("record data request for %d: %w", ch.ShopifyID, err)
	}
	return shopsync.Result{Outcome: shopsync.OutcomeApplied}, nil
}
