package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopsync/shopsync"
)

// effect is what a write did to one contact.
type effect int

const (
	effectUnchanged effect = iota // nothing new: equal to what was stored
	effectCreated                 // new to the store, or back from deleted
	effectUpdated                 // some part changed
	effectStale                   // every part carried was older than the stored one
	effectIgnored                 // the contact was redacted: never stored again
)

// clone returns a deep enough copy of r for a merge to change.
func (r *record) clone() record {
	out := *r
	out.c.Attributes = slices.Clone(r.c.Attributes)
	out.c.Tags = slices.Clone(r.c.Tags)
	out.tags = maps.Clone(r.tags)
	return out
}

// upsert merges incoming data into the stored record old (nil when there
// is none) and writes the result when it changed anything.
func (tx *Tx) upsert(ctx context.Context, old *record, in *shopsync.Contact, tie time.Time, source string) (effect, error) {
	if old == nil {
		r := newRecord(in, tie)
		r.hash = contentHash(&r.c, &r.stamps)
		return effectCreated, tx.writeRecord(ctx, &r, source)
	}
	r := old.clone()
	resurrected := false
	if r.deleted() {
		// Only data known true after the deletion was known brings a
		// contact back: a webhook triggered later, or a customer listed by
		// the API after the deletion (an import infers deletions from
		// absence, so a later listing wins). A late webhook from before
		// the deletion is stale: Shopify never restores a customer.
		if !in.Parts.Has(shopsync.PartProfile) || !tie.After(r.stamps.deleted.Tie) {
			return effectStale, nil
		}
		r.c.DeletedAt, r.stamps.deleted, resurrected = nil, shopsync.Stamp{}, true
	}
	taken, _ := mergeParts(&r, in, tie)
	if taken == 0 {
		return effectStale, nil
	}
	r.hash = contentHash(&r.c, &r.stamps)
	if !resurrected && r.hash == old.hash && slices.Equal(r.c.Tags, old.c.Tags) {
		return effectUnchanged, nil
	}
	if err := tx.writeRecord(ctx, &r, source); err != nil {
		return 0, err
	}
	if resurrected {
		return effectCreated, nil
	}
	return effectUpdated, nil
}

// upsertTags applies a customer.tags_added or customer.tags_removed.
func (tx *Tx) upsertTags(ctx context.Context, old *record, id int64, tags []string, add bool, st shopsync.Stamp, source string) (effect, error) {
	var r record
	created := old == nil
	if created {
		r = record{c: shopsync.Contact{ShopifyID: id, Tags: []string{}, Attributes: shopsync.Attributes{}}}
	} else {
		if old.deleted() {
			return effectStale, nil
		}
		r = old.clone()
	}
	if !mergeTags(&r, tags, add, st) {
		return effectStale, nil
	}
	r.hash = contentHash(&r.c, &r.stamps)
	if !created && slices.Equal(r.c.Tags, old.c.Tags) && maps.Equal(r.tags, old.tags) {
		return effectUnchanged, nil
	}
	if err := tx.writeRecord(ctx, &r, source); err != nil {
		return 0, err
	}
	if created {
		return effectCreated, nil
	}
	return effectUpdated, nil
}

// markDeleted marks the contact deleted as of st: Clock is Shopify's time
// of the deletion when known, Tie when shopsync learnt of it. A deletion is
// final in Shopify, so it is never stale. A contact not stored gets a
// tombstone, so that a late customers/create cannot bring it back.
func (tx *Tx) markDeleted(ctx context.Context, id int64, st shopsync.Stamp, source string) (effect, error) {
	old, err := tx.loadRecord(ctx, id)
	if err != nil {
		return 0, err
	}
	var r record
	switch {
	case old == nil:
		r = record{c: shopsync.Contact{ShopifyID: id, Tags: []string{}, Attributes: shopsync.Attributes{}}}
	case old.deleted():
		if st.Compare(old.stamps.deleted) <= 0 {
			return effectUnchanged, nil
		}
		r = old.clone()
	default:
		r = old.clone()
	}
	now, err := parseTime(tx.now)
	if err != nil {
		return 0, err
	}
	if r.c.DeletedAt == nil {
		r.c.DeletedAt = &now
	}
	r.stamps.deleted = st
	r.hash = contentHash(&r.c, &r.stamps)
	if err := tx.writeRecord(ctx, &r, source); err != nil {
		return 0, fmt.Errorf("delete contact %d: %w", id, err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM refetch_queue WHERE shopify_id = ?`, id); err != nil {
		return 0, fmt.Errorf("delete contact %d: %w", id, err)
	}
	return effectUpdated, nil
}

// redactedIn returns the redacted customer ids in (after, last].
func (tx *Tx) redactedIn(ctx context.Context, after, last int64) (map[int64]bool, error) {
	rows, err := tx.query(ctx,
		`SELECT shopify_id FROM redactions WHERE scope = 'customer' AND shopify_id > ? AND shopify_id <= ?`, after, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids map[int64]bool
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if ids == nil {
			ids = map[int64]bool{}
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// redacted reports whether the customer was redacted.
func (tx *Tx) redacted(ctx context.Context, id int64) (bool, error) {
	ids, err := tx.redactedIn(ctx, id-1, id)
	return ids[id], err
}
