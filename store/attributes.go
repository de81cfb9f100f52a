package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopsync/shopsync"
)

// A contact's attributes live in its row (migrations 0003 and 0005):
// attributes is a JSON object {name: value}; attribute_types is the id of
// the set of their types in attribute_type_sets, a JSON object {name:
// type} stored once for all the contacts that share it; attribute_meta is
// a JSON object {name: [updated_at, changed_by]} holding only the
// attributes that last changed at another time or by another source than
// the row itself. A write changes every attribute it writes, so most rows
// hold '{}'.

// storedAttr is an attribute as stored: what a write compares with, to keep
// the time of change of an attribute whose value did not change.
type storedAttr struct {
	typ    shopsync.AttrType
	value  string // the JSON value, as encoded by appendAttrValue
	at, by string // when and by what it last changed, resolved from the row
}

// attrState is a stored contact's attributes by name; nil for a new one.
type attrState map[string]storedAttr

// appendAttrValue appends the JSON of a's value: a number for integers,
// true/false for booleans, a string for strings, decimals and timestamps
// (in the stored time format), null for null.
func appendAttrValue(buf []byte, a *shopsync.Attribute) []byte {
	switch v := a.Value.(type) {
	case nil:
		return append(buf, "null"...)
	case int64:
		return strconv.AppendInt(buf, v, 10)
	case bool:
		return strconv.AppendBool(buf, v)
	case time.Time:
		buf = append(buf, '"')
		buf = appendStoredTime(buf, v)
		return append(buf, '"')
	default:
		s, _ := a.Text()
		return appendJSONString(buf, s)
	}
}

// appendJSONString appends s as a JSON string. Plain printable ASCII, what
// nearly every value is, is copied as is; anything else goes through
// encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// attrKeyCache holds, per attribute name and type, the JSON that starts
// its entry in each column: `"name":` for attributes and attribute_meta,
// and `"name":"type"` for its type set. Names come from the mapping
// catalog, so it stays small. The writer owns it.
type attrKeyCache map[attrKeyID]*[2]string

type attrKeyID struct {
	name string
	typ  shopsync.AttrType
}

func (c *attrKeyCache) get(a *shopsync.Attribute) *[2]string {
	id := attrKeyID{a.Name, a.Type}
	if v, ok := (*c)[id]; ok {
		return v
	}
	name := string(appendJSONString(nil, a.Name))
	v := &[2]string{name + ":", name + ":" + string(appendJSONString(nil, string(a.Type)))}
	if *c == nil {
		*c = attrKeyCache{}
	}
	(*c)[id] = v
	return v
}

// attrBufs are the buffers encodeAttributes writes into, reused from
// contact to contact by a transaction, and the keys of the last contact's
// attributes by position.
type attrBufs struct {
	attrs, meta, types []byte
	keys               []posKey
}

type posKey struct {
	id  attrKeyID
	key *[2]string
}

// key returns keys.get(a) for the attribute at position i. Contacts
// mapped alike have the same attributes at the same positions, so the last
// contact's key at i nearly always fits, without the map.
func (b *attrBufs) key(i int, a *shopsync.Attribute, keys *attrKeyCache) *[2]string {
	if i < len(b.keys) && b.keys[i].id.name == a.Name && b.keys[i].id.typ == a.Type {
		return b.keys[i].key
	}
	k := posKey{attrKeyID{a.Name, a.Type}, keys.get(a)}
	if i < len(b.keys) {
		b.keys[i] = k
	} else {
		b.keys = append(b.keys, k) // i == len(b.keys): positions come in order
	}
	return k.key
}

// encodeAttributes returns the attributes, attribute_meta and type set
// JSON for as, written at now by source, in buf's space: valid until its
// next use. An attribute whose type and value equal the stored one keeps
// its stored time of change.
func encodeAttributes(buf *attrBufs, keys *attrKeyCache, as shopsync.Attributes, old attrState, now, source string) (attrs, meta, types []byte) {
	defer func() { buf.attrs, buf.meta, buf.types = attrs, meta, types }()
	attrs = append(buf.attrs[:0], '{')
	meta = append(buf.meta[:0], '{')
	types = append(buf.types[:0], '{')
	for i := range as {
		a := &as[i]
		if i > 0 {
			attrs = append(attrs, ',')
			types = append(types, ',')
		}
		key := buf.key(i, a, keys)
		attrs = append(attrs, key[0]...)
		start := len(attrs)
		attrs = appendAttrValue(attrs, a)
		types = append(types, key[1]...)
		if s, ok := old[a.Name]; ok && s.typ == a.Type && s.value == string(attrs[start:]) &&
			(s.at != now || s.by != source) {
			if len(meta) > 1 {
				meta = append(meta, ',')
			}
			meta = append(meta, key[0]...)
			meta = append(meta, '[')
			meta = appendJSONString(meta, s.at)
			meta = append(meta, ',')
			meta = appendJSONString(meta, s.by)
			meta = append(meta, ']')
		}
	}
	return append(attrs, '}'), append(meta, '}'), append(types, '}')
}

// typeSets maps the JSON of attribute type sets to their ids in one
// database's attribute_type_sets. It holds only committed sets: a
// transaction keeps the sets it finds or adds in the writer's newTypes
// until it commits. Sets are never deleted, so an id once committed stays
// right, whichever process added it. The writer owns it.
type typeSets map[string]int64

