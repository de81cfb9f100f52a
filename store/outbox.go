package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// The write side of the change feed (issue 19). Every write of a contact
// goes through writeChange, which records the event of the change in the
// same transaction: no change without its event, and no event without a
// change (a write that leaves the contact as a reader sees it, such as a
// tag event's new version or a tombstone for a customer never stored,
// records nothing).
//
// A contact's latest event lives in its row (event_seq, event_type,
// event_fields; the row's updated_at and changed_by are its time and
// source; the row is the contact as of the event): a new contact costs
// its import three columns and an index entry. When the contact is written
// again, the same transaction first moves that event into the outbox
// table with the contact as it was (its snapshot), and fills in the
// snapshot of the contact's segment events that read the row. So every
// event reads as the contact was at its commit. Contact.redacted and
// segment events live in the outbox table. See migration 0013.

// outboxState is what a transaction noted of the sequence numbers it gave
// out; a savepoint restores it with the rest of the writer.
type outboxState struct {
	seq      int64 // the last number given out
	pruned   int64 // every event up to it was pruned
	segments int64 // the saved segments' generation (see segmentHook)
	loaded   bool  // seq, pruned and segments were read in this transaction
	appended int   // events recorded
}

// rowEvent is the event a contact's row holds: its latest. Zero: none.
type rowEvent struct {
	seq    int64
	typ    shopsync.EventType
	fields string // contact.updated: the changed fields, comma-separated
}

// feed holds the change feed's hooks, set before the store is shared,
// and the wake-ups of its readers.
type feed struct {
	project  func(c *shopsync.Contact, at time.Time) ([]byte, error)
	segments func(saved []SavedSegment) SegmentHook
	signal   signal
}

// SetProjection sets how an event's contact is encoded in the feed: the
// CRM projection of the contact as of the event, at the event's time (for
// computed values, such as days since created: a replay encodes an event
// as it first did). By default it is the contact's JSON, as GET
// /contacts/{id} gives it. The projection runs when events are read (GET
// /changes, outbound deliveries), never in the write transaction, so it
// costs the import nothing and always shows the current mapping. Call it
// before the store is shared.
func (db *DB) SetProjection(project func(c *shopsync.Contact, at time.Time) ([]byte, error)) {
	db.feed.project = project
}

// SegmentHook reports a contact's saved-segment changes: the store calls
// it in the transaction of every change it records an event for, with
// the contact before the change (nil when it was not stored; a deleted
// one has DeletedAt set), after it (DeletedAt set for a deletion), and the
// transaction's time, the events' time. For each SegmentChange it returns,
// the store appends a segment.joined or segment.left event right after the
// change's event, which reads the same contact. It must be quick, pure and
// deterministic: it runs for every contact an import creates or changes.
// A redaction does not call it (contact.redacted says the contact left
// everything).
type SegmentHook func(before, after *shopsync.Contact, now time.Time) []shopsync.SegmentChange

// SetSegmentHook sets how the store learns a contact's saved-segment
// changes: build makes the SegmentHook of the saved segments given, by
// name (nil: none reports nothing). The store calls build in a write
// transaction that records an event, with the saved segments as that
// transaction reads them, the first time and whenever they changed since
// the last call (saved, replaced or deleted, by this process or another:
// the segments table counts its changes), so a change to a segment applies
// from the next write on. Nil, the default, reports nothing. Call it
// before the store is shared.
func (db *DB) SetSegmentHook(build func(saved []SavedSegment) SegmentHook) {
	db.feed.segments = build
}

// segmentCache is the SegmentHook built for a generation of the saved
// segments.
type segmentCache struct {
	hook  SegmentHook
	gen   int64
	built bool
}

// segmentHook returns the SegmentHook of the saved segments as tx reads
// them: the one built last when they have not changed since, or a new
// one. A hook built in a transaction is kept for the next ones once it
// commits, like the attribute type sets.
func (tx *Tx) segmentHook(ctx context.Context) (SegmentHook, error) {
	if err := tx.loadSeq(ctx); err != nil {
		return nil, err
	}
	gen := tx.w.outbox.segments
	for _, c := range []*segmentCache{&tx.w.segments, &tx.w.newSegments} {
		if c.built && c.gen == gen {
			return c.hook, nil
		}
	}
	saved, err := querySegments(ctx, tx.query, ``)
	if err != nil {
		return nil, err
	}
	tx.w.newSegments = segmentCache{hook: tx.db.feed.segments(saved), gen: gen, built: true}
	return tx.w.newSegments.hook, nil
}

