package mapping_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// checkValueType reports an error unless a's Value is nil or holds the Go
// type of a.Type, with times in UTC.
func checkValueType(a shopsync.Attribute) error {
	if !a.Type.Valid() {
		return fmt.Errorf("%s: invalid type %q", a.Name, a.Type)
	}
	if a.Value == nil {
		return nil
	}
	ok := false
	switch v := a.Value.(type) {
	case string:
		ok = a.Type == shopsync.TypeString || a.Type == shopsync.TypeDecimal
		if a.Type == shopsync.TypeDecimal {
			if _, err := shopify.ParseDecimal(v); err != nil {
				return fmt.Errorf("%s: got %q, want a decimal", a.Name, v)
			}
		}
	case int64:
		ok = a.Type == shopsync.TypeInteger
	case bool:
		ok = a.Type == shopsync.TypeBoolean
	case time.Time:
		ok = a.Type == shopsync.TypeTimestamp
		if ok && v.Location() != time.UTC {
			return fmt.Errorf("%s: got time in %v, want UTC", a.Name, v.Location())
		}
	}
	if !ok {
		return fmt.Errorf("%s: got value %#v (%T), want the Go type of %q", a.Name, a.Value, a.Value, a.Type)
	}
	return nil
}

func FuzzContact(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``,
		`null`,
		`{}`,
		`[]`,
		`{"id":1}`,
		`{"id":-1}`,
		`{"id":0,"email":"a@example.com"}`,
		`{"id":9007199254740993,"last_order_id":9007199254740993,"total_spent":"123456789012345.10"}`,
		`{"id":1,"tags":" a ,, b "}`,
		`{"id":1,"tags":"\u00a0,\u3000x\u2028"}`,
		`{"id":1,"total_spent":1e5}`,
		`{"id":1,"total_spent":"-0.5"}`,
		`{"id":1,"created_at":"2024-04-02T09:23:53-05:00","updated_at":null}`,
		`{"id":1,"email":null,"email":"x"}`,
		`{"id":1,"updated_at":"0000-01-01T00:00:00+01:00","created_at":"9999-12-31T23:30:00-01:00"}`,
		`{"id":1,"email_marketing_consent":{"state":"SUBSCRIBED","consent_updated_at":"2004-06-13T11:57:11-04:00"}}`,
		`{"id":1,"sms_marketing_consent":{"state":null,"consent_collected_from":"OTHER"}}`,
		`{"id":1,"default_address":{"city":"\ud83c\udf38","country_code":null}}`,
		"{\"id\":1,\"note\":\"\xff\xfe\"}",
		`{"id":1,"orders_count":9223372036854775807}`,
		`{"id":1,"orders_count":9223372036854775808}`,
		`{"id":"1"}`,
		`{"id":1,"tags":`,
		"\x00\x01{",
	} {
		f.Add([]byte(s))
	}
	all := mapping.Config{}
	for _, s := range mapping.Catalog() {
		all.Attributes = append(all.Attributes, s.Name)
	}
	mappers := []*mapping.Mapper{newMapper(f, mapping.Config{}), newMapper(f, all)}

	f.Fuzz(func(t *testing.T, data []byte) {
		var c shopify.Customer
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		for _, m := range mappers {
			k, err := m.Contact(&c)
			if err != nil {
				if c.ID > 0 {
					t.Fatalf("Contact: got error %v for id %d", err, c.ID)
				}
				continue
			}
			checkContact(t, k)
		}
	})
}

func checkContact(t *testing.T, k shopsync.Contact) {
	t.Helper()
	if k.ShopifyID <= 0 {
		t.Errorf("ShopifyID: got %d, want > 0", k.ShopifyID)
	}
	if k.Tags == nil {
		t.Error("Tags: got nil, want non-nil")
	}
	for _, tag := range k.Tags {
		if tag == "" || tag != strings.TrimSpace(tag) || strings.Contains(tag, ",") {
			t.Errorf("Tags: got entry %q in %q", tag, k.Tags)
		}
	}
	for _, tm := range []*time.Time{k.ShopifyCreatedAt, k.ShopifyUpdatedAt} {
		if tm != nil && tm.Location() != time.UTC {
			t.Errorf("got time %v, want UTC", tm)
		}
	}
	for i, a := range k.Attributes {
		if i > 0 && k.Attributes[i-1].Name >= a.Name {
			t.Errorf("attributes not sorted and unique: %q before %q", k.Attributes[i-1].Name, a.Name)
		}
		if err := checkValueType(a); err != nil {
			t.Error(err)
		}
		if g, ok := k.Attributes.Get(a.Name); !ok || g.Name != a.Name {
			t.Errorf("Get(%q): got %+v, %v", a.Name, g, ok)
		}
	}

	b, err := json.Marshal(k)
	if err != nil {
		t.Fatalf("json.Marshal(contact): %v", err)
	}
	var raw struct {
		ShopifyID  json.Number     `json:"shopify_id"`
		Attributes json.RawMessage `json:"attributes"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if want := strconv.FormatInt(k.ShopifyID, 10); raw.ShopifyID.String() != want {
		t.Errorf("shopify_id: got %s, want %s", raw.ShopifyID, want)
	}
	var attrs map[string]any
	d = json.NewDecoder(bytes.NewReader(raw.Attributes))
	d.UseNumber()
	if err := d.Decode(&attrs); err != nil {
		t.Fatalf("decode attributes %s: %v", raw.Attributes, err)
	}
	if len(attrs) != len(k.Attributes) {
		t.Errorf("attributes JSON: got %d keys, want %d: %s", len(attrs), len(k.Attributes), raw.Attributes)
	}
	for _, a := range k.Attributes {
		got, ok := attrs[a.Name]
		if !ok {
			t.Errorf("attributes JSON: %q missing from %s", a.Name, raw.Attributes)
			continue
		}
		var want any
		switch v := a.Value.(type) {
		case nil:
			want = nil
		case int64:
			want = json.Number(strconv.FormatInt(v, 10))
		case bool:
			want = v
		default:
			want, _ = a.Text()
		}
		if got != want {
			t.Errorf("attributes JSON %q: got %#v, want %#v", a.Name, got, want)
		}
		if tm, ok := a.Value.(time.Time); ok {
			back, err := time.Parse(time.RFC3339Nano, got.(string))
			if err != nil || !back.Equal(tm) {
				t.Errorf("attributes JSON %q: got %v (%v), want %v", a.Name, back, err, tm)
			}
		}
	}
}
