package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/shopsync/shopsync"
)

// stamps is a stored contact's versions: one stamp per part, and the
// deletion's (zero when not deleted).
type stamps struct {
	part    [shopsync.NumParts]shopsync.Stamp
	deleted shopsync.Stamp
}

// micros is a time in Unix microseconds, 0 for the zero time.
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

// encode writes the stamps as varint pairs (see migration 0002).
func (s *stamps) encode() []byte {
	// A time in microseconds takes 8 or 9 bytes as a varint: one
	// allocation of the right size, not three growing ones.
	b := make([]byte, 0, 2*(int(shopsync.NumParts)+1)*9)
	put := func(st shopsync.Stamp) {
		b = binary.AppendVarint(b, micros(st.Clock))
		b = binary.AppendVarint(b, micros(st.Tie))
	}
	for _, st := range s.part {
		put(st)
	}
	put(s.deleted)
	return b
}

var errBadStamps = errors.New("malformed stamps")

// decodeStamps reads stored stamps. A NULL (a contact stored before
// stamps existed) gives every part the stored shopify_updated_at.
func decodeStamps(b []byte, updatedAt *time.Time) (stamps, error) {
	var s stamps
	if b == nil {
		if updatedAt != nil {
			for p := range s.part {
				s.part[p].Clock = updatedAt.UTC()
			}
		}
		return s, nil
	}
	read := func() (time.Time, error) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return time.Time{}, errBadStamps
		}
		b = b[n:]
		return fromMicros(v), nil
	}
	for i := range int(shopsync.NumParts) + 1 {
		st := &s.deleted
		if i < int(shopsync.NumParts) {
			st = &s.part[i]
		}
		var err error
		if st.Clock, err = read(); err != nil {
			return s, err
		}
		if st.Tie, err = read(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// known returns the parts with a version.
func (s *stamps) known() shopsync.PartSet {
	var ps shopsync.PartSet
	for p, st := range s.part {
		if !st.IsZero() {
			ps |= shopsync.Set(shopsync.Part(p))
		}
	}
	return ps
}

// tagEvent is a tag added or removed by customer.tags_added or
// customer.tags_removed, newer than the tags part's stamp. Tag deltas
// commute across tags, so each tag keeps its own version: adding "b" is
// not stale just because removing "a" happened later.
type tagEvent struct {
	stamp shopsync.Stamp
	added bool
}

type tagEvents map[string]tagEvent

func (te tagEvents) encode() any {
	if len(te) == 0 {
		return nil
	}
	m := make(map[string][3]int64, len(te))
	for tag, e := range te {
		added := int64(0)
		if e.added {
			added = 1
		}
		m[tag] = [3]int64{micros(e.stamp.Clock), micros(e.stamp.Tie), added}
	}
	b, _ := json.Marshal(m) // cannot fail: strings and integers
	return string(b)
}

func decodeTagEvents(s *string) (tagEvents, error) {
	if s == nil {
		return nil, nil
	}
	var m map[string][3]int64
	if err := json.Unmarshal([]byte(*s), &m); err != nil {
		return nil, err
	}
	te := make(tagEvents, len(m))
	for tag, v := range m {
		te[tag] = tagEvent{stamp: shopsync.Stamp{Clock: fromMicros(v[0]), Tie: fromMicros(v[1])}, added: v[2] != 0}
	}
	return te, nil
}

// apply replays the events onto tags, in stamp order, keeping tags' order.
func (te tagEvents) apply(tags []string) []string {
	names := make([]string, 0, len(te))
	for tag := range te {
		names = append(names, tag)
	}
	sort.Slice(names, func(i, j int) bool {
		if c := te[names[i]].stamp.Compare(te[names[j]].stamp); c != 0 {
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