// writeChange writes r, the new state of the contact old held (old is nil
// for a contact not stored), by source, with the event of the change.
func (tx *Tx) writeChange(ctx context.Context, old, r *record, source string) error {
	typ, fields := eventOf(old, r)
	var ev rowEvent
	if old != nil {
		// The row's event, if it has one, leaves it: its time, source and
		// contact are about to change.
		if err := tx.supersede(ctx, old); err != nil {
			return fmt.Errorf("upsert contact %d: %w", r.c.ShopifyID, err)
		}
	}
	if typ != 0 {
		seq, err := tx.nextSeq(ctx)
		if err != nil {
			return fmt.Errorf("upsert contact %d: %w", r.c.ShopifyID, err)
		}
		ev = rowEvent{seq: seq, typ: typ, fields: fields}
	}
	if err := tx.writeRecordEvent(ctx, r, source, ev); err != nil {
		return err
	}
	if tx.db.feed.segments != nil && typ != 0 {
		hook, err := tx.segmentHook(ctx)
		if err != nil {
			return fmt.Errorf("upsert contact %d: %w", r.c.ShopifyID, err)
		}
		var before *shopsync.Contact
		if old != nil {
			before = &old.c
		}
		var changes []shopsync.SegmentChange
		if hook != nil {
			changes = hook(before, &r.c, tx.now)
		}
		for _, sc := range changes {
			typ := shopsync.EventSegmentLeft
			if sc.Joined {
				typ = shopsync.EventSegmentJoined
			}
			if err := tx.appendEvent(ctx, r.c.ShopifyID, typ, source, sc.Segment, nil); err != nil {
				return fmt.Errorf("upsert contact %d: %w", r.c.ShopifyID, err)
			}
		}
	}
	return nil
}

// eventOf is the event of old becoming r, if a reader sees a change: the
// contact appears (created), goes (deleted), or a field or attribute
// changes value (updated, with the fields that did). A contact stored
// deleted counts as absent. Zero: no event.
func eventOf(old, r *record) (shopsync.EventType, string) {
	wasLive := old != nil && !old.deleted()
	switch {
	case !wasLive && !r.deleted():
		return shopsync.EventCreated, ""
	case !wasLive: // a tombstone: nobody saw this contact
		return 0, ""
	case r.deleted():
		return shopsync.EventDeleted, ""
	}
	if changed := changedFields(&old.c, &r.c); changed != "" {
		return shopsync.EventUpdated, changed
	}
	return 0, ""
}

// supersede keeps the contact old as its events saw it, before its row
// is written again: the segment events that read the row get old as their
// snapshot, and the row's event moves to the outbox table with it.
func (tx *Tx) supersede(ctx context.Context, old *record) error {
	id := old.c.ShopifyID
	if err := tx.loadSeq(ctx); err != nil {
		return err
	}
	snap := appendSnapshot(nil, &old.c)
	if _, err := tx.exec(ctx, `UPDATE outbox SET snapshot = ? WHERE contact_id = ? AND snapshot IS NULL`, snap, id); err != nil {
		return fmt.Errorf("events of contact %d: %w", id, err)
	}
	// An event pruned already is dropped.
	if _, err := tx.exec(ctx, `INSERT INTO outbox (seq, contact_id, type, source, at, fields, snapshot)
		SELECT event_seq, shopify_id, event_type, changed_by, updated_at, event_fields, ?
		FROM contacts WHERE shopify_id = ? AND event_seq > ?`, snap, id, tx.w.outbox.pruned); err != nil {
		return fmt.Errorf("events of contact %d: %w", id, err)
	}
	return nil
}

