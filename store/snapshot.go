package store

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/shopsync/shopsync"
)

// A snapshot is a contact as of an event, kept in the event's row once
// the contact has changed since (see outbox.go): what the row held then,
// in a compact binary form that reads back as exactly the contact a read
// of the row gave.
//
// The layout, after a version byte: email, first name, last name, phone
// and state, each an optional string; the tags, a count and strings; the
// Shopify created and updated times and the deletion time, each an
// optional time; the attributes, a count and for each its name, its type
// (a byte), and its value (a kind byte, then the value). An optional
// string or time starts with 0 (null) or 1; a string is a uvarint length
// and its bytes; a time is a varint of Unix seconds and a uvarint of
// nanoseconds.

const snapshotVersion = 1

var errBadSnapshot = errors.New("malformed event snapshot")

// attrTypeCodes number the attribute types in snapshots.
var attrTypeCodes = [...]shopsync.AttrType{1: shopsync.TypeString, 2: shopsync.TypeInteger,
	3: shopsync.TypeDecimal, 4: shopsync.TypeBoolean, 5: shopsync.TypeTimestamp}

func attrTypeCode(t shopsync.AttrType) byte {
	for i, at := range attrTypeCodes {
		if i > 0 && at == t {
			return byte(i)
		}
	}
	return 0
}

// The kinds of an attribute value in a snapshot.
const (
	snapNull byte = iota
	snapString
	snapInt
	snapBool
	snapTime
)

// appendSnapshot appends the snapshot of c to b.
func appendSnapshot(b []byte, c *shopsync.Contact) []byte {
	b = append(b, snapshotVersion)
	for _, s := range []*string{c.Email, c.FirstName, c.LastName, c.Phone, c.State} {
		b = appendSnapOptString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Tags)))
	for _, t := range c.Tags {
		b = appendSnapString(b, t)
	}
	for _, t := range []*time.Time{c.ShopifyCreatedAt, c.ShopifyUpdatedAt, c.DeletedAt} {
		if t == nil {
			b = append(b, 0)
			continue
		}
		b = appendSnapTime(append(b, 1), *t)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Attributes)))
	for i := range c.Attributes {
		a := &c.Attributes[i]
		b = appendSnapString(b, a.Name)
		b = append(b, attrTypeCode(a.Type))
		switch v := a.Value.(type) {
		case nil:
			b = append(b, snapNull)
		case int64:
			b = binary.AppendVarint(append(b, snapInt), v)
		case bool:
			b = append(b, snapBool, boolByte(v))
		case time.Time:
			b = appendSnapTime(append(b, snapTime), v)
		default:
			s, _ := a.Text()
			b = appendSnapString(append(b, snapString), s)
		}
	}
	return b
}

func appendSnapString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendSnapOptString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, 0)
	}
	return appendSnapString(append(b, 1), *s)
}

func appendSnapTime(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

// snapReader reads a snapshot, remembering the first error.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errBadSnapshot
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadSnapshot
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadSnapshot
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errBadSnapshot
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *snapReader) optString() *string {
	switch r.byte() {
	case 0:
		return nil
	case 1:
		s := r.string()
		return &s
	}
	r.err = errBadSnapshot
	return nil
}

func (r *snapReader) time() time.Time {
	sec := r.varint()
	ns := r.uvarint()
	if ns >= 1e9 {
		r.err = errBadSnapshot
	}
	return time.Unix(sec, int64(ns)).UTC()
}

func (r *snapReader) optTime() *time.Time {
	switch r.byte() {
	case 0:
		return nil
	case 1:
		t := r.time()
		return &t
	}
	r.err = errBadSnapshot
	return nil
}

// decodeSnapshot reads the snapshot b of contact id.
func decodeSnapshot(id int64, b []byte) (*shopsync.Contact, error) {
	r := &snapReader{b: b}
	if r.byte() != snapshotVersion {
		return nil, errBadSnapshot
	}
	c := &shopsync.Contact{ShopifyID: id, Fields: shopsync.AllFields}
	c.Email, c.FirstName, c.LastName, c.Phone, c.State = r.optString(), r.optString(), r.optString(), r.optString(), r.optString()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return nil, errBadSnapshot
	}
	c.Tags = make([]string, 0, n)
	for range n {
		c.Tags = append(c.Tags, r.string())
	}
	c.ShopifyCreatedAt, c.ShopifyUpdatedAt, c.DeletedAt = r.optTime(), r.optTime(), r.optTime()
	if n = r.uvarint(); n > uint64(len(r.b)) {
		return nil, errBadSnapshot
	}
	c.Attributes = make(shopsync.Attributes, 0, n)
	for range n {
		a := shopsync.Attribute{Name: r.string()}
		if code := r.byte(); int(code) < len(attrTypeCodes) && code > 0 {
			a.Type = attrTypeCodes[code]
		} else {
			r.err = errBadSnapshot
		}
		switch r.byte() {
		case snapNull:
		case snapString:
			a.Value = r.string()
		case snapInt:
			a.Value = r.varint()
		case snapBool:
			a.Value = r.byte() == 1
		case snapTime:
			a.Value = r.time()
		default:
			r.err = errBadSnapshot
		}
		c.Attributes = append(c.Attributes, a)
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadSnapshot
	}
	return c, nil
}
