package shopify

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestOptPresence(t *testing.T) {
	var c Customer
	if err := json.Unmarshal([]byte(`{"id":706405506930370084,"email":null,"note":"hi","total_spent":"100.10"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != 706405506930370084 {
		t.Errorf("got id %d", c.ID)
	}
	if !c.Email.Set || !c.Email.Null {
		t.Errorf("email: got %+v, want set and null", c.Email)
	}
	if c.Phone.Set {
		t.Errorf("phone: got %+v, want absent", c.Phone)
	}
	if !c.Note.Valid() || c.Note.V != "hi" {
		t.Errorf("note: got %+v", c.Note)
	}
	if c.TotalSpent.V != "100.10" {
		t.Errorf("total_spent: got %q, want 100.10", c.TotalSpent.V)
	}
}

// FuzzDecodeValue checks that decodeValue's fast paths decode every valid
// JSON value exactly as json.Unmarshal does, and fail where it fails.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{`"plain"`, `"山田 花子"`, `"a\"b"`, `"\u00e9"`, `"bad \xff utf8"`, `"tab	in"`,
		`7060`, `-9223372036854775808`, `9223372036854775808`, `1.5`, `1e3`, `-0`, `true`, `false`,
		`"2024-04-02T10:23:53-04:00"`, `"100.10"`, `"-0.5"`, `12.30`, `"1e3"`, `null`, `[]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		// What an UnmarshalJSON method is given: one value, no
		// surrounding whitespace.
		b = bytes.TrimSpace(b)
		check := func(name string, fast, slow any, ferr, serr error) {
			if (ferr == nil) != (serr == nil) {
				t.Fatalf("%s %q: decodeValue error %v, json.Unmarshal error %v", name, b, ferr, serr)
			}
			if ferr == nil && !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%s %q: decodeValue %#v, json.Unmarshal %#v", name, b, fast, slow)
			}
		}
		var s1, s2 string
		check("string", &s1, &s2, decodeValue(b, &s1), json.Unmarshal(b, &s2))
		var i1, i2 int64
		check("int64", &i1, &i2, decodeValue(b, &i1), json.Unmarshal(b, &i2))
		var b1, b2 bool
		check("bool", &b1, &b2, decodeValue(b, &b1), json.Unmarshal(b, &b2))
		var d1, d2 Decimal
		check("decimal", &d1, &d2, decodeValue(b, &d1), json.Unmarshal(b, &d2))
		var t1, t2 time.Time
		check("time", &t1, &t2, decodeValue(b, &t1), json.Unmarshal(b, &t2))
	})
}
