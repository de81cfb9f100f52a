package mapping

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopsync/shopsync/internal/decimal"
	"github.com/shopsync/shopsync/internal/phone"
)

// ProjectionConfig is how contacts look to a CRM at shopsync's edges
// (export, API, page, change feed): which fields, under which names and
// types. The store keeps every attribute; changing the projection changes
// every stored contact's record at once. It sits in the mapping section,
// beside Config's attributes; each key is documented in
// config.example.yaml.
type ProjectionConfig struct {
	// Prefix goes before every field's name, except the fields that set
	// no_prefix: sp_ makes orders_count sp_orders_count. Optional.
	Prefix string `mapstructure:"prefix"`

	// DefaultCountry is the ISO country (US, FR, ...) of phone numbers
	// written without a country code, for the e164 transform and the SMS
	// audience. Optional: without it such numbers have no E.164 form.
	DefaultCountry string `mapstructure:"default_country"`

	// Fields are the fields of a record, in order. Empty means the
	// contact as the contact JSON shows it (DefaultFields).
	Fields []FieldConfig `mapstructure:"fields"`
}

// FieldConfig is one projected field.
type FieldConfig struct {
	// Name is the field's name in the CRM, before the prefix. Optional
	// when the source is a plain name: the source's name.
	Name string `mapstructure:"name"`

	// Source is where the value comes from (required): a contact field
	// (shopify_id, email, first_name, last_name, phone, state, tags,
	// created_at, updated_at, or their JSON names shopify_created_at and
	// shopify_updated_at), an attribute the mapping keeps (orders_count),
	// or a computed value: average_order_value, days_since_created,
	// full_name, has_tag:TAG.
	Source string `mapstructure:"source"`

	// Type is the CRM's type: string, int, decimal, bool, date,
	// datetime, list. Optional: the source's own type.
	Type string `mapstructure:"type"`

	// Transform and Transforms change text before conversion, in order:
	// trim, lower, upper (text or lists), e164 (phone numbers). Use one
	// or the other.
	Transform  string   `mapstructure:"transform"`
	Transforms []string `mapstructure:"transforms"`

	// Default is the value when the source is null (or e164 finds no
	// number). Optional. Quote decimals ("0.00") to keep their digits.
	Default any `mapstructure:"default"`

	// Scale rounds a decimal to this many places, half away from zero.
	// Optional: the source's own places (average_order_value: those of
	// total_spent).
	Scale *int `mapstructure:"scale"`

	// Group nests the field in a JSON object of that name, with the
	// other fields of the group, listed together (the contact JSON's
	// attributes). CSV has one column per field whatever its group.
	Group string `mapstructure:"group"`

	// NoPrefix keeps Name as written, without the prefix: an identifier
	// such as email that the CRM matches contacts on.
	NoPrefix bool `mapstructure:"no_prefix"`
}

// fieldTypes are the types a field may have, with the attribute type
// names as synonyms.
var fieldTypes = map[string]FieldType{
	"string": TypeString, "int": TypeInt, "integer": TypeInt, "decimal": TypeDecimal,
	"bool": TypeBool, "boolean": TypeBool, "date": TypeDate, "datetime": TypeDatetime,
	"timestamp": TypeDatetime, "list": TypeList,
}

// canHold reports whether a field of type to can hold a value of type
// from, and how: most conversions are to text; an int is an exact
// decimal; a datetime's UTC day is a date; a bool is 1 or 0.
func canHold(to, from FieldType) bool {
	if to == from || to == TypeString {
		return true
	}
	switch to {
	case TypeDecimal:
		return from == TypeInt
	case TypeDate:
		return from == TypeDatetime
	case TypeInt:
		return from == TypeBool
	}
	return false
}

// typeArticle names a type for a message: "a list".
func typeArticle(t FieldType) string {
	switch t {
	case TypeInt:
		return "an int"
	}
	return "a " + string(t)
}

// Validate checks the projection against attrs, the attributes the
// mapping keeps (Mapper.Attributes). Each problem names its key:
//
//	mapping.fields[3].type: decimal cannot hold source "tags" (a list)
func (c ProjectionConfig) Validate(attrs []string) error {
	_, err := NewProjection(c, attrs)
	return err
}

