package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// contentHash hashes everything a contact's row and attributes hold, and
// the clock of each part's version, so an unchanged customer is recognised
// from one integer, without a write. (Clocks count: data equal to the
// stored data but newer must move the stamps forward, or a late, older
// event could pass the gate.)
func contentHash(c *shopsync.Contact, st *stamps) int64 {
	h := fnv64a(fnvOffset)
	var scratch [64]byte // formatted times and numbers, without allocating
	putBytes := func(b []byte) {
		h.byte(1)
		h.u64(uint64(len(b)))
		h.str(string(b)) // no copy: the conversion does not escape
	}
	put := func(s *string) {
		if s == nil {
			h.byte(0)
			return
		}
		h.byte(1)
		h.u64(uint64(len(*s)))
		h.str(*s)
	}
	putTime := func(t *time.Time) {
		if t == nil {
			h.byte(0)
			return
		}
		putBytes(appendRFC3339Nano(scratch[:0], *t)) // shopsync.TimeFormat
	}
	put(c.Email)
	put(c.FirstName)
	put(c.LastName)
	put(c.Phone)
	put(c.State)
	h.u64(uint64(len(c.Tags)))
	for i := range c.Tags {
		put(&c.Tags[i])
	}
	putTime(c.ShopifyCreatedAt)
	putTime(c.ShopifyUpdatedAt)
	for _, ps := range st.part {
		h.u64(uint64(micros(ps.Clock)))
	}
	for i := range c.Attributes {
		a := &c.Attributes[i]
		put(&a.Name)
		typ := string(a.Type)
		put(&typ)
		// The bytes of a.Text(), formatted in place.
		switch v := a.Value.(type) {
		case nil:
			h.byte(0)
		case string:
			put(&v)
		case int64:
			putBytes(strconv.AppendInt(scratch[:0], v, 10))
		case bool:
			putBytes(strconv.AppendBool(scratch[:0], v))
		case time.Time:
			putTime(&v)
		default:
			s, _ := a.Text()
			put(&s)
		}
	}
	return int64(h)
}

// fnv64a is FNV-1a, 64-bit, as hash/fnv computes it, without the
// interface calls and byte-slice conversions of a hash.Hash: contentHash
// feeds it some sixty small pieces per contact.
type fnv64a uint64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (h *fnv64a) byte(b byte) { *h = (*h ^ fnv64a(b)) * fnvPrime }

// str and u64 work on a local copy: h lives on the heap (contentHash's
// closures capture it), and a store per byte tripled their cost.
func (h *fnv64a) str(s string) {
	x := *h
	for i := 0; i < len(s); i++ {
		x = (x ^ fnv64a(s[i])) * fnvPrime
	}
	*h = x
}

