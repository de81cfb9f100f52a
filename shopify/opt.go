package shopify

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Opt is a JSON field that remembers whether its key was present and
// whether its value was null. Shopify payloads differ by topic and API
// version: a key missing from a payload means "not in this payload", which
// must never erase stored data, while an explicit null means "empty or
// withheld" (SHOPIFY.md §6–§7). A plain pointer cannot tell the two apart.
type Opt[T any] struct {
	V    T    // the value; the zero value when absent or null
	Set  bool // the key was present in the payload
	Null bool // the key was present with the value null
}

// Some returns a present, non-null Opt holding v.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Set: true} }

// Null returns a present Opt whose value is null.
func Null[T any]() Opt[T] { return Opt[T]{Set: true, Null: true} }

// Valid reports whether the key was present with a non-null value.
func (o Opt[T]) Valid() bool { return o.Set && !o.Null }

// Ptr returns a pointer to the value, or nil when absent or null.
func (o Opt[T]) Ptr() *T {
	if !o.Valid() {
		return nil
	}
	v := o.V
	return &v
}

// UnmarshalJSON implements json.Unmarshaler. encoding/json calls it only
// for keys present in the object, including those whose value is null.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Null = true
		var zero T
		o.V = zero
		return nil
	}
	o.Null = false
	return decodeValue(b, &o.V)
}

// decodeValue decodes b into v. The scalar types of customer payloads
// skip a second pass of encoding/json over bytes it has just validated:
// an import decodes some twenty of them per customer, and that pass was
// the larger part of its JSON time. Plain strings (no escapes, valid
// UTF-8) are copied; everything else takes the general path, so the
// result is always the one json.Unmarshal gives.
func decodeValue(b []byte, v any) error {
	switch p := v.(type) {
	case *string:
		if s, ok := plainString(b); ok {
			*p = s
			return nil
		}
	case *int64:
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			*p = n
			return nil
		}
	case *bool:
		switch string(b) {
		case "true":
			*p = true
			return nil
		case "false":
			*p = false
			return nil
		}
	case *time.Time:
		return p.UnmarshalJSON(b)
	case *Decimal:
		return p.UnmarshalJSON(b)
	}
	return json.Unmarshal(b, v)
}

// plainString returns the content of the JSON string b when it needs no
// unescaping: no backslash, no control character, valid UTF-8.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c == '\\' || c == '"' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// MarshalJSON implements json.Marshaler; an absent or null Opt encodes as
// null (use omitzero on the field to drop absent keys).
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.Valid() {
		return []byte("null"), nil
	}
	return json.Marshal(o.V)
}

// IsZero reports whether the key was absent, for the omitzero tag option.
func (o Opt[T]) IsZero() bool { return !o.Set }
