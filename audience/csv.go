package audience

import (
	"strings"
)

// csvOptions choose the form of a CSV export.
type csvOptions struct {
	// excel writes for spreadsheets: a UTF-8 byte-order mark, without
	// which Excel reads the file in the machine's legacy code page
	// (accents and CJK garbled), and long numbers as ="…" text cells
	// (see excelText).
	excel bool
}

// utf8BOM opens an Excel-ready CSV.
const utf8BOM = "\ufeff"

// csvCell is a cell's text as written to the CSV (which then quotes it as
// CSV needs): the one place cells are escaped. For spreadsheets, long
// numbers become text cells; every other cell is made formula-safe.
func csvCell(s string, opts csvOptions) string {
	if opts.excel && excelNumberText(s) {
		return excelText(s)
	}
	return formulaSafe(s)
}

// csvRow applies csvCell to every cell of row, in place.
func csvRow(row []string, opts csvOptions) []string {
	for i, c := range row {
		row[i] = csvCell(c, opts)
	}
	return row
}

// formulaSafe neutralises a cell a spreadsheet would run as a formula
// (OWASP, "CSV Injection"): one that starts with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe, which spreadsheets read as
// "this cell is text". A customer's name, note or tag is the shop's
// customers' input; "=HYPERLINK(...)" must stay text. A phone number
// +16135550123 becomes '+16135550123: still readable, and kept as text
// rather than turned into the number 16135550123.
func formulaSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// excelNumberText reports whether Excel would read s as a number and
// change it: ids past 15 digits (Excel keeps 15: 706405506930370084
// becomes 7.06E+17, then 706405506930370000), numbers with leading
// zeros (ZIP 02134 becomes 2134) and phone numbers with a + (+14155550100
// becomes 14155550100).
func excelNumberText(s string) bool {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || len(digits) > 30 || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	return len(digits) > 15 || (len(digits) > 1 && digits[0] == '0') || digits != s
}

// excelText writes digits as a text cell: ="706405506930370084". Excel
// and LibreOffice Calc both evaluate the formula when they open a CSV and
// show its text, all digits kept, and copy it as the digits. (A leading
// tab or apostrophe also stops the conversion in Excel, but stays in the
// value: copied, pasted or read by LibreOffice, the id carries it.) Only
// cells of digits and a + are written so: nothing from a customer can
// end up in a formula.
func excelText(digits string) string { return `="` + digits + `"` }