// u64 hashes v's eight bytes, little-endian.
func (h *fnv64a) u64(v uint64) {
	x := *h
	for range 8 {
		x = (x ^ fnv64a(byte(v))) * fnvPrime
		v >>= 8
	}
	*h = x
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
		stamps, tag_events, attributes, attribute_meta, attribute_types)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (shopify_id) DO UPDATE SET
		email = excluded.email, email_norm = excluded.email_norm,
		first_name = excluded.first_name, last_name = excluded.last_name,
		phone = excluded.phone, state = excluded.state, tags = excluded.tags,
		shopify_created_at = excluded.shopify_created_at,
		shopify_updated_at = excluded.shopify_updated_at,
		content_hash = excluded.content_hash,
		updated_at = excluded.updated_at, changed_by = excluded.changed_by,
		deleted_at = excluded.deleted_at, stamps = excluded.stamps, tag_events = excluded.tag_events,
		attributes = excluded.attributes, attribute_meta = excluded.attribute_meta,
		attribute_types = excluded.attribute_types`

// stmt returns the transaction's prepared statement for query, preparing
// it on first use: a page writes hundreds of contacts with the same two.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := tx.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = st
	return st, nil
}

// exec, query and queryRow run query through the transaction's cached
// prepared statement: a batch of webhooks runs the same dozen statements
// for each change, and preparing them each time was a quarter of the
// committer's time.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is QueryRowContext through the statement cache; a prepare
// error comes back from Scan.
func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// writeRecord writes a whole contact in one statement: the row, its
// versions and its attributes. Attributes whose value did not change keep
// their time of change. r.hash must be contentHash of r.
func (tx *Tx) writeRecord(ctx context.Context, r *record, changedBy string) error {
	c := &r.c
	st, err := tx.stmt(ctx, upsertContactSQL)
	if err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
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
	attrs, meta, types := encodeAttributes(&tx.attrBufs, c.Attributes, r.attrs, tx.now, changedBy)
	typesID, err := tx.typeSetID(ctx, types)
	if err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
	updated := timeArg(c.ShopifyUpdatedAt)
	if u, ok := updated.(string); ok && u > tx.mark {
		tx.mark = u // stored times compare as text
	}
	// Strings go to the driver as string or nil, not *string, which
	// database/sql would dereference by reflection.
	if _, err := st.ExecContext(ctx,
		c.ShopifyID, strArg(c.Email), strArg(normEmail(c.Email)), strArg(c.FirstName), strArg(c.LastName),
		strArg(c.Phone), strArg(c.State), string(tags),
		timeArg(c.ShopifyCreatedAt), updated, r.hash, tx.now, tx.now, changedBy,
		deletedAt, r.stamps.encode(), r.tags.encode(), string(attrs), string(meta), // TEXT, not BLOB
		typesID,
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

// loadRecord reads the stored contact with the given id, deleted or not,
// inside the write transaction; nil when there is none.
func (tx *Tx) loadRecord(ctx context.Context, id int64) (*record, error) {
	rows, err := tx.query(ctx, `SELECT `+contactColumns+`, content_hash, stamps, tag_events
		FROM contacts WHERE shopify_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var (
		r      record
		blob   []byte
		events sql.NullString
	)
	c, state, err := scanContact(rows, &r.hash, &blob, &events)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	rows.Close()
	r.c, r.attrs = *c, state
	if r.stamps, err = decodeStamps(blob, c.ShopifyUpdatedAt); err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	if r.tags, err = decodeTagEvents(strPtr(events)); err != nil {
		return nil, fmt.Errorf("load contact %d tag events: %w", id, err)
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
	rows, err := tx.QueryContext(ctx, contactSelect+` WHERE deleted_at IS NULL ORDER BY shopify_id`)
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, _, err := scanContact(rows)
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
		c, _, err := scanContact(rows)
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

// scanContact reads the columns of contactSelect, then into extra. It
// returns the contact and the stored state of its attributes.
func scanContact(rows *sql.Rows, extra ...any) (*shopsync.Contact, attrState, error) {
	var (
		c                  shopsync.Contact
		email, first, last sql.NullString
		phone, state       sql.NullString
		tags               string
		created, updated   sql.NullString
		deleted            sql.NullString
		attrs, meta, types string
		rowAt, rowBy       string
	)
	dst := append([]any{&c.ShopifyID, &email, &first, &last, &phone, &state, &tags,
		&created, &updated, &deleted, &attrs, &meta, &types, &rowAt, &rowBy}, extra...)
	if err := rows.Scan(dst...); err != nil {
		return nil, nil, err
	}
	c.Email, c.FirstName, c.LastName = strPtr(email), strPtr(first), strPtr(last)
	c.Phone, c.State = strPtr(phone), strPtr(state)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, nil, fmt.Errorf("contact %d tags: %w", c.ShopifyID, err)
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
	as, st, err := decodeAttributes(attrs, meta, types, rowAt, rowBy)
	if err != nil {
		return nil, nil, fmt.Errorf("contact %d %w", c.ShopifyID, err)
	}
	c.Attributes = as
	return &c, st, nil
}

func strPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}
