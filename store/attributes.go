package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/json/jsontext"
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
	name   string
	typ    shopsync.AttrType
	value  string // the JSON value, as encoded by appendAttrValue
	at, by string // when and by what it last changed, resolved from the row
}

// attrState is a stored contact's attributes, sorted by name; nil for a
// new one.
type attrState []storedAttr

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
// its stored time of change. as is sorted by name, as old is.
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
		for len(old) > 0 && old[0].name < a.Name {
			old = old[1:]
		}
		if len(old) == 0 || old[0].name != a.Name {
			continue
		}
		if s := &old[0]; s.typ == a.Type && s.value == string(attrs[start:]) &&
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
	m  map[string]*attrTypes
}

// attrTypes is a decoded type set: the type of each attribute by name,
// and the names in the set's order, which is the order a write lays out
// the attributes of a contact (by name), each also as its JSON string.
type attrTypes struct {
	byName map[string]shopsync.AttrType
	names  []string
	quoted []string
}

func (c *typeNameCache) parse(types string) (*attrTypes, error) {
	c.mu.RLock()
	set, ok := c.m[types]
	c.mu.RUnlock()
	if ok {
		return set, nil
	}
	return c.add(types)
}

// parseBytes is parse of a type set JSON in a buffer: a set already
// decoded is found without copying it.
func (c *typeNameCache) parseBytes(types []byte) (*attrTypes, error) {
	c.mu.RLock()
	set, ok := c.m[string(types)]
	c.mu.RUnlock()
	if ok {
		return set, nil
	}
	return c.add(string(types))
}

