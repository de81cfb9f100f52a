package store

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/shopsync/shopsync"
)

// stamps is a stored contact's versions: one stamp per part, the stamps
// of fields that changed apart from their part, the events of tags added
// or removed one by one, and the deletion's (zero when not deleted).
//
// A payload that carries a part whole moves the part's stamp. One that
// carries only some fields of a part (a webhook trimmed by include_fields,
// the currency in a 2025-01 customers/update) versions just those fields:
// their stamps are kept here, by field, until a newer whole part makes
// them history. So a field is as new as its own stamp, or else its part's.
type stamps struct {
	part    [shopsync.NumParts]shopsync.Stamp
	fields  map[string]fieldStamp // by field key (see topFields) or attribute name; nil when none
	tags    tagEvents             // tag events newer than the tags part; nil when none
	deleted shopsync.Stamp
}

// fieldStamp is the version of one field changed apart from its part.
type fieldStamp struct {
	part  shopsync.Part
	stamp shopsync.Stamp
}

// setField versions one field apart from its part.
func (s *stamps) setField(p shopsync.Part, key string, st shopsync.Stamp) {
	if s.fields == nil {
		s.fields = map[string]fieldStamp{}
	}
	s.fields[key] = fieldStamp{part: p, stamp: st}
}

// setPart moves part p's stamp to st and forgets the fields of p that st
// supersedes: their data is no newer than the part's now.
func (s *stamps) setPart(p shopsync.Part, st shopsync.Stamp) {
	s.part[p] = st
	for key, f := range s.fields {
		if f.part == p && st.Supersedes(f.stamp) {
			delete(s.fields, key)
		}
	}
}

// clone returns a copy that shares no map with s.
func (s stamps) clone() stamps {
	s.fields = maps.Clone(s.fields)
	s.tags = maps.Clone(s.tags)
	return s
}

// known returns the parts with a version of their own: parts some payload
// carried whole.
func (s *stamps) known() shopsync.PartSet {
	var ps shopsync.PartSet
	for p, st := range s.part {
		if !st.IsZero() {
			ps |= shopsync.Set(shopsync.Part(p))
		}
	}
	return ps
}

// all calls fn with every stamp of the contact's data (not the deletion).
func (s *stamps) all(fn func(shopsync.Stamp)) {
	for _, st := range s.part {
		if !st.IsZero() {
			fn(st)
		}
	}
	for _, f := range s.fields {
		fn(f.stamp)
	}
	for _, e := range s.tags {
		fn(e.stamp)
	}
}

// micros is a time in Unix microseconds, 0 for the zero time: the
// resolution of every stored stamp.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// stampOf returns a stamp as it will read back from the store: times in
// UTC to the microsecond.
func stampOf(clock shopsync.Clock, seen time.Time, read bool) shopsync.Stamp {
	st := shopsync.Stamp{Seen: fromMicros(micros(seen)), Read: read}
	if !clock.IsZero() {
		st.Clock = shopsync.Clock{Time: fromMicros(micros(clock.Time)), Kind: clock.Kind}
	}
	return st
}

// stampsVersion is the first byte of the stamps column's blob (migration
// 0007; the blobs of 0002 had no version).
const stampsVersion = 1

// encode writes the stamps (see migration 0007): the version byte; each
// part's stamp in Part order, then the deletion's; the number of field
// stamps, and each as its key's length and bytes, its part, and its stamp;
// then, when there are tag events (migration 0010), their number, and each
// as its tag's length and bytes, 1 if added or 0 if removed, and its
// stamp. Keys and tags come in byte order,
// so one content has one blob. A stamp is a byte of flags (bit 0: read;
// bits 1–2: the clock's kind), the clock in Unix microseconds as a varint
// when it has a kind, and Seen likewise.
func (s *stamps) encode() []byte {
	b := make([]byte, 0, 1+(int(shopsync.NumParts)+1)*19+2+len(s.fields)*40+len(s.tags)*40)
	b = append(b, stampsVersion)
	for _, st := range s.part {
		b = appendStamp(b, st)
	}
	b = appendStamp(b, s.deleted)
	b = binary.AppendUvarint(b, uint64(len(s.fields)))
	var arr [32]string
	for _, k := range sortedKeys(arr[:0], s.fields) {
		f := s.fields[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = append(b, byte(f.part))
		b = appendStamp(b, f.stamp)
	}
	if len(s.tags) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(s.tags)))
	for _, tag := range sortedKeys(arr[:0], s.tags) {
		e := s.tags[tag]
		b = binary.AppendUvarint(b, uint64(len(tag)))
		b = append(b, tag...)
		b = append(b, boolByte(e.added))
		b = appendStamp(b, e.stamp)
	}
	return b
}

func appendStamp(b []byte, st shopsync.Stamp) []byte {
	flags := byte(0)
	if st.Read {
		flags |= 1
	}
	kind := st.Clock.Kind
	if st.Clock.Time.IsZero() {
		kind = shopsync.ClockNone
	}
	flags |= byte(kind) << 1
	b = append(b, flags)
	if kind != shopsync.ClockNone {
		b = binary.AppendVarint(b, micros(st.Clock.Time))
	}
	return binary.AppendVarint(b, micros(st.Seen))
}

