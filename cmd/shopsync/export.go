package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// exportCSV writes a header and one row per active contact: the contact
// fields, tags joined with ", " as Shopify writes them, then one column per
// configured attribute. Nulls are empty cells. Every cell goes through
// csvCell, against formula injection.
func exportCSV(ctx context.Context, db *store.DB, w *bufio.Writer, attrs []string) error {
	cw := csv.NewWriter(w)
	header := []string{"shopify_id", "email", "first_name", "last_name", "phone", "state", "tags",
		"shopify_created_at", "shopify_updated_at"}
	if err := cw.Write(csvRow(append(header, attrs...))); err != nil {
		return err
	}
	row := make([]string, len(header)+len(attrs))
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return shopsync.FormatTime(*t)
	}
	err := db.ExportContacts(ctx, func(c *shopsync.Contact) error {
		row = append(row[:0], strconv.FormatInt(c.ShopifyID, 10), str(c.Email), str(c.FirstName),
			str(c.LastName), str(c.Phone), str(c.State), strings.Join(c.Tags, ", "),
			tm(c.ShopifyCreatedAt), tm(c.ShopifyUpdatedAt))
		for _, name := range attrs {
			a, _ := c.Attributes.Get(name)
			v, _ := a.Text()
			row = append(row, v)
		}
		return cw.Write(csvRow(row))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// csvCell neutralises a cell a spreadsheet would run as a formula
// (OWASP, "CSV Injection"): one that starts with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe, which spreadsheets read as
// "this cell is text". A customer's name, note or tag is the shop's
// customers' input; "=HYPERLINK(...)" must stay text. A phone number
// +16135550123 becomes '+16135550123: still readable, and kept as text
// rather than turned into the number 16135550123.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// csvRow applies csvCell to every cell of row, in place.
func csvRow(row []string) []string {
	for i, c := range row {
		row[i] = csvCell(c)
	}
	return row
}
