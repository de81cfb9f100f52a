package phone_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/internal/phone"
)

func TestE164(t *testing.T) {
	tests := []struct {
		name, raw, country string
		want               string // "" when refused
	}{
		{"already E.164", "+16135550123", "", "+16135550123"},
		{"spaces and dashes", "+1 613-555-0123", "", "+16135550123"},
		{"parentheses", "+1 (613) 555.0123", "FR", "+16135550123"},
		{"UK (0)", "+44 (0)20 7946 0000", "", "+442079460000"},
		{"French national", "06 12 34 56 78", "FR", "+33612345678"},
		{"French national, lower-case country", "06 12 34 56 78", "fr", "+33612345678"},
		{"French with 00", "00 33 6 12 34 56 78", "FR", "+33612345678"},
		{"US national", "(613) 555-0123", "US", "+16135550123"},
		{"US national with trunk 1", "1-613-555-0123", "US", "+16135550123"},
		{"US with 011", "011 44 20 7946 0000", "US", "+442079460000"},
		{"US 00 is not international", "00 44 20 7946 0000", "US", ""},
		{"US short", "555-0123", "US", ""},
		{"US area code 0", "(013) 555-0123", "US", ""},
		{"+1 with nine digits", "+1 613 555 012", "", ""},
		{"Italian landline keeps 0", "06 1234 5678", "IT", "+390612345678"},
		{"German national", "030 123456", "DE", "+4930123456"},
		{"Australian 0011", "0011 44 20 7946 0000", "AU", "+442079460000"},
		{"Danish, no trunk", "12 34 56 78", "DK", "+4512345678"},
		{"national without a country", "06 12 34 56 78", "", ""},
		{"unknown country", "06 12 34 56 78", "XX", ""},
		{"extension", "+1 613 555 0123 ext. 4", "", ""},
		{"vanity", "1-800-FLOWERS", "US", ""},
		{"too long", "+1234567890123456", "", ""},
		{"too short", "+123456", "", ""},
		{"country code 0", "+0123456789", "", ""},
		{"plus inside", "33+612345678", "FR", ""},
		{"empty", "", "FR", ""},
		{"only separators", " - ", "FR", ""},
		{"non-breaking spaces", "+33\u00a06\u00a012\u00a034\u00a056\u00a078", "", "+33612345678"},
		{"Arabic-Indic digits", "+٣٣٦١٢٣٤٥٦٧٨", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := phone.E164(tt.raw, tt.country)
			if tt.want == "" {
				if ok {
					t.Fatalf("E164(%q, %q) = %q, want refused", tt.raw, tt.country, got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Fatalf("E164(%q, %q) = %q, %v, want %q", tt.raw, tt.country, got, ok, tt.want)
			}
		})
	}
}

func TestCountries(t *testing.T) {
	cs := phone.Countries()
	if !slices.IsSorted(cs) {
		t.Fatalf("Countries() not sorted: %v", cs)
	}
	for _, code := range cs {
		c, ok := phone.Lookup(strings.ToLower(code))
		if !ok || c.Code != code {
			t.Errorf("Lookup(%q) = %+v, %v", code, c, ok)
		}
	}
	if _, ok := phone.Lookup("XX"); ok {
		t.Error("Lookup(XX) found a country")
	}
}

func FuzzE164(f *testing.F) {
	f.Add("+1 (613) 555-0123", "US")
	f.Add("06 12 34 56 78", "FR")
	f.Add("+44 (0)20 7946 0000", "")
	f.Add("0011 44 20 7946 0000", "AU")
	f.Fuzz(func(t *testing.T, raw, country string) {
		got, ok := phone.E164(raw, country)
		if !ok {
			return
		}
		if len(got) < 8 || len(got) > 16 || got[0] != '+' || got[1] == '0' {
			t.Fatalf("E164(%q, %q) = %q: not E.164", raw, country, got)
		}
		for _, c := range got[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("E164(%q, %q) = %q: not E.164", raw, country, got)
			}
		}
		// Idempotent, whatever the country.
		if again, ok := phone.E164(got, "JP"); !ok || again != got {
			t.Fatalf("E164(%q) = %q, %v: not idempotent", got, again, ok)
		}
	})
}

func BenchmarkE164(b *testing.B) {
	b.Run("already", func(b *testing.B) {
		for b.Loop() {
			phone.E164("+16135550123", "US")
		}
	})
	b.Run("national", func(b *testing.B) {
		for b.Loop() {
			phone.E164("(613) 555-0123", "US")
		}
	})
}
