package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopsync/shopsync"
)

// ChangeKind says what a Change does.
type ChangeKind int

// The kinds of change.
const (
	// ChangeUpsert merges Contact, part by part (customers/create,
	// customers/update, consent and purchasing-summary topics, re-fetches,
	// reconciliation sweeps).
	ChangeUpsert ChangeKind = iota + 1
	// ChangeTagsAdded and ChangeTagsRemoved add or remove Tags as of Clock.
	ChangeTagsAdded
	ChangeTagsRemoved
	// ChangeDelete marks the contact deleted as of Clock (customers/delete).
	ChangeDelete
	// ChangeRedactCustomer erases the contact's personal data
	// (customers/redact); ChangeRedactShop erases every contact (shop/redact).
	ChangeRedactCustomer
	ChangeRedactShop
	// ChangeDataRequest records a customers/data_request.
	ChangeDataRequest
	// ChangeIgnore only records the delivery (a topic shopsync does not use).
	ChangeIgnore
)

// Change is one thing to apply to the store.
type Change struct {
	Kind      ChangeKind
	ShopifyID int64
	Contact   *shopsync.Contact // ChangeUpsert: Parts and Clocks say what it carries
	Tags      []string          // ChangeTagsAdded, ChangeTagsRemoved
	Clock     time.Time         // the Shopify clock of a tags or delete event
	Tie       time.Time         // tie-break: X-Shopify-Triggered-At, or when the data was fetched
	Source    string            // what changed the contact: a topic, "refetch", "reconcile"

	// Need lists the parts the contact must have (mapping's Parts); when
	// one is still unknown after the change, the contact is queued for a
	// full re-fetch. Zero: never queue.
	Need shopsync.PartSet

	DataRequest *DataRequest // ChangeDataRequest
	Delivery    *Delivery    // set for a webhook: deduplicated and recorded
}

// Delivery identifies a webhook delivery.
type Delivery struct {
	WebhookID   string // X-Shopify-Webhook-Id
	Topic       string
	TriggeredAt time.Time
}

// DataRequest is the content of a customers/data_request.
type DataRequest struct {
	ID              int64
	OrdersRequested []int64
}

// Outcome is what applying a change did.
type Outcome string

// The outcomes of a change.
const (
	OutcomeApplied   Outcome = "applied"   // stored data changed
	OutcomeUnchanged Outcome = "unchanged" // equal to what was stored
	OutcomeStale     Outcome = "stale"     // older than what was stored: no effect
	OutcomeDuplicate Outcome = "duplicate" // a delivery already applied: no effect
	OutcomeIgnored   Outcome = "ignored"   // unknown topic, or a redacted customer
)

// Result is the result of one change.
type Result struct {
	Outcome Outcome
	Created bool  // the contact is new to the store (or back from deleted)
	Queued  bool  // the contact was queued for a full re-fetch
	Err     error // the change failed and was rolled back; the others stand
}