// fieldPlan is a field config, checked.
type fieldPlan struct {
	name, group string
	typ         FieldType
	kind        kind // typ's
	src         source
	steps       []transform
	def         Value
	hasDef      bool
	scale       int // -1: the value's own
}

// plan checks the config and returns what NewProjection builds.
func (c ProjectionConfig) plan(attrs []string) ([]fieldPlan, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mapping.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if err := checkName(c.Prefix, true); err != nil {
		bad("prefix", "%v", err)
	}
	if c.DefaultCountry != "" {
		if _, ok := phone.Lookup(c.DefaultCountry); !ok {
			bad("default_country", "%q is not a country shopsync knows; known: %s", c.DefaultCountry, strings.Join(phone.Countries(), ", "))
		}
	}
	kept := map[string]bool{}
	for _, a := range attrs {
		kept[a] = true
	}
	var plans []fieldPlan
	seen := map[string]int{}       // folded final name: index
	groupsDone := map[string]int{} // group: the index of its first field, once closed
	lastGroup := ""
	for i, f := range c.Fields {
		key := fmt.Sprintf("fields[%d]", i)
		p := fieldPlan{scale: -1}
		src, ok := findSource(f.Source, attrs)
		switch {
		case f.Source == "":
			bad(key+".source", "required")
		case !ok && strings.HasPrefix(f.Source, SourceHasTagPrefix):
			bad(key+".source", "has_tag needs a tag: has_tag:VIP")
		case !ok:
			msg := fmt.Sprintf("unknown source %q", f.Source)
			if s := nearest(f.Source, sourceNames()); s != "" {
				msg += fmt.Sprintf(": did you mean %s?", s)
			}
			bad(key+".source", "%s", msg)
		default:
			for _, need := range src.needs {
				if !kept[need] {
					bad(key+".source", "%q needs attribute %s, which mapping.attributes does not keep", f.Source, need)
				}
			}
		}
		p.src = src
		// The name.
		name := f.Name
		if name == "" && ok && !strings.Contains(f.Source, ":") {
			name = f.Source
		}
		switch err := checkName(name, false); {
		case name == "" && ok:
			bad(key+".name", "required for source %q", f.Source)
		case err != nil:
			bad(key+".name", "%v", err)
		}
		if !f.NoPrefix {
			name = c.Prefix + name
		}
		p.name = name
		if j, dup := seen[strings.ToLower(name)]; dup && name != "" {
			bad(key+".name", "%q: duplicate name, as mapping.fields[%d] (names ignore case)", name, j)
		} else {
			seen[strings.ToLower(name)] = i
		}
		// The group: its fields are listed together.
		if err := checkName(f.Group, true); err != nil {
			bad(key+".group", "%v", err)
		}
		if f.Group != lastGroup {
			if lastGroup != "" {
				groupsDone[lastGroup] = i
			}
			if _, done := groupsDone[f.Group]; done && f.Group != "" {
				bad(key+".group", "the fields of group %q must be listed together", f.Group)
			}
			lastGroup = f.Group
		}
		p.group = f.Group
		// The transforms, on the source's type.
		names := f.Transforms
		if f.Transform != "" {
			if len(f.Transforms) > 0 {
				bad(key+".transform", "set transform or transforms, not both")
			}
			names = []string{f.Transform}
		}
		for j, t := range names {
			tkey := key + ".transforms"
			if f.Transform != "" {
				tkey = key + ".transform"
			} else {
				tkey += fmt.Sprintf("[%d]", j)
			}
			tr, ok := transforms(c.DefaultCountry)[t]
			switch {
			case !ok:
				bad(tkey, "unknown transform %q: use trim, lower, upper or e164", t)
			case src.typ != "" && !tr.applies(src.typ):
				bad(tkey, "%s does not apply to source %q (%s)", t, f.Source, typeArticle(src.typ))
			}
			p.steps = append(p.steps, tr)
		}
		// The type.
		p.typ = src.typ
		if f.Type != "" {
			t, ok := fieldTypes[f.Type]
			if !ok {
				bad(key+".type", "unknown type %q: use string, int, decimal, bool, date, datetime or list", f.Type)
			} else {
				p.typ = t
				if src.typ != "" && !canHold(t, src.typ) {
					bad(key+".type", "%s cannot hold source %q (%s)", t, f.Source, typeArticle(src.typ))
				}
			}
		}
		// The scale.
		if f.Scale != nil {
			switch {
			case p.typ != TypeDecimal:
				bad(key+".scale", "applies to decimals; the field is %s", typeArticle(p.typ))
			case *f.Scale < 0 || *f.Scale > decimal.MaxScale:
				bad(key+".scale", "%d: want 0 to %d", *f.Scale, decimal.MaxScale)
			default:
				p.scale = *f.Scale
			}
		}
		// The default, in the field's type.
		if f.Default != nil && p.typ != "" {
			v, err := parseDefault(f.Default, p.typ)
			if err != nil {
				bad(key+".default", "%v", err)
			}
			if p.scale >= 0 && !v.IsNull() {
				if v.str, err = decimal.Round(v.str, p.scale); err != nil {
					bad(key+".default", "%v", err)
				}
			}
			p.def, p.hasDef = v, true
		}
		p.kind = kindOf(p.typ)
		plans = append(plans, p)
	}
	// A group's object and a top-level field cannot share a JSON key.
	for i, f := range c.Fields {
		if j, clash := seen[strings.ToLower(f.Group)]; f.Group != "" && clash && plans[j].group == "" {
			bad(fmt.Sprintf("fields[%d].group", i), "%q is also the name of mapping.fields[%d]", f.Group, j)
			break
		}
	}
	return plans, errors.Join(errs...)
}

