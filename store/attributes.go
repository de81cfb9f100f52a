package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopsync/shopsync"
)

// A contact's attributes live in its row as two JSON objects (migration
// 0003): attributes {name: value} and attribute_meta {name: [type,
// updated_at, changed_by]}, the last two left out when they equal the
// row's own updated_at and changed_by — as they do for every attribute a
// write changed.

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
		buf = v.UTC().AppendFormat(buf, storedTime)
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

// attrKeys caches, per attribute name and type, the JSON that starts its
// entry in each column: `"name":` and `"name":["type"`. Names come from
// the mapping catalog, so the cache stays small. (A map with a struct key
// under a read lock: a sync.Map key would allocate on every lookup.)
var attrKeys struct {
	sync.RWMutex
	m map[attrKeyID]*[2]string
}

type attrKeyID struct {
	name string
	typ  shopsync.AttrType
}

func attrKey(a *shopsync.Attribute) *[2]string {
	id := attrKeyID{a.Name, a.Type}
	attrKeys.RLock()
	v, ok := attrKeys.m[id]
	attrKeys.RUnlock()
	if ok {
		return v
	}
	name := string(appendJSONString(nil, a.Name))
	v = &[2]string{name + ":", name + `:["` + string(a.Type) + `"`}
	attrKeys.Lock()
	if attrKeys.m == nil {
		attrKeys.m = map[attrKeyID]*[2]string{}
	}
	attrKeys.m[id] = v
	attrKeys.Unlock()
	return v
}

// encodeAttributes returns the attributes and attribute_meta columns for
// as, written at now by source. An attribute whose type and value equal
// the stored one keeps its stored time of change.
func encodeAttributes(as shopsync.Attributes, old attrState, now, source string) (attrs, meta []byte) {
	attrs = make([]byte, 0, 40*len(as)+2)
	meta = make([]byte, 0, 36*len(as)+2)
	attrs = append(attrs, '{')
	meta = append(meta, '{')
	for i := range as {
		a := &as[i]
		if i > 0 {
			attrs = append(attrs, ',')
			meta = append(meta, ',')
		}
		key := attrKey(a)
		attrs = append(attrs, key[0]...)
		start := len(attrs)
		attrs = appendAttrValue(attrs, a)
		meta = append(meta, key[1]...)
		if s, ok := old[a.Name]; ok && s.typ == a.Type && s.value == string(attrs[start:]) &&
			(s.at != now || s.by != source) {
			meta = append(meta, ',')
			meta = appendJSONString(meta, s.at)
			meta = append(meta, ',')
			meta = appendJSONString(meta, s.by)
		}
		meta = append(meta, ']')
	}
	return append(attrs, '}'), append(meta, '}')
}

// decodeAttributes reads the attributes and attribute_meta columns of a
// row last changed at rowAt by rowBy: the attributes sorted by name, with
// Go values of their types, and their stored state.
func decodeAttributes(attrs, meta, rowAt, rowBy string) (shopsync.Attributes, attrState, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal([]byte(attrs), &values); err != nil {
		return nil, nil, fmt.Errorf("attributes: %w", err)
	}
	var metas map[string][]string
	if err := json.Unmarshal([]byte(meta), &metas); err != nil {
		return nil, nil, fmt.Errorf("attribute_meta: %w", err)
	}
	out := make(shopsync.Attributes, 0, len(values))
	state := make(attrState, len(values))
	for name, raw := range values {
		m := metas[name]
		if len(m) == 0 {
			return nil, nil, fmt.Errorf("attribute %s: no type in attribute_meta", name)
		}
		s := storedAttr{typ: shopsync.AttrType(m[0]), value: string(raw), at: rowAt, by: rowBy}
		if len(m) == 3 {
			s.at, s.by = m[1], m[2]
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
