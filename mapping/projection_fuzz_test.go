package mapping_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
)

// FuzzProjectionConfig builds projections from arbitrary field configs:
// a bad one is refused with errors naming their keys, a good one
// projects every fixture into values of the declared types and valid
// JSON.
func FuzzProjectionConfig(f *testing.F) {
	f.Add("sp_", "x", "average_order_value", "decimal", "trim", "0.00", 2, "")
	f.Add("", "", "tags", "string", "lower", "", -1, "g")
	f.Add("", "p", "phone", "", "e164", "none", -1, "")
	f.Add("", "d", "created_at", "date", "", "2020-01-01", -1, "")
	f.Add("", "v", "has_tag:VIP", "int", "", "1", -1, "")
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		f.Fatal(err)
	}
	var contacts []shopsync.Contact
	for _, file := range []string{"customer_2024_04_rest.json", "customer_cjk_nulls.json", "customers_create_2024_04.json"} {
		k, err := m.Contact(decode(f, readFixture(f, file)))
		if err != nil {
			f.Fatal(err)
		}
		contacts = append(contacts, k, shopsync.Contact{ShopifyID: k.ShopifyID})
	}
	f.Fuzz(func(t *testing.T, prefix, name, source, typ, transform, def string, scale int, group string) {
		fc := mapping.FieldConfig{Name: name, Source: source, Type: typ, Transform: transform, Group: group}
		if def != "" {
			fc.Default = def
		}
		if scale >= 0 {
			fc.Scale = &scale
		}
		cfg := mapping.ProjectionConfig{Prefix: prefix, DefaultCountry: "FR",
			Fields: []mapping.FieldConfig{{Source: "shopify_id", NoPrefix: true}, fc}}
		p, err := mapping.NewProjection(cfg, m.Attributes())
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "mapping.") {
					t.Fatalf("error line %q does not name its key", line)
				}
			}
			return
		}
		fields := p.Fields()
		for i := range contacts {
			r, err := p.Project(&contacts[i], projNow)
			if err != nil {
				t.Fatalf("Project: %v", err)
			}
			for j, rf := range r {
				if got, want := rf.Value.Type(), fields[j].Type; got != want {
					t.Fatalf("field %s: a %s value, want %s", rf.Name, got, want)
				}
			}
			if b := r.AppendJSON(nil); !json.Valid(b) {
				t.Fatalf("invalid JSON %s", b)
			}
			if got := len(r.Cells(nil)); got != len(p.Header()) {
				t.Fatalf("%d cells for %d columns", got, len(p.Header()))
			}
		}
	})
}
