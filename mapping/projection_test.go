package mapping_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
)

var projNow = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func newProjection(tb testing.TB, cfg mapping.ProjectionConfig, attrs []string) *mapping.Projection {
	tb.Helper()
	p, err := mapping.NewProjection(cfg, attrs)
	if err != nil {
		tb.Fatalf("NewProjection: %v", err)
	}
	return p
}

func allAttributes() []string {
	var out []string
	for _, s := range mapping.Catalog() {
		out = append(out, s.Name)
	}
	return out
}

// TestDefaultProjectionIsContactJSON: without mapping.fields, a record
// encodes to exactly the contact JSON of today (and CSV to today's
// columns), for every fixture, with the default attributes and with all.
func TestDefaultProjectionIsContactJSON(t *testing.T) {
	for _, attrs := range [][]string{nil, allAttributes()} {
		m := newMapper(t, mapping.Config{Attributes: attrs})
		p := newProjection(t, mapping.ProjectionConfig{}, m.Attributes())
		compared := 0
		for _, file := range fixtureFiles(t) {
			k, err := m.Contact(decode(t, readFixture(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			if !k.Fields.Has(shopsync.AllFields) || len(k.Attributes) != len(m.Attributes()) {
				continue // a partial payload: the store would fill it in
			}
			compared++
			want, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Project(&k, projNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(r.AppendJSON(nil)); got != string(want) {
				t.Errorf("%s, %d attributes:\ngot  %s\nwant %s", file, len(attrs), got, want)
			}
			var viaMarshal []byte
			if viaMarshal, err = json.Marshal(r); err != nil || string(viaMarshal) != string(want) {
				t.Errorf("%s: json.Marshal(record) = %s, %v", file, viaMarshal, err)
			}
		}
		if compared < 3 {
			t.Errorf("%d attributes: compared %d fixtures, want 3 or more", len(attrs), compared)
		}
		header := append([]string{"shopify_id", "email", "first_name", "last_name", "phone", "state", "tags",
			"shopify_created_at", "shopify_updated_at"}, m.Attributes()...)
		if diff := cmp.Diff(p.Header(), header); diff != "" {
			t.Errorf("header (-got +want):\n%s", diff)
		}
	}
}

// TestDefaultProjectionCells: the CSV cells are today's export's.
func TestDefaultProjectionCells(t *testing.T) {
	m := newMapper(t, mapping.Config{})
	p := newProjection(t, mapping.ProjectionConfig{}, m.Attributes())
	k, err := m.Contact(decode(t, readFixture(t, "customer_2024_04_rest.json")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Project(&k, projNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"207119551", "bob.norman@mail.example.com", "Bob", "Norman", "+16136120707", "disabled",
		"Léon, Noël", "2024-04-02T14:23:53Z", "2024-04-02T14:23:53Z",
		"false", "false", "USD", "Louisville", "US", "not_subscribed", "2004-06-13T15:57:11Z", "",
		"450789469", "#1001", "", "1", "not_subscribed", "2024-04-02T14:23:53Z", "single_opt_in", "199.65", "true"}
	if diff := cmp.Diff(r.Cells(nil), want); diff != "" {
		t.Errorf("cells (-got +want):\n%s", diff)
	}
}

// smartPush is a SmartPush-style mapping: 20 prefixed, typed attributes
// and the email they are keyed on.
func smartPush() mapping.ProjectionConfig {
	two := 2
	return mapping.ProjectionConfig{
		Prefix:         "sp_",
		DefaultCountry: "US",
		Fields: []mapping.FieldConfig{
			{Name: "email", Source: "email", Transforms: []string{"trim", "lower"}, NoPrefix: true},
			{Name: "customer_id", Source: "shopify_id", Type: "string"},
			{Source: "first_name", Transform: "trim"},
			{Source: "last_name", Transform: "trim"},
			{Source: "full_name"},
			{Source: "phone", Transform: "e164"},
			{Source: "orders_count", Type: "int", Default: 0},
			{Source: "total_spent", Type: "decimal", Scale: &two, Default: "0.00"},
			{Source: "average_order_value", Scale: &two},
			{Source: "currency", Transform: "upper"},
			{Name: "email_optin", Source: "accepts_email_marketing", Type: "bool", Default: false},
			{Name: "sms_optin", Source: "accepts_sms_marketing", Type: "bool", Default: false},
			{Name: "email_consent", Source: "email_marketing_consent"},
			{Name: "signup_date", Source: "created_at", Type: "date"},
			{Name: "last_update", Source: "updated_at", Type: "datetime"},
			{Name: "customer_age_days", Source: "days_since_created"},
			{Name: "last_order", Source: "last_order_name"},
			{Name: "city", Source: "default_address_city"},
			{Name: "country", Source: "default_address_country_code", Transform: "upper"},
			{Name: "is_vip", Source: "has_tag:VIP"},
			{Source: "tags", Type: "list"},
		},
	}
}

func TestSmartPush(t *testing.T) {
	m := newMapper(t, mapping.Config{})
	p := newProjection(t, smartPush(), m.Attributes())
	k, err := m.Contact(decode(t, readFixture(t, "customer_2024_04_rest.json")))
	if err != nil {
		t.Fatal(err)
	}
	k.Tags = append(k.Tags, "vip")
	k.Email = ptr("  Bob.Norman@Mail.Example.com ")
	r, err := p.Project(&k, projNow)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"email":"bob.norman@mail.example.com","sp_customer_id":"207119551","sp_first_name":"Bob",` +
		`"sp_last_name":"Norman","sp_full_name":"Bob Norman","sp_phone":"+16136120707","sp_orders_count":1,` +
		`"sp_total_spent":"199.65","sp_average_order_value":"199.65","sp_currency":"USD","sp_email_optin":false,` +
		`"sp_sms_optin":false,"sp_email_consent":"not_subscribed","sp_signup_date":"2024-04-02",` +
		`"sp_last_update":"2024-04-02T14:23:53Z","sp_customer_age_days":438,"sp_last_order":"#1001",` +
		`"sp_city":"Louisville","sp_country":"US","sp_is_vip":true,"sp_tags":["Léon","Noël","vip"]}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := len(p.Header()); got != 21 {
		t.Errorf("got %d fields, want 21", got)
	}
	var types []mapping.FieldType
	for _, f := range p.Fields() {
		types = append(types, f.Type)
	}
	wantTypes := []mapping.FieldType{"string", "string", "string", "string", "string", "string", "int", "decimal",
		"decimal", "string", "bool", "bool", "string", "date", "datetime", "int", "string", "string", "string", "bool", "list"}
	if diff := cmp.Diff(types, wantTypes); diff != "" {
		t.Errorf("types (-got +want):\n%s", diff)
	}
}

// TestSmartPushNulls: the defaults fill what a contact lacks.
func TestSmartPushNulls(t *testing.T) {
	m := newMapper(t, mapping.Config{})
	p := newProjection(t, smartPush(), m.Attributes())
	k := shopsync.Contact{ShopifyID: 5, Tags: []string{}, Phone: ptr("(613) 555-0123 ext 4")}
	r, err := p.Project(&k, projNow)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"email":null,"sp_customer_id":"5","sp_first_name":null,"sp_last_name":null,"sp_full_name":null,` +
		`"sp_phone":null,"sp_orders_count":0,"sp_total_spent":"0.00","sp_average_order_value":null,"sp_currency":null,` +
		`"sp_email_optin":false,"sp_sms_optin":false,"sp_email_consent":null,"sp_signup_date":null,"sp_last_update":null,` +
		`"sp_customer_age_days":null,"sp_last_order":null,"sp_city":null,"sp_country":null,"sp_is_vip":false,"sp_tags":[]}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// project returns the one field of a one-field projection of k.
func project(t *testing.T, f mapping.FieldConfig, k *shopsync.Contact) mapping.Value {
	t.Helper()
	p := newProjection(t, mapping.ProjectionConfig{DefaultCountry: "FR", Fields: []mapping.FieldConfig{f}}, allAttributes())
	r, err := p.Project(k, projNow)
	if err != nil {
		t.Fatal(err)
	}
	return r[0].Value
}

func TestFieldValues(t *testing.T) {
	attrs := func(as ...shopsync.Attribute) shopsync.Attributes {
		out := shopsync.Attributes(as)
		out.Sort()
		return out
	}
	spent := func(total string, orders int64) *shopsync.Contact {
		return &shopsync.Contact{Attributes: attrs(shopsync.DecimalAttr("total_spent", &total), shopsync.IntAttr("orders_count", &orders))}
	}
	zero, three := 0, 3
	created := func(s string) *shopsync.Contact {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return &shopsync.Contact{ShopifyCreatedAt: &t}
	}
	tests := []struct {
		name string
		f    mapping.FieldConfig
		k    *shopsync.Contact
		want any // Value.Any()
		text string
	}{
		{"aov keeps total_spent's places", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, spent("100.00", 3), "33.33", "33.33"},
		{"aov rounds half away from zero", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, spent("0.05", 2), "0.03", "0.03"},
		{"aov in yen", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, spent("1000", 3), "333", "333"},
		{"aov at scale 0 rounds once", mapping.FieldConfig{Name: "x", Source: "average_order_value", Scale: &zero}, spent("4.99", 2), "2", "2"},
		{"aov at scale 3", mapping.FieldConfig{Name: "x", Source: "average_order_value", Scale: &three}, spent("100.00", 3), "33.333", "33.333"},
		{"aov without orders", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, spent("0.00", 0), nil, ""},
		{"aov without total", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, &shopsync.Contact{}, nil, ""},
		{"aov beyond float64", mapping.FieldConfig{Name: "x", Source: "average_order_value"}, spent("90071992547409931.00", 1), "90071992547409931.00", "90071992547409931.00"},
		{"total_spent as scale 0", mapping.FieldConfig{Source: "total_spent", Scale: &zero}, spent("19.50", 1), "20", "20"},
		{"orders_count as decimal", mapping.FieldConfig{Source: "orders_count", Type: "decimal"}, spent("1", 7), "7", "7"},
		{"orders_count as string", mapping.FieldConfig{Source: "orders_count", Type: "string"}, spent("1", 7), "7", "7"},
		{"days since created", mapping.FieldConfig{Source: "days_since_created"}, created("2025-06-14T12:00:00.000000001Z"), int64(0), "0"},
		{"days since created, whole days", mapping.FieldConfig{Source: "days_since_created"}, created("2025-06-13T12:00:00Z"), int64(2), "2"},
		{"days since a future creation", mapping.FieldConfig{Source: "days_since_created"}, created("2025-07-01T00:00:00Z"), int64(0), "0"},
		{"created as date, in UTC", mapping.FieldConfig{Source: "created_at", Type: "date"}, created("2025-06-14T23:30:00-05:00"), "2025-06-15", "2025-06-15"},
		{"created as text", mapping.FieldConfig{Source: "shopify_created_at", Type: "string"}, created("2025-06-14T23:30:00.5-05:00"), "2025-06-15T04:30:00.5Z", "2025-06-15T04:30:00.5Z"},
		{"has tag, any case", mapping.FieldConfig{Name: "x", Source: "has_tag:léon"}, &shopsync.Contact{Tags: []string{"LÉON"}}, true, "true"},
		{"has tag, absent", mapping.FieldConfig{Name: "x", Source: "has_tag:VIP"}, &shopsync.Contact{Tags: []string{"VIPs"}}, false, "false"},
		{"bool as int", mapping.FieldConfig{Source: "verified_email", Type: "int"}, &shopsync.Contact{Attributes: attrs(shopsync.BoolAttr("verified_email", ptr(true)))}, int64(1), "1"},
		{"tags lower", mapping.FieldConfig{Source: "tags", Transform: "lower"}, &shopsync.Contact{Tags: []string{"VIP", "Noël"}}, []string{"vip", "noël"}, "vip, noël"},
		{"tags as text", mapping.FieldConfig{Source: "tags", Type: "string"}, &shopsync.Contact{Tags: []string{"a", "b"}}, "a, b", "a, b"},
		{"e164 national", mapping.FieldConfig{Source: "phone", Transform: "e164"}, &shopsync.Contact{Phone: ptr("06 12 34 56 78")}, "+33612345678", "+33612345678"},
		{"e164 refused is null", mapping.FieldConfig{Source: "phone", Transform: "e164"}, &shopsync.Contact{Phone: ptr("call me")}, nil, ""},
		{"e164 refused takes the default", mapping.FieldConfig{Source: "phone", Transform: "e164", Default: "none"}, &shopsync.Contact{Phone: ptr("call me")}, "none", "none"},
		{"trim then default", mapping.FieldConfig{Source: "first_name", Transforms: []string{"trim", "upper"}}, &shopsync.Contact{FirstName: ptr("  élodie ")}, "ÉLODIE", "ÉLODIE"},
		{"full name, one part", mapping.FieldConfig{Source: "full_name"}, &shopsync.Contact{LastName: ptr(" Noël ")}, "Noël", "Noël"},
		{"datetime default", mapping.FieldConfig{Source: "updated_at", Default: "2020-01-01T00:00:00+01:00"}, &shopsync.Contact{}, time.Date(2019, 12, 31, 23, 0, 0, 0, time.UTC), "2019-12-31T23:00:00Z"},
		{"date default", mapping.FieldConfig{Source: "created_at", Type: "date", Default: "2020-01-01"}, &shopsync.Contact{}, "2020-01-01", "2020-01-01"},
		{"decimal default from a float", mapping.FieldConfig{Source: "total_spent", Default: 0.5}, &shopsync.Contact{}, "0.5", "0.5"},
		{"int default from text", mapping.FieldConfig{Source: "orders_count", Default: "3"}, &shopsync.Contact{}, int64(3), "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := project(t, tt.f, tt.k)
			if diff := cmp.Diff(v.Any(), tt.want); diff != "" {
				t.Errorf("Any (-got +want):\n%s", diff)
			}
			if got := v.Text(); got != tt.text {
				t.Errorf("Text: got %q, want %q", got, tt.text)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	kept := newMapper(t, mapping.Config{}).Attributes() // the defaults: no tax_exempt
	tests := []struct {
		name string
		cfg  mapping.ProjectionConfig
		want string // the joined error
	}{
		{"a list in a decimal", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{
			{Source: "email"}, {Source: "phone"}, {Source: "state"}, {Name: "t", Source: "tags", Type: "decimal"}}},
			`mapping.fields[3].type: decimal cannot hold source "tags" (a list)`},
		{"unknown source", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "ordres_count"}}},
			`mapping.fields[0].source: unknown source "ordres_count": did you mean orders_count?`},
		{"attribute not kept", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "tax_exempt"}}},
			`mapping.fields[0].source: "tax_exempt" needs attribute tax_exempt, which mapping.attributes does not keep`},
		{"duplicate name", mapping.ProjectionConfig{Prefix: "sp_", Fields: []mapping.FieldConfig{
			{Source: "email"}, {Name: "sp_Email", Source: "email", NoPrefix: true}}},
			`mapping.fields[1].name: "sp_Email": duplicate name, as mapping.fields[0] (names ignore case)`},
		{"int from decimal", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "total_spent", Type: "int"}}},
			`mapping.fields[0].type: int cannot hold source "total_spent" (a decimal)`},
		{"unknown type", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "email", Type: "money"}}},
			`mapping.fields[0].type: unknown type "money": use string, int, decimal, bool, date, datetime or list`},
		{"transform on a number", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "orders_count", Transforms: []string{"trim", "lower"}}}},
			"mapping.fields[0].transforms[0]: trim does not apply to source \"orders_count\" (an int)\n" +
				`mapping.fields[0].transforms[1]: lower does not apply to source "orders_count" (an int)`},
		{"unknown transform", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "email", Transform: "slugify"}}},
			`mapping.fields[0].transform: unknown transform "slugify": use trim, lower, upper or e164`},
		{"both transform keys", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "email", Transform: "trim", Transforms: []string{"lower"}}}},
			`mapping.fields[0].transform: set transform or transforms, not both`},
		{"bad default", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "orders_count", Default: "many"}}},
			`mapping.fields[0].default: "many" is not an int`},
		{"list default", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "tags", Default: "x"}}},
			`mapping.fields[0].default: a list has no default: it is empty, never null`},
		{"scale on text", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "email", Scale: new(int)}}},
			`mapping.fields[0].scale: applies to decimals; the field is a string`},
		{"computed needs a name", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "has_tag:VIP"}}},
			`mapping.fields[0].name: required for source "has_tag:VIP"`},
		{"has_tag without a tag", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Name: "x", Source: "has_tag:"}}},
			`mapping.fields[0].source: has_tag needs a tag: has_tag:VIP`},
		{"no source", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Name: "x"}}},
			`mapping.fields[0].source: required`},
		{"group split", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{
			{Source: "email", Group: "a"}, {Source: "phone"}, {Source: "state", Group: "a"}}},
			`mapping.fields[2].group: the fields of group "a" must be listed together`},
		{"group named as a field", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{
			{Source: "email"}, {Source: "phone", Group: "email"}}},
			`mapping.fields[1].group: "email" is also the name of mapping.fields[0]`},
		{"unknown country", mapping.ProjectionConfig{DefaultCountry: "XX", Fields: []mapping.FieldConfig{{Source: "email"}}},
			`mapping.default_country: "XX" is not a country shopsync knows; known: AE, AT, AU, BE, CA, CH, CN, CZ, DE, DK, ES, FI, FR, GB, GR, HK, IE, IL, IN, IT, JP, LU, MX, NL, NO, NZ, PL, PT, SE, SG, SM, US, ZA`},
		{"name with a newline", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Name: "a\nb", Source: "email"}}},
			`mapping.fields[0].name: "a\nb": holds a control character`},
		{"aov needs its attributes", mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Name: "aov", Source: "average_order_value"}}},
			""}, // kept by default
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate(kept)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	// Without orders_count kept, the average order value cannot be had.
	err := mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Name: "aov", Source: "average_order_value"}}}.Validate([]string{"total_spent"})
	if want := `mapping.fields[0].source: "average_order_value" needs attribute orders_count, which mapping.attributes does not keep`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestProjectBadStoredValue: a stored attribute that does not hold its
// catalog type fails the record, naming the contact and field.
func TestProjectBadStoredValue(t *testing.T) {
	p := newProjection(t, mapping.ProjectionConfig{Fields: []mapping.FieldConfig{{Source: "orders_count"}}}, allAttributes())
	k := &shopsync.Contact{ShopifyID: 9, Attributes: shopsync.Attributes{shopsync.StringAttr("orders_count", ptr("three"))}}
	_, err := p.Project(k, projNow)
	if err == nil || !strings.Contains(err.Error(), `contact 9: field orders_count: attribute orders_count holds string "three", not an int`) {
		t.Errorf("got %v", err)
	}
}

// TestCatalogNamesAreFree: attribute names and computed sources never
// collide with contact fields, so a plain name is never ambiguous.
func TestCatalogNamesAreFree(t *testing.T) {
	for _, s := range mapping.Catalog() {
		switch s.Name {
		case "shopify_id", "email", "first_name", "last_name", "phone", "state", "tags", "created_at",
			"updated_at", "shopify_created_at", "shopify_updated_at", "average_order_value",
			"days_since_created", "full_name":
			t.Errorf("attribute %s has the name of a contact field or computed source", s.Name)
		}
	}
}
