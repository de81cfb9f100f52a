// Package shopsync holds the domain types shared by every part of shopsync:
// the contact kept for each Shopify customer and its typed attributes; the
// versions a merge compares (Part, Clock, Stamp); the writes the rest of
// shopsync asks of the store (Change and its kinds, Delivery, ImportPage,
// BulkBatch) and what they did (Result, Outcome); the change feed's events
// (ChangeEvent, EventType); and the record of a sync run. It imports nothing internal: the store, the Shopify client, the
// webhook receiver, mapping and the HTTP server all speak these types, and
// depend on one another through small interfaces over them.
package shopsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Contact is the local copy of one Shopify customer, keyed by ShopifyID.
// Nil pointers are nulls: Shopify sent null (empty, or protected data the app
// may not see).
type Contact struct {
	ShopifyID        int64      `json:"shopify_id"`
	Email            *string    `json:"email"`
	FirstName        *string    `json:"first_name"`
	LastName         *string    `json:"last_name"`
	Phone            *string    `json:"phone"`
	State            *string    `json:"state"`
	Tags             []string   `json:"tags"`
	ShopifyCreatedAt *time.Time `json:"shopify_created_at"`
	ShopifyUpdatedAt *time.Time `json:"shopify_updated_at"`
	Attributes       Attributes `json:"attributes"`

	// Fields lists which of the fields above the source payload carried.
	// A field not in the set is unknown, and merging keeps the stored value.
	// Attributes follow the same rule by presence in Attributes.
	Fields FieldSet `json:"-"`

	// Parts lists the parts (see Part) the source payload carried: some
	// field or attribute of each. Full lists those it carried whole, every
	// field and every attribute of the part that the mapping keeps; a part
	// carried in part (a payload trimmed by include_fields) is versioned
	// field by field. Clocks holds each carried part's own Shopify clock,
	// zero when the payload had none.
	Parts  PartSet         `json:"-"`
	Full   PartSet         `json:"-"`
	Clocks [NumParts]Clock `json:"-"`

	// DeletedAt is set once the customer is gone from Shopify; such
	// contacts leave exports and lookups. Set only by the store.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// FieldSet is a set of a contact's top-level fields.
type FieldSet uint16

// The top-level contact fields, for FieldSet.
const (
	FieldEmail FieldSet = 1 << iota
	FieldFirstName
	FieldLastName
	FieldPhone
	FieldState
	FieldTags
	FieldCreatedAt
	FieldUpdatedAt

	// AllFields is every top-level field: a full REST customer.
	AllFields = FieldEmail | FieldFirstName | FieldLastName | FieldPhone |
		FieldState | FieldTags | FieldCreatedAt | FieldUpdatedAt
)

// Has reports whether every field of f is in s.
func (s FieldSet) Has(f FieldSet) bool { return s&f == f }

// AttrType is the type of a custom attribute's value.
type AttrType string

// The attribute types. Decimal values are exact decimal strings.
const (
	TypeString    AttrType = "string"
	TypeInteger   AttrType = "integer"
	TypeDecimal   AttrType = "decimal"
	TypeBoolean   AttrType = "boolean"
	TypeTimestamp AttrType = "timestamp"
)

// Valid reports whether t is one of the attribute types.
func (t AttrType) Valid() bool {
	switch t {
	case TypeString, TypeInteger, TypeDecimal, TypeBoolean, TypeTimestamp:
		return true
	}
	return false
}

// Attribute is one typed custom attribute of a contact. Value is nil for
// null, or holds the Go type of its Type: string (string and decimal),
// int64, bool, or time.Time (UTC).
type Attribute struct {
	Name  string
	Type  AttrType
	Value any
	Part  Part // the part of the contact it belongs to; set by mapping

	// KeepIf, when set, says the payload did not carry this attribute's
	// value but knows when the stored one is still right: while the
	// attribute KeepIf keeps its stored value. Otherwise the stored value
	// is wrong and becomes null until the contact is read again in full
	// (customers/purchasing_summary carries the last order's id, not its
	// name). Value is nil.
	KeepIf string
}

// StringAttr, IntAttr, DecimalAttr, BoolAttr and TimeAttr build attributes;
// a nil pointer makes a null value.
func StringAttr(name string, v *string) Attribute {
	if v == nil {
		return Attribute{Name: name, Type: TypeString}
	}
	return Attribute{Name: name, Type: TypeString, Value: *v}
}

// IntAttr builds an integer attribute; nil is null.
func IntAttr(name string, v *int64) Attribute {
	if v == nil {
		return Attribute{Name: name, Type: TypeInteger}
	}
	return Attribute{Name: name, Type: TypeInteger, Value: *v}
}

// DecimalAttr builds a decimal attribute from exact decimal text; nil is null.
func DecimalAttr(name string, v *string) Attribute {
	if v == nil {
		return Attribute{Name: name, Type: TypeDecimal}
	}
	return Attribute{Name: name, Type: TypeDecimal, Value: *v}
}

// BoolAttr builds a boolean attribute; nil is null.
func BoolAttr(name string, v *bool) Attribute {
	if v == nil {
		return Attribute{Name: name, Type: TypeBoolean}
	}
	return Attribute{Name: name, Type: TypeBoolean, Value: *v}
}

// TimeAttr builds a timestamp attribute, kept in UTC; nil is null.
func TimeAttr(name string, v *time.Time) Attribute {
	if v == nil {
		return Attribute{Name: name, Type: TypeTimestamp}
	}
	return Attribute{Name: name, Type: TypeTimestamp, Value: v.UTC()}
}

// Text returns the attribute's value in its canonical text form (integers
// in base 10, booleans as true/false, timestamps as RFC 3339 UTC with
// nanoseconds trimmed) and whether it is non-null.
func (a Attribute) Text() (string, bool) {
	switch v := a.Value.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case int64:
		return strconv.FormatInt(v, 10), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return FormatTime(v), true
	default:
		return fmt.Sprint(v), true
	}
}

// Attributes is a contact's attributes, kept sorted by name.
type Attributes []Attribute

// Get returns the attribute called name.
func (as Attributes) Get(name string) (Attribute, bool) {
	i := sort.Search(len(as), func(i int) bool { return as[i].Name >= name })
	if i < len(as) && as[i].Name == name {
		return as[i], true
	}
	return Attribute{}, false
}

// Sort orders the attributes by name.
func (as Attributes) Sort() {
	sort.Slice(as, func(i, j int) bool { return as[i].Name < as[j].Name })
}

// MarshalJSON encodes the attributes as one object with typed values:
// integers as JSON numbers, decimals and timestamps as strings, booleans as
// JSON booleans, nulls as null.
func (as Attributes) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range as {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(a.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		switch v := a.Value.(type) {
		case nil:
			b.WriteString("null")
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case bool:
			b.WriteString(strconv.FormatBool(v))
		default:
			s, _ := a.Text()
			e, err := json.Marshal(s)
			if err != nil {
				return nil, err
			}
			b.Write(e)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// TimeFormat is how shopsync shows times: RFC 3339 in UTC, with
// fractional seconds only when present. (The store writes a fixed-width
// form, so that stored times compare as text.)
const TimeFormat = time.RFC3339Nano

// FormatTime formats t in UTC with TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
