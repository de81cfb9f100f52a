package mapping

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopsync/shopsync"
)

// FieldType is the type of a projected field, as a CRM sees it.
type FieldType string

// The projected field types. A decimal is exact text ("199.65"); a date
// is a UTC calendar day; a datetime an instant, written in UTC; a list a
// list of text (the tags).
const (
	TypeString   FieldType = "string"
	TypeInt      FieldType = "int"
	TypeDecimal  FieldType = "decimal"
	TypeBool     FieldType = "bool"
	TypeDate     FieldType = "date"
	TypeDatetime FieldType = "datetime"
	TypeList     FieldType = "list"
)

// kind is a FieldType in a byte, so that a Value stays small.
type kind uint8

const (
	kString kind = iota
	kInt
	kDecimal
	kBool
	kDate
	kDatetime
	kList
)

var kindTypes = [...]FieldType{TypeString, TypeInt, TypeDecimal, TypeBool, TypeDate, TypeDatetime, TypeList}

func kindOf(t FieldType) kind {
	for k, kt := range kindTypes {
		if kt == t {
			return kind(k)
		}
	}
	return kString
}

// Value is one typed value of a record; null when IsNull.
type Value struct {
	kind  kind
	valid bool
	flag  bool     // bool
	nsec  int32    // date, datetime: nanoseconds of num
	num   int64    // int; date, datetime: Unix seconds (UTC)
	str   string   // string, decimal
	list  []string // list
}

// The constructors of values.
func stringValue(s string) Value  { return Value{kind: kString, valid: true, str: s} }
func intValue(n int64) Value      { return Value{kind: kInt, valid: true, num: n} }
func decimalValue(s string) Value { return Value{kind: kDecimal, valid: true, str: s} }
func boolValue(b bool) Value      { return Value{kind: kBool, valid: true, flag: b} }
func listValue(l []string) Value  { return Value{kind: kList, valid: l != nil, list: l} }
func nullValue(t FieldType) Value { return Value{kind: kindOf(t)} }

func datetimeValue(t time.Time) Value {
	return Value{kind: kDatetime, valid: true, num: t.Unix(), nsec: int32(t.Nanosecond())}
}

func dateValue(t time.Time) Value {
	y, m, d := t.UTC().Date()
	return Value{kind: kDate, valid: true, num: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()}
}

// time returns a date's or datetime's time, in UTC.
func (v Value) time() time.Time { return time.Unix(v.num, int64(v.nsec)).UTC() }

// Type returns the value's type.
func (v Value) Type() FieldType { return kindTypes[v.kind] }

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return !v.valid }

// Any returns the value as Go sees it: nil for null, string (string,
// decimal, and date as 2006-01-02), int64, bool, time.Time (datetime, UTC)
// or []string.
func (v Value) Any() any {
	if !v.valid {
		return nil
	}
	switch v.kind {
	case kString, kDecimal:
		return v.str
	case kInt:
		return v.num
	case kBool:
		return v.flag
	case kDate:
		return v.time().Format(time.DateOnly)
	case kDatetime:
		return v.time()
	case kList:
		return v.list
	}
	return nil
}

// Text returns the value as one CSV cell: "" for null, integers in base
// 10, decimals as their exact text, booleans true or false, dates
// 2006-01-02, datetimes RFC 3339 in UTC, lists joined with ", " as
// Shopify writes tags. It does not guard against spreadsheet formulas:
// the CSV writer does (csvCell in cmd/shopsync).
func (v Value) Text() string {
	if !v.valid {
		return ""
	}
	switch v.kind {
	case kInt:
		return strconv.FormatInt(v.num, 10)
	case kBool:
		return strconv.FormatBool(v.flag)
	case kDate:
		return v.time().Format(time.DateOnly)
	case kDatetime:
		return shopsync.FormatTime(v.time())
	case kList:
		return strings.Join(v.list, ", ")
	}
	return v.str
}

// AppendJSON appends the value as JSON: null, a number for int, true or
// false, an array of strings for a list, and a string for the rest
// (decimals too: exact text, never a float), escaped as encoding/json
// escapes.
func (v Value) AppendJSON(b []byte) []byte {
	if !v.valid {
		return append(b, "null"...)
	}
	switch v.kind {
	case kInt:
		return strconv.AppendInt(b, v.num, 10)
	case kBool:
		return strconv.AppendBool(b, v.flag)
	case kDate:
		b = append(b, '"')
		b = v.time().AppendFormat(b, time.DateOnly)
		return append(b, '"')
	case kDatetime:
		b = append(b, '"')
		b = v.time().AppendFormat(b, shopsync.TimeFormat)
		return append(b, '"')
	case kList:
		b = append(b, '[')
		for i, s := range v.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	}
	return appendJSONString(b, v.str)
}

// appendJSONString appends s as encoding/json writes it: plain printable
// ASCII as is, anything needing an escape through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			e, _ := json.Marshal(s) // a string always encodes
			return append(b, e...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// RecordField is one field of a record: its name, the JSON object it
// sits in ("" for the top level), and its value.
type RecordField struct {
	Name  string
	Group string
	Value Value
}

// Record is one contact as a projection shows it: its fields in the
// projection's order.
type Record []RecordField

// Get returns the value of the field called name.
func (r Record) Get(name string) (Value, bool) {
	for _, f := range r {
		if f.Name == name {
			return f.Value, true
		}
	}
	return Value{}, false
}

// AppendJSON appends the record as a JSON object, in field order. The
// fields of a group (listed together) nest in an object under the
// group's name, where its first field is.
func (r Record) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	group := ""
	for i, f := range r {
		if f.Group != group {
			if group != "" {
				b = append(b, '}')
			}
			if i > 0 {
				b = append(b, ',')
			}
			if f.Group != "" {
				b = appendJSONString(b, f.Group)
				b = append(b, ':', '{')
			}
		} else if i > 0 {
			b = append(b, ',')
		}
		group = f.Group
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = f.Value.AppendJSON(b)
	}
	if group != "" {
		b = append(b, '}')
	}
	return append(b, '}')
}

// MarshalJSON encodes the record as AppendJSON does.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// Cells appends the record's CSV cells, one per field in the order of
// the projection's Header, to dst.
func (r Record) Cells(dst []string) []string {
	for _, f := range r {
		dst = append(dst, f.Value.Text())
	}
	return dst
}
