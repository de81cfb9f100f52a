package mapping_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

// cmpOpts compares times strictly: cmp would otherwise use time.Time.Equal,
// which ignores the location, and mapped times must be in UTC.
// cmpOpts leaves out parts and clocks, which TestContactParts checks.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
	cmpopts.IgnoreFields(shopsync.Contact{}, "Parts", "Full", "Clocks"),
	cmpopts.IgnoreFields(shopsync.Attribute{}, "Part"),
}

func ptr[T any](v T) *T { return &v }

func utcp(year int, month time.Month, day, hour, minute, sec int) *time.Time {
	t := time.Date(year, month, day, hour, minute, sec, 0, time.UTC)
	return &t
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decode(tb testing.TB, data []byte) *shopify.Customer {
	tb.Helper()
	var c shopify.Customer
	if err := json.Unmarshal(data, &c); err != nil {
		tb.Fatalf("decode %s: %v", data, err)
	}
	return &c
}

func newMapper(tb testing.TB, cfg mapping.Config) *mapping.Mapper {
	tb.Helper()
	m, err := mapping.New(cfg)
	if err != nil {
		tb.Fatalf("mapping.New(%+v): %v", cfg, err)
	}
	return m
}

// mapJSON decodes one customer payload and maps it with cfg.
func mapJSON(tb testing.TB, cfg mapping.Config, data string) shopsync.Contact {
	tb.Helper()
	k, err := newMapper(tb, cfg).Contact(decode(tb, []byte(data)))
	if err != nil {
		tb.Fatalf("Contact(%s): %v", data, err)
	}
	return k
}

func TestContactFixtures(t *testing.T) {
	tests := []struct {
		name string
		file string
		want shopsync.Contact
	}{
		{
			name: "REST 2024-04 customer",
			file: "customer_2024_04_rest.json",
			want: shopsync.Contact{
				ShopifyID:        207119551,
				Email:            ptr("bob.norman@mail.example.com"),
				FirstName:        ptr("Bob"),
				LastName:         ptr("Norman"),
				Phone:            ptr("+16136120707"),
				State:            ptr("disabled"),
				Tags:             []string{"Léon", "Noël"},
				ShopifyCreatedAt: utcp(2024, 4, 2, 14, 23, 53),
				ShopifyUpdatedAt: utcp(2024, 4, 2, 14, 23, 53),
				Fields:           shopsync.AllFields,
				Attributes: shopsync.Attributes{
					shopsync.BoolAttr("accepts_email_marketing", ptr(false)),
					shopsync.BoolAttr("accepts_sms_marketing", ptr(false)),
					shopsync.StringAttr("currency", ptr("USD")),
					shopsync.StringAttr("default_address_city", ptr("Louisville")),
					shopsync.StringAttr("default_address_country_code", ptr("US")),
					shopsync.StringAttr("email_marketing_consent", ptr("not_subscribed")),
					shopsync.TimeAttr("email_marketing_consent_updated_at", utcp(2004, 6, 13, 15, 57, 11)),
					shopsync.StringAttr("email_marketing_opt_in_level", nil),
					shopsync.IntAttr("last_order_id", ptr[int64](450789469)),
					shopsync.StringAttr("last_order_name", ptr("#1001")),
					shopsync.StringAttr("note", nil),
					shopsync.IntAttr("orders_count", ptr[int64](1)),
					shopsync.StringAttr("sms_marketing_consent", ptr("not_subscribed")),
					shopsync.TimeAttr("sms_marketing_consent_updated_at", utcp(2024, 4, 2, 14, 23, 53)),
					shopsync.StringAttr("sms_marketing_opt_in_level", ptr("single_opt_in")),
					shopsync.DecimalAttr("total_spent", ptr("199.65")),
					shopsync.BoolAttr("verified_email", ptr(true)),
				},
			},
		},
		{
			name: "customers/create 2024-04 webhook",
			file: "customers_create_2024_04.json",
			want: shopsync.Contact{
				ShopifyID:        706405506930370084,
				Email:            ptr("bob@biller.com"),
				FirstName:        ptr("Bob"),
				LastName:         ptr("Biller"),
				Phone:            nil, // "phone": null
				State:            ptr("disabled"),
				Tags:             []string{}, // "tags": ""
				ShopifyCreatedAt: utcp(2022, 1, 1, 0, 0, 0),
				ShopifyUpdatedAt: utcp(2022, 1, 1, 0, 0, 0),
				Fields:           shopsync.AllFields,
				Attributes: shopsync.Attributes{
					// "email_marketing_consent": null and "sms_marketing_consent": null
					shopsync.BoolAttr("accepts_email_marketing", ptr(false)),
					shopsync.BoolAttr("accepts_sms_marketing", ptr(false)),
					shopsync.StringAttr("currency", ptr("USD")),
					shopsync.StringAttr("default_address_city", ptr("Ottawa")),
					shopsync.StringAttr("default_address_country_code", ptr("CA")),
					shopsync.StringAttr("email_marketing_consent", nil),
					shopsync.TimeAttr("email_marketing_consent_updated_at", nil),
					shopsync.StringAttr("email_marketing_opt_in_level", nil),
					shopsync.IntAttr("last_order_id", ptr[int64](820982911946154508)),
					shopsync.StringAttr("last_order_name", ptr("#9999")),
					shopsync.StringAttr("note", ptr("This customer loves ice cream")),
					shopsync.IntAttr("orders_count", ptr[int64](1)),
					shopsync.StringAttr("sms_marketing_consent", nil),
					shopsync.TimeAttr("sms_marketing_consent_updated_at", nil),
					shopsync.StringAttr("sms_marketing_opt_in_level", nil),
					shopsync.DecimalAttr("total_spent", ptr("100.00")),
					shopsync.BoolAttr("verified_email", ptr(true)),
				},
			},
		},
		{
			// Since 2025-01 customers/update carries no order stats, tags
			// or consent: those are unknown, so they must be left out
			// (absent), never mapped to null or empty.
			name: "customers/update 2025-01 slim webhook",
			file: "customers_update_2025_01.json",
			want: shopsync.Contact{
				ShopifyID:        706405506930370084,
				Email:            ptr("bob@biller.com"),
				FirstName:        ptr("Bob"),
				LastName:         ptr("Biller"),
				State:            ptr("enabled"),
				Tags:             []string{},
				ShopifyCreatedAt: utcp(2022, 1, 1, 0, 0, 0),
				ShopifyUpdatedAt: utcp(2025, 2, 3, 15, 11, 12),
				Fields:           shopsync.AllFields &^ shopsync.FieldTags,
				Attributes: shopsync.Attributes{
					shopsync.StringAttr("currency", ptr("USD")),
					shopsync.StringAttr("default_address_city", ptr("Ottawa")),
					shopsync.StringAttr("default_address_country_code", ptr("CA")),
					shopsync.StringAttr("note", ptr("This customer loves ice cream")),
					shopsync.BoolAttr("verified_email", ptr(true)),
				},
			},
		},
		{
			name: "CJK and emoji names with nulls",
			file: "customer_cjk_nulls.json",
			want: shopsync.Contact{
				ShopifyID:        7021234567890123456,
				Email:            nil,
				FirstName:        ptr("太郎 🌸"),
				LastName:         ptr("山田"),
				Phone:            nil,
				State:            ptr("enabled"),
				Tags:             []string{"VIP", "東京", "🎌"},
				ShopifyCreatedAt: utcp(2024, 11, 5, 0, 0, 0),
				ShopifyUpdatedAt: utcp(2024, 11, 6, 9, 30, 5),
				Fields:           shopsync.AllFields,
				Attributes: shopsync.Attributes{
					shopsync.BoolAttr("accepts_email_marketing", ptr(true)),
					shopsync.BoolAttr("accepts_sms_marketing", ptr(false)),
					shopsync.StringAttr("currency", ptr("JPY")),
					// No default_address key: unknown, like every absent
					// key (a payload trimmed by include_fields lacks it
					// too). The client makes it null in an answer to a
					// listing that asked for it; see TestContactDefaultAddress.
					shopsync.StringAttr("email_marketing_consent", ptr("subscribed")),
					shopsync.TimeAttr("email_marketing_consent_updated_at", utcp(2024, 11, 5, 0, 0, 0)),
					shopsync.StringAttr("email_marketing_opt_in_level", ptr("confirmed_opt_in")),
					shopsync.IntAttr("last_order_id", nil),
					shopsync.StringAttr("last_order_name", nil),
					shopsync.StringAttr("note", nil),
					shopsync.IntAttr("orders_count", ptr[int64](0)),
					shopsync.StringAttr("sms_marketing_consent", nil),
					shopsync.TimeAttr("sms_marketing_consent_updated_at", nil),
					shopsync.StringAttr("sms_marketing_opt_in_level", nil),
					shopsync.DecimalAttr("total_spent", ptr("0.00")),
					shopsync.BoolAttr("verified_email", ptr(false)),
				},
			},
		},
		{
			name: "numbers beyond float64 precision",
			file: "customer_big_numbers.json",
			want: shopsync.Contact{
				ShopifyID:        9007199254740995,
				Email:            ptr("Whale@Example.COM"), // kept as sent
				FirstName:        ptr("Moby"),
				LastName:         ptr("Dick"),
				Phone:            ptr("+33142685300"),
				State:            ptr("enabled"),
				Tags:             []string{"wholesale", "b2b"},
				ShopifyCreatedAt: utcp(2019, 3, 10, 9, 59, 59),
				ShopifyUpdatedAt: utcp(2025, 6, 30, 18, 15, 0),
				Fields:           shopsync.AllFields,
				Attributes: shopsync.Attributes{
					shopsync.BoolAttr("accepts_email_marketing", ptr(true)),
					shopsync.BoolAttr("accepts_sms_marketing", ptr(true)),
					shopsync.StringAttr("currency", ptr("EUR")),
					shopsync.StringAttr("default_address_city", ptr("Paris")),
					shopsync.StringAttr("default_address_country_code", ptr("FR")),
					shopsync.StringAttr("email_marketing_consent", ptr("subscribed")),
					shopsync.TimeAttr("email_marketing_consent_updated_at", utcp(2025, 6, 30, 18, 15, 0)),
					shopsync.StringAttr("email_marketing_opt_in_level", ptr("single_opt_in")),
					shopsync.IntAttr("last_order_id", ptr[int64](9007199254740993)),
					shopsync.StringAttr("last_order_name", ptr("#900719925474")),
					shopsync.StringAttr("note", ptr("big spender")),
					shopsync.IntAttr("orders_count", ptr[int64](4294967297)),
					shopsync.StringAttr("sms_marketing_consent", ptr("subscribed")),
					shopsync.TimeAttr("sms_marketing_consent_updated_at", utcp(2025, 6, 30, 18, 15, 0)),
					shopsync.StringAttr("sms_marketing_opt_in_level", ptr("confirmed_opt_in")),
					shopsync.DecimalAttr("total_spent", ptr("123456789012345.10")),
					shopsync.BoolAttr("verified_email", ptr(true)),
				},
			},
		},
	}
	m := newMapper(t, mapping.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, readFixture(t, tt.file)))
			if err != nil {
				t.Fatalf("Contact: got error %v, want nil", err)
			}
			if diff := cmp.Diff(got, tt.want, cmpOpts); diff != "" {
				t.Errorf("Contact mismatch (-got +want):\n%s", diff)
			}
			if got.Fields != tt.want.Fields {
				t.Errorf("Fields: got %08b, want %08b", got.Fields, tt.want.Fields)
			}
		})
	}
}

