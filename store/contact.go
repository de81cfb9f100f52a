package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/shopsync/shopsync"
)

// contentHash hashes everything a contact's row and attributes hold, so
// an unchanged customer is recognised from one integer, without a write.
// Versions are not content: data equal to the stored data is not written
// again, whatever its stamps (see upsert).
//
// The content is laid out in a buffer, each piece unambiguously (its
// kind, and the length of what has one), and hashed at once with xxHash64.
// Times are laid out as the store writes them (appendStoredTime). Stored
// hashes outlive releases: a change here needs a migration that hashes the
// stored contacts again (0006; 0007 when the clocks left the hash; 0010
// when times took their stored text), or the next import would rewrite
// every row and count it updated.
func contentHash(c *shopsync.Contact) int64 {
	var arr [2048]byte // a contact's content fits; a larger one grows
	b := arr[:0]
	b = hashStr(b, c.Email)
	b = hashStr(b, c.FirstName)
	b = hashStr(b, c.LastName)
	b = hashStr(b, c.Phone)
	b = hashStr(b, c.State)
	// Tags are a set: events add and remove them one by one, so their
	// order is the order they came in, not always Shopify's.
	b = binary.LittleEndian.AppendUint64(b, uint64(len(c.Tags)))
	tags := c.Tags
	if !slices.IsSorted(tags) {
		tags = slices.Sorted(slices.Values(tags))
	}
	for i := range tags {
		b = hashStr(b, &tags[i])
	}
	b = hashTime(b, c.ShopifyCreatedAt)
	b = hashTime(b, c.ShopifyUpdatedAt)
	for i := range c.Attributes {
		a := &c.Attributes[i]
		b = hashStr(b, &a.Name)
		typ := string(a.Type)
		b = hashStr(b, &typ)
		switch v := a.Value.(type) {
		case nil:
			b = append(b, hashNull)
		case string:
			b = hashStr(b, &v)
		case int64:
			b = binary.LittleEndian.AppendUint64(append(b, hashInt), uint64(v))
		case bool:
			b = append(b, hashBool, boolByte(v))
		case time.Time:
			b = hashTime(b, &v)
		default:
			s, _ := a.Text()
			b = hashStr(append(b, hashText), &s)
		}
	}
	return int64(xxhash.Sum64(b))
}

// The kinds that start each piece of contentHash's content.
const (
	hashNull   byte = iota // a nil string, time or attribute value
	hashString             // then its length (8 bytes) and bytes
	hashInt                // then 8 bytes
	hashBool               // then 0 or 1
	hashTimeAt             // then its stored text's length (1 byte) and bytes
	hashText               // another value as text: then a hashString
)

func hashStr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, hashNull)
	}
	b = binary.LittleEndian.AppendUint64(append(b, hashString), uint64(len(*s)))
	return append(b, *s...)
}

func hashTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, hashNull)
	}
	b = append(b, hashTimeAt, 0)
	n := len(b)
	b = appendStoredTime(b, *t)
	b[n-1] = byte(len(b) - n) // at most 40 bytes, even for far years
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func normEmail(email *string) *string {
	if email == nil {
		return nil
	}
	s := strings.ToLower(strings.TrimSpace(*email))
	return &s
}

func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

const upsertContactSQL = `
	INSERT INTO contacts (shopify_id, email, email_norm, first_name, last_name, phone, state, tags,
		shopify_created_at, shopify_updated_at, content_hash, created_at, updated_at, changed_by, deleted_at,
		stamps, attributes, attribute_meta, attribute_types, event_seq, event_type, event_fields)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (shopify_id) DO UPDATE SET
		email = excluded.email, email_norm = excluded.email_norm,
		first_name = excluded.first_name, last_name = excluded.last_name,
		phone = excluded.phone, state = excluded.state, tags = excluded.tags,
		shopify_created_at = excluded.shopify_created_at,
		shopify_updated_at = excluded.shopify_updated_at,
		content_hash = excluded.content_hash,
		updated_at = excluded.updated_at, changed_by = excluded.changed_by,
		deleted_at = excluded.deleted_at, stamps = excluded.stamps,
		attributes = excluded.attributes, attribute_meta = excluded.attribute_meta,
		attribute_types = excluded.attribute_types, event_seq = excluded.event_seq,
		event_type = excluded.event_type, event_fields = excluded.event_fields`

