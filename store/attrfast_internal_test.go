package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeAttrValues: the one-pass reading of attributes gives what
// decodeAttributes gives, or leaves the text to it.
func FuzzDecodeAttrValues(f *testing.F) {
	const types = `{"a":"boolean","b":"decimal","c":"integer","d":"string","e":"timestamp"}`
	for _, s := range []string{
		`{}`, `{"a":true,"b":"12.50","c":-3,"d":"Léon","e":"2024-01-31T00:00:00.000000000Z"}`,
		`{"a":null,"b":null,"c":null,"d":null,"e":null}`, `{"a":false,"c":0}`, `{"c":-0}`, `{"c":01}`,
		`{"c":1.5}`, `{"c":1e3}`, `{"c":9223372036854775808}`, `{"a":1}`, `{"d":"a\"b"}`, `{"d":"a\u00e9"}`,
		`{"d":"\xff"}`, `{"d":"a` + "\t" + `b"}`, `{ "a":true}`, `{"c":1,"a":true}`, `{"a":true,"a":false}`,
		`{"x":1}`, `{"e":"2024-13-01T00:00:00Z"}`, `{"a":true,}`, `{"a":true`, `{"a":tru}`, `[]`, ``, `{"d":"x"}}`,
	} {
		f.Add(s, types)
	}
	f.Add(`{"b":"1"}`, `{"b":"decimal"}`)
	f.Add(`{"z":"1"}`, `{"z":"float"}`)
	f.Fuzz(func(t *testing.T, attrs, types string) {
		db := &DB{}
		slow, _, slowErr := db.decodeAttributes(attrs, "{}", types, "", "")
		set, err := db.typeNames.parse(types)
		if err != nil {
			return
		}
		fast, ok := decodePlainAttrs(attrs, set)
		if !ok {
			return
		}
		if slowErr != nil {
			t.Fatalf("%s: one pass reads %v, decodeAttributes fails: %v", attrs, fast, slowErr)
		}
		if diff := cmp.Diff(fast, slow); diff != "" {
			t.Fatalf("%s (-one pass +decodeAttributes):\n%s", attrs, diff)
		}
		got, err := db.decodeAttrValues(attrs, []byte(types))
		if err != nil || cmp.Diff(got, slow) != "" {
			t.Fatalf("decodeAttrValues(%s) = %v, %v", attrs, got, err)
		}
	})
}

// FuzzDecodeTags: the one-pass reading of tags gives what encoding/json
// gives, or leaves the text to it.
func FuzzDecodeTags(f *testing.F) {
	for _, s := range []string{`[]`, `["a"]`, `["a","Léon","",""]`, `["a\"b"]`, `[ "a"]`, `["a",]`, `["\xff"]`,
		`["a"` + "\t" + `]`, `null`, `["a"]]`, `[1]`, `["a","b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tags string) {
		fast, ok := decodeTags(tags)
		if !ok {
			return
		}
		var slow []string
		if err := json.Unmarshal([]byte(tags), &slow); err != nil {
			t.Fatalf("%s: one pass reads %q, encoding/json fails: %v", tags, fast, err)
		}
		if diff := cmp.Diff(fast, slow); diff != "" {
			t.Fatalf("%s (-one pass +encoding/json):\n%s", tags, diff)
		}
	})
}

// TestTypeSetQuotedNames: a decoded type set keeps each name as the
// attributes JSON writes it, which the one-pass reading compares with.
func TestTypeSetQuotedNames(t *testing.T) {
	var c typeNameCache
	set, err := c.parse(`{"accepts_email_marketing":"boolean","note":"string","x\u00e9":"integer"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`"accepts_email_marketing"`, `"note"`, `"x\u00e9"`}
	if diff := cmp.Diff(set.quoted, want); diff != "" {
		t.Errorf("quoted names (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(set.names, []string{"accepts_email_marketing", "note", "xé"}); diff != "" {
		t.Errorf("names (-got +want):\n%s", diff)
	}
}