var errBadStamps = errors.New("malformed stamps")

// decodeStamps reads stored stamps. A NULL (a contact stored before
// stamps existed) gives every part the stored shopify_updated_at as an
// updated_at clock.
func decodeStamps(b []byte, updatedAt *time.Time) (stamps, error) {
	var s stamps
	if b == nil {
		if updatedAt != nil {
			for p := range s.part {
				s.part[p].Clock = shopsync.Clock{Time: updatedAt.UTC(), Kind: shopsync.ClockUpdatedAt}
			}
		}
		return s, nil
	}
	if len(b) == 0 || b[0] != stampsVersion {
		return s, errBadStamps
	}
	b = b[1:]
	var err error
	for p := range s.part {
		if s.part[p], b, err = readStamp(b); err != nil {
			return s, err
		}
	}
	if s.deleted, b, err = readStamp(b); err != nil {
		return s, err
	}
	// name reads a length and that many bytes, then the byte after them.
	name := func() (string, byte, error) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) || len(b)-k-int(l) < 1 {
			return "", 0, errBadStamps
		}
		v, after := string(b[k:k+int(l)]), b[k+int(l)]
		b = b[k+int(l)+1:]
		return v, after, nil
	}
	count := func() (uint64, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return 0, errBadStamps
		}
		b = b[k:]
		return n, nil
	}
	n, err := count()
	if err != nil {
		return s, err
	}
	for range n {
		key, part, err := name()
		if err != nil {
			return s, err
		}
		if shopsync.Part(part) >= shopsync.NumParts {
			return s, errBadStamps
		}
		var st shopsync.Stamp
		if st, b, err = readStamp(b); err != nil {
			return s, err
		}
		s.setField(shopsync.Part(part), key, st)
	}
	if len(b) == 0 {
		return s, nil // no tag events
	}
	if n, err = count(); err != nil || n == 0 {
		return s, errBadStamps
	}
	for range n {
		tag, added, err := name()
		if err != nil {
			return s, err
		}
		if added > 1 {
			return s, errBadStamps
		}
		var st shopsync.Stamp
		if st, b, err = readStamp(b); err != nil {
			return s, err
		}
		if s.tags == nil {
			s.tags = tagEvents{}
		}
		s.tags[tag] = tagEvent{stamp: st, added: added == 1}
	}
	if len(b) != 0 {
		return s, errBadStamps
	}
	return s, nil
}

// sortedKeys appends m's keys to dst in byte order: one content, one
// blob.
func sortedKeys[V any](dst []string, m map[string]V) []string {
	for k := range m {
		dst = append(dst, k)
	}
	slices.Sort(dst)
	return dst
}

func readStamp(b []byte) (shopsync.Stamp, []byte, error) {
	var st shopsync.Stamp
	if len(b) == 0 || b[0]>>3 != 0 {
		return st, b, errBadStamps
	}
	flags := b[0]
	b = b[1:]
	st.Read = flags&1 != 0
	kind := shopsync.ClockKind(flags >> 1 & 3)
	read := func() (time.Time, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return time.Time{}, errBadStamps
		}
		b = b[n:]
		return fromMicros(v), nil
	}
	if kind != shopsync.ClockNone {
		t, err := read()
		if err != nil {
			return st, b, err
		}
		st.Clock = shopsync.Clock{Time: t, Kind: kind}
	}
	t, err := read()
	if err != nil {
		return st, b, err
	}
	st.Seen = t
	return st, b, nil
}

// tagEvent is a tag added or removed by customer.tags_added or
// customer.tags_removed, newer than the tags part's stamp. Tag deltas
// commute across tags, so each tag keeps its own version: adding "b" is
// not stale just because removing "a" happened later.
type tagEvent struct {
	stamp shopsync.Stamp // an event's: an occurredAt clock, if any, and its trigger time
	added bool
}

type tagEvents map[string]tagEvent

// apply replays the events onto tags, in Seen order, keeping tags' order.
func (te tagEvents) apply(tags []string) []string {
	names := make([]string, 0, len(te))
	for tag := range te {
		names = append(names, tag)
	}
	sort.Slice(names, func(i, j int) bool {
		if c := te[names[i]].stamp.Seen.Compare(te[names[j]].stamp.Seen); c != 0 {
			return c < 0
		}
		return names[i] < names[j]
	})
	for _, tag := range names {
		tags = setTag(tags, tag, te[tag].added)
	}
	return tags
}

// setTag adds tag to tags (at the end) or removes it.
func setTag(tags []string, tag string, present bool) []string {
	for i, t := range tags {
		if t == tag {
			if present {
				return tags
			}
			return append(tags[:i:i], tags[i+1:]...)
		}
	}
	if present {
		return append(tags, tag)
	}
	return tags
}
