package store

import (
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// record is a stored contact with its versions: what a merge reads and
// writes.
type record struct {
	c      shopsync.Contact // every field; Attributes sorted by name
	stamps stamps
	tags   tagEvents
	hash   int64
	attrs  attrState // the attributes as stored, shared by clones: never changed
}

// deleted reports whether the contact is marked deleted.
func (r *record) deleted() bool { return r.c.DeletedAt != nil }

// stampOf returns the stamp incoming data gives part p: its clock for p,
// then the tie-break.
func stampOf(c *shopsync.Contact, p shopsync.Part, tie time.Time) shopsync.Stamp {
	return shopsync.Stamp{Clock: c.Clocks[p], Tie: tie.UTC()}
}

// newRecord builds the record of a contact not stored before from
// incoming data: the parts it carries, nulls elsewhere.
//
// A full customer (every part and field, attributes sorted by name, as an
// import maps them) is taken as it is, sharing its slices: a merge into
// nothing would copy it attribute by attribute to the same record
// (TestNewRecordOfFullCustomer), and this is most of an import.
func newRecord(in *shopsync.Contact, tie time.Time) record {
	if in.Parts == shopsync.AllParts && in.Fields.Has(shopsync.AllFields) && sortedUnique(in.Attributes) {
		r := record{c: shopsync.Contact{ShopifyID: in.ShopifyID,
			Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, State: in.State,
			Tags: in.Tags, ShopifyCreatedAt: in.ShopifyCreatedAt, ShopifyUpdatedAt: in.ShopifyUpdatedAt,
			Attributes: in.Attributes}}
		for p := range shopsync.NumParts {
			r.stamps.part[p] = stampOf(in, p, tie)
		}
		return r
	}
	return mergedRecord(in, tie)
}

// mergedRecord is newRecord by a merge into an empty record.
func mergedRecord(in *shopsync.Contact, tie time.Time) record {
	r := record{c: shopsync.Contact{ShopifyID: in.ShopifyID, Tags: []string{},
		Attributes: make(shopsync.Attributes, 0, len(in.Attributes))}}
	mergeParts(&r, in, tie)
	return r
}

// sortedUnique reports whether attributes are sorted by name, each once.
func sortedUnique(as shopsync.Attributes) bool {
	for i := 1; i < len(as); i++ {
		if as[i].Name <= as[i-1].Name {
			return false
		}
	}
	return true
}

// mergeParts merges incoming data into r part by part: a part the data
// carries replaces the stored one unless the stored one is newer (an older
// event never overwrites newer data). Within a part, only the fields and
// attributes the data carried change: a key absent from a payload is
// unknown and keeps its stored value. It returns the parts taken and the
// parts found stale.
func mergeParts(r *record, in *shopsync.Contact, tie time.Time) (taken, stale shopsync.PartSet) {
	for p := range shopsync.NumParts {
		if !in.Parts.Has(p) {
			continue
		}
		st := stampOf(in, p, tie)
		if st.Compare(r.stamps.part[p]) < 0 {
			stale |= shopsync.Set(p)
			continue
		}
		taken |= shopsync.Set(p)
		r.stamps.part[p] = st
	}
	if taken.Has(shopsync.PartProfile) {
		f := in.Fields
		take := func(field shopsync.FieldSet, dst **string, src *string) {
			if f.Has(field) {
				*dst = src
			}
		}
		take(shopsync.FieldEmail, &r.c.Email, in.Email)
		take(shopsync.FieldFirstName, &r.c.FirstName, in.FirstName)
		take(shopsync.FieldLastName, &r.c.LastName, in.LastName)
		take(shopsync.FieldPhone, &r.c.Phone, in.Phone)
		take(shopsync.FieldState, &r.c.State, in.State)
		if f.Has(shopsync.FieldCreatedAt) {
			r.c.ShopifyCreatedAt = in.ShopifyCreatedAt
		}
		if f.Has(shopsync.FieldUpdatedAt) {
			r.c.ShopifyUpdatedAt = in.ShopifyUpdatedAt
		}
	}
	if taken.Has(shopsync.PartTags) && in.Fields.Has(shopsync.FieldTags) {
		// Tag events newer than the whole list still count; older ones
		// are history.
		tags := slices.Clone(in.Tags)
		for tag, e := range r.tags {
			if e.stamp.Compare(r.stamps.part[shopsync.PartTags]) <= 0 {
				delete(r.tags, tag)
			}
		}
		r.c.Tags = r.tags.apply(tags)
	}
	for _, a := range in.Attributes {
		if taken.Has(a.Part) {
			r.c.Attributes = setAttr(r.c.Attributes, a)
		}
	}
	return taken, stale
}

// setAttr replaces or inserts a by name, keeping as sorted.
func setAttr(as shopsync.Attributes, a shopsync.Attribute) shopsync.Attributes {
	i, found := slices.BinarySearchFunc(as, a.Name, func(x shopsync.Attribute, name string) int {
		return strings.Compare(x.Name, name)
	})
	if found {
		as[i] = a
		return as
	}
	return slices.Insert(as, i, a)
}

// mergeTags applies customer.tags_added (add) or customer.tags_removed
// to r, tag by tag: a tag changes unless the whole list or that tag's own
// last event is newer than st. It reports whether any tag was considered
// (false: every one was stale).
func mergeTags(r *record, tags []string, add bool, st shopsync.Stamp) bool {
	applied := false
	for _, tag := range tags {
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		if st.Compare(r.stamps.part[shopsync.PartTags]) < 0 {
			continue
		}
		if e, ok := r.tags[tag]; ok && st.Compare(e.stamp) < 0 {
			continue
		}
		if r.tags == nil {
			r.tags = tagEvents{}
		}
		r.tags[tag] = tagEvent{stamp: st, added: add}
		r.c.Tags = setTag(r.c.Tags, tag, add)
		applied = true
	}
	return applied
}