// TestContactFixturesAllAttributes maps every fixture with the whole
// catalog selected, checking the non-default attributes too.
func TestContactFixturesAllAttributes(t *testing.T) {
	all := mapping.Config{}
	for _, s := range mapping.Catalog() {
		all.Attributes = append(all.Attributes, s.Name)
	}
	m := newMapper(t, all)
	tests := []struct {
		name string
		file string
		want shopsync.Attributes // only the attributes outside the defaults
	}{
		{
			name: "REST 2024-04 customer",
			file: "customer_2024_04_rest.json",
			want: shopsync.Attributes{
				shopsync.StringAttr("default_address_company", nil),
				shopsync.StringAttr("default_address_province_code", ptr("KY")),
				shopsync.StringAttr("default_address_zip", ptr("40202")),
				shopsync.StringAttr("sms_marketing_consent_collected_from", ptr("other")), // "OTHER"
				shopsync.BoolAttr("tax_exempt", ptr(false)),
			},
		},
		{
			name: "customers/create 2024-04 webhook",
			file: "customers_create_2024_04.json",
			want: shopsync.Attributes{
				shopsync.StringAttr("default_address_company", nil),
				shopsync.StringAttr("default_address_province_code", ptr("ON")),
				shopsync.StringAttr("default_address_zip", ptr("K2P 2L8")),
				shopsync.StringAttr("sms_marketing_consent_collected_from", nil),
				shopsync.BoolAttr("tax_exempt", ptr(false)),
			},
		},
		{
			name: "customers/update 2025-01 slim webhook",
			file: "customers_update_2025_01.json",
			want: shopsync.Attributes{
				shopsync.StringAttr("default_address_company", nil),
				shopsync.StringAttr("default_address_province_code", ptr("ON")),
				shopsync.StringAttr("default_address_zip", ptr("K2P 2L8")),
				shopsync.BoolAttr("tax_exempt", ptr(false)),
			},
		},
		{
			name: "CJK and emoji names with nulls",
			file: "customer_cjk_nulls.json",
			want: shopsync.Attributes{
				shopsync.StringAttr("sms_marketing_consent_collected_from", nil),
				shopsync.BoolAttr("tax_exempt", ptr(false)),
			},
		},
		{
			name: "numbers beyond float64 precision",
			file: "customer_big_numbers.json",
			want: shopsync.Attributes{
				shopsync.StringAttr("default_address_company", ptr("Pequod SARL")),
				shopsync.StringAttr("default_address_province_code", nil),
				shopsync.StringAttr("default_address_zip", ptr("75008")),
				shopsync.StringAttr("sms_marketing_consent_collected_from", ptr("shopify")), // "SHOPIFY"
				shopsync.BoolAttr("tax_exempt", ptr(true)),
			},
		},
	}
	defaults := newMapper(t, mapping.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := decode(t, readFixture(t, tt.file))
			got, err := m.Contact(c)
			if err != nil {
				t.Fatal(err)
			}
			def, err := defaults.Contact(c)
			if err != nil {
				t.Fatal(err)
			}
			want := append(slices.Clone(def.Attributes), tt.want...)
			want.Sort()
			if diff := cmp.Diff(got.Attributes, want, cmpOpts); diff != "" {
				t.Errorf("Attributes mismatch (-got +want):\n%s", diff)
			}
			// The attributes selection does not change the fields.
			got.Attributes, def.Attributes = nil, nil
			if diff := cmp.Diff(got, def, cmpOpts); diff != "" {
				t.Errorf("contact fields depend on the attribute selection (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactCatalogTypes checks that every attribute comes out with the
// type its Spec declares and a Value of the matching Go type.
func TestContactCatalogTypes(t *testing.T) {
	specs := mapping.Catalog()
	all := mapping.Config{}
	types := map[string]shopsync.AttrType{}
	for _, s := range specs {
		all.Attributes = append(all.Attributes, s.Name)
		types[s.Name] = s.Type
	}
	m := newMapper(t, all)
	for _, file := range fixtureFiles(t) {
		t.Run(file, func(t *testing.T) {
			got, err := m.Contact(decode(t, readFixture(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range got.Attributes {
				if want, ok := types[a.Name]; !ok || a.Type != want {
					t.Errorf("%s: got type %q, want %q", a.Name, a.Type, want)
				}
				if err := checkValueType(a); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func fixtureFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatal("no testdata/*.json fixtures")
	}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	return files
}

func TestContactEmailNullVsAbsent(t *testing.T) {
	tests := []struct {
		name       string
		json       string
		wantFields bool
		wantEmail  *string
	}{
		{name: "value", json: `{"id":1,"email":"a@example.com"}`, wantFields: true, wantEmail: ptr("a@example.com")},
		{name: "empty", json: `{"id":1,"email":""}`, wantFields: true, wantEmail: ptr("")},
		{name: "null", json: `{"id":1,"email":null}`, wantFields: true, wantEmail: nil},
		{name: "absent", json: `{"id":1}`, wantFields: false, wantEmail: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapJSON(t, mapping.Config{}, tt.json)
			if has := got.Fields.Has(shopsync.FieldEmail); has != tt.wantFields {
				t.Errorf("Fields.Has(FieldEmail): got %v, want %v", has, tt.wantFields)
			}
			if diff := cmp.Diff(got.Email, tt.wantEmail); diff != "" {
				t.Errorf("Email mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactFieldPresence checks each top-level field: present with a
// value, present as null, and absent.
func TestContactFieldPresence(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string // JSON
		field shopsync.FieldSet
		get   func(shopsync.Contact) any
		want  any
	}{
		{"email", "email", `"x@example.com"`, shopsync.FieldEmail, func(k shopsync.Contact) any { return k.Email }, ptr("x@example.com")},
		{"email null", "email", `null`, shopsync.FieldEmail, func(k shopsync.Contact) any { return k.Email }, (*string)(nil)},
		{"first_name", "first_name", `"Ånne"`, shopsync.FieldFirstName, func(k shopsync.Contact) any { return k.FirstName }, ptr("Ånne")},
		{"first_name null", "first_name", `null`, shopsync.FieldFirstName, func(k shopsync.Contact) any { return k.FirstName }, (*string)(nil)},
		{"last_name", "last_name", `"O'Brien"`, shopsync.FieldLastName, func(k shopsync.Contact) any { return k.LastName }, ptr("O'Brien")},
		{"last_name null", "last_name", `null`, shopsync.FieldLastName, func(k shopsync.Contact) any { return k.LastName }, (*string)(nil)},
		{"phone", "phone", `"+16136120707"`, shopsync.FieldPhone, func(k shopsync.Contact) any { return k.Phone }, ptr("+16136120707")},
		{"phone null", "phone", `null`, shopsync.FieldPhone, func(k shopsync.Contact) any { return k.Phone }, (*string)(nil)},
		{"state", "state", `"invited"`, shopsync.FieldState, func(k shopsync.Contact) any { return k.State }, ptr("invited")},
		{"state null", "state", `null`, shopsync.FieldState, func(k shopsync.Contact) any { return k.State }, (*string)(nil)},
		{"tags", "tags", `"a, b"`, shopsync.FieldTags, func(k shopsync.Contact) any { return k.Tags }, []string{"a", "b"}},
		{"tags null", "tags", `null`, shopsync.FieldTags, func(k shopsync.Contact) any { return k.Tags }, []string{}},
		{"created_at", "created_at", `"2024-04-02T09:23:53-05:00"`, shopsync.FieldCreatedAt, func(k shopsync.Contact) any { return k.ShopifyCreatedAt }, utcp(2024, 4, 2, 14, 23, 53)},
		{"created_at null", "created_at", `null`, shopsync.FieldCreatedAt, func(k shopsync.Contact) any { return k.ShopifyCreatedAt }, (*time.Time)(nil)},
		{"updated_at", "updated_at", `"2024-04-02T23:23:53+09:00"`, shopsync.FieldUpdatedAt, func(k shopsync.Contact) any { return k.ShopifyUpdatedAt }, utcp(2024, 4, 2, 14, 23, 53)},
		{"updated_at null", "updated_at", `null`, shopsync.FieldUpdatedAt, func(k shopsync.Contact) any { return k.ShopifyUpdatedAt }, (*time.Time)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapJSON(t, mapping.Config{}, `{"id":5,"`+tt.key+`":`+tt.value+`}`)
			if got.Fields != tt.field {
				t.Errorf("Fields: got %08b, want %08b", got.Fields, tt.field)
			}
			if diff := cmp.Diff(tt.get(got), tt.want, cmpOpts); diff != "" {
				t.Errorf("%s mismatch (-got +want):\n%s", tt.key, diff)
			}
		})
	}
	t.Run("nothing", func(t *testing.T) {
		got := mapJSON(t, mapping.Config{}, `{"id":5}`)
		want := shopsync.Contact{ShopifyID: 5, Tags: []string{}, Attributes: shopsync.Attributes{}}
		if diff := cmp.Diff(got, want, cmpOpts); diff != "" {
			t.Errorf("Contact mismatch (-got +want):\n%s", diff)
		}
	})
}

func TestContactNoID(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{name: "missing", json: `{"email":"a@example.com"}`},
		{name: "zero", json: `{"id":0,"email":"a@example.com"}`},
		{name: "null", json: `{"id":null,"email":"a@example.com"}`},
		{name: "negative", json: `{"id":-7}`},
		{name: "email consent webhook", json: `{"customer_id":706405506930370084,"email_address":"bob@biller.com","email_marketing_consent":{"state":"not_subscribed","opt_in_level":null,"consent_updated_at":null}}`},
	}
	m := newMapper(t, mapping.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, []byte(tt.json)))
			if !errors.Is(err, mapping.ErrNoID) {
				t.Errorf("Contact: got error %v, want %v", err, mapping.ErrNoID)
			}
			if diff := cmp.Diff(got, shopsync.Contact{}); diff != "" {
				t.Errorf("Contact mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSplitTags(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "", want: []string{}},
		{name: "spaces only", in: "   ", want: []string{}},
		{name: "commas only", in: ", ,,", want: []string{}},
		{name: "one", in: "vip", want: []string{"vip"}},
		{name: "shopify form", in: "Léon, Noël", want: []string{"Léon", "Noël"}},
		{name: "no spaces", in: "a,b,c", want: []string{"a", "b", "c"}},
		{name: "untrimmed with empties", in: " a ,, b ", want: []string{"a", "b"}},
		{name: "trailing comma", in: "a, b,", want: []string{"a", "b"}},
		{name: "inner spaces kept", in: "big spender, new  customer", want: []string{"big spender", "new  customer"}},
		{name: "tabs and newlines", in: "\ta\n,\r\nb\t", want: []string{"a", "b"}},
		{name: "unicode spaces", in: "\u00a0東京\u3000, 🎌", want: []string{"東京", "🎌"}},
		{name: "order and duplicates kept", in: "b, a, b", want: []string{"b", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapping.SplitTags(tt.in)
			if got == nil {
				t.Fatalf("SplitTags(%q): got nil, want non-nil", tt.in)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("SplitTags(%q) mismatch (-got +want):\n%s", tt.in, diff)
			}
			in, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			k := mapJSON(t, mapping.Config{}, `{"id":1,"tags":`+string(in)+`}`)
			if !k.Fields.Has(shopsync.FieldTags) {
				t.Errorf("Fields: got %08b, want FieldTags set", k.Fields)
			}
			if diff := cmp.Diff(k.Tags, tt.want); diff != "" {
				t.Errorf("Contact.Tags mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactTagsJSON checks that absent and empty tags encode as [],
// never null.
func TestContactTagsJSON(t *testing.T) {
	for _, in := range []string{`{"id":1}`, `{"id":1,"tags":""}`, `{"id":1,"tags":null}`} {
		k := mapJSON(t, mapping.Config{}, in)
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"tags":[]`) {
			t.Errorf("json.Marshal(Contact(%s)): got %s, want \"tags\":[]", in, b)
		}
	}
}

func TestContactEmailConsent(t *testing.T) {
	tests := []struct {
		name        string
		consent     string // JSON value of email_marketing_consent
		wantAccepts bool
		wantState   *string
		wantLevel   *string
		wantUpdated *time.Time
	}{
		{name: "subscribed", consent: `{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-04-02T09:23:53-05:00"}`,
			wantAccepts: true, wantState: ptr("subscribed"), wantLevel: ptr("single_opt_in"), wantUpdated: utcp(2024, 4, 2, 14, 23, 53)},
		{name: "subscribed confirmed", consent: `{"state":"subscribed","opt_in_level":"confirmed_opt_in","consent_updated_at":null}`,
			wantAccepts: true, wantState: ptr("subscribed"), wantLevel: ptr("confirmed_opt_in")},
		{name: "not_subscribed", consent: `{"state":"not_subscribed","opt_in_level":null,"consent_updated_at":"2004-06-13T11:57:11-04:00"}`,
			wantState: ptr("not_subscribed"), wantUpdated: utcp(2004, 6, 13, 15, 57, 11)},
		{name: "pending", consent: `{"state":"pending","opt_in_level":"confirmed_opt_in","consent_updated_at":null}`,
			wantState: ptr("pending"), wantLevel: ptr("confirmed_opt_in")},
		{name: "unsubscribed", consent: `{"state":"unsubscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-04-02T09:23:53Z"}`,
			wantState: ptr("unsubscribed"), wantLevel: ptr("single_opt_in"), wantUpdated: utcp(2024, 4, 2, 9, 23, 53)},
		{name: "redacted", consent: `{"state":"redacted","opt_in_level":null,"consent_updated_at":null}`,
			wantState: ptr("redacted")},
		{name: "invalid", consent: `{"state":"invalid","opt_in_level":"unknown","consent_updated_at":null}`,
			wantState: ptr("invalid"), wantLevel: ptr("unknown")},
		// Lower case, as REST writes them and the bulk reader makes
		// GraphQL's: one spelling whichever API read the customer.
		{name: "upper case", consent: `{"state":"SUBSCRIBED","opt_in_level":"Single_Opt_In","consent_updated_at":null}`,
			wantAccepts: true, wantState: ptr("subscribed"), wantLevel: ptr("single_opt_in")},
		{name: "state null", consent: `{"state":null,"opt_in_level":null,"consent_updated_at":null}`},
		{name: "empty object", consent: `{}`},
		{name: "consent null", consent: `null`},
	}
	m := newMapper(t, mapping.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, []byte(`{"id":1,"email_marketing_consent":`+tt.consent+`}`)))
			if err != nil {
				t.Fatal(err)
			}
			want := shopsync.Attributes{
				shopsync.BoolAttr("accepts_email_marketing", &tt.wantAccepts),
				shopsync.StringAttr("email_marketing_consent", tt.wantState),
				shopsync.TimeAttr("email_marketing_consent_updated_at", tt.wantUpdated),
				shopsync.StringAttr("email_marketing_opt_in_level", tt.wantLevel),
			}
			if diff := cmp.Diff(got.Attributes, want, cmpOpts); diff != "" {
				t.Errorf("Attributes mismatch (-got +want):\n%s", diff)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		got, err := m.Contact(decode(t, []byte(`{"id":1}`)))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"accepts_email_marketing", "email_marketing_consent", "email_marketing_consent_updated_at", "email_marketing_opt_in_level"} {
			if a, ok := got.Attributes.Get(name); ok {
				t.Errorf("Get(%q): got %+v, want absent", name, a)
			}
		}
	})
}

// TestContactEnumsLowerCase: consent states, opt-in levels and the
// account state are stored in lower case whatever the payload's case.
func TestContactEnumsLowerCase(t *testing.T) {
	got := mapJSON(t, mapping.Config{}, `{"id":1,"state":"ENABLED",
		"email_marketing_consent":{"state":"UnSubscribed","opt_in_level":"CONFIRMED_OPT_IN"},
		"sms_marketing_consent":{"state":"SUBSCRIBED","opt_in_level":"SINGLE_OPT_IN","consent_collected_from":"SHOPIFY"}}`)
	if got.State == nil || *got.State != "enabled" {
		t.Errorf("state %v, want enabled", got.State)
	}
	for name, want := range map[string]string{
		"email_marketing_consent": "unsubscribed", "email_marketing_opt_in_level": "confirmed_opt_in",
		"sms_marketing_consent": "subscribed", "sms_marketing_opt_in_level": "single_opt_in",
	} {
		if a, ok := got.Attributes.Get(name); !ok || a.Value != want {
			t.Errorf("%s: %+v, want %q", name, a, want)
		}
	}
	if got := mapJSON(t, mapping.Config{}, `{"id":1,"state":null}`); got.State != nil || got.Fields&shopsync.FieldState == 0 {
		t.Errorf("state null: %v, fields %v", got.State, got.Fields)
	}
}

func TestContactSMSConsent(t *testing.T) {
	tests := []struct {
		name          string
		consent       string // JSON value of sms_marketing_consent
		wantAccepts   bool
		wantState     *string
		wantLevel     *string
		wantUpdated   *time.Time
		wantCollected *string
	}{
		{name: "subscribed REST", consent: `{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-04-02T09:23:53-05:00","consent_collected_from":"SHOPIFY"}`,
			wantAccepts: true, wantState: ptr("subscribed"), wantLevel: ptr("single_opt_in"), wantUpdated: utcp(2024, 4, 2, 14, 23, 53), wantCollected: ptr("shopify")},
		{name: "subscribed webhook", consent: `{"state":"subscribed","opt_in_level":"confirmed_opt_in","consent_updated_at":null,"consent_collected_from":"shopify"}`,
			wantAccepts: true, wantState: ptr("subscribed"), wantLevel: ptr("confirmed_opt_in"), wantCollected: ptr("shopify")},
		{name: "not_subscribed", consent: `{"state":"not_subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-04-02T09:23:53-05:00","consent_collected_from":"OTHER"}`,
			wantState: ptr("not_subscribed"), wantLevel: ptr("single_opt_in"), wantUpdated: utcp(2024, 4, 2, 14, 23, 53), wantCollected: ptr("other")},
		{name: "pending", consent: `{"state":"pending","opt_in_level":"confirmed_opt_in","consent_updated_at":null,"consent_collected_from":"Other"}`,
			wantState: ptr("pending"), wantLevel: ptr("confirmed_opt_in"), wantCollected: ptr("other")},
		{name: "unsubscribed", consent: `{"state":"unsubscribed","opt_in_level":null,"consent_updated_at":"2025-01-01T00:00:00+01:00","consent_collected_from":"other"}`,
			wantState: ptr("unsubscribed"), wantUpdated: utcp(2024, 12, 31, 23, 0, 0), wantCollected: ptr("other")},
		{name: "redacted", consent: `{"state":"redacted","opt_in_level":null,"consent_updated_at":null,"consent_collected_from":null}`,
			wantState: ptr("redacted")},
		// The webhook's way of saying "no SMS consent": maps as the REST
		// customer's null does, or a sweep would flip it back and forth.
		{name: "consent webhook sample", consent: `{"state":null,"opt_in_level":null,"consent_updated_at":null,"consent_collected_from":"other"}`},
		{name: "consent null", consent: `null`},
	}
	m := newMapper(t, mapping.Config{Attributes: []string{
		"accepts_sms_marketing", "sms_marketing_consent", "sms_marketing_consent_collected_from",
		"sms_marketing_consent_updated_at", "sms_marketing_opt_in_level",
	}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, []byte(`{"id":1,"sms_marketing_consent":`+tt.consent+`}`)))
			if err != nil {
				t.Fatal(err)
			}
			want := shopsync.Attributes{
				shopsync.BoolAttr("accepts_sms_marketing", &tt.wantAccepts),
				shopsync.StringAttr("sms_marketing_consent", tt.wantState),
				shopsync.StringAttr("sms_marketing_consent_collected_from", tt.wantCollected),
				shopsync.TimeAttr("sms_marketing_consent_updated_at", tt.wantUpdated),
				shopsync.StringAttr("sms_marketing_opt_in_level", tt.wantLevel),
			}
			if diff := cmp.Diff(got.Attributes, want, cmpOpts); diff != "" {
				t.Errorf("Attributes mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactSMSConsentWebhook maps the customers_marketing_consent/update
// payload (SHOPIFY.md §6): only phone and the SMS attributes are known.
func TestContactSMSConsentWebhook(t *testing.T) {
	got := mapJSON(t, mapping.Config{}, `{"id":706405506930370084,"phone":null,"sms_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null,"consent_collected_from":"other"}}`)
	want := shopsync.Contact{
		ShopifyID: 706405506930370084,
		Tags:      []string{},
		Fields:    shopsync.FieldPhone,
		Attributes: shopsync.Attributes{
			shopsync.BoolAttr("accepts_sms_marketing", ptr(false)),
			shopsync.StringAttr("sms_marketing_consent", nil),
			shopsync.TimeAttr("sms_marketing_consent_updated_at", nil),
			shopsync.StringAttr("sms_marketing_opt_in_level", nil),
		},
	}
	if diff := cmp.Diff(got, want, cmpOpts); diff != "" {
		t.Errorf("Contact mismatch (-got +want):\n%s", diff)
	}
}

// TestContactDeleteWebhook maps the customers/delete payload: nothing but
// the id is known.
func TestContactDeleteWebhook(t *testing.T) {
	got := mapJSON(t, mapping.Config{}, `{"id":706405506930370084,"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/706405506930370084"}`)
	want := shopsync.Contact{ShopifyID: 706405506930370084, Tags: []string{}, Attributes: shopsync.Attributes{}}
	if diff := cmp.Diff(got, want, cmpOpts); diff != "" {
		t.Errorf("Contact mismatch (-got +want):\n%s", diff)
	}
}

func TestContactDefaultAddress(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		wantPresent bool
		wantCity    *string
		wantCountry *string
	}{
		{name: "address", json: `{"id":1,"default_address":{"city":"Ottawa","country_code":"CA"}}`,
			wantPresent: true, wantCity: ptr("Ottawa"), wantCountry: ptr("CA")},
		{name: "address with null city", json: `{"id":1,"default_address":{"city":null,"country_code":"CA"}}`,
			wantPresent: true, wantCountry: ptr("CA")},
		{name: "address without city key", json: `{"id":1,"default_address":{"country_code":"CA"}}`,
			wantPresent: true, wantCountry: ptr("CA")},
		{name: "address null", json: `{"id":1,"default_address":null}`, wantPresent: true},
		// Shopify's "Modify payloads" example (include_fields id,
		// email_marketing_consent, updated_at): updated_at and no address
		// key. Absent is unknown: the stored address stays.
		{name: "absent beside updated_at", json: `{"id":1,"email_marketing_consent":{"state":"subscribed"},"updated_at":"2024-04-02T09:23:53-05:00"}`, wantPresent: false},
		{name: "absent from a partial payload", json: `{"id":1,"phone":"+16136120707"}`, wantPresent: false},
	}
	m := newMapper(t, mapping.Config{Attributes: []string{"default_address_country_code", "default_address_city"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, []byte(tt.json)))
			if err != nil {
				t.Fatal(err)
			}
			want := shopsync.Attributes{}
			if tt.wantPresent {
				want = shopsync.Attributes{
					shopsync.StringAttr("default_address_city", tt.wantCity),
					shopsync.StringAttr("default_address_country_code", tt.wantCountry),
				}
			}
			if diff := cmp.Diff(got.Attributes, want); diff != "" {
				t.Errorf("Attributes mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactScalarAttributes covers each scalar attribute as a value, a
// null, and absent.
func TestContactScalarAttributes(t *testing.T) {
	tests := []struct {
		name string
		attr string
		json string // the payload's key and value, or "" for absent
		want *shopsync.Attribute
	}{
		{"orders_count", "orders_count", `"orders_count":42`, &shopsync.Attribute{Name: "orders_count", Type: shopsync.TypeInteger, Value: int64(42)}},
		{"orders_count zero", "orders_count", `"orders_count":0`, &shopsync.Attribute{Name: "orders_count", Type: shopsync.TypeInteger, Value: int64(0)}},
		{"orders_count null", "orders_count", `"orders_count":null`, &shopsync.Attribute{Name: "orders_count", Type: shopsync.TypeInteger}},
		{"orders_count absent", "orders_count", ``, nil},
		{"total_spent", "total_spent", `"total_spent":"199.65"`, &shopsync.Attribute{Name: "total_spent", Type: shopsync.TypeDecimal, Value: "199.65"}},
		{"total_spent trailing zero kept", "total_spent", `"total_spent":"100.10"`, &shopsync.Attribute{Name: "total_spent", Type: shopsync.TypeDecimal, Value: "100.10"}},
		{"total_spent bare number", "total_spent", `"total_spent":0.10`, &shopsync.Attribute{Name: "total_spent", Type: shopsync.TypeDecimal, Value: "0.10"}},
		{"total_spent beyond float64", "total_spent", `"total_spent":"123456789012345.10"`, &shopsync.Attribute{Name: "total_spent", Type: shopsync.TypeDecimal, Value: "123456789012345.10"}},
		{"total_spent null", "total_spent", `"total_spent":null`, &shopsync.Attribute{Name: "total_spent", Type: shopsync.TypeDecimal}},
		{"total_spent absent", "total_spent", ``, nil},
		{"last_order_id 2^53+1", "last_order_id", `"last_order_id":9007199254740993`, &shopsync.Attribute{Name: "last_order_id", Type: shopsync.TypeInteger, Value: int64(9007199254740993)}},
		{"last_order_id null", "last_order_id", `"last_order_id":null`, &shopsync.Attribute{Name: "last_order_id", Type: shopsync.TypeInteger}},
		{"last_order_name", "last_order_name", `"last_order_name":"#1001"`, &shopsync.Attribute{Name: "last_order_name", Type: shopsync.TypeString, Value: "#1001"}},
		{"last_order_name null", "last_order_name", `"last_order_name":null`, &shopsync.Attribute{Name: "last_order_name", Type: shopsync.TypeString}},
		{"currency", "currency", `"currency":"JPY"`, &shopsync.Attribute{Name: "currency", Type: shopsync.TypeString, Value: "JPY"}},
		{"note emoji", "note", `"note":"🍦 loves ice cream\nline 2"`, &shopsync.Attribute{Name: "note", Type: shopsync.TypeString, Value: "🍦 loves ice cream\nline 2"}},
		{"note null", "note", `"note":null`, &shopsync.Attribute{Name: "note", Type: shopsync.TypeString}},
		{"note absent", "note", ``, nil},
		{"verified_email true", "verified_email", `"verified_email":true`, &shopsync.Attribute{Name: "verified_email", Type: shopsync.TypeBoolean, Value: true}},
		{"verified_email false", "verified_email", `"verified_email":false`, &shopsync.Attribute{Name: "verified_email", Type: shopsync.TypeBoolean, Value: false}},
		{"verified_email null", "verified_email", `"verified_email":null`, &shopsync.Attribute{Name: "verified_email", Type: shopsync.TypeBoolean}},
		{"tax_exempt true", "tax_exempt", `"tax_exempt":true`, &shopsync.Attribute{Name: "tax_exempt", Type: shopsync.TypeBoolean, Value: true}},
		{"tax_exempt absent", "tax_exempt", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id":1}`
			if tt.json != "" {
				body = `{"id":1,` + tt.json + `}`
			}
			got := mapJSON(t, mapping.Config{Attributes: []string{tt.attr}}, body)
			want := shopsync.Attributes{}
			if tt.want != nil {
				want = shopsync.Attributes{*tt.want}
			}
			if diff := cmp.Diff(got.Attributes, want, cmpOpts); diff != "" {
				t.Errorf("Attributes mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// TestContactTimestampsUTC checks that every mapped time is in UTC, from
// any offset.
func TestContactTimestampsUTC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{name: "negative offset", in: "2024-04-02T09:23:53-05:00", want: time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)},
		{name: "positive offset across midnight", in: "2024-01-01T01:00:00+09:00", want: time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC)},
		{name: "half-hour offset", in: "2025-06-30T23:45:00+05:30", want: time.Date(2025, 6, 30, 18, 15, 0, 0, time.UTC)},
		{name: "Z", in: "2024-04-02T09:23:53Z", want: time.Date(2024, 4, 2, 9, 23, 53, 0, time.UTC)},
		{name: "fractional seconds", in: "2005-05-05T05:00:00.123Z", want: time.Date(2005, 5, 5, 5, 0, 0, 123000000, time.UTC)},
	}
	m := newMapper(t, mapping.Config{Attributes: []string{"email_marketing_consent_updated_at", "sms_marketing_consent_updated_at"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.ReplaceAll(`{"id":1,"created_at":"T","updated_at":"T",
				"email_marketing_consent":{"state":"subscribed","consent_updated_at":"T"},
				"sms_marketing_consent":{"state":"subscribed","consent_updated_at":"T"}}`, `"T"`, `"`+tt.in+`"`)
			got, err := m.Contact(decode(t, []byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			times := map[string]any{"created_at": got.ShopifyCreatedAt, "updated_at": got.ShopifyUpdatedAt}
			for _, a := range got.Attributes {
				times[a.Name] = a.Value
			}
			if len(times) != 4 {
				t.Fatalf("got %d times, want 4: %v", len(times), times)
			}
			for name, v := range times {
				var tm time.Time
				switch v := v.(type) {
				case *time.Time:
					if v == nil {
						t.Fatalf("%s: got nil, want %v", name, tt.want)
					}
					tm = *v
				case time.Time:
					tm = v
				default:
					t.Fatalf("%s: got %T, want time.Time", name, v)
				}
				if !tm.Equal(tt.want) || tm.Location() != time.UTC {
					t.Errorf("%s: got %v, want %v", name, tm, tt.want)
				}
			}
		})
	}
}

// TestContactTimestampsOutOfRange checks that a time RFC 3339 cannot write
// once in UTC (year before 0000 or after 9999) maps to null, so that the
// contact still encodes as JSON and its stored text parses back.
func TestContactTimestampsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *time.Time
	}{
		{name: "year 0000 in UTC", in: "0000-01-01T00:00:00Z", want: utcp(0, 1, 1, 0, 0, 0)},
		{name: "year 9999 in UTC", in: "9999-12-31T23:59:59Z", want: utcp(9999, 12, 31, 23, 59, 59)},
		{name: "year -1 in UTC", in: "0000-01-01T00:00:00+01:00", want: nil},
		{name: "year 10000 in UTC", in: "9999-12-31T23:30:00-01:00", want: nil},
	}
	m := newMapper(t, mapping.Config{Attributes: []string{"email_marketing_consent_updated_at"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.ReplaceAll(`{"id":1,"created_at":"T","updated_at":"T","email_marketing_consent":{"state":"subscribed","consent_updated_at":"T"}}`, `"T"`, `"`+tt.in+`"`)
			got, err := m.Contact(decode(t, []byte(body)))
			if err != nil {
				t.Fatal(err)
			}
			want := shopsync.Contact{
				ShopifyID:        1,
				Tags:             []string{},
				ShopifyCreatedAt: tt.want,
				ShopifyUpdatedAt: tt.want,
				Fields:           shopsync.FieldCreatedAt | shopsync.FieldUpdatedAt,
				Attributes:       shopsync.Attributes{shopsync.TimeAttr("email_marketing_consent_updated_at", tt.want)},
			}
			if diff := cmp.Diff(got, want, cmpOpts); diff != "" {
				t.Errorf("Contact mismatch (-got +want):\n%s", diff)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("json.Marshal(contact): got error %v, want nil", err)
			}
		})
	}
}

// TestContactDoesNotAlias checks that the contact does not share memory
// with the customer it was mapped from.
func TestContactDoesNotAlias(t *testing.T) {
	m := newMapper(t, mapping.Config{})
	c := decode(t, readFixture(t, "customer_2024_04_rest.json"))
	got, err := m.Contact(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Email.V = "changed"
	c.FirstName.V = "changed"
	c.CreatedAt.V = time.Time{}
	c.Currency.V = "XXX"
	if *got.Email != "bob.norman@mail.example.com" || *got.FirstName != "Bob" || got.ShopifyCreatedAt.IsZero() {
		t.Errorf("contact changed with the customer: %+v", got)
	}
	if a, _ := got.Attributes.Get("currency"); a.Value != "USD" {
		t.Errorf("currency: got %v, want USD", a.Value)
	}
}

// TestContactJSON checks the contact's JSON: ids and integer attributes
// beyond 2^53 stay exact, decimals stay strings.
func TestContactJSON(t *testing.T) {
	m := newMapper(t, mapping.Config{})
	got, err := m.Contact(decode(t, readFixture(t, "customer_big_numbers.json")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"shopify_id":9007199254740995`,
		`"last_order_id":9007199254740993`,
		`"orders_count":4294967297`,
		`"total_spent":"123456789012345.10"`,
		`"shopify_created_at":"2019-03-10T09:59:59Z"`,
		`"email_marketing_consent_updated_at":"2025-06-30T18:15:00Z"`,
		`"accepts_sms_marketing":true`,
		`"tags":["wholesale","b2b"]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("json.Marshal(contact): got %s, want it to contain %s", b, want)
		}
	}
}

func TestAttributesSorted(t *testing.T) {
	for _, file := range fixtureFiles(t) {
		t.Run(file, func(t *testing.T) {
			for _, cfg := range []mapping.Config{
				{},
				{Attributes: []string{"verified_email", "total_spent", "accepts_email_marketing", "note"}},
			} {
				got, err := newMapper(t, cfg).Contact(decode(t, readFixture(t, file)))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.IsSortedFunc(got.Attributes, func(a, b shopsync.Attribute) int { return strings.Compare(a.Name, b.Name) }) {
					t.Errorf("attributes not sorted: %v", attrNames(got.Attributes))
				}
				for _, a := range got.Attributes {
					if g, ok := got.Attributes.Get(a.Name); !ok || g.Name != a.Name {
						t.Errorf("Get(%q): got %+v, %v, want found", a.Name, g, ok)
					}
				}
			}
		})
	}
}

func attrNames(as shopsync.Attributes) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		attrs   []string
		wantErr []string // substrings of the error; nil for none
	}{
		{name: "nil", attrs: nil},
		{name: "empty", attrs: []string{}},
		{name: "one", attrs: []string{"tax_exempt"}},
		{name: "defaults", attrs: mapping.DefaultAttributes()},
		{name: "unknown", attrs: []string{"orders_count", "favourite_colour"},
			wantErr: []string{"mapping.attributes", `"favourite_colour"`}},
		{name: "removed field", attrs: []string{"accepts_marketing"},
			wantErr: []string{"mapping.attributes", `"accepts_marketing"`}},
		{name: "wrong case", attrs: []string{"Orders_Count"},
			wantErr: []string{"mapping.attributes", `"Orders_Count"`}},
		{name: "empty name", attrs: []string{""},
			wantErr: []string{"mapping.attributes", `""`}},
		{name: "duplicate", attrs: []string{"note", "currency", "note"},
			wantErr: []string{"mapping.attributes", `"note"`}},
		{name: "unknown and duplicate", attrs: []string{"nope", "note", "note"},
			wantErr: []string{`"nope"`, `"note"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mapping.Config{Attributes: tt.attrs}
			err := cfg.Validate()
			_, newErr := mapping.New(cfg)
			if tt.wantErr == nil {
				if err != nil || newErr != nil {
					t.Errorf("Validate: got %v, New: got %v, want nil", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate: got %v, New: got %v, want errors", err, newErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate: got %q, want it to mention %s", err, want)
				}
				if !strings.Contains(newErr.Error(), want) {
					t.Errorf("New: got %q, want it to mention %s", newErr, want)
				}
			}
		})
	}
}

func TestMapperSelection(t *testing.T) {
	tests := []struct {
		name  string
		attrs []string
		want  []string
	}{
		{name: "default", attrs: nil, want: mapping.DefaultAttributes()},
		{name: "empty is default", attrs: []string{}, want: mapping.DefaultAttributes()},
		{name: "one", attrs: []string{"tax_exempt"}, want: []string{"tax_exempt"}},
		{name: "sorted", attrs: []string{"verified_email", "default_address_zip", "accepts_sms_marketing"},
			want: []string{"accepts_sms_marketing", "default_address_zip", "verified_email"}},
	}
	c := decode(t, readFixture(t, "customer_big_numbers.json"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, mapping.Config{Attributes: tt.attrs})
			if diff := cmp.Diff(m.Attributes(), tt.want); diff != "" {
				t.Errorf("Attributes() mismatch (-got +want):\n%s", diff)
			}
			k, err := m.Contact(c)
			if err != nil {
				t.Fatal(err)
			}
			// The fixture carries every source key, so each selected
			// attribute is mapped, and no other.
			if diff := cmp.Diff(attrNames(k.Attributes), tt.want); diff != "" {
				t.Errorf("mapped attributes mismatch (-got +want):\n%s", diff)
			}
		})
	}
	t.Run("input not modified", func(t *testing.T) {
		attrs := []string{"verified_email", "note"}
		newMapper(t, mapping.Config{Attributes: attrs})
		if diff := cmp.Diff(attrs, []string{"verified_email", "note"}); diff != "" {
			t.Errorf("Config.Attributes changed (-got +want):\n%s", diff)
		}
	})
}

func TestDefaultAttributes(t *testing.T) {
	want := []string{
		"accepts_email_marketing",
		"accepts_sms_marketing",
		"currency",
		"default_address_city",
		"default_address_country_code",
		"email_marketing_consent",
		"email_marketing_consent_updated_at",
		"email_marketing_opt_in_level",
		"last_order_id",
		"last_order_name",
		"note",
		"orders_count",
		"sms_marketing_consent",
		"sms_marketing_consent_updated_at",
		"sms_marketing_opt_in_level",
		"total_spent",
		"verified_email",
	}
	got := mapping.DefaultAttributes()
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("DefaultAttributes() mismatch (-got +want):\n%s", diff)
	}
	if len(got) != 17 {
		t.Errorf("got %d default attributes, want 17", len(got))
	}
	got[0] = "mutated"
	if mapping.DefaultAttributes()[0] != want[0] {
		t.Errorf("DefaultAttributes shares its result")
	}
}

func TestCatalog(t *testing.T) {
	specs := mapping.Catalog()
	var defaults []string
	for i, s := range specs {
		if i > 0 && specs[i-1].Name >= s.Name {
			t.Errorf("catalog not sorted and unique: %q before %q", specs[i-1].Name, s.Name)
		}
		if !s.Type.Valid() {
			t.Errorf("%s: invalid type %q", s.Name, s.Type)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", s.Name)
		}
		if s.Default {
			defaults = append(defaults, s.Name)
		}
	}
	if diff := cmp.Diff(defaults, mapping.DefaultAttributes()); diff != "" {
		t.Errorf("defaults mismatch (-got +want):\n%s", diff)
	}
	want := map[string]shopsync.AttrType{
		"accepts_email_marketing":              shopsync.TypeBoolean,
		"accepts_sms_marketing":                shopsync.TypeBoolean,
		"currency":                             shopsync.TypeString,
		"default_address_city":                 shopsync.TypeString,
		"default_address_company":              shopsync.TypeString,
		"default_address_country_code":         shopsync.TypeString,
		"default_address_province_code":        shopsync.TypeString,
		"default_address_zip":                  shopsync.TypeString,
		"email_marketing_consent":              shopsync.TypeString,
		"email_marketing_consent_updated_at":   shopsync.TypeTimestamp,
		"email_marketing_opt_in_level":         shopsync.TypeString,
		"last_order_id":                        shopsync.TypeInteger,
		"last_order_name":                      shopsync.TypeString,
		"note":                                 shopsync.TypeString,
		"orders_count":                         shopsync.TypeInteger,
		"sms_marketing_consent":                shopsync.TypeString,
		"sms_marketing_consent_collected_from": shopsync.TypeString,
		"sms_marketing_consent_updated_at":     shopsync.TypeTimestamp,
		"sms_marketing_opt_in_level":           shopsync.TypeString,
		"tax_exempt":                           shopsync.TypeBoolean,
		"total_spent":                          shopsync.TypeDecimal,
		"verified_email":                       shopsync.TypeBoolean,
	}
	got := map[string]shopsync.AttrType{}
	for _, s := range specs {
		got[s.Name] = s.Type
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("catalog types mismatch (-got +want):\n%s", diff)
	}
	specs[0].Name = "mutated"
	if mapping.Catalog()[0].Name == "mutated" {
		t.Errorf("Catalog shares its result")
	}
}

// TestContactParts checks which parts a payload carries and the clock each
// part gets: updated_at, except consent, stamped by consent_updated_at.
func TestContactParts(t *testing.T) {
	upd := shopsync.Clock{Time: time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC), Kind: shopsync.ClockUpdatedAt}
	consent := shopsync.Clock{Time: time.Date(2004, 6, 13, 15, 57, 11, 0, time.UTC), Kind: shopsync.ClockConsentUpdatedAt}
	all := shopsync.AllParts
	tests := []struct {
		name       string
		json       string
		wantParts  shopsync.PartSet
		wantFull   shopsync.PartSet
		wantClocks [shopsync.NumParts]shopsync.Clock
	}{
		{
			name: "full record",
			json: `{"id":1,"email":"a@b.c","updated_at":"2024-04-02T09:23:53-05:00","tags":"","orders_count":1,
				"email_marketing_consent":{"state":"subscribed","opt_in_level":null,"consent_updated_at":"2004-06-13T11:57:11-04:00"},
				"sms_marketing_consent":{"state":"not_subscribed","opt_in_level":null,"consent_updated_at":null}}`,
			wantParts: all,
			// The profile and purchasing lack keys this payload left out.
			wantFull:   shopsync.Set(shopsync.PartEmailConsent, shopsync.PartSMSConsent, shopsync.PartTags),
			wantClocks: [shopsync.NumParts]shopsync.Clock{upd, consent, upd, upd, upd},
		},
		{
			name:       "2025-01 slim update: profile only",
			json:       `{"id":1,"email":"a@b.c","updated_at":"2024-04-02T09:23:53-05:00","note":null}`,
			wantParts:  shopsync.Set(shopsync.PartProfile),
			wantClocks: [shopsync.NumParts]shopsync.Clock{upd},
		},
		{
			name:      "consent alone: clock from consent_updated_at",
			json:      `{"id":1,"email_marketing_consent":{"state":"subscribed","consent_updated_at":"2004-06-13T11:57:11-04:00"}}`,
			wantParts: shopsync.Set(shopsync.PartEmailConsent),
			wantFull:  shopsync.Set(shopsync.PartEmailConsent),
			wantClocks: [shopsync.NumParts]shopsync.Clock{
				shopsync.PartEmailConsent: consent,
			},
		},
		{
			name:      "order stats without a clock",
			json:      `{"id":1,"orders_count":3,"total_spent":"1.00"}`,
			wantParts: shopsync.Set(shopsync.PartPurchasing),
		},
		{
			name: "a whole customer",
			json: `{"id":1,"email":"a@b.c","first_name":null,"last_name":null,"phone":null,"state":"enabled",
				"created_at":"2024-04-02T09:23:53-05:00","updated_at":"2024-04-02T09:23:53-05:00","tags":"",
				"note":null,"verified_email":true,"currency":"USD","orders_count":1,"total_spent":"1.00",
				"last_order_id":null,"last_order_name":null,"default_address":null,
				"email_marketing_consent":null,"sms_marketing_consent":null}`,
			wantParts:  all,
			wantFull:   all,
			wantClocks: [shopsync.NumParts]shopsync.Clock{upd, upd, upd, upd, upd},
		},
	}
	m := newMapper(t, mapping.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Contact(decode(t, []byte(tt.json)))
			if err != nil {
				t.Fatal(err)
			}
			if got.Parts != tt.wantParts || got.Full != tt.wantFull {
				t.Errorf("Parts, Full: got %05b %05b, want %05b %05b", got.Parts, got.Full, tt.wantParts, tt.wantFull)
			}
			if diff := cmp.Diff(got.Clocks, tt.wantClocks); diff != "" {
				t.Errorf("Clocks mismatch (-got +want):\n%s", diff)
			}
			for _, a := range got.Attributes {
				if !got.Parts.Has(a.Part) {
					t.Errorf("attribute %s in part %s, which is not in Parts", a.Name, a.Part)
				}
			}
		})
	}
	if got, want := m.Parts(), shopsync.AllParts; got != want {
		t.Errorf("default mapper Parts: got %05b, want %05b", got, want)
	}
	slim := newMapper(t, mapping.Config{Attributes: []string{"note"}})
	if got, want := slim.Parts(), shopsync.Set(shopsync.PartProfile, shopsync.PartTags); got != want {
		t.Errorf("note-only mapper Parts: got %05b, want %05b", got, want)
	}
}
