package shopsync_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopsync/shopsync"
)

func ptr[T any](v T) *T { return &v }

// est is a fixed UTC-5 zone, so tests do not depend on the tz database.
var est = time.FixedZone("EST", -5*60*60)

func TestAttributesMarshalJSON(t *testing.T) {
	tests := []struct {
		name  string
		attrs shopsync.Attributes
		want  string
	}{
		{name: "nil", attrs: nil, want: `{}`},
		{name: "empty", attrs: shopsync.Attributes{}, want: `{}`},
		{name: "integer", attrs: shopsync.Attributes{shopsync.IntAttr("orders_count", ptr[int64](1))}, want: `{"orders_count":1}`},
		{name: "integer 2^53+1", attrs: shopsync.Attributes{shopsync.IntAttr("last_order_id", ptr[int64](9007199254740993))}, want: `{"last_order_id":9007199254740993}`},
		{name: "integer extremes", attrs: shopsync.Attributes{
			shopsync.IntAttr("max", ptr[int64](math.MaxInt64)),
			shopsync.IntAttr("min", ptr[int64](math.MinInt64)),
			shopsync.IntAttr("zero", ptr[int64](0)),
		}, want: `{"max":9223372036854775807,"min":-9223372036854775808,"zero":0}`},
		{name: "decimal", attrs: shopsync.Attributes{shopsync.DecimalAttr("total_spent", ptr("199.65"))}, want: `{"total_spent":"199.65"}`},
		{name: "decimal trailing zero", attrs: shopsync.Attributes{shopsync.DecimalAttr("total_spent", ptr("100.10"))}, want: `{"total_spent":"100.10"}`},
		{name: "decimal beyond float64", attrs: shopsync.Attributes{shopsync.DecimalAttr("total_spent", ptr("123456789012345.10"))}, want: `{"total_spent":"123456789012345.10"}`},
		{name: "booleans", attrs: shopsync.Attributes{
			shopsync.BoolAttr("accepts_email_marketing", ptr(true)),
			shopsync.BoolAttr("verified_email", ptr(false)),
		}, want: `{"accepts_email_marketing":true,"verified_email":false}`},
		{name: "nulls of every type", attrs: shopsync.Attributes{
			shopsync.BoolAttr("b", nil),
			shopsync.DecimalAttr("d", nil),
			shopsync.IntAttr("i", nil),
			shopsync.StringAttr("s", nil),
			shopsync.TimeAttr("t", nil),
		}, want: `{"b":null,"d":null,"i":null,"s":null,"t":null}`},
		{name: "timestamp from offset", attrs: shopsync.Attributes{
			shopsync.TimeAttr("consent_updated_at", ptr(time.Date(2024, 4, 2, 9, 23, 53, 0, est))),
		}, want: `{"consent_updated_at":"2024-04-02T14:23:53Z"}`},
		{name: "timestamp with fraction", attrs: shopsync.Attributes{
			shopsync.TimeAttr("at", ptr(time.Date(2005, 5, 5, 5, 0, 0, 120000000, time.UTC))),
		}, want: `{"at":"2005-05-05T05:00:00.12Z"}`},
		{name: "timestamp value not yet in UTC", attrs: shopsync.Attributes{
			{Name: "at", Type: shopsync.TypeTimestamp, Value: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("JST", 9*60*60))},
		}, want: `{"at":"2023-12-31T16:00:00Z"}`},
		{name: "string escaping", attrs: shopsync.Attributes{
			shopsync.StringAttr("note", ptr("say \"hi\" <b>&\n太郎 🌸")),
		}, want: `{"note":"say \"hi\" \u003cb\u003e\u0026\n太郎 🌸"}`},
		{name: "empty string", attrs: shopsync.Attributes{shopsync.StringAttr("note", ptr(""))}, want: `{"note":""}`},
		{name: "name escaping", attrs: shopsync.Attributes{shopsync.StringAttr(`a"b`, ptr("x"))}, want: `{"a\"b":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.attrs.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: got error %v, want nil", err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalJSON: got %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("MarshalJSON: got invalid JSON %s", got)
			}
			// Through encoding/json, as a field of a contact.
			b, err := json.Marshal(shopsync.Contact{Attributes: tt.attrs})
			if err != nil {
				t.Fatal(err)
			}
			if want := `"attributes":` + tt.want; !strings.Contains(string(b), want) {
				t.Errorf("json.Marshal(contact): got %s, want it to contain %s", b, want)
			}
		})
	}
}

// TestAttributesMarshalJSONExactIntegers decodes the attributes the way a
// careful client would, with UseNumber, and gets 2^53+1 back exactly.
func TestAttributesMarshalJSONExactIntegers(t *testing.T) {
	attrs := shopsync.Attributes{shopsync.IntAttr("last_order_id", ptr[int64](9007199254740993))}
	b, err := json.Marshal(attrs)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var got map[string]any
	if err := d.Decode(&got); err != nil {
		t.Fatal(err)
	}
	n, ok := got["last_order_id"].(json.Number)
	if !ok {
		t.Fatalf("last_order_id: got %#v, want a json.Number", got["last_order_id"])
	}
	if i, err := n.Int64(); err != nil || i != 9007199254740993 {
		t.Errorf("last_order_id: got %v (%v), want 9007199254740993", i, err)
	}
}

func TestAttributeText(t *testing.T) {
	tests := []struct {
		name   string
		attr   shopsync.Attribute
		want   string
		wantOK bool
	}{
		{name: "null string", attr: shopsync.StringAttr("s", nil), want: "", wantOK: false},
		{name: "null integer", attr: shopsync.IntAttr("i", nil), want: "", wantOK: false},
		{name: "null boolean", attr: shopsync.BoolAttr("b", nil), want: "", wantOK: false},
		{name: "null timestamp", attr: shopsync.TimeAttr("t", nil), want: "", wantOK: false},
		{name: "empty string", attr: shopsync.StringAttr("s", ptr("")), want: "", wantOK: true},
		{name: "string", attr: shopsync.StringAttr("s", ptr("山田 🌸")), want: "山田 🌸", wantOK: true},
		{name: "decimal", attr: shopsync.DecimalAttr("d", ptr("199.65")), want: "199.65", wantOK: true},
		{name: "decimal kept as written", attr: shopsync.DecimalAttr("d", ptr("100.10")), want: "100.10", wantOK: true},
		{name: "integer", attr: shopsync.IntAttr("i", ptr[int64](42)), want: "42", wantOK: true},
		{name: "negative integer", attr: shopsync.IntAttr("i", ptr[int64](-7)), want: "-7", wantOK: true},
		{name: "integer 2^53+1", attr: shopsync.IntAttr("i", ptr[int64](9007199254740993)), want: "9007199254740993", wantOK: true},
		{name: "true", attr: shopsync.BoolAttr("b", ptr(true)), want: "true", wantOK: true},
		{name: "false", attr: shopsync.BoolAttr("b", ptr(false)), want: "false", wantOK: true},
		{name: "timestamp", attr: shopsync.TimeAttr("t", ptr(time.Date(2024, 4, 2, 9, 23, 53, 0, est))), want: "2024-04-02T14:23:53Z", wantOK: true},
		{name: "timestamp with nanoseconds", attr: shopsync.TimeAttr("t", ptr(time.Date(2024, 4, 2, 14, 23, 53, 123456789, time.UTC))), want: "2024-04-02T14:23:53.123456789Z", wantOK: true},
		{name: "timestamp trailing zeros trimmed", attr: shopsync.TimeAttr("t", ptr(time.Date(2024, 4, 2, 14, 23, 53, 500000000, time.UTC))), want: "2024-04-02T14:23:53.5Z", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.attr.Text()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Text(): got %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAttrConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  shopsync.Attribute
		want shopsync.Attribute
	}{
		{name: "string", got: shopsync.StringAttr("s", ptr("x")), want: shopsync.Attribute{Name: "s", Type: shopsync.TypeString, Value: "x"}},
		{name: "string null", got: shopsync.StringAttr("s", nil), want: shopsync.Attribute{Name: "s", Type: shopsync.TypeString}},
		{name: "integer", got: shopsync.IntAttr("i", ptr[int64](3)), want: shopsync.Attribute{Name: "i", Type: shopsync.TypeInteger, Value: int64(3)}},
		{name: "integer null", got: shopsync.IntAttr("i", nil), want: shopsync.Attribute{Name: "i", Type: shopsync.TypeInteger}},
		{name: "decimal", got: shopsync.DecimalAttr("d", ptr("0.10")), want: shopsync.Attribute{Name: "d", Type: shopsync.TypeDecimal, Value: "0.10"}},
		{name: "decimal null", got: shopsync.DecimalAttr("d", nil), want: shopsync.Attribute{Name: "d", Type: shopsync.TypeDecimal}},
		{name: "boolean", got: shopsync.BoolAttr("b", ptr(true)), want: shopsync.Attribute{Name: "b", Type: shopsync.TypeBoolean, Value: true}},
		{name: "boolean null", got: shopsync.BoolAttr("b", nil), want: shopsync.Attribute{Name: "b", Type: shopsync.TypeBoolean}},
		{name: "timestamp", got: shopsync.TimeAttr("t", ptr(time.Date(2024, 4, 2, 9, 23, 53, 0, est))),
			want: shopsync.Attribute{Name: "t", Type: shopsync.TypeTimestamp, Value: time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)}},
		{name: "timestamp null", got: shopsync.TimeAttr("t", nil), want: shopsync.Attribute{Name: "t", Type: shopsync.TypeTimestamp}},
	}
	strictTime := cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A null must be an untyped nil, not a typed nil pointer.
			if tt.want.Value == nil && tt.got.Value != nil {
				t.Errorf("Value: got %#v, want nil", tt.got.Value)
			}
			if diff := cmp.Diff(tt.got, tt.want, strictTime); diff != "" {
				t.Errorf("attribute mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestAttributesGet(t *testing.T) {
	sorted := shopsync.Attributes{
		shopsync.BoolAttr("accepts_email_marketing", ptr(true)),
		shopsync.StringAttr("currency", ptr("USD")),
		shopsync.StringAttr("note", nil),
		shopsync.IntAttr("orders_count", ptr[int64](1)),
		shopsync.BoolAttr("verified_email", ptr(false)),
	}
	tests := []struct {
		name   string
		attrs  shopsync.Attributes
		get    string
		want   shopsync.Attribute
		wantOK bool
	}{
		{name: "first", attrs: sorted, get: "accepts_email_marketing", want: sorted[0], wantOK: true},
		{name: "middle", attrs: sorted, get: "note", want: sorted[2], wantOK: true},
		{name: "last", attrs: sorted, get: "verified_email", want: sorted[4], wantOK: true},
		{name: "before first", attrs: sorted, get: "aaa"},
		{name: "between", attrs: sorted, get: "last_order_id"},
		{name: "after last", attrs: sorted, get: "zzz"},
		{name: "prefix of a name", attrs: sorted, get: "orders"},
		{name: "empty name", attrs: sorted, get: ""},
		{name: "empty", attrs: shopsync.Attributes{}, get: "note"},
		{name: "nil", attrs: nil, get: "note"},
		{name: "one", attrs: sorted[3:4], get: "orders_count", want: sorted[3], wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.attrs.Get(tt.get)
			if ok != tt.wantOK {
				t.Errorf("Get(%q): got ok %v, want %v", tt.get, ok, tt.wantOK)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Get(%q) mismatch (-got +want):\n%s", tt.get, diff)
			}
		})
	}
}

func TestAttributesSort(t *testing.T) {
	as := shopsync.Attributes{
		shopsync.StringAttr("verified_email", nil),
		shopsync.StringAttr("currency", nil),
		shopsync.StringAttr("accepts_sms_marketing", nil),
		shopsync.StringAttr("accepts_email_marketing", nil),
	}
	as.Sort()
	var got []string
	for _, a := range as {
		got = append(got, a.Name)
	}
	want := []string{"accepts_email_marketing", "accepts_sms_marketing", "currency", "verified_email"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Sort mismatch (-got +want):\n%s", diff)
	}
	for _, name := range want {
		if _, ok := as.Get(name); !ok {
			t.Errorf("Get(%q) after Sort: got not found, want found", name)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{name: "UTC", in: time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC), want: "2024-04-02T14:23:53Z"},
		{name: "negative offset", in: time.Date(2024, 4, 2, 9, 23, 53, 0, est), want: "2024-04-02T14:23:53Z"},
		{name: "positive offset across a year", in: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("JST", 9*60*60)), want: "2023-12-31T16:00:00Z"},
		{name: "milliseconds", in: time.Date(2005, 5, 5, 5, 0, 0, 123000000, time.UTC), want: "2005-05-05T05:00:00.123Z"},
		{name: "nanoseconds", in: time.Date(2005, 5, 5, 5, 0, 0, 1, time.UTC), want: "2005-05-05T05:00:00.000000001Z"},
		{name: "local", in: time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC).Local(), want: "2024-04-02T14:23:53Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shopsync.FormatTime(tt.in)
			if got != tt.want {
				t.Errorf("FormatTime(%v): got %q, want %q", tt.in, got, tt.want)
			}
			back, err := time.Parse(shopsync.TimeFormat, got)
			if err != nil || !back.Equal(tt.in) {
				t.Errorf("time.Parse(TimeFormat, %q): got %v, %v, want %v", got, back, err, tt.in)
			}
		})
	}
}

// TestFormatTimeSortsAsText checks the promise of TimeFormat: for whole
// seconds, formatted times order like the times.
func TestFormatTimeSortsAsText(t *testing.T) {
	times := []time.Time{
		time.Date(2004, 6, 13, 15, 57, 11, 0, time.UTC),
		time.Date(2024, 4, 2, 9, 23, 53, 0, est),
		time.Date(2024, 4, 2, 14, 23, 54, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := shopsync.FormatTime(times[i-1]), shopsync.FormatTime(times[i])
		if a >= b {
			t.Errorf("got %q >= %q, want <", a, b)
		}
	}
}

func TestFieldSetHas(t *testing.T) {
	tests := []struct {
		name string
		set  shopsync.FieldSet
		f    shopsync.FieldSet
		want bool
	}{
		{name: "empty has nothing", set: 0, f: shopsync.FieldEmail, want: false},
		{name: "empty has the empty set", set: 0, f: 0, want: true},
		{name: "one", set: shopsync.FieldEmail, f: shopsync.FieldEmail, want: true},
		{name: "other", set: shopsync.FieldEmail, f: shopsync.FieldPhone, want: false},
		{name: "all of two", set: shopsync.FieldEmail | shopsync.FieldPhone, f: shopsync.FieldEmail | shopsync.FieldPhone, want: true},
		{name: "one of two", set: shopsync.FieldEmail, f: shopsync.FieldEmail | shopsync.FieldPhone, want: false},
		{name: "all has tags", set: shopsync.AllFields, f: shopsync.FieldTags, want: true},
		{name: "all has all", set: shopsync.AllFields, f: shopsync.AllFields, want: true},
		{name: "slim webhook lacks tags", set: shopsync.AllFields &^ shopsync.FieldTags, f: shopsync.FieldTags, want: false},
		{name: "slim webhook has updated_at", set: shopsync.AllFields &^ shopsync.FieldTags, f: shopsync.FieldUpdatedAt, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Has(tt.f); got != tt.want {
				t.Errorf("%08b.Has(%08b): got %v, want %v", tt.set, tt.f, got, tt.want)
			}
		})
	}
}

func TestFieldSetDistinct(t *testing.T) {
	fields := []shopsync.FieldSet{
		shopsync.FieldEmail, shopsync.FieldFirstName, shopsync.FieldLastName, shopsync.FieldPhone,
		shopsync.FieldState, shopsync.FieldTags, shopsync.FieldCreatedAt, shopsync.FieldUpdatedAt,
	}
	var all shopsync.FieldSet
	for _, f := range fields {
		if f == 0 || f&(f-1) != 0 {
			t.Errorf("field %08b: got not a single bit", f)
		}
		if all&f != 0 {
			t.Errorf("field %08b: got shared with another field", f)
		}
		all |= f
	}
	if all != shopsync.AllFields {
		t.Errorf("AllFields: got %08b, want %08b", shopsync.AllFields, all)
	}
}

func TestAttrTypeValid(t *testing.T) {
	tests := []struct {
		typ  shopsync.AttrType
		want bool
	}{
		{shopsync.TypeString, true},
		{shopsync.TypeInteger, true},
		{shopsync.TypeDecimal, true},
		{shopsync.TypeBoolean, true},
		{shopsync.TypeTimestamp, true},
		{"", false},
		{"String", false},
		{"int", false},
		{"float", false},
		{"date", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			if got := tt.typ.Valid(); got != tt.want {
				t.Errorf("AttrType(%q).Valid(): got %v, want %v", tt.typ, got, tt.want)
			}
		})
	}
}

func TestContactMarshalJSON(t *testing.T) {
	created := time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)
	c := shopsync.Contact{
		ShopifyID:        706405506930370084,
		Email:            ptr("bob@biller.com"),
		Phone:            nil,
		Tags:             []string{"Léon", "Noël"},
		ShopifyCreatedAt: &created,
		Attributes:       shopsync.Attributes{shopsync.IntAttr("last_order_id", ptr[int64](9007199254740993))},
		Fields:           shopsync.AllFields,
	}
	got, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"shopify_id":706405506930370084,"email":"bob@biller.com","first_name":null,"last_name":null,` +
		`"phone":null,"state":null,"tags":["Léon","Noël"],"shopify_created_at":"2024-04-02T14:23:53Z",` +
		`"shopify_updated_at":null,"attributes":{"last_order_id":9007199254740993}}`
	if string(got) != want {
		t.Errorf("json.Marshal(contact): got %s, want %s", got, want)
	}
}