// writeRecord writes a whole contact in one statement: the row, its
// versions and its attributes, holding no change feed event (see
// writeRecordEvent).
func (tx *Tx) writeRecord(ctx context.Context, r *record, changedBy string) error {
	return tx.writeRecordEvent(ctx, r, changedBy, rowEvent{})
}

// writeRecordEvent writes a whole contact in one statement: the row, its
// versions, its attributes and the change feed event it holds (ev; zero
// for none). Attributes whose value did not change keep their time of
// change. r.hash must be contentHash of r.
func (tx *Tx) writeRecordEvent(ctx context.Context, r *record, changedBy string, ev rowEvent) error {
	c := &r.c
	var deletedAt any
	if c.DeletedAt != nil {
		deletedAt = formatTime(*c.DeletedAt)
	}
	tags := []byte{'['}
	for i, tag := range c.Tags {
		if i > 0 {
			tags = append(tags, ',')
		}
		tags = appendJSONString(tags, tag)
	}
	tags = append(tags, ']')
	attrs, meta, types := encodeAttributes(&tx.w.bufs, &tx.w.keys, c.Attributes, r.attrs, tx.nowText, changedBy)
	typesID, err := tx.typeSetID(ctx, types)
	if err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
	updated := timeArg(c.ShopifyUpdatedAt)
	if u, ok := updated.(string); ok && u > tx.w.mark {
		tx.w.mark = u // stored times compare as text
	}
	var eventSeq, eventType, eventFields any
	if ev.seq != 0 {
		eventSeq, eventType = ev.seq, int64(ev.typ)
		if ev.fields != "" {
			eventFields = ev.fields
		}
	}
	// Strings go to the driver as string or nil, not *string, which
	// database/sql would dereference by reflection.
	if err := tx.rawExec(ctx, upsertContactSQL,
		c.ShopifyID, strArg(c.Email), strArg(normEmail(c.Email)), strArg(c.FirstName), strArg(c.LastName),
		strArg(c.Phone), strArg(c.State), string(tags),
		timeArg(c.ShopifyCreatedAt), updated, r.hash, tx.nowText, tx.nowText, changedBy,
		deletedAt, r.stamps.encode(), string(attrs), string(meta), // TEXT, not BLOB
		typesID, eventSeq, eventType, eventFields,
	); err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
	return nil
}