// appendEvent appends an event to the outbox table: snapshot nil reads
// the contact's row, empty is none. It is a raw statement (rawconn.go),
// as the contact upsert is: an import appends one for each saved segment
// each new contact is in.
func (tx *Tx) appendEvent(ctx context.Context, id int64, typ shopsync.EventType, source, segment string, snapshot []byte) error {
	seq, err := tx.nextSeq(ctx)
	if err != nil {
		return err
	}
	var seg, snap any // NULL unless set
	if segment != "" {
		seg = segment
	}
	if snapshot != nil {
		snap = snapshot
	}
	if err := tx.rawExec(ctx, `INSERT INTO outbox (seq, contact_id, type, source, at, segment, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		seq, id, int64(typ), source, tx.nowText, seg, snap); err != nil {
		return fmt.Errorf("append %s event of contact %d: %w", typ, id, err)
	}
	return nil
}

// nextSeq gives out the next sequence number, after the last one given
// (outbox_marks, read once per transaction and written at commit). Write
// transactions run one at a time, in this process and any other, so
// numbers commit in order and are never given twice.
func (tx *Tx) nextSeq(ctx context.Context) (int64, error) {
	if err := tx.loadSeq(ctx); err != nil {
		return 0, err
	}
	o := &tx.w.outbox
	o.seq++
	o.appended++
	return o.seq, nil
}

// loadSeq reads the feed's marks, once per transaction.
func (tx *Tx) loadSeq(ctx context.Context) error {
	o := &tx.w.outbox
	if o.loaded {
		return nil
	}
	if err := tx.queryRow(ctx, `SELECT (SELECT value FROM outbox_marks WHERE name = 'last'),
		(SELECT value FROM outbox_marks WHERE name = 'pruned'),
		(SELECT value FROM outbox_marks WHERE name = 'segments')`).Scan(&o.seq, &o.pruned, &o.segments); err != nil {
		return fmt.Errorf("change feed sequence: %w", err)
	}
	o.loaded = true
	return nil
}

// saveLastSeq records the last number the transaction gave out.
func (tx *Tx) saveLastSeq(ctx context.Context) error {
	if tx.w.outbox.appended == 0 {
		return nil
	}
	if _, err := tx.exec(ctx, `UPDATE outbox_marks SET value = ? WHERE name = 'last'`, tx.w.outbox.seq); err != nil {
		return fmt.Errorf("change feed sequence: %w", err)
	}
	return nil
}

// eraseEvents erases the contact's data from its events, before its row
// is deleted (customers/redact): each keeps its number, type, source and
// time, and loses its snapshot, fields and segment; the row's event moves
// to the outbox table, erased. secure_delete zeroes the bytes freed.
func (tx *Tx) eraseEvents(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `UPDATE outbox SET fields = NULL, segment = NULL, snapshot = X''
		WHERE contact_id = ? AND (snapshot IS NULL OR length(snapshot) > 0)`, id); err != nil {
		return fmt.Errorf("erase events of contact %d: %w", id, err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO outbox (seq, contact_id, type, source, at, snapshot)
		SELECT event_seq, shopify_id, event_type, changed_by, updated_at, X''
		FROM contacts WHERE shopify_id = ? AND event_seq IS NOT NULL`, id); err != nil {
		return fmt.Errorf("erase events of contact %d: %w", id, err)
	}
	return nil
}

// eraseAllEvents erases every event and appends a contact.redacted event
// for each stored contact, in id order (shop/redact), before the contacts
// are deleted.
func (tx *Tx) eraseAllEvents(ctx context.Context, source string) error {
	if _, err := tx.exec(ctx, `UPDATE outbox SET fields = NULL, segment = NULL, snapshot = X''
		WHERE snapshot IS NULL OR length(snapshot) > 0`); err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO outbox (seq, contact_id, type, source, at, snapshot)
		SELECT event_seq, shopify_id, event_type, changed_by, updated_at, X''
		FROM contacts WHERE event_seq IS NOT NULL`); err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	var n int64
	if err := tx.queryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil {
		return fmt.Errorf("erase events: %w", err)
	}
	if n == 0 {
		return nil
	}
	first, err := tx.nextSeq(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO outbox (seq, contact_id, type, source, at, snapshot)
		SELECT ? - 1 + row_number() OVER (ORDER BY shopify_id), shopify_id, ?, ?, ?, X'' FROM contacts`,
		first, int64(shopsync.EventRedacted), source, tx.nowText); err != nil {
		return fmt.Errorf("append redacted events: %w", err)
	}
	tx.w.outbox.seq += n - 1
	tx.w.outbox.appended += int(n - 1)
	return nil
}

// changedFields lists, comma-separated, the top-level fields and the
// attributes whose value differs between a and b: "" when none does. Tags
// are a set. Attribute names come from the mapping's catalog and hold no
// comma.
func changedFields(a, b *shopsync.Contact) string {
	var out []string
	str := func(name string, x, y *string) {
		if (x == nil) != (y == nil) || x != nil && *x != *y {
			out = append(out, name)
		}
	}
	tm := func(name string, x, y *time.Time) {
		if (x == nil) != (y == nil) || x != nil && !x.Equal(*y) {
			out = append(out, name)
		}
	}
	str("email", a.Email, b.Email)
	str("first_name", a.FirstName, b.FirstName)
	str("last_name", a.LastName, b.LastName)
	str("phone", a.Phone, b.Phone)
	str("state", a.State, b.State)
	if !sameTags(a.Tags, b.Tags) {
		out = append(out, "tags")
	}
	tm("shopify_created_at", a.ShopifyCreatedAt, b.ShopifyCreatedAt)
	tm("shopify_updated_at", a.ShopifyUpdatedAt, b.ShopifyUpdatedAt)
	// Both sorted by name: walk them together.
	as, bs := a.Attributes, b.Attributes
	for len(as) > 0 || len(bs) > 0 {
		switch {
		case len(bs) == 0 || len(as) > 0 && as[0].Name < bs[0].Name:
			out = append(out, as[0].Name)
			as = as[1:]
		case len(as) == 0 || bs[0].Name < as[0].Name:
			out = append(out, bs[0].Name)
			bs = bs[1:]
		default:
			at, aok := as[0].Text()
			bt, bok := bs[0].Text()
			if as[0].Type != bs[0].Type || aok != bok || at != bt {
				out = append(out, as[0].Name)
			}
			as, bs = as[1:], bs[1:]
		}
	}
	return strings.Join(out, ",")
}
