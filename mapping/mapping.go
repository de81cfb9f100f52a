// Package mapping turns Shopify customers into shopsync contacts: the
// contact fields, and the typed custom attributes a merchant chose. It is
// pure: no I/O, no clock, no globals.
//
// A key missing from a payload is unknown, not empty (SHOPIFY.md §6): the
// mapped contact then leaves the field out of Contact.Fields, or the
// attribute out of Contact.Attributes, and the store keeps what it had.
// An explicit null maps to a null value.
package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// Config chooses the custom attributes to map.
type Config struct {
	// Attributes names the attributes to keep, from Catalog. Empty means
	// DefaultAttributes.
	Attributes []string `mapstructure:"attributes"`

	// ProjectionConfig is how contacts look to a CRM: prefix,
	// default_country and fields, beside attributes in the mapping
	// section.
	ProjectionConfig `mapstructure:",squash"`
}

// Validate checks that every attribute named is in the catalog, and the
// projection against the attributes kept.
func (c Config) Validate() error {
	if err := c.validateAttributes(); err != nil {
		return err
	}
	m, _ := New(Config{Attributes: c.Attributes})
	return c.ProjectionConfig.Validate(m.Attributes())
}

func (c Config) validateAttributes() error {
	var errs []error
	seen := map[string]bool{}
	for _, name := range c.Attributes {
		if _, ok := specByName(name); !ok {
			errs = append(errs, fmt.Errorf("mapping.attributes: unknown attribute %q; known: %s", name, strings.Join(names(catalog), ", ")))
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("mapping.attributes: %q listed twice", name))
		}
		seen[name] = true
	}
	return errors.Join(errs...)
}

// Mapper maps customers to contacts with one attribute selection.
type Mapper struct {
	specs []Spec // sorted by name, so attributes come out sorted
}

// New returns a Mapper for cfg.
func New(cfg Config) (*Mapper, error) {
	if err := cfg.validateAttributes(); err != nil {
		return nil, err
	}
	want := cfg.Attributes
	if len(want) == 0 {
		want = DefaultAttributes()
	}
	m := &Mapper{}
	for _, name := range want {
		s, _ := specByName(name)
		m.specs = append(m.specs, s)
	}
	slices.SortFunc(m.specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return m, nil
}

// Spec returns the spec of an attribute the mapper keeps.
func (m *Mapper) Spec(name string) (Spec, bool) {
	for _, s := range m.specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Complete reports whether k carries every attribute the mapper keeps in
// part p (and, for the profile, every profile field): whether a payload
// speaks for the whole part.
func (m *Mapper) Complete(k *shopsync.Contact, p shopsync.Part) bool {
	if p == shopsync.PartProfile && !k.Fields.Has(shopsync.AllFields&^shopsync.FieldTags) {
		return false
	}
	if p == shopsync.PartTags && !k.Fields.Has(shopsync.FieldTags) {
		return false
	}
	for _, s := range m.specs {
		if _, ok := k.Attributes.Get(s.Name); s.Part == p && !ok {
			return false
		}
	}
	return true
}

// Attributes returns the names of the attributes the mapper keeps, sorted.
func (m *Mapper) Attributes() []string { return names(m.specs) }

// ErrNoID is returned for a customer without a positive id.
var ErrNoID = errors.New("customer has no id")

// Contact maps one customer. Only fields and attributes whose source keys
// the payload carried are set (see the package comment).
func (m *Mapper) Contact(c *shopify.Customer) (shopsync.Contact, error) {
	if c.ID <= 0 {
		return shopsync.Contact{}, ErrNoID
	}
	k := shopsync.Contact{ShopifyID: c.ID, Tags: []string{}}
	str := func(o shopify.Opt[string], f shopsync.FieldSet, dst **string) {
		if o.Set {
			k.Fields |= f
			*dst = o.Ptr()
		}
	}
	str(c.Email, shopsync.FieldEmail, &k.Email)
	str(c.FirstName, shopsync.FieldFirstName, &k.FirstName)
	str(c.LastName, shopsync.FieldLastName, &k.LastName)
	str(c.Phone, shopsync.FieldPhone, &k.Phone)
	str(c.State, shopsync.FieldState, &k.State)
	if c.Tags.Set {
		k.Fields |= shopsync.FieldTags
		k.Tags = SplitTags(c.Tags.V)
	}
	if c.CreatedAt.Set {
		k.Fields |= shopsync.FieldCreatedAt
		k.ShopifyCreatedAt = utc(c.CreatedAt)
	}
	if c.UpdatedAt.Set {
		k.Fields |= shopsync.FieldUpdatedAt
		k.ShopifyUpdatedAt = utc(c.UpdatedAt)
	}
	k.Attributes = make(shopsync.Attributes, 0, len(m.specs))
	missing := shopsync.PartSet(0) // parts with an attribute the payload lacks
	for _, s := range m.specs {
		if !s.present(c) {
			missing |= shopsync.Set(s.Part)
			continue
		}
		a := s.value(c)
		a.Part = s.Part
		k.Attributes = append(k.Attributes, a)
		k.Parts |= shopsync.Set(s.Part)
	}
	const profileFields = shopsync.AllFields &^ shopsync.FieldTags
	if k.Fields&profileFields != 0 {
		k.Parts |= shopsync.Set(shopsync.PartProfile)
	}
	if !k.Fields.Has(profileFields) {
		missing |= shopsync.Set(shopsync.PartProfile)
	}
	if c.Tags.Set {
		k.Parts |= shopsync.Set(shopsync.PartTags)
	}
	k.Full = k.Parts &^ missing
	// Every part is versioned by the record's updated_at, except consent,
	// which Shopify stamps on its own when it knows when it changed
	// (SHOPIFY.md §4); clocks of the two kinds are never compared.
	for p := range shopsync.NumParts {
		if !k.Parts.Has(p) {
			continue
		}
		if u, ok := utcTime(c.UpdatedAt); ok {
			k.Clocks[p] = shopsync.Clock{Time: u, Kind: shopsync.ClockUpdatedAt}
		}
	}
	if ec := emailConsent(c); ec != nil && k.Parts.Has(shopsync.PartEmailConsent) {
		if t, ok := utcTime(ec.ConsentUpdatedAt); ok {
			k.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: t, Kind: shopsync.ClockConsentUpdatedAt}
		}
	}
	if sc := smsConsent(c); sc != nil && k.Parts.Has(shopsync.PartSMSConsent) {
		if t, ok := utcTime(sc.ConsentUpdatedAt); ok {
			k.Clocks[shopsync.PartSMSConsent] = shopsync.Clock{Time: t, Kind: shopsync.ClockConsentUpdatedAt}
		}
	}
	return k, nil
}

// Parts returns the parts a contact needs to be complete with this
// mapper's attributes: the profile and tags always, and every part one of
// its attributes belongs to. A contact stored without one of them (say,
// created by a 2025-01 customers/create, which carries no consent, tags or
// order stats) must be fetched in full.
func (m *Mapper) Parts() shopsync.PartSet {
	ps := shopsync.Set(shopsync.PartProfile, shopsync.PartTags)
	for _, s := range m.specs {
		ps |= shopsync.Set(s.Part)
	}
	return ps
}

// SplitTags splits Shopify's comma-separated tags ("Léon, Noël") into a
// list, trimming spaces and dropping empty entries; order is kept.
func SplitTags(s string) []string {
	tags := []string{}
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}