func strArg(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// writeStamps writes only a contact's versions: a merge that changed no
// content but made a part known. The row's content, its time and source
// of change stay.
func (tx *Tx) writeStamps(ctx context.Context, r *record) error {
	if _, err := tx.exec(ctx, `UPDATE contacts SET stamps = ? WHERE shopify_id = ?`,
		r.stamps.encode(), r.c.ShopifyID); err != nil {
		return fmt.Errorf("contact %d versions: %w", r.c.ShopifyID, err)
	}
	return nil
}

// loadRecord reads the stored contact with the given id, deleted or not,
// inside the write transaction; nil when there is none.
func (tx *Tx) loadRecord(ctx context.Context, id int64) (*record, error) {
	rows, err := tx.query(ctx, `SELECT `+recordColumns+` FROM contacts WHERE shopify_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	r, err := tx.db.scanRecord(rows)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	return r, rows.Close()
}

// recordColumns are what scanRecord reads.
const recordColumns = contactColumns + `, content_hash, stamps`

// scanRecord reads a contact's record from a row of recordColumns.
func (db *DB) scanRecord(rows *sql.Rows) (*record, error) {
	var (
		r    record
		blob []byte
	)
	c, state, err := db.scanContactState(rows, &r.hash, &blob)
	if err != nil {
		return nil, err
	}
	r.c, r.attrs = *c, state
	if r.stamps, err = decodeStamps(blob, c.ShopifyUpdatedAt); err != nil {
		return nil, err
	}
	return &r, nil
}

// Contact returns the contact with the given Shopify id. A deleted contact
// is ErrNotFound: deleted contacts leave lookups.
func (db *DB) Contact(ctx context.Context, id int64) (*shopsync.Contact, error) {
	cs, err := db.queryContacts(ctx, `WHERE shopify_id = ? AND deleted_at IS NULL`, id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return cs[0], nil
}

// ContactsByEmail returns the active contacts whose email equals email,
// ignoring case, most recently updated in Shopify first.
func (db *DB) ContactsByEmail(ctx context.Context, email string) ([]*shopsync.Contact, error) {
	cs, err := db.queryContacts(ctx,
		`WHERE email_norm = ? AND deleted_at IS NULL ORDER BY shopify_updated_at DESC, shopify_id`, *normEmail(&email))
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return cs, nil
}

// ExportContacts calls fn for every active contact in Shopify id order,
// streaming: memory does not grow with the store. It stops at fn's first
// error and returns it.
func (db *DB) ExportContacts(ctx context.Context, fn func(*shopsync.Contact) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, contactSelect+` NOT INDEXED WHERE deleted_at IS NULL ORDER BY shopify_id`)
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := db.scanContact(rows)
		if err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	return nil
}

// ContactCounts returns the number of active and deleted contacts.
func (db *DB) ContactCounts(ctx context.Context) (active, deleted int64, err error) {
	err = db.read.QueryRowContext(ctx, `
		SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
		FROM contacts`).Scan(&active, &deleted)
	if err != nil {
		return 0, 0, fmt.Errorf("count contacts: %w", err)
	}
	return active, deleted, nil
}

// contactColumns are the columns scanContact reads.
const contactColumns = `shopify_id, email, first_name, last_name, phone, state, tags,
	shopify_created_at, shopify_updated_at, deleted_at, attributes, attribute_meta, ` + typesColumn + `,
	updated_at, changed_by`

const contactSelect = `SELECT ` + contactColumns + ` FROM contacts`

func (db *DB) queryContacts(ctx context.Context, where string, args ...any) ([]*shopsync.Contact, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("query contacts: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, contactSelect+" "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("query contacts: %w", err)
	}
	defer rows.Close()
	var cs []*shopsync.Contact
	for rows.Next() {
		c, err := db.scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("query contacts: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query contacts: %w", err)
	}
	return cs, nil
}

// scanContact reads the columns of contactSelect, then into extra: a
// contact, for a read.
func (db *DB) scanContact(rows *sql.Rows, extra ...any) (*shopsync.Contact, error) {
	c, _, err := db.scanRow(rows, false, extra)
	return c, err
}

// scanContactState is scanContact for a write: it also returns the stored
// state of the contact's attributes.
func (db *DB) scanContactState(rows *sql.Rows, extra ...any) (*shopsync.Contact, attrState, error) {
	return db.scanRow(rows, true, extra)
}

func (db *DB) scanRow(rows *sql.Rows, withState bool, extra []any) (*shopsync.Contact, attrState, error) {
	var (
		c                  shopsync.Contact
		email, first, last sql.NullString
		phone, state       sql.NullString
		tags               string
		created, updated   sql.NullString
		deleted            sql.NullString
		attrs              string
		meta, types        sql.RawBytes // valid until the next Scan
		rowAt, rowBy       sql.RawBytes
	)
	dst := append([]any{&c.ShopifyID, &email, &first, &last, &phone, &state, &tags,
		&created, &updated, &deleted, &attrs, &meta, &types, &rowAt, &rowBy}, extra...)
	if err := rows.Scan(dst...); err != nil {
		return nil, nil, err
	}
	c.Email, c.FirstName, c.LastName = strPtr(email), strPtr(first), strPtr(last)
	c.Phone, c.State = strPtr(phone), strPtr(state)
	var ok bool
	if c.Tags, ok = decodeTags(tags); !ok {
		if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
			return nil, nil, fmt.Errorf("contact %d tags: %w", c.ShopifyID, err)
		}
	}
	var err error
	if c.ShopifyCreatedAt, err = nullTime(created); err != nil {
		return nil, nil, err
	}
	if c.ShopifyUpdatedAt, err = nullTime(updated); err != nil {
		return nil, nil, err
	}
	if c.DeletedAt, err = nullTime(deleted); err != nil {
		return nil, nil, err
	}
	c.Fields = shopsync.AllFields
	var st attrState
	if withState {
		c.Attributes, st, err = db.decodeAttributes(attrs, string(meta), string(types), string(rowAt), string(rowBy))
	} else {
		c.Attributes, err = db.decodeAttrValues(attrs, types)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("contact %d %w", c.ShopifyID, err)
	}
	return &c, st, nil
}

func strPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