// checkName checks a name, prefix or group: printable, without spaces
// around it, at most 128 bytes. optional allows "".
func checkName(s string, optional bool) error {
	switch {
	case s == "" && optional:
		return nil
	case s == "":
		return nil // reported by the caller, which knows why it is needed
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case len(s) > 128:
		return fmt.Errorf("%q: longer than 128 bytes", s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%q: spaces around it", s)
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }):
		return fmt.Errorf("%q: holds a control character", s)
	}
	return nil
}

// parseDefault reads a configured default as a value of type t. YAML
// gives strings, ints, floats and booleans.
func parseDefault(d any, t FieldType) (Value, error) {
	text, isText := d.(string)
	switch t {
	case TypeString:
		switch v := d.(type) {
		case string:
			return stringValue(v), nil
		case int, int64, float64, bool:
			return stringValue(fmt.Sprint(v)), nil
		}
	case TypeInt:
		switch v := d.(type) {
		case int:
			return intValue(int64(v)), nil
		case int64:
			return intValue(v), nil
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
				return intValue(int64(v)), nil
			}
		case string:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return intValue(n), nil
			}
		}
	case TypeDecimal:
		switch v := d.(type) {
		case int:
			return decimalValue(strconv.Itoa(v)), nil
		case int64:
			return decimalValue(strconv.FormatInt(v, 10)), nil
		case float64:
			return decimalValue(strconv.FormatFloat(v, 'f', -1, 64)), nil
		case string:
			if decimal.Valid(v) {
				return decimalValue(v), nil
			}
		}
	case TypeBool:
		switch v := d.(type) {
		case bool:
			return boolValue(v), nil
		case string:
			if b, err := strconv.ParseBool(v); err == nil {
				return boolValue(b), nil
			}
		}
	case TypeDate:
		if tm, err := time.Parse(time.DateOnly, text); isText && err == nil {
			return dateValue(tm), nil
		}
	case TypeDatetime:
		if tm, err := time.Parse(time.RFC3339Nano, text); isText && err == nil {
			return datetimeValue(tm), nil
		}
	case TypeList:
		return Value{}, errors.New("a list has no default: it is empty, never null")
	}
	return Value{}, fmt.Errorf("%#v is not %s", d, typeArticle(t))
}

// nearest returns the name within two edits of s, if any.
func nearest(s string, names []string) string {
	best, dist := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < dist {
			best, dist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
