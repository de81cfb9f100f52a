package shopifytest_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewHandler(shopifytest.Options{})
	a, b := s.Generate(1000, 42), s.Generate(1000, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different customers")
	}
	if c := s.Generate(1000, 43); reflect.DeepEqual(a, c) {
		t.Error("different seeds, same customers")
	}
	if len(s.CustomerIDs()) != 0 {
		t.Error("Generate changed the server's customers")
	}
	// Options.Customers serves the generator's customers.
	sim := newSim(t, shopifytest.Options{Customers: 1000, Seed: 42})
	want := make([]int64, len(a))
	for i, c := range a {
		want[i] = c.ID
	}
	if !slices.Equal(sim.CustomerIDs(), want) {
		t.Error("the server's customers are not Generate(Customers, Seed)")
	}
}

var (
	shopifyTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)
	decimalRE     = regexp.MustCompile(`^(0|[1-9][0-9]*)\.[0-9]{2}$`)
	e164RE        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

func TestGeneratedCustomersLookLikeShopify(t *testing.T) {
	t.Parallel()
	s := shopifytest.NewHandler(shopifytest.Options{})
	cs := s.Generate(1500, 1)
	raw, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var wire []map[string]any
	if err := dec.Decode(&wire); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	emails := map[string]int{}
	prev := int64(0)
	for i, w := range wire {
		c := cs[i]
		id, err := w["id"].(json.Number).Int64()
		if err != nil || id <= 1<<53 || id <= prev || w["id"].(json.Number).String() != jsonInt(c.ID) {
			t.Fatalf("customer %d: id %v (previous %d): want an exact int64 above 2^53, ascending", i, w["id"], prev)
		}
		prev = id
		spent, ok := w["total_spent"].(string)
		if !ok || !decimalRE.MatchString(spent) {
			t.Fatalf("customer %d: total_spent %#v, want a decimal string", i, w["total_spent"])
		}
		for _, k := range []string{"created_at", "updated_at"} {
			if v, _ := w[k].(string); !shopifyTimeRE.MatchString(v) {
				t.Fatalf("customer %d: %s %q", i, k, v)
			}
		}
		if w["created_at"].(string) > "2025" || w["updated_at"].(string) < w["created_at"].(string)[:4] {
			t.Errorf("customer %d: created %s updated %s", i, w["created_at"], w["updated_at"])
		}
		if w["admin_graphql_api_id"] != "gid://shopify/Customer/"+jsonInt(c.ID) {
			t.Errorf("customer %d: admin_graphql_api_id %v", i, w["admin_graphql_api_id"])
		}
		for _, k := range []string{"email", "phone", "first_name", "last_name", "note", "last_order_id",
			"last_order_name", "multipass_identifier", "email_marketing_consent", "sms_marketing_consent"} {
			if _, present := w[k]; !present {
				t.Fatalf("customer %d: %s missing (null must be sent)", i, k)
			}
		}
		if arr, ok := w["tax_exemptions"].([]any); !ok || len(arr) != 0 {
			t.Errorf("customer %d: tax_exemptions %#v, want []", i, w["tax_exemptions"])
		}
		if _, ok := w["addresses"].([]any); !ok {
			t.Errorf("customer %d: addresses %#v, want an array", i, w["addresses"])
		}
		if _, ok := w["default_address"]; !ok {
			count["no default_address"]++
		}
		switch {
		case w["email"] == nil:
			count["null email"]++
		default:
			emails[strings.ToLower(w["email"].(string))]++
		}
		if p, ok := w["phone"].(string); ok && !e164RE.MatchString(p) {
			t.Errorf("customer %d: phone %q not E.164", i, p)
		} else if !ok {
			count["null phone"]++
		}
		if w["note"] == nil {
			count["null note"]++
		}
		if spent == "0.00" {
			count["zero spent"]++
		}
		if spent == "123456.78" {
			count["large spent"]++
		}
		if n, _ := w["orders_count"].(json.Number).Int64(); n < 0 || n > 50 {
			t.Errorf("customer %d: orders_count %d", i, n)
		}
		if c.Tags != "" {
			count["tagged"]++
			for tag := range strings.SplitSeq(c.Tags, ", ") {
				if tag == "" || strings.TrimSpace(tag) != tag {
					t.Errorf("customer %d: tags %q not \"a, b\"", i, c.Tags)
				}
			}
		}
		if c.LastName != nil && strings.IndexFunc(*c.LastName, func(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hangul) }) >= 0 {
			count["CJK"]++
		}
		if c.FirstName != nil && strings.ContainsRune(*c.FirstName, '🎉') {
			count["emoji"]++
		}
		count["currency "+c.Currency]++
		count["state "+c.State]++
		if e := c.EmailMarketingConsent; e == nil {
			count["null email consent"]++
		} else {
			count["email "+e.State]++
		}
		if m := c.SMSMarketingConsent; m != nil {
			count["sms "+m.State]++
			count["collected "+m.ConsentCollectedFrom]++
			if m.State == "invalid" {
				t.Errorf("customer %d: SMS consent invalid (email only)", i)
			}
		}
	}
	for email, n := range emails {
		if n > 1 {
			count["case duplicate"]++
			_ = email
		}
	}
	for _, k := range []string{"null email", "null phone", "null note", "no default_address", "zero spent", "large spent",
		"tagged", "CJK", "emoji", "case duplicate", "null email consent", "currency USD", "currency EUR", "currency JPY",
		"state disabled", "state invited", "state enabled", "state declined",
		"email subscribed", "email not_subscribed", "email pending", "email unsubscribed", "email redacted", "email invalid",
		"sms subscribed", "sms redacted", "collected OTHER", "collected SHOPIFY"} {
		if count[k] == 0 {
			t.Errorf("no generated customer has %s", k)
		}
	}
	if n := count["null email"]; n < 1500*4/100 || n > 1500*12/100 {
		t.Errorf("%d null emails in 1500, want about 8%%", n)
	}
	if n := count["CJK"]; n < 1500*6/100 || n > 1500*14/100 {
		t.Errorf("%d CJK names in 1500, want about 10%%", n)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
