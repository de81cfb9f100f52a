package store

import (
	"strconv"
	"unicode/utf8"

	"github.com/shopsync/shopsync"
)

// Reading a contact's attributes for a read (an export, a page, a
// lookup), without the stored state a write compares with, is most of the
// time an export of a million contacts takes. The attributes JSON the
// store writes has one form (encodeAttributes): {"name":value,...}, no
// space, the names in the order of the row's type set, each value a JSON
// integer, true, false, null or a string. decodeAttrValues reads that
// form in one pass over the text, without a JSON decoder; anything else
// (an escape in a string, a space, a name out of order, a value its type
// cannot hold...) goes to decodeAttributes, which reads any JSON and says
// what is wrong. It gives the same attributes as decodeAttributes, or
// leaves the text to it (FuzzDecodeAttrValues).

// decodeAttrValues returns the attributes of a row: decodeAttributes'
// attributes, without their stored state.
// types is the row's type set JSON, in a buffer the caller reuses.
func (db *DB) decodeAttrValues(attrs string, types []byte) (shopsync.Attributes, error) {
	set, err := db.typeNames.parseBytes(types)
	if err != nil {
		return nil, err
	}
	if as, ok := decodePlainAttrs(attrs, set); ok {
		return as, nil
	}
	as, _, err := db.decodeAttributes(attrs, "{}", string(types), "", "")
	return as, err
}

// decodePlainAttrs reads attrs in the store's own form; false when it is
// not in that form.
func decodePlainAttrs(attrs string, set *attrTypes) (shopsync.Attributes, bool) {
	n := len(attrs)
	if n < 2 || attrs[0] != '{' || attrs[n-1] != '}' {
		return nil, false
	}
	out := make(shopsync.Attributes, 0, len(set.names))
	i := 1
	if attrs[i] == '}' {
		return out, i == n-1
	}
	for {
		// "name": the set's next name, as the set writes it.
		k := len(out)
		if k >= len(set.quoted) {
			return nil, false
		}
		q := set.quoted[k]
		if len(attrs)-i < len(q)+1 || attrs[i:i+len(q)] != q || attrs[i+len(q)] != ':' {
			return nil, false
		}
		i += len(q) + 1
		name := set.names[k]
		if k > 0 && out[k-1].Name >= name {
			return nil, false // out of order: decodeAttributes sorts them
		}
		a := shopsync.Attribute{Name: name, Type: set.byName[name]}
		var ok bool
		if i, ok = plainAttrValue(attrs, i, &a); !ok {
			return nil, false
		}
		out = append(out, a)
		switch {
		case i >= n:
			return nil, false
		case attrs[i] == ',':
			i++
		case attrs[i] == '}':
			return out, i == n-1
		default:
			return nil, false
		}
	}
}

// plainAttrValue reads the value at attrs[i:] into a, by a's type, and
// returns where it ends; false when it is not in the store's form for the
// type.
func plainAttrValue(attrs string, i int, a *shopsync.Attribute) (int, bool) {
	if hasPrefixAt(attrs, i, "null") {
		return i + 4, true
	}
	switch a.Type {
	case shopsync.TypeInteger:
		j := i
		if j < len(attrs) && attrs[j] == '-' {
			j++
		}
		start := j
		for j < len(attrs) && '0' <= attrs[j] && attrs[j] <= '9' {
			j++
		}
		// JSON's integers: no leading zero, no fraction or exponent.
		if j == start || attrs[start] == '0' && j > start+1 ||
			j < len(attrs) && (attrs[j] == '.' || attrs[j] == 'e' || attrs[j] == 'E') {
			return 0, false
		}
		v, err := strconv.ParseInt(attrs[i:j], 10, 64)
		if err != nil {
			return 0, false
		}
		a.Value = v
		return j, true
	case shopsync.TypeBoolean:
		switch {
		case hasPrefixAt(attrs, i, "true"):
			a.Value = true
			return i + 4, true
		case hasPrefixAt(attrs, i, "false"):
			a.Value = false
			return i + 5, true
		}
		return 0, false
	case shopsync.TypeString, shopsync.TypeDecimal, shopsync.TypeTimestamp:
		if i >= len(attrs) || attrs[i] != '"' {
			return 0, false
		}
		j := i + 1
		ascii := true
		for j < len(attrs) && attrs[j] != '"' {
			c := attrs[j]
			if c == '\\' || c < 0x20 {
				return 0, false // an escape, or a character JSON must escape
			}
			ascii = ascii && c < utf8.RuneSelf
			j++
		}
		if j >= len(attrs) {
			return 0, false
		}
		s := attrs[i+1 : j]
		if !ascii && !utf8.ValidString(s) {
			return 0, false
		}
		if a.Type != shopsync.TypeTimestamp {
			a.Value = s
			return j + 1, true
		}
		t, err := parseTime(s)
		if err != nil {
			return 0, false
		}
		a.Value = t
		return j + 1, true
	}
	return 0, false
}

func hasPrefixAt(s string, i int, p string) bool {
	return len(s)-i >= len(p) && s[i:i+len(p)] == p
}

// decodeTags reads a row's tags JSON, a JSON array of strings: in one
// pass when every tag is written as it is (no escape), else through
// encoding/json.
func decodeTags(tags string) ([]string, bool) {
	n := len(tags)
	if n < 2 || tags[0] != '[' || tags[n-1] != ']' {
		return nil, false
	}
	out := []string{}
	i := 1
	if tags[i] == ']' {
		return out, i == n-1
	}
	for {
		if tags[i] != '"' {
			return nil, false
		}
		j := i + 1
		ascii := true
		for j < n && tags[j] != '"' {
			c := tags[j]
			if c == '\\' || c < 0x20 {
				return nil, false
			}
			ascii = ascii && c < utf8.RuneSelf
			j++
		}
		if j >= n {
			return nil, false
		}
		s := tags[i+1 : j]
		if !ascii && !utf8.ValidString(s) {
			return nil, false
		}
		out = append(out, s)
		i = j + 1
		switch {
		case i >= n:
			return nil, false
		case tags[i] == ',':
			i++
		case tags[i] == ']':
			return out, i == n-1
		default:
			return nil, false
		}
	}
}
