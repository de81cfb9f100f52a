package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/decimal"
)

// A source is where a projected field's value comes from: a contact
// field, an attribute the mapping keeps, or a value computed from them.
type source struct {
	name  string
	typ   FieldType // the type of its values
	needs []string  // attributes it reads, which the mapping must keep
	// get reads the value into v; scale is the decimal places a
	// computed decimal is rounded to, or -1 for its own.
	get func(c *shopsync.Contact, now time.Time, scale int, v *Value) error
}

// Computed sources.
const (
	SourceAverageOrderValue = "average_order_value" // total_spent / orders_count
	SourceDaysSinceCreated  = "days_since_created"  // whole days since created_at
	SourceFullName          = "full_name"           // first_name and last_name
	SourceHasTagPrefix      = "has_tag:"            // has_tag:VIP
)

// contactSources are the contact's own fields. created_at and updated_at
// are the customer's, in Shopify, also known by their JSON names.
func contactSources() []source {
	text := func(name string, f func(*shopsync.Contact) *string) source {
		return source{name: name, typ: TypeString, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			if s := f(c); s != nil {
				*v = stringValue(*s)
			} else {
				*v = nullValue(TypeString)
			}
			return nil
		}}
	}
	when := func(name string, f func(*shopsync.Contact) *time.Time) source {
		return source{name: name, typ: TypeDatetime, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			if t := f(c); t != nil {
				*v = datetimeValue(*t)
			} else {
				*v = nullValue(TypeDatetime)
			}
			return nil
		}}
	}
	created := func(c *shopsync.Contact) *time.Time { return c.ShopifyCreatedAt }
	updated := func(c *shopsync.Contact) *time.Time { return c.ShopifyUpdatedAt }
	return []source{
		{name: "shopify_id", typ: TypeInt, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			*v = intValue(c.ShopifyID)
			return nil
		}},
		text("email", func(c *shopsync.Contact) *string { return c.Email }),
		text("first_name", func(c *shopsync.Contact) *string { return c.FirstName }),
		text("last_name", func(c *shopsync.Contact) *string { return c.LastName }),
		text("phone", func(c *shopsync.Contact) *string { return c.Phone }),
		text("state", func(c *shopsync.Contact) *string { return c.State }),
		{name: "tags", typ: TypeList, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			*v = listValue(c.Tags)
			return nil
		}},
		when("created_at", created),
		when("shopify_created_at", created),
		when("updated_at", updated),
		when("shopify_updated_at", updated),
	}
}

// attrFieldTypes maps attribute types to projected types.
var attrFieldTypes = map[shopsync.AttrType]FieldType{
	shopsync.TypeString:    TypeString,
	shopsync.TypeInteger:   TypeInt,
	shopsync.TypeDecimal:   TypeDecimal,
	shopsync.TypeBoolean:   TypeBool,
	shopsync.TypeTimestamp: TypeDatetime,
}

// attrSource reads the attribute of spec s. hint is where the attribute
// sits in a contact's sorted attributes when the contact holds exactly
// the kept ones, as stored contacts do: a look there saves the search.
func attrSource(s Spec, hint int) source {
	typ := attrFieldTypes[s.Type]
	k := kindOf(typ)
	name := s.Name
	return source{name: name, typ: typ, needs: []string{name},
		get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			var a *shopsync.Attribute
			if as := c.Attributes; hint >= 0 && hint < len(as) && as[hint].Name == name {
				a = &as[hint]
			} else if found, ok := as.Get(name); ok {
				a = &found
			}
			if a == nil || a.Value == nil {
				*v = Value{kind: k}
				return nil
			}
			switch x := a.Value.(type) {
			case string:
				if k == kString || k == kDecimal && decimal.Valid(x) {
					*v = Value{kind: k, valid: true, str: x}
					return nil
				}
			case int64:
				if k == kInt {
					*v = intValue(x)
					return nil
				}
			case bool:
				if k == kBool {
					*v = boolValue(x)
					return nil
				}
			case time.Time:
				if k == kDatetime {
					*v = datetimeValue(x)
					return nil
				}
			}
			return fmt.Errorf("attribute %s holds %T %q, not %s", name, a.Value, fmt.Sprint(a.Value), typeArticle(typ))
		}}
}