type typeSet struct {
	types string
	id    int64
}

// typeSetID returns the id of the type set types, adding it when new.
func (tx *Tx) typeSetID(ctx context.Context, types []byte) (int64, error) {
	if id, ok := tx.w.types[string(types)]; ok {
		return id, nil
	}
	for _, s := range tx.w.newTypes {
		if s.types == string(types) {
			return s.id, nil
		}
	}
	s := typeSet{types: string(types)}
	err := tx.queryRow(ctx, `SELECT id FROM attribute_type_sets WHERE types = ?`, s.types).Scan(&s.id)
	if errors.Is(err, sql.ErrNoRows) {
		var res sql.Result
		if res, err = tx.exec(ctx, `INSERT INTO attribute_type_sets (types) VALUES (?)`, s.types); err == nil {
			s.id, err = res.LastInsertId()
		}
	}
	if err != nil {
		return 0, fmt.Errorf("attribute type set: %w", err)
	}
	tx.w.newTypes = append(tx.w.newTypes, s)
	return s.id, nil
}

// committed adds the transaction's type sets to the database's, once it
// has committed.
func (t *typeSets) committed(sets []typeSet) {
	if len(sets) == 0 {
		return
	}
	if *t == nil {
		*t = typeSets{}
	}
	for _, s := range sets {
		(*t)[s.types] = s.id
	}
}

// typeNameCache holds type sets decoded from their JSON, keyed by it: the
// few sets a store has are parsed once, not once per contact read. Reads
// run concurrently, so it has a lock; it is bounded, since sets are few.
type typeNameCache struct {
	mu sync.RWMutex
	m  map[string]map[string]shopsync.AttrType
}

func (c *typeNameCache) parse(types string) (map[string]shopsync.AttrType, error) {
	c.mu.RLock()
	m, ok := c.m[types]
	c.mu.RUnlock()
	if ok {
		return m, nil
	}
	if err := json.Unmarshal([]byte(types), &m); err != nil {
		return nil, fmt.Errorf("attribute types: %w", err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= 256 {
		c.m = map[string]map[string]shopsync.AttrType{}
	}
	c.m[types] = m
	c.mu.Unlock()
	return m, nil
}

// typesColumn selects a contacts row's type set JSON, '{}' when it has none.
const typesColumn = `coalesce((SELECT s.types FROM attribute_type_sets AS s WHERE s.id = contacts.attribute_types), '{}')`

// decodeAttributes reads the attributes, attribute_meta and type set of a
// row last changed at rowAt by rowBy: the attributes sorted by name, with
// Go values of their types, and their stored state.
func (db *DB) decodeAttributes(attrs, meta, types, rowAt, rowBy string) (shopsync.Attributes, attrState, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal([]byte(attrs), &values); err != nil {
		return nil, nil, fmt.Errorf("attributes: %w", err)
	}
	var metas map[string][]string
	if err := json.Unmarshal([]byte(meta), &metas); err != nil {
		return nil, nil, fmt.Errorf("attribute_meta: %w", err)
	}
	typeOf, err := db.typeNames.parse(types)
	if err != nil {
		return nil, nil, err
	}
	out := make(shopsync.Attributes, 0, len(values))
	state := make(attrState, len(values))
	for name, raw := range values {
		typ, ok := typeOf[name]
		if !ok {
			return nil, nil, fmt.Errorf("attribute %s: no type in its type set", name)
		}
		s := storedAttr{typ: typ, value: string(raw), at: rowAt, by: rowBy}
		if m, ok := metas[name]; ok {
			if len(m) != 2 {
				return nil, nil, fmt.Errorf("attribute %s: attribute_meta %q is not [updated_at, changed_by]", name, m)
			}
			s.at, s.by = m[0], m[1]
		}
		a, err := decodeAttrValue(name, s.typ, raw)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, a)
		state[name] = s
	}
	slices.SortFunc(out, func(a, b shopsync.Attribute) int { return strings.Compare(a.Name, b.Name) })
	return out, state, nil
}

// decodeAttrValue turns a stored JSON value back into the Go type of its
// attribute type.
func decodeAttrValue(name string, typ shopsync.AttrType, raw json.RawMessage) (shopsync.Attribute, error) {
	a := shopsync.Attribute{Name: name, Type: typ}
	if bytes.Equal(raw, []byte("null")) {
		return a, nil
	}
	bad := func(err error) (shopsync.Attribute, error) {
		return a, fmt.Errorf("attribute %s: stored %s does not fit type %s: %v", name, raw, typ, err)
	}
	switch typ {
	case shopsync.TypeInteger:
		i, err := strconv.ParseInt(string(raw), 10, 64) // never through float64
		if err != nil {
			return bad(err)
		}
		a.Value = i
	case shopsync.TypeBoolean:
		b, err := strconv.ParseBool(string(raw))
		if err != nil {
			return bad(err)
		}
		a.Value = b
	case shopsync.TypeString, shopsync.TypeDecimal, shopsync.TypeTimestamp:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad(err)
		}
		if typ != shopsync.TypeTimestamp {
			a.Value = s
			break
		}
		t, err := parseTime(s)
		if err != nil {
			return bad(err)
		}
		a.Value = t
	default:
		return a, fmt.Errorf("attribute %s: unknown type %q", name, typ)
	}
	return a, nil
}
