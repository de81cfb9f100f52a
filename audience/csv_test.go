package audience

import (
	"strings"
	"testing"
)

func TestCSVCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "formula", in: "=HYPERLINK(\"http://x.example\",\"click\")", want: "'=HYPERLINK(\"http://x.example\",\"click\")"},
		{name: "plus", in: "+1+cmd|' /C calc'!A0", want: "'+1+cmd|' /C calc'!A0"},
		{name: "minus", in: "-2+3", want: "'-2+3"},
		{name: "at", in: "@SUM(A1:A2)", want: "'@SUM(A1:A2)"},
		{name: "tab", in: "\t=1", want: "'\t=1"},
		{name: "carriage return", in: "\r=1", want: "'\r=1"},
		{name: "phone in E.164", in: "+16135550123", want: "'+16135550123"},
		{name: "plain name", in: "Léon", want: "Léon"},
		{name: "formula later in the cell", in: "VIP, =1+1", want: "VIP, =1+1"},
		{name: "apostrophe already", in: "'=1", want: "'=1"},
		{name: "space first", in: " =1", want: " =1"},
		{name: "empty", in: "", want: ""},
		{name: "number", in: "199.65", want: "199.65"},
		{name: "time", in: "2024-04-02T14:23:53Z", want: "2024-04-02T14:23:53Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formulaSafe(tt.in); got != tt.want {
				t.Errorf("formulaSafe(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzCSVCell: no cell comes out starting with a character a spreadsheet
// takes for a formula, and nothing but the leading apostrophe is added.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+16135550123", "-", "@", "\t", "\r\n", "'", "Noël", "=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := formulaSafe(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("formulaSafe(%q) = %q starts with a formula character", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("formulaSafe(%q) = %q: want the cell or the cell after an apostrophe", s, got)
		}
	})
}
