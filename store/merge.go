package store

import (
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// The merge model (README, "Nothing stale, nothing twice"). Every write
// of customer data — an import page, a sweep, a re-fetch, a webhook —
// goes through mergeParts, part by part and, within a part, field by
// field:
//
//   - A part's data replaces the stored part's when its stamp supersedes
//     the stored one (shopsync.Stamp.Supersedes): data read from the Admin
//     API is the truth as of the response's Date and replaces anything
//     older; an event is ordered by the part's own clock when both sides
//     have one of the same kind, else by its trigger time.
//   - Only the fields and attributes a payload carried change: a key
//     absent from a payload is unknown and keeps the stored value.
//   - A part carried whole moves the part's stamp; a part carried in part
//     versions the fields it carried, each on its own (see stamps).
//   - An event whose payload is a whole customer object older than the
//     stored one (its updated_at) is stale in every part (olderSnapshot).
//   - Deletions are only ever learnt from reads (a full import that no
//     longer lists a customer, or a re-fetch that no longer finds it), and
//     only a later read brings a deleted contact back.

// record is a stored contact with its versions: what a merge reads and
// writes.
type record struct {
	c      shopsync.Contact // every field; Attributes sorted by name
	stamps stamps
	hash   int64
	attrs  attrState // the attributes as stored, shared by clones: never changed
}

// deleted reports whether the contact is marked deleted.
func (r *record) deleted() bool { return r.c.DeletedAt != nil }

// topField is a top-level contact field: its bit in FieldSet, its key in
// field stamps (a leading dot keeps it apart from attribute names), and
// its part.
type topField struct {
	bit  shopsync.FieldSet
	key  string
	part shopsync.Part
}

var topFields = [...]topField{
	{shopsync.FieldEmail, ".email", shopsync.PartProfile},
	{shopsync.FieldFirstName, ".first_name", shopsync.PartProfile},
	{shopsync.FieldLastName, ".last_name", shopsync.PartProfile},
	{shopsync.FieldPhone, ".phone", shopsync.PartProfile},
	{shopsync.FieldState, ".state", shopsync.PartProfile},
	{shopsync.FieldCreatedAt, ".created_at", shopsync.PartProfile},
	{shopsync.FieldUpdatedAt, ".updated_at", shopsync.PartProfile},
	{shopsync.FieldTags, ".tags", shopsync.PartTags},
}

// newRecord builds the record of a contact not stored before: the merge
// of in, seen at seen, into an empty record. For a full customer (every
// part and field whole, attributes sorted by name, as an import maps
// them) that merge gives in itself, each part stamped, so the record is
// taken as it is, sharing in's slices: the cheap exit most of an import
// takes (TestNewRecordIsAMerge holds it to the merge).
func newRecord(in *shopsync.Contact, seen time.Time, read bool) record {
	if in.Full == shopsync.AllParts && in.Fields.Has(shopsync.AllFields) && plainAttributes(in.Attributes) {
		r := record{c: shopsync.Contact{ShopifyID: in.ShopifyID,
			Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, State: in.State,
			Tags: in.Tags, ShopifyCreatedAt: in.ShopifyCreatedAt, ShopifyUpdatedAt: in.ShopifyUpdatedAt,
			Attributes: in.Attributes}}
		for p := range shopsync.NumParts {
			r.stamps.part[p] = stampOf(in.Clocks[p], seen, read)
		}
		return r
	}
	return mergedRecord(in, seen, read)
}

// mergedRecord is the merge of in into an empty record.
func mergedRecord(in *shopsync.Contact, seen time.Time, read bool) record {
	r := record{c: shopsync.Contact{ShopifyID: in.ShopifyID, Tags: []string{},
		Attributes: make(shopsync.Attributes, 0, len(in.Attributes))}}
	mergeParts(&r, in, seen, read)
	return r
}

// plainAttributes reports whether attributes are sorted by name, each
// once, and all carry their value (no KeepIf).
func plainAttributes(as shopsync.Attributes) bool {
	for i := range as {
		if as[i].KeepIf != "" || (i > 0 && as[i].Name <= as[i-1].Name) {
			return false
		}
	}
	return true
}

// merged is what mergeParts did.
type merged struct {
	taken   shopsync.PartSet // parts of which something was taken, or whose stamp moved
	stale   shopsync.PartSet // parts carried of which nothing was newer than what is stored
	refetch bool             // a stored value became unknown: read the contact again
}

// mergeParts merges incoming data seen at seen (read: from the Admin API)
// into r, part by part and field by field; see the merge model above. It
// decides each part carried first, then takes the fields and attributes
// of the newer parts in one pass.
func mergeParts(r *record, in *shopsync.Contact, seen time.Time, read bool) merged {
	var m merged
	if !read && olderSnapshot(r, in) {
		m.stale = in.Parts
		return m
	}
	var (
		st    [shopsync.NumParts]shopsync.Stamp
		newer shopsync.PartSet // parts carried whose data is newer than the stored part's
	)
	for p := range shopsync.NumParts {
		if !in.Parts.Has(p) {
			continue
		}
		st[p] = stampOf(in.Clocks[p], seen, read)
		if st[p].Supersedes(r.stamps.part[p]) {
			newer |= shopsync.Set(p)
		} else {
			m.stale |= shopsync.Set(p)
		}
	}
	if newer == 0 {
		return m
	}
	// may reports whether a field of p, versioned apart from its part, is
	// older than the incoming data.
	may := func(p shopsync.Part, key string) bool {
		f, ok := r.stamps.fields[key]
		return !ok || st[p].Supersedes(f.stamp)
	}
	var (
		took  shopsync.PartSet // parts of which something was taken
		apart []fieldKey       // what was taken of parts not carried whole
	)
	taken := func(p shopsync.Part, key string) {
		took |= shopsync.Set(p)
		if !in.Full.Has(p) {
			apart = append(apart, fieldKey{p, key})
		}
	}
	for _, f := range topFields {
		if !newer.Has(f.part) || !in.Fields.Has(f.bit) || !may(f.part, f.key) {
			continue
		}
		r.takeField(in, f.bit, st[f.part])
		taken(f.part, f.key)
	}
	// Attributes whose value the payload did not carry are decided
	// against the stored values, before any is replaced.
	var keep map[string]bool
	for i := range in.Attributes {
		if a := &in.Attributes[i]; a.KeepIf != "" && newer.Has(a.Part) {
			if keep == nil {
				keep = map[string]bool{}
			}
			keep[a.Name] = sameAttr(r.c.Attributes, in.Attributes, a.KeepIf)
		}
	}
	for _, a := range in.Attributes {
		if !newer.Has(a.Part) || !may(a.Part, a.Name) {
			continue
		}
		if a.KeepIf != "" {
			if keep[a.Name] {
				continue
			}
			a = shopsync.Attribute{Name: a.Name, Type: a.Type, Part: a.Part}
			m.refetch = true
		}
		r.c.Attributes = setAttr(r.c.Attributes, a)
		taken(a.Part, a.Name)
	}
	for p := range shopsync.NumParts {
		switch {
		case !newer.Has(p):
		case in.Full.Has(p):
			r.stamps.setPart(p, st[p])
			m.taken |= shopsync.Set(p)
		case took.Has(p):
			m.taken |= shopsync.Set(p)
		default:
			m.stale |= shopsync.Set(p)
		}
	}
	for _, k := range apart {
		r.stamps.setField(k.part, k.key, st[k.part])
	}
	return m
}

// fieldKey is a field of a part: a top-level field's key or an
// attribute's name.
type fieldKey struct {
	part shopsync.Part
	key  string
}

// olderSnapshot reports whether an event's payload is a customer object
// older than the profile stored: a payload with updated_at is the
// customer as of then, every part it carries included, so one older than
// the stored updated_at is older in every part, whatever clock each part
// would otherwise be compared by. (Without this, an old whole customer
// sent again could revert a consent that a consent topic brought.)
func olderSnapshot(r *record, in *shopsync.Contact) bool {
	return in.Fields.Has(shopsync.FieldUpdatedAt) && in.ShopifyUpdatedAt != nil &&
		r.c.ShopifyUpdatedAt != nil && in.ShopifyUpdatedAt.Before(*r.c.ShopifyUpdatedAt)
}

// takeField copies one top-level field from in; the tags list as of st,
// with the tag events newer than it applied on top.
func (r *record) takeField(in *shopsync.Contact, bit shopsync.FieldSet, st shopsync.Stamp) {
	switch bit {
	case shopsync.FieldEmail:
		r.c.Email = in.Email
	case shopsync.FieldFirstName:
		r.c.FirstName = in.FirstName
	case shopsync.FieldLastName:
		r.c.LastName = in.LastName
	case shopsync.FieldPhone:
		r.c.Phone = in.Phone
	case shopsync.FieldState:
		r.c.State = in.State
	case shopsync.FieldCreatedAt:
		r.c.ShopifyCreatedAt = in.ShopifyCreatedAt
	case shopsync.FieldUpdatedAt:
		r.c.ShopifyUpdatedAt = in.ShopifyUpdatedAt
	case shopsync.FieldTags:
		// Tag events newer than the whole list still count; older ones
		// are history.
		for tag, e := range r.stamps.tags {
			if st.Supersedes(e.stamp) {
				delete(r.stamps.tags, tag)
			}
		}
		r.c.Tags = r.stamps.tags.apply(slices.Clone(in.Tags))
	}
}

// sameAttr reports whether the attribute called name is stored with the
// value the incoming attributes give it. An attribute missing on either
// side is not the same.
func sameAttr(stored, incoming shopsync.Attributes, name string) bool {
	a, ok := stored.Get(name)
	if !ok {
		return false
	}
	for _, b := range incoming {
		if b.Name == name && b.KeepIf == "" {
			at, aok := a.Text()
			bt, bok := b.Text()
			return a.Type == b.Type && aok == bok && at == bt
		}
	}
	return false
}

// setAttr replaces or inserts a by name, keeping as sorted.
func setAttr(as shopsync.Attributes, a shopsync.Attribute) shopsync.Attributes {
	a.KeepIf = ""
	if n := len(as); n == 0 || as[n-1].Name < a.Name {
		return append(as, a) // a new record takes attributes in order
	}
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
		if !st.Supersedes(r.stamps.part[shopsync.PartTags]) {
			continue
		}
		if e, ok := r.stamps.tags[tag]; ok && !st.Supersedes(e.stamp) {
			continue
		}
		if r.stamps.tags == nil {
			r.stamps.tags = tagEvents{}
		}
		r.stamps.tags[tag] = tagEvent{stamp: st, added: add}
		r.c.Tags = setTag(r.c.Tags, tag, add)
		applied = true
	}
	return applied
}
