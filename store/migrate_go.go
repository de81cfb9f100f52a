package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopsync/shopsync"
)

// rehashBatch is how many contacts migration 0007 rewrites a transaction:
// the WAL holds one batch, not the whole table.
const rehashBatch = 2000

// rehashContacts was migration 0006, which hashed every stored contact
// again with xxHash64. Migration 0007 hashes every contact again (the
// clocks left the hash) and rewrites its stamps, so 0006 has nothing left
// to do: a store that had not run it gets the same result from 0007.
func rehashContacts(context.Context, *DB) error { return nil }

// restampContacts is migration 0007: every stored contact's stamps are
// rewritten in the format of stampsVersion (each part's clock with its
// kind, the time its data was seen, whether it was read), and its content
// hashed again without the clocks. It commits a batch at a time; cut
// short, it starts again, and a contact already done is left as it is.
func restampContacts(ctx context.Context, db *DB) error {
	var after int64 // ids are positive
	for {
		last, n, err := db.restampAfter(ctx, after)
		if err != nil {
			return fmt.Errorf("rewrite contacts after id %d: %w", after, err)
		}
		if n < rehashBatch {
			return nil
		}
		after = last
	}
}

// restampAfter rewrites the next rehashBatch contacts with an id above
// after, in one transaction; it returns the last id and how many it read.
func (db *DB) restampAfter(ctx context.Context, after int64) (last int64, n int, err error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	rows, err := tx.query(ctx, `SELECT `+contactColumns+`, content_hash, stamps
		FROM contacts WHERE shopify_id > ? ORDER BY shopify_id LIMIT ?`, after, rehashBatch)
	if err != nil {
		return 0, 0, err
	}
	type row struct {
		c    *shopsync.Contact
		hash int64
		blob []byte
	}
	var batch []row
	for rows.Next() {
		var r row
		if r.c, err = db.scanContact(rows, &r.hash, &r.blob); err != nil {
			rows.Close()
			return 0, 0, err
		}
		batch = append(batch, r)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	for _, r := range batch {
		last = r.c.ShopifyID
		if len(r.blob) > 0 && r.blob[0] == stampsVersion {
			if _, err := decodeStamps(r.blob, nil); err == nil {
				continue // done by an earlier, interrupted run
			}
		}
		st, err := legacyStamps(r.blob, r.c)
		if err != nil {
			return 0, 0, fmt.Errorf("contact %d: %w", r.c.ShopifyID, err)
		}
		if _, err := tx.exec(ctx, `UPDATE contacts SET stamps = ?, content_hash = ? WHERE shopify_id = ?`,
			st.encode(), contentHash(r.c), r.c.ShopifyID); err != nil {
			return 0, 0, err
		}
	}
	return last, len(batch), tx.Commit()
}

// legacyStamps reads stamps as releases before 0007 wrote them, varint
// pairs of Unix microseconds (a clock of unknown kind and a tie-break: a
// webhook's trigger time, or the local time a page was fetched), one pair
// per part and the deletion's. A clock equal to the contact's updated_at,
// or for a consent part to its consent_updated_at, takes that kind; any
// other is compared by its tie-break alone. NULL: every part versioned by
// updated_at.
func legacyStamps(b []byte, c *shopsync.Contact) (stamps, error) {
	if b == nil {
		return decodeStamps(nil, c.ShopifyUpdatedAt)
	}
	var s stamps
	read := func() (time.Time, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return time.Time{}, errBadStamps
		}
		b = b[n:]
		return fromMicros(v), nil
	}
	consent := map[shopsync.Part]string{
		shopsync.PartEmailConsent: "email_marketing_consent_updated_at",
		shopsync.PartSMSConsent:   "sms_marketing_consent_updated_at",
	}
	for i := range int(shopsync.NumParts) + 1 {
		clock, err := read()
		if err != nil {
			return s, err
		}
		tie, err := read()
		if err != nil {
			return s, err
		}
		if i == int(shopsync.NumParts) {
			if !clock.IsZero() || !tie.IsZero() {
				s.deleted = shopsync.Stamp{Seen: later(clock, tie), Read: true}
			}
			break
		}
		if clock.IsZero() && tie.IsZero() {
			continue
		}
		st := shopsync.Stamp{Seen: tie}
		switch {
		case c.ShopifyUpdatedAt != nil && clock.Equal(*c.ShopifyUpdatedAt):
			st.Clock = shopsync.Clock{Time: clock, Kind: shopsync.ClockUpdatedAt}
		case consent[shopsync.Part(i)] != "":
			if a, ok := c.Attributes.Get(consent[shopsync.Part(i)]); ok {
				if t, ok := a.Value.(time.Time); ok && clock.Equal(t) {
					st.Clock = shopsync.Clock{Time: clock, Kind: shopsync.ClockConsentUpdatedAt}
				}
			}
		}
		if st.Seen.IsZero() {
			st.Seen = clock
		}
		s.part[i] = st
	}
	if len(b) != 0 {
		return s, errBadStamps
	}
	return s, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// rewriteContacts is migration 0010: the tag events that releases before
// it kept as JSON in contacts.tag_events move into the stamps blob beside
// the other versions (0011 drops the column), and every contact is hashed
// again, its times now hashed as their stored text. It commits a batch at
// a time; cut short, it starts again from the first contact, and one
// already done is written again to the same values.
func rewriteContacts(ctx context.Context, db *DB) error {
	var after int64 // ids are positive
	for {
		last, n, err := db.rewriteAfter(ctx, after)
		if err != nil {
			return fmt.Errorf("rewrite contacts after id %d: %w", after, err)
		}
		if n < rehashBatch {
			return nil
		}
		after = last
	}
}

// rewriteAfter rewrites the next rehashBatch contacts with an id above
// after, in one transaction; it returns the last id and how many it read.
func (db *DB) rewriteAfter(ctx context.Context, after int64) (last int64, n int, err error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	rows, err := tx.query(ctx, `SELECT `+contactColumns+`, stamps, tag_events
		FROM contacts WHERE shopify_id > ? ORDER BY shopify_id LIMIT ?`, after, rehashBatch)
	if err != nil {
		return 0, 0, err
	}
	type row struct {
		c      *shopsync.Contact
		blob   []byte
		events sql.NullString
	}
	var batch []row
	for rows.Next() {
		var r row
		if r.c, err = db.scanContact(rows, &r.blob, &r.events); err != nil {
			rows.Close()
			return 0, 0, err
		}
		batch = append(batch, r)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	for _, r := range batch {
		last = r.c.ShopifyID
		st, err := decodeStamps(r.blob, r.c.ShopifyUpdatedAt)
		if err != nil {
			return 0, 0, fmt.Errorf("contact %d: %w", last, err)
		}
		if r.events.Valid {
			if st.tags, err = legacyTagEvents(r.events.String); err != nil {
				return 0, 0, fmt.Errorf("contact %d tag events: %w", last, err)
			}
		}
		if _, err := tx.exec(ctx, `UPDATE contacts SET stamps = ?, content_hash = ?, tag_events = NULL WHERE shopify_id = ?`,
			st.encode(), contentHash(r.c), last); err != nil {
			return 0, 0, err
		}
	}
	return last, len(batch), tx.Commit()
}

// legacyTagEvents reads tag events as releases before migration 0010
// wrote them: JSON {"tag": [clock, seen, added]}, Unix microseconds (clock
// 0 when the event had no occurredAt) and 1 or 0.
func legacyTagEvents(s string) (tagEvents, error) {
	var m map[string][3]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	te := make(tagEvents, len(m))
	for tag, v := range m {
		st := shopsync.Stamp{Seen: fromMicros(v[1])}
		if v[0] != 0 {
			st.Clock = shopsync.Clock{Time: fromMicros(v[0]), Kind: shopsync.ClockOccurredAt}
		}
		te[tag] = tagEvent{stamp: st, added: v[2] != 0}
	}
	return te, nil
}
