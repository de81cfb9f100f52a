package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/decimal"
)

// Projection shows contacts as a CRM sees them: a Record of named, typed
// fields per contact, computed from the canonical contact at the time it
// is shown. It is safe for concurrent use.
type Projection struct {
	fields []fieldPlan
}

// ProjectedField describes one field of a projection.
type ProjectedField struct {
	Name   string    `json:"name"`
	Group  string    `json:"group,omitempty"`
	Type   FieldType `json:"type"`
	Source string    `json:"source"`
}

// DefaultFields returns the fields of the contact JSON (README, "The
// contact model"): shopify_id, email, first_name, last_name, phone,
// state, tags, shopify_created_at, shopify_updated_at, then each kept
// attribute, sorted, in the group attributes. It is the projection when
// mapping.fields is empty, so records look as contacts always have.
func DefaultFields(attrs []string) []FieldConfig {
	var fs []FieldConfig
	for _, name := range []string{"shopify_id", "email", "first_name", "last_name", "phone", "state", "tags",
		"shopify_created_at", "shopify_updated_at"} {
		fs = append(fs, FieldConfig{Source: name})
	}
	for _, name := range slices.Sorted(slices.Values(attrs)) {
		fs = append(fs, FieldConfig{Source: name, Group: "attributes"})
	}
	return fs
}

// NewProjection checks cfg against attrs, the attributes the mapping
// keeps (Mapper.Attributes), and returns its projection. Without fields
// it is DefaultFields(attrs). The error joins every problem, each naming
// its key (see ProjectionConfig.Validate).
func NewProjection(cfg ProjectionConfig, attrs []string) (*Projection, error) {
	if len(cfg.Fields) == 0 {
		cfg.Fields = DefaultFields(attrs)
	}
	plans, err := cfg.plan(attrs)
	if err != nil {
		return nil, err
	}
	return &Projection{fields: plans}, nil
}

// Fields describes the projection's fields, in order.
func (p *Projection) Fields() []ProjectedField {
	out := make([]ProjectedField, len(p.fields))
	for i, f := range p.fields {
		out[i] = ProjectedField{Name: f.name, Group: f.group, Type: f.typ, Source: f.src.name}
	}
	return out
}

// Header returns the CSV header: the fields' names, in order.
func (p *Projection) Header() []string {
	out := make([]string, len(p.fields))
	for i, f := range p.fields {
		out[i] = f.name
	}
	return out
}

// Project returns the record of contact c at time now (for computed
// values such as days_since_created). It fails only for a contact whose
// stored attribute does not hold its catalog type, naming the field.
func (p *Projection) Project(c *shopsync.Contact, now time.Time) (Record, error) {
	return p.Append(make(Record, 0, len(p.fields)), c, now)
}

// Append is Project appending to dst, so that an export can reuse one
// record's space for every contact.
func (p *Projection) Append(dst Record, c *shopsync.Contact, now time.Time) (Record, error) {
	dst = slices.Grow(dst, len(p.fields))
	for i := range p.fields {
		f := &p.fields[i]
		dst = append(dst, RecordField{Name: f.name, Group: f.group})
		if err := f.value(c, now, &dst[len(dst)-1].Value); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("contact %d: field %s: %w", c.ShopifyID, f.name, err)
		}
	}
	return dst, nil
}

// value computes one field into v: the source, the transforms, the
// conversion to the field's type, the scale, the default.
func (f *fieldPlan) value(c *shopsync.Contact, now time.Time, v *Value) error {
	if err := f.src.get(c, now, f.scale, v); err != nil {
		return err
	}
	for _, t := range f.steps {
		t.apply(v)
	}
	if v.kind != f.kind {
		convert(v, f.kind)
	}
	if f.scale >= 0 && v.valid && v.kind == kDecimal {
		s, err := decimal.Round(v.str, f.scale)
		if err != nil {
			return err
		}
		v.str = s
	}
	if !v.valid && f.hasDef {
		*v = f.def
	}
	return nil
}

// convert converts v to kind k, one of the conversions canHold allows.
func convert(v *Value, k kind) {
	if !v.valid {
		*v = Value{kind: k}
		return
	}
	switch k {
	case kString:
		*v = stringValue(v.Text())
	case kDecimal:
		*v = decimalValue(strconv.FormatInt(v.num, 10))
	case kDate:
		*v = dateValue(v.time())
	case kInt:
		n := int64(0)
		if v.flag {
			n = 1
		}
		*v = intValue(n)
	default:
		*v = Value{kind: k}
	}
}