// add decodes a type set and keeps it.
func (c *typeNameCache) add(types string) (*attrTypes, error) {
	set := &attrTypes{byName: map[string]shopsync.AttrType{}}
	dec := jsontext.NewDecoder(strings.NewReader(types))
	if err := readObject(dec, func(quoted []byte) error {
		name, err := unquote(quoted)
		if err != nil {
			return err
		}
		// quoted is the decoder's buffer, which the next read reuses.
		set.quoted = append(set.quoted, string(quoted))
		v, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if v.Kind() != '"' {
			return fmt.Errorf("type of %s is not a string", name)
		}
		set.byName[name] = shopsync.AttrType(v.String())
		set.names = append(set.names, name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("attribute types: %w", err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= 256 {
		c.m = map[string]*attrTypes{}
	}
	c.m[types] = set
	c.mu.Unlock()
	return set, nil
}

// readObject reads a JSON object from dec, calling member with each
// member's name as written (a JSON string), with dec before its value,
// which member must read.
func readObject(dec *jsontext.Decoder, member func(quoted []byte) error) error {
	if t, err := dec.ReadToken(); err != nil {
		return err
	} else if t.Kind() != '{' {
		return errors.New("not a JSON object")
	}
	for dec.PeekKind() == '"' {
		quoted, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if err := member(quoted); err != nil {
			return err
		}
	}
	if t, err := dec.ReadToken(); err != nil {
		return err
	} else if t.Kind() != '}' {
		return errors.New("not a JSON object")
	}
	return nil
}

// typesColumn selects a contacts row's type set JSON, '{}' when it has none.
const typesColumn = `coalesce((SELECT s.types FROM attribute_type_sets AS s WHERE s.id = contacts.attribute_types), '{}')`

// decodeAttributes reads the attributes, attribute_meta and type set of a
// row last changed at rowAt by rowBy: the attributes sorted by name, with
// Go values of their types, and their stored state.
//
// Every contact read goes through here, so it reads the attributes object
// member by member, names taken from the type set where they come in its
// order (they do: a write lays both out by name) and values sliced from
// attrs, without copying them.
func (db *DB) decodeAttributes(attrs, meta, types, rowAt, rowBy string) (shopsync.Attributes, attrState, error) {
	set, err := db.typeNames.parse(types)
	if err != nil {
		return nil, nil, err
	}
	var metas map[string][]string
	if meta != "{}" {
		if err := json.Unmarshal([]byte(meta), &metas); err != nil {
			return nil, nil, fmt.Errorf("attribute_meta: %w", err)
		}
	}
	out := make(shopsync.Attributes, 0, len(set.names))
	state := make(attrState, 0, len(set.names))
	dec := db.attrDecoder(attrs)
	defer db.decoders.Put(dec)
	sorted := true
	err = readObject(dec, func(quoted []byte) error {
		var name string
		if i := len(out); i < len(set.quoted) && set.quoted[i] == string(quoted) {
			name = set.names[i] // shared, not one string per contact
		} else if name, err = unquote(quoted); err != nil {
			return err
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		end := int(dec.InputOffset())
		value := attrs[end-len(raw) : end]
		typ, ok := set.byName[name]
		if !ok {
			return fmt.Errorf("attribute %s: no type in its type set", name)
		}
		s := storedAttr{name: name, typ: typ, value: value, at: rowAt, by: rowBy}
		if m, ok := metas[name]; ok {
			if len(m) != 2 {
				return fmt.Errorf("attribute %s: attribute_meta %q is not [updated_at, changed_by]", name, m)
			}
			s.at, s.by = m[0], m[1]
		}
		a, err := decodeAttrValue(name, typ, value)
		if err != nil {
			return err
		}
		sorted = sorted && (len(out) == 0 || out[len(out)-1].Name < name)
		out = append(out, a)
		state = append(state, s)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("attributes: %w", err)
	}
	if !sorted {
		slices.SortFunc(out, func(a, b shopsync.Attribute) int { return strings.Compare(a.Name, b.Name) })
		slices.SortFunc(state, func(a, b storedAttr) int { return strings.Compare(a.name, b.name) })
	}
	return out, state, nil
}

// attrDecoder returns a JSON decoder reading attrs; put it back in
// db.decoders when done.
func (db *DB) attrDecoder(attrs string) *jsontext.Decoder {
	dec, _ := db.decoders.Get().(*jsontext.Decoder)
	if dec == nil {
		dec = new(jsontext.Decoder)
	}
	dec.Reset(strings.NewReader(attrs))
	return dec
}

// decodeAttrValue turns a stored JSON value back into the Go type of its
// attribute type.
func decodeAttrValue(name string, typ shopsync.AttrType, raw string) (shopsync.Attribute, error) {
	a := shopsync.Attribute{Name: name, Type: typ}
	if raw == "null" {
		return a, nil
	}
	bad := func(err error) (shopsync.Attribute, error) {
		return a, fmt.Errorf("attribute %s: stored %s does not fit type %s: %v", name, raw, typ, err)
	}
	switch typ {
	case shopsync.TypeInteger:
		i, err := strconv.ParseInt(raw, 10, 64) // never through float64
		if err != nil {
			return bad(err)
		}
		a.Value = i
	case shopsync.TypeBoolean:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad(err)
		}
		a.Value = b
	case shopsync.TypeString, shopsync.TypeDecimal, shopsync.TypeTimestamp:
		s, err := unquote(raw)
		if err != nil {
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

// unquote returns the string a JSON string holds: a slice of quoted when
// it has no escapes.
func unquote[T string | []byte](quoted T) (string, error) {
	n := len(quoted)
	if n < 2 || quoted[0] != '"' || quoted[n-1] != '"' {
		return "", errors.New("not a JSON string")
	}
	plain := true
	for i := 1; i < n-1 && plain; i++ {
		plain = quoted[i] != '\\' && quoted[i] != '"' && quoted[i] >= 0x20
	}
	if plain && utf8.ValidString(string(quoted[1:n-1])) {
		return string(quoted[1 : n-1]), nil
	}
	s, err := jsontext.AppendUnquote(nil, []byte(quoted))
	return string(s), err
}