// SourceRefetch and SourceReconcile name the writers of re-fetched and
// swept contacts, in changed_by.
const (
	SourceRefetch   = "refetch"
	SourceReconcile = "reconcile"
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
func (db *DB) ApplyChanges(ctx context.Context, changes []Change) ([]Result, error) {
	results := make([]Result, len(changes))
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply changes: %w", err)
	}
	defer tx.Rollback()
	erased := false
	for i := range changes {
		var res Result
		err := tx.savepoint(ctx, func() (err error) {
			res, err = tx.apply(ctx, &changes[i])
			return err
		})
		var failed *savepointError
		if errors.As(err, &failed) {
			res = Result{Err: failed.err}
		} else if err != nil {
			return nil, fmt.Errorf("apply changes: %w", err)
		}
		results[i] = res
		k := changes[i].Kind
		erased = erased || (res.Err == nil && (k == ChangeRedactCustomer || k == ChangeRedactShop))
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

// savepoint runs fn inside a savepoint. When fn fails, its writes are
// rolled back, and with them what the transaction noted of them (the data
// mark, new attribute type sets), and the error comes back as a
// *savepointError: the transaction can go on. Any other error means the
// savepoint itself failed.
func (tx *Tx) savepoint(ctx context.Context, fn func() error) error {
	if _, err := tx.exec(ctx, `SAVEPOINT change`); err != nil {
		return err
	}
	mark, types := tx.mark, len(tx.newTypes)
	if err := fn(); err != nil {
		if _, rerr := tx.exec(ctx, `ROLLBACK TO change`); rerr != nil {
			return errors.Join(err, rerr)
		}
		tx.mark = mark // the rolled-back write does not count
		tx.newTypes = tx.newTypes[:types]
		if _, rerr := tx.exec(ctx, `RELEASE change`); rerr != nil {
			return errors.Join(err, rerr)
		}
		return &savepointError{err}
	}
	_, err := tx.exec(ctx, `RELEASE change`)
	return err
}

// savepointError is the error of a savepoint's fn, whose writes were
// rolled back.
type savepointError struct{ err error }

func (e *savepointError) Error() string { return e.err.Error() }
func (e *savepointError) Unwrap() error { return e.err }

func (tx *Tx) apply(ctx context.Context, ch *Change) (Result, error) {
	if d := ch.Delivery; d != nil {
		var n int
		if err := tx.queryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?`,
			d.WebhookID).Scan(&n); err != nil {
			return Result{}, fmt.Errorf("delivery %s: %w", d.WebhookID, err)
		}
		if n > 0 {
			return Result{Outcome: OutcomeDuplicate}, nil
		}
	}
	res, err := tx.applyEffect(ctx, ch)
	if err != nil {
		return Result{}, err
	}
	if d := ch.Delivery; d != nil {
		var id, triggered any
		if ch.ShopifyID != 0 {
			id = ch.ShopifyID
		}
		if !d.TriggeredAt.IsZero() {
			triggered = formatTime(d.TriggeredAt)
		}
		if _, err := tx.exec(ctx, `
			INSERT INTO webhook_deliveries (webhook_id, topic, shopify_id, triggered_at, received_at, outcome)
			VALUES (?, ?, ?, ?, ?, ?)`, d.WebhookID, d.Topic, id, triggered, tx.now, string(res.Outcome)); err != nil {
			return Result{}, fmt.Errorf("record delivery %s: %w", d.WebhookID, err)
		}
	}
	return res, nil
}

func (tx *Tx) applyEffect(ctx context.Context, ch *Change) (Result, error) {
	switch ch.Kind {
	case ChangeIgnore:
		return Result{Outcome: OutcomeIgnored}, nil
	case ChangeRedactShop:
		return tx.redactShop(ctx, ch)
	case ChangeRedactCustomer:
		return tx.redactCustomer(ctx, ch)
	case ChangeDataRequest:
		return tx.recordDataRequest(ctx, ch)
	}
	if ch.ShopifyID <= 0 {
		return Result{}, fmt.Errorf("change without a customer id")
	}
	if red, err := tx.redacted(ctx, ch.ShopifyID); err != nil || red {
		return Result{Outcome: OutcomeIgnored}, err
	}
	var (
		e   effect
		err error
	)
	switch ch.Kind {
	case ChangeDelete:
		e, err = tx.markDeleted(ctx, ch.ShopifyID, shopsync.Stamp{Clock: ch.Clock, Tie: ch.Tie}, ch.Source)
	case ChangeUpsert, ChangeTagsAdded, ChangeTagsRemoved:
		var old *record
		if old, err = tx.loadRecord(ctx, ch.ShopifyID); err != nil {
			return Result{}, err
		}
		if ch.Kind == ChangeUpsert {
			if ch.Contact == nil || ch.Contact.ShopifyID != ch.ShopifyID {
				return Result{}, fmt.Errorf("upsert of contact %d without its data", ch.ShopifyID)
			}
			e, err = tx.upsert(ctx, old, ch.Contact, ch.Tie, ch.Source)
		} else {
			st := shopsync.Stamp{Clock: ch.Clock, Tie: ch.Tie}
			e, err = tx.upsertTags(ctx, old, ch.ShopifyID, ch.Tags, ch.Kind == ChangeTagsAdded, st, ch.Source)
		}
	default:
		return Result{}, fmt.Errorf("unknown change kind %d", ch.Kind)
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Created: e == effectCreated}
	switch e {
	case effectCreated, effectUpdated:
		res.Outcome = OutcomeApplied
	case effectUnchanged:
		res.Outcome = OutcomeUnchanged
	case effectStale:
		res.Outcome = OutcomeStale
	default:
		res.Outcome = OutcomeIgnored
	}
	if ch.Need != 0 && ch.Kind != ChangeDelete && res.Outcome != OutcomeStale {
		if res.Queued, err = tx.queueIfIncomplete(ctx, ch.ShopifyID, ch.Need, ch.Source); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// queueIfIncomplete queues the contact for a full re-fetch when a part it
// needs has never been stored.
func (tx *Tx) queueIfIncomplete(ctx context.Context, id int64, need shopsync.PartSet, reason string) (bool, error) {
	r, err := tx.loadStamps(ctx, id)
	if err != nil || r == nil {
		return false, err
	}
	if need&^r.known() == 0 {
		return false, nil
	}
	// Queued again: the newer time keeps the entry when a batch taken
	// before it is dequeued (see RefetchBatch).
	if _, err := tx.exec(ctx, `INSERT INTO refetch_queue (shopify_id, queued_at, reason) VALUES (?, ?, ?)
		ON CONFLICT (shopify_id) DO UPDATE SET queued_at = excluded.queued_at, reason = excluded.reason`,
		id, tx.now, reason); err != nil {
		return false, fmt.Errorf("queue re-fetch of %d: %w", id, err)
	}
	return true, nil
}

// loadStamps reads a live contact's stamps; nil when it is not stored or
// deleted.
func (tx *Tx) loadStamps(ctx context.Context, id int64) (*stamps, error) {
	rows, err := tx.query(ctx,
		`SELECT stamps, shopify_updated_at FROM contacts WHERE shopify_id = ? AND deleted_at IS NULL`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var (
		blob    []byte
		updated *string
	)
	if err := rows.Scan(&blob, &updated); err != nil {
		return nil, err
	}
	var u *time.Time
	if updated != nil {
		t, err := parseTime(*updated)
		if err != nil {
			return nil, err
		}
		u = &t
	}
	s, err := decodeStamps(blob, u)
	return &s, err
}

func (tx *Tx) recordDataRequest(ctx context.Context, ch *Change) (Result, error) {
	dr := ch.DataRequest
	if dr == nil {
		dr = &DataRequest{}
	}
	orders := dr.OrdersRequested
	if orders == nil {
		orders = []int64{}
	}
	ob, err := json.Marshal(orders)
	if err != nil {
		return Result{}, err
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
		VALUES (?, ?, ?, ?, ?)`, ch.ShopifyID, drID, webhookID, tx.now, string(ob)); err != nil {
		return Result{}, fmt.Errorf("record data request for %d: %w", ch.ShopifyID, err)
	}
	return Result{Outcome: OutcomeApplied}, nil
}
