package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
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
	h := fnv.New64a()
	var buf [8]byte
	put := func(s *string) {
		if s == nil {
			h.Write([]byte{0})
			return
		}
		h.Write([]byte{1})
		binary.LittleEndian.PutUint64(buf[:], uint64(len(*s)))
		h.Write(buf[:])
		io.WriteString(h, *s)
	}
	putTime := func(t *time.Time) {
		if t == nil {
			put(nil)
			return
		}
		s := shopsync.FormatTime(*t)
		put(&s)
	}
	put(c.Email)
	put(c.FirstName)
	put(c.LastName)
	put(c.Phone)
	put(c.State)
	binary.LittleEndian.PutUint64(buf[:], uint64(len(c.Tags)))
	h.Write(buf[:])
	for i := range c.Tags {
		put(&c.Tags[i])
	}
	putTime(c.ShopifyCreatedAt)
	putTime(c.ShopifyUpdatedAt)
	for _, ps := range st.part {
		binary.LittleEndian.PutUint64(buf[:], uint64(micros(ps.Clock)))
		h.Write(buf[:])
	}
	for _, a := range c.Attributes {
		name, typ := a.Name, string(a.Type)
		put(&name)
		put(&typ)
		if s, ok := a.Text(); ok {
			put(&s)
		} else {
			put(nil)
		}
	}
	return int64(h.Sum64())
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

// attrArg is the SQLite value of an attribute: INTEGER for integers and
// booleans, TEXT otherwise, NULL for null.
func attrArg(a shopsync.Attribute) any {
	switch v := a.Value.(type) {
	case nil:
		return nil
	case int64:
		return v
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return formatTime(v)
	default:
		s, _ := a.Text()
		return s
	}
}

const upsertContactSQL = `
	INSERT INTO contacts (shopify_id, email, email_norm, first_name, last_name, phone, state, tags,
		shopify_created_at, shopify_updated_at, content_hash, created_at, updated_at, changed_by, deleted_at,
		stamps, tag_events)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (shopify_id) DO UPDATE SET
		email = excluded.email, email_norm = excluded.email_norm,
		first_name = excluded.first_name, last_name = excluded.last_name,
		phone = excluded.phone, state = excluded.state, tags = excluded.tags,
		shopify_created_at = excluded.shopify_created_at,
		shopify_updated_at = excluded.shopify_updated_at,
		content_hash = excluded.content_hash,
		updated_at = excluded.updated_at, changed_by = excluded.changed_by,
		deleted_at = excluded.deleted_at, stamps = excluded.stamps, tag_events = excluded.tag_events`

// upsertAttributesSQL writes all of a contact's attributes in one
// statement, from a JSON array of [name, type, value] triples: one trip
// through database/sql and cgo instead of one per attribute (measured:
// that per-statement cost dominated an import). json_extract gives back
// INTEGER for JSON integers and TEXT for strings, the storage classes the
// schema documents. An attribute whose value and type did not change is
// not written, so it keeps its updated_at. (WHERE true disambiguates
// INSERT ... SELECT ... ON CONFLICT for SQLite's parser.)
const upsertAttributesSQL = `
	INSERT INTO contact_attributes (shopify_id, name, type, value, updated_at, changed_by)
	SELECT ?, json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), ?, ?
	FROM json_each(?) AS j WHERE true
	ON CONFLICT (shopify_id, name) DO UPDATE SET
		type = excluded.type, value = excluded.value,
		updated_at = excluded.updated_at, changed_by = excluded.changed_by
	WHERE contact_attributes.value IS NOT excluded.value
		OR contact_attributes.type IS NOT excluded.type`

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

// attributesJSON encodes attributes as [[name, type, value], ...], with
// booleans as 0/1 and times in the stored format.
func attributesJSON(buf []byte, as shopsync.Attributes) ([]byte, error) {
	buf = append(buf, '[')
	for i, a := range as {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '[')
		name, err := json.Marshal(a.Name)
		if err != nil {
			return nil, err
		}
		buf = append(buf, name...)
		buf = append(buf, ',', '"')
		buf = append(buf, a.Type...)
		buf = append(buf, '"', ',')
		switch v := attrArg(a).(type) {
		case nil:
			buf = append(buf, "null"...)
		case int64:
			buf = strconv.AppendInt(buf, v, 10)
		case string:
			s, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			buf = append(buf, s...)
		}
		buf = append(buf, ']')
	}
	return append(buf, ']'), nil
}

