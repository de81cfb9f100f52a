package segment

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/sqlfunc"
)

// Type is the type of a field a segment can test.
type Type string

// The field types. Decimals are exact; timestamps are UTC instants; a
// list is the contact's tags.
const (
	Integer   Type = "integer"
	Decimal   Type = "decimal"
	Boolean   Type = "boolean"
	Timestamp Type = "timestamp"
	String    Type = "string"
	List      Type = "list"
)

// Field is a name a segment can test, and its type.
type Field struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Alias is set when Name is another name for the field Alias.
	Alias string `json:"alias,omitempty"`
}

// field is a resolved field: how SQL and Go read it.
type field struct {
	Field
	column string // the SQL expression of its value
	folded string // for strings: the SQL expression of its folded value
	attr   string // for attributes: the attribute's name
	// get reads it from a contact: nil, int64, string (strings, folded;
	// decimals), bool, time.Time, []string.
	get func(*shopsync.Contact) any
}

// contactFields are the contact's own fields. created_at and updated_at
// are the customer's, in Shopify; email is compared as the store's
// email_norm (lower-cased and trimmed, with Go's Unicode rules).
func contactFields() []*field {
	text := func(name string, get func(*shopsync.Contact) *string) *field {
		return &field{Field: Field{Name: name, Type: String}, column: name,
			folded: sqlfunc.Fold + "(" + name + ")",
			get: func(c *shopsync.Contact) any {
				if s := get(c); s != nil {
					return strings.ToLower(*s)
				}
				return nil
			}}
	}
	when := func(name, alias, column string, get func(*shopsync.Contact) *time.Time) *field {
		return &field{Field: Field{Name: name, Type: Timestamp, Alias: alias}, column: column,
			get: func(c *shopsync.Contact) any {
				if t := get(c); t != nil {
					return t.UTC()
				}
				return nil
			}}
	}
	created := func(c *shopsync.Contact) *time.Time { return c.ShopifyCreatedAt }
	updated := func(c *shopsync.Contact) *time.Time { return c.ShopifyUpdatedAt }
	fs := []*field{
		{Field: Field{Name: "shopify_id", Type: Integer}, column: "shopify_id",
			get: func(c *shopsync.Contact) any { return c.ShopifyID }},
		{Field: Field{Name: "email", Type: String}, column: "email", folded: "email_norm",
			get: func(c *shopsync.Contact) any {
				if c.Email == nil {
					return nil
				}
				return strings.ToLower(strings.TrimSpace(*c.Email))
			}},
		text("first_name", func(c *shopsync.Contact) *string { return c.FirstName }),
		text("last_name", func(c *shopsync.Contact) *string { return c.LastName }),
		text("phone", func(c *shopsync.Contact) *string { return c.Phone }),
		text("state", func(c *shopsync.Contact) *string { return c.State }),
		{Field: Field{Name: "tags", Type: List}, column: "tags",
			get: func(c *shopsync.Contact) any { return c.Tags }},
		when("created_at", "", "shopify_created_at", created),
		when("shopify_created_at", "created_at", "shopify_created_at", created),
		when("updated_at", "", "shopify_updated_at", updated),
		when("shopify_updated_at", "updated_at", "shopify_updated_at", updated),
	}
	return fs
}

// attrTypes maps attribute types to field types.
var attrTypes = map[shopsync.AttrType]Type{
	shopsync.TypeString:    String,
	shopsync.TypeInteger:   Integer,
	shopsync.TypeDecimal:   Decimal,
	shopsync.TypeBoolean:   Boolean,
	shopsync.TypeTimestamp: Timestamp,
}

// attrField returns the field of attribute name of type t. name has been
// checked to be a plain identifier, so it is safe in SQL text.
func attrField(name string, t Type) *field {
	f := &field{Field: Field{Name: name, Type: t}, attr: name,
		column: "(attributes ->> '" + name + "')"}
	if t == String {
		f.folded = sqlfunc.Fold + f.column
	}
	f.get = func(c *shopsync.Contact) any {
		a, ok := c.Attributes.Get(name)
		if !ok || a.Value == nil {
			return nil
		}
		switch v := a.Value.(type) {
		case string:
			if t == String {
				return strings.ToLower(v)
			}
			return v
		case time.Time:
			return v.UTC()
		}
		return a.Value
	}
	return f
}

// validAttrName reports whether name is a plain lower-case identifier:
// the catalog's names are, and only such a name goes into SQL text.
func validAttrName(name string) bool {
	if name == "" || !('a' <= name[0] && name[0] <= 'z') {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Compiler parses segments and checks them against the fields of one
// mapping: the contact's fields and the attributes the store keeps. It
// is safe for concurrent use.
type Compiler struct {
	fields map[string]*field
}

// NewCompiler returns a Compiler for the contact's fields and the
// attributes attrs (name: type), which should be the attributes the
// store keeps (mapping.Mapper.AttributeTypes): a segment naming another
// attribute is refused, as it would match no stored value. An attribute
// name must be a lower-case identifier that is neither a keyword nor a
// contact field.
func NewCompiler(attrs map[string]shopsync.AttrType) (*Compiler, error) {
	c := &Compiler{fields: map[string]*field{}}
	for _, f := range contactFields() {
		c.fields[f.Name] = f
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t, ok := attrTypes[attrs[name]]
		switch {
		case !ok:
			return nil, fmt.Errorf("segment: attribute %s: unknown type %q", name, attrs[name])
		case !validAttrName(name):
			return nil, fmt.Errorf("segment: attribute %q: not a lower-case identifier", name)
		case keywords[name]:
			return nil, fmt.Errorf("segment: attribute %q: a keyword of the language", name)
		case c.fields[name] != nil:
			return nil, fmt.Errorf("segment: attribute %q: the name of a contact field", name)
		}
		c.fields[name] = attrField(name, t)
	}
	return c, nil
}

// Fields returns the fields segments can test, sorted by name.
func (c *Compiler) Fields() []Field {
	out := make([]Field, 0, len(c.fields))
	for _, f := range c.fields {
		out = append(out, f.Field)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
