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
)

// clone returns a deep enough copy of r for a merge to change.
func (r *record) clone() record {
	out := *r
	out.c.Attributes = slices.Clone(r.c.Attributes)
	out.c.Tags = slices.Clone(r.c.Tags)
	out.stamps = r.stamps.clone()
	return out
}

// upsertResult is what upsert did: its effect, whether the contact must
// be read again in full (a value it held became unknown), and the parts
// of it known after the write (those with a stamp).
type upsertResult struct {
	effect  effect
	refetch bool
	known   shopsync.PartSet
}

// upsert merges incoming data seen at seen (read: from the Admin API)
// into the stored record old (nil when there is none) and writes the
// result when its content changed.
//
// A merge that changes no content writes nothing (a sweep after webhooks
// finds the contact unchanged, and its provenance stays the webhooks'),
// unless it made a part known for the first time: then only the stamps
// are written, so that the contact is not fetched again and again.
func (tx *Tx) upsert(ctx context.Context, old *record, in *shopsync.Contact, seen time.Time, read bool, source string) (upsertResult, error) {
	if old == nil {
		r := newRecord(in, seen, read)
		r.hash = contentHash(&r.c)
		return upsertResult{effect: effectCreated, known: r.stamps.known()}, tx.writeChange(ctx, nil, &r, source)
	}
	r := old.clone()
	resurrected := false
	if r.deleted() {
		// Deletions are learnt from reads, and only a later read brings
		// the contact back: Shopify never restores a customer, so an event
		// about one (a late delivery, or an old body sent again) is stale.
		if !read || !stampOf(shopsync.Clock{}, seen, true).Supersedes(r.stamps.deleted) {
			return upsertResult{effect: effectStale}, nil
		}
		r.c.DeletedAt, r.stamps.deleted, resurrected = nil, shopsync.Stamp{}, true
	}
	m := mergeParts(&r, in, seen, read)
	if m.taken == 0 {
		return upsertResult{effect: effectStale}, nil
	}
	r.hash = contentHash(&r.c)
	if !resurrected && r.hash == old.hash && sameTags(r.c.Tags, old.c.Tags) {
		if r.stamps.known() != old.stamps.known() {
			if err := tx.writeStamps(ctx, &r); err != nil {
				return upsertResult{}, err
			}
		}
		return upsertResult{effect: effectUnchanged, refetch: m.refetch, known: r.stamps.known()}, nil
	}
	if err := tx.writeChange(ctx, old, &r, source); err != nil {
		return upsertResult{}, err
	}
	res := upsertResult{effect: effectUpdated, refetch: m.refetch, known: r.stamps.known()}
	if resurrected {
		res.effect = effectCreated
	}
	return res, nil
}

// version is what tells whether a stored contact would change, short of
// the contact itself: its content hash, whether it is deleted, and the
// parts of it that are known.
type version struct {
	hash    int64
	deleted bool
	known   shopsync.PartSet
}

// unchangedBy reports whether upsert would leave the stored contact as it
// is, without reading it to merge: it is live, every part in is whole in
// is known already, and in's content is the stored content (equal hashes;
// in carries no value to be decided against the stored ones). A merge can
// then change no content, since every field it might take from in holds
// what is stored, and upsert writes nothing.
func (v *version) unchangedBy(in *shopsync.Contact) bool {
	return !v.deleted && in.Full&^v.known == 0 && plainAttributes(in.Attributes) &&
		contentHash(in) == v.hash
}

// sameTags reports whether two lists hold the same tags, in any order
// (the hash cannot tell them apart from its own collision).
func sameTags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// upsertTags applies a customer.tags_added or customer.tags_removed.
func (tx *Tx) upsertTags(ctx context.Context, old *record, id int64, tags []string, add bool, st shopsync.Stamp, source string) (upsertResult, error) {
	var r record
	created := old == nil
	if created {
		r = record{c: shopsync.Contact{ShopifyID: id, Tags: []string{}, Attributes: shopsync.Attributes{}}}
	} else {
		if old.deleted() {
			return upsertResult{effect: effectStale}, nil
		}
		r = old.clone()
	}
	if !mergeTags(&r, tags, add, st) {
		return upsertResult{effect: effectStale}, nil
	}
	r.hash = contentHash(&r.c)
	res := upsertResult{effect: effectUnchanged, known: r.stamps.known()}
	if !created && sameTags(r.c.Tags, old.c.Tags) && maps.Equal(r.stamps.tags, old.stamps.tags) {
		return res, nil
	}
	if err := tx.writeChange(ctx, old, &r, source); err != nil {
		return upsertResult{}, err
	}
	res.effect = effectUpdated
	if created {
		res.effect = effectCreated
	}
	return res, nil
}

// markDeleted marks the contact deleted as of st, a read that no longer
// found the customer: a full import that did not list it, or a re-fetch
// that Shopify answered without it. The contact stays when some of its
// data is not older than that read (a webhook triggered after it brought
// it). A contact not stored gets a tombstone, so that a late
// customers/create cannot bring it back.
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
		return effectUnchanged, nil
	default:
		if !supersedesAll(st, old) {
			return effectStale, nil
		}
		r = old.clone()
	}
	now := tx.now
	r.c.DeletedAt = &now
	r.stamps.deleted = st
	r.hash = contentHash(&r.c)
	if err := tx.writeChange(ctx, old, &r, source); err != nil {
		return 0, fmt.Errorf("delete contact %d: %w", id, err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM refetch_queue WHERE shopify_id = ?`, id); err != nil {
		return 0, fmt.Errorf("delete contact %d: %w", id, err)
	}
	return effectUpdated, nil
}

// supersedesAll reports whether st supersedes every version of r's data:
// its parts, its fields changed apart, and its tag events.
func supersedesAll(st shopsync.Stamp, r *record) bool {
	ok := true
	r.stamps.all(func(s shopsync.Stamp) { ok = ok && st.Supersedes(s) })
	return ok
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