// writeRecord writes a whole contact: the row, its versions, and every
// attribute it carries. Attributes whose value did not change keep their
// updated_at. r.hash must be contentHash of r.
func (tx *Tx) writeRecord(ctx context.Context, r *record, changedBy string) error {
	c := &r.c
	tags, err := json.Marshal(c.Tags)
	if err != nil {
		return err
	}
	st, err := tx.stmt(ctx, upsertContactSQL)
	if err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
	var deletedAt any
	if c.DeletedAt != nil {
		deletedAt = formatTime(*c.DeletedAt)
	}
	if _, err := st.ExecContext(ctx,
		c.ShopifyID, c.Email, normEmail(c.Email), c.FirstName, c.LastName, c.Phone, c.State, string(tags),
		timeArg(c.ShopifyCreatedAt), timeArg(c.ShopifyUpdatedAt), r.hash, tx.now, tx.now, changedBy,
		deletedAt, r.stamps.encode(), r.tags.encode(),
	); err != nil {
		return fmt.Errorf("upsert contact %d: %w", c.ShopifyID, err)
	}
	if len(c.Attributes) == 0 {
		return nil
	}
	attrs, err := attributesJSON(nil, c.Attributes)
	if err != nil {
		return fmt.Errorf("upsert attributes of contact %d: %w", c.ShopifyID, err)
	}
	if st, err = tx.stmt(ctx, upsertAttributesSQL); err != nil {
		return fmt.Errorf("upsert attributes of contact %d: %w", c.ShopifyID, err)
	}
	if _, err := st.ExecContext(ctx, c.ShopifyID, tx.now, changedBy, string(attrs)); err != nil {
		return fmt.Errorf("upsert attributes of contact %d: %w", c.ShopifyID, err)
	}
	return nil
}