// computedSource returns the computed source called name.
func computedSource(name string) (source, bool) {
	switch {
	case name == SourceAverageOrderValue:
		total, count := attrSource(mustSpec("total_spent"), -1), attrSource(mustSpec("orders_count"), -1)
		return source{name: name, typ: TypeDecimal, needs: []string{"total_spent", "orders_count"},
			get: func(c *shopsync.Contact, now time.Time, scale int, v *Value) error {
				var t, n Value
				*v = nullValue(TypeDecimal)
				if err := total.get(c, now, -1, &t); err != nil || t.IsNull() {
					return err
				}
				if err := count.get(c, now, -1, &n); err != nil || n.IsNull() || n.num <= 0 {
					return err
				}
				if scale < 0 {
					scale, _ = decimal.Scale(t.str)
				}
				q, err := decimal.Quo(t.str, n.num, scale)
				if err != nil {
					return fmt.Errorf("average order value: %w", err)
				}
				*v = decimalValue(q)
				return nil
			}}, true
	case name == SourceDaysSinceCreated:
		return source{name: name, typ: TypeInt, get: func(c *shopsync.Contact, now time.Time, _ int, v *Value) error {
			if c.ShopifyCreatedAt == nil {
				*v = nullValue(TypeInt)
			} else {
				*v = intValue(int64(max(now.Sub(*c.ShopifyCreatedAt), 0) / (24 * time.Hour)))
			}
			return nil
		}}, true
	case name == SourceFullName:
		return source{name: name, typ: TypeString, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			var first, last string
			if c.FirstName != nil {
				first = strings.TrimSpace(*c.FirstName)
			}
			if c.LastName != nil {
				last = strings.TrimSpace(*c.LastName)
			}
			switch {
			case first == "" && last == "":
				*v = nullValue(TypeString)
			case first == "" || last == "":
				*v = stringValue(first + last)
			default:
				*v = stringValue(first + " " + last)
			}
			return nil
		}}, true
	case strings.HasPrefix(name, SourceHasTagPrefix) && len(name) > len(SourceHasTagPrefix):
		tag := strings.ToLower(name[len(SourceHasTagPrefix):])
		return source{name: name, typ: TypeBool, get: func(c *shopsync.Contact, _ time.Time, _ int, v *Value) error {
			*v = boolValue(slices.ContainsFunc(c.Tags, func(t string) bool { return sameTag(t, tag) }))
			return nil
		}}, true
	}
	return source{}, false
}

// sameTag reports whether tag t, lower-cased, is lower: what a
// segment's has tag compares (Unicode lower-casing), without allocating
// for ASCII tags.
func sameTag(t, lower string) bool {
	if isASCII(t) && isASCII(lower) {
		return len(t) == len(lower) && strings.EqualFold(t, lower)
	}
	return strings.ToLower(t) == lower
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func mustSpec(name string) Spec {
	s, ok := specByName(name)
	if !ok {
		panic("mapping: no attribute " + name + " in the catalog")
	}
	return s
}

// findSource returns the source called name, for a mapping that keeps
// attrs.
func findSource(name string, attrs []string) (source, bool) {
	for _, s := range contactSources() {
		if s.name == name {
			return s, true
		}
	}
	if s, ok := specByName(name); ok {
		return attrSource(s, slices.Index(slices.Sorted(slices.Values(attrs)), name)), true
	}
	return computedSource(name)
}

// sourceNames lists the sources, for messages and suggestions.
func sourceNames() []string {
	var out []string
	for _, s := range contactSources() {
		out = append(out, s.name)
	}
	out = append(out, names(catalog)...)
	return append(out, SourceAverageOrderValue, SourceDaysSinceCreated, SourceFullName, SourceHasTagPrefix+"TAG")
}