// loadRecord reads the stored contact with the given id, deleted or not,
// inside the write transaction; nil when there is none.
func (tx *Tx) loadRecord(ctx context.Context, id int64) (*record, error) {
	rows, err := tx.QueryContext(ctx, `SELECT shopify_id, email, first_name, last_name, phone, state, tags,
		shopify_created_at, shopify_updated_at, deleted_at, content_hash, stamps, tag_events
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
	c, err := scanContact(rows, &r.hash, &blob, &events)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	rows.Close()
	r.c = *c
	if r.stamps, err = decodeStamps(blob, c.ShopifyUpdatedAt); err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	if r.tags, err = decodeTagEvents(strPtr(events)); err != nil {
		return nil, fmt.Errorf("load contact %d tag events: %w", id, err)
	}
	if r.c.Attributes, err = loadAttributes(ctx, tx.Tx, id); err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
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
	attrs, err := tx.QueryContext(ctx, `
		SELECT a.shopify_id, a.name, a.type, a.value FROM contact_attributes a
		JOIN contacts c USING (shopify_id) WHERE c.deleted_at IS NULL
		ORDER BY a.shopify_id, a.name`)
	if err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	defer attrs.Close()
	ar := attrReader{rows: attrs}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return fmt.Errorf("export contacts: %w", err)
		}
		if c.Attributes, err = ar.until(c.ShopifyID); err != nil {
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

const contactSelect = `SELECT shopify_id, email, first_name, last_name, phone, state, tags,
	shopify_created_at, shopify_updated_at, deleted_at FROM contacts`

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
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("query contacts: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query contacts: %w", err)
	}
	for _, c := range cs {
		if c.Attributes, err = loadAttributes(ctx, tx, c.ShopifyID); err != nil {
			return nil, fmt.Errorf("query contacts: %w", err)
		}
	}
	return cs, nil
}

// scanContact reads the columns of contactSelect, then into extra.
func scanContact(rows *sql.Rows, extra ...any) (*shopsync.Contact, error) {
	var (
		c                  shopsync.Contact
		email, first, last sql.NullString
		phone, state       sql.NullString
		tags               string
		created, updated   sql.NullString
		deleted            sql.NullString
	)
	dst := append([]any{&c.ShopifyID, &email, &first, &last, &phone, &state, &tags,
		&created, &updated, &deleted}, extra...)
	if err := rows.Scan(dst...); err != nil {
		return nil, err
	}
	c.Email, c.FirstName, c.LastName = strPtr(email), strPtr(first), strPtr(last)
	c.Phone, c.State = strPtr(phone), strPtr(state)
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return nil, fmt.Errorf("contact %d tags: %w", c.ShopifyID, err)
	}
	var err error
	if c.ShopifyCreatedAt, err = nullTime(created); err != nil {
		return nil, err
	}
	if c.ShopifyUpdatedAt, err = nullTime(updated); err != nil {
		return nil, err
	}
	if c.DeletedAt, err = nullTime(deleted); err != nil {
		return nil, err
	}
	c.Fields = shopsync.AllFields
	c.Attributes = shopsync.Attributes{}
	return &c, nil
}

func strPtr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func loadAttributes(ctx context.Context, tx *sql.Tx, id int64) (shopsync.Attributes, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT shopify_id, name, type, value FROM contact_attributes WHERE shopify_id = ? ORDER BY name`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ar := attrReader{rows: rows}
	return ar.until(id)
}

// attrReader walks attribute rows ordered by shopify_id, handing each
// contact its own: a merge join with the contact rows.
type attrReader struct {
	rows    *sql.Rows
	pending *struct {
		id int64
		a  shopsync.Attribute
	}
	done bool
}

func (r *attrReader) until(id int64) (shopsync.Attributes, error) {
	out := shopsync.Attributes{}
	for {
		if r.pending == nil {
			if r.done || !r.rows.Next() {
				r.done = true
				return out, r.rows.Err()
			}
			var (
				aid   int64
				name  string
				typ   string
				value any
			)
			if err := r.rows.Scan(&aid, &name, &typ, &value); err != nil {
				return nil, err
			}
			a, err := decodeAttr(name, shopsync.AttrType(typ), value)
			if err != nil {
				return nil, fmt.Errorf("contact %d: %w", aid, err)
			}
			r.pending = &struct {
				id int64
				a  shopsync.Attribute
			}{aid, a}
		}
		switch {
		case r.pending.id < id: // attributes of a contact not asked for
			r.pending = nil
		case r.pending.id == id:
			out = append(out, r.pending.a)
			r.pending = nil
		default:
			return out, nil
		}
	}
}

// decodeAttr turns a stored value back into the Go type of its type.
func decodeAttr(name string, typ shopsync.AttrType, v any) (shopsync.Attribute, error) {
	a := shopsync.Attribute{Name: name, Type: typ}
	if v == nil {
		return a, nil
	}
	bad := func() (shopsync.Attribute, error) {
		return a, fmt.Errorf("attribute %s: stored %T does not fit type %s", name, v, typ)
	}
	switch typ {
	case shopsync.TypeInteger:
		i, ok := v.(int64)
		if !ok {
			return bad()
		}
		a.Value = i
	case shopsync.TypeBoolean:
		i, ok := v.(int64)
		if !ok {
			return bad()
		}
		a.Value = i != 0
	case shopsync.TypeTimestamp:
		s, ok := text(v)
		if !ok {
			return bad()
		}
		t, err := parseTime(s)
		if err != nil {
			return a, fmt.Errorf("attribute %s: %w", name, err)
		}
		a.Value = t
	case shopsync.TypeString, shopsync.TypeDecimal:
		s, ok := text(v)
		if !ok {
			return bad()
		}
		a.Value = s
	default:
		return a, errors.New("attribute " + name + ": unknown type " + string(typ))
	}
	return a, nil
}

func text(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}
