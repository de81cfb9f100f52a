package segment

import (
	"strconv"
	"strings"

	"github.com/shopsync/shopsync/sqlfunc"
)

// Tags: has tag "vip".
//
// The exact test reads the contact's tags (a JSON array of strings) with
// json_each, a table a row, and compares each tag: a few microseconds a
// contact. Most contacts' tags JSON is printable ASCII without a backslash,
// and for those SQLite's own text functions decide alone:
//
//   - Plain JSON: no byte outside ' '…'~' and no backslash (plainTagsSQL
//     false). Each tag is then written as it is between two quotes, and
//     every quote in the text is one that opens or closes a tag (a quote
//     inside a tag would be \"). A tag whose Go lower case is lit is ASCII
//     (a rune that is not ASCII would show in the text), and not İ or K,
//     so SQLite's lower() of it is lit: lower(tags) holds "lit", quotes
//     included. Conversely, two quotes holding lit bound a tag, or the gap
//     between two tags, which is a comma and spaces: lit is not one when
//     it holds another character (tagPlain).
//   - Any other JSON goes through the exact test.
//
// A lit that JSON escapes (a quote, a backslash, a control character) or
// that is not ASCII can only match a tag whose JSON holds a backslash or a
// byte outside ' '…'~' (Go lower-cases no ASCII character to another): the
// exact test runs only on those.

// unplainTagsSQL is true for tags JSON that is not plain.
const unplainTagsSQL = `(tags GLOB '*[^ -~]*' OR instr(tags, '\') > 0)`

// tagKind says how has tag tests a tag literal (in Go's lower case).
type tagKind int

const (
	tagPlain   tagKind = iota // printable ASCII, no quote or backslash, not only commas and spaces
	tagEscaped                // JSON escapes it, or it is not ASCII
	tagGap                    // commas and spaces only: it could be the gap between two tags
)

func tagKindOf(lit string) tagKind {
	gap := lit != ""
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c < ' ' || c > '~' || c == '"' || c == '\\' {
			return tagEscaped
		}
		gap = gap && (c == ',' || c == ' ')
	}
	if gap {
		return tagGap
	}
	return tagPlain
}

// tagSQL writes has tag lit.
func (b *sqlBuilder) tagSQL(lit string) {
	exact := func() {
		b.WriteString("EXISTS (SELECT 1 FROM json_each(")
		b.read("tags")
		b.WriteString(") WHERE ")
		b.textIn(text{expr: "value"}, []string{lit})
		b.WriteByte(')')
	}
	switch tagKindOf(lit) {
	case tagPlain:
		b.WriteString("CASE WHEN ")
		b.read(unplainTagsSQL)
		b.WriteString(" THEN ")
		exact()
		b.WriteString(" ELSE instr(")
		b.read("lower(tags)")
		b.WriteString(", ")
		b.arg(`"` + lit + `"`)
		b.WriteString(") > 0 END")
	case tagEscaped:
		b.WriteByte('(')
		b.read(unplainTagsSQL)
		b.WriteString(" AND ")
		exact()
		b.WriteByte(')')
	default:
		exact()
	}
}

// Decimals: total_spent >= 100.
//
// dec_cmp compares decimal text exactly, in Go, through cgo for every row.
// A double holds every decimal of at most 15 significant digits (DBL_DIG):
// rounded to the nearest double, two different such decimals give two
// different doubles, and rounding to nearest never inverts an order. So
// between two decimals of at most 15 significant digits, in the doubles'
// normal range, comparing their nearest doubles gives the decimals' order
// exactly, equality included ("100.00" and "100" give the same double;
// "-0" is -0.0, which equals 0.0).
//
// The literal's double is Go's (strconv.ParseFloat rounds to nearest) when
// it has at most 15 digits once its leading and trailing zeros are gone
// (fastDecimal): its magnitude is then below 10^15, and at least 10^-15
// unless zero. A stored value takes the fast path when it is a plain
// decimal of at most 15 characters (decFastSQL: digits and one point at
// most, a digit at least, no sign, no NUL): it has at most 15 digits, the same
// bounds hold, and CAST(v AS REAL) is SQLite's nearest double (sqlite3AtoF,
// exact for up to 19 digits; TestCastMatchesParseFloat checks it against
// Go's). Anything else, a sign, more digits, text that is not a decimal,
// goes to dec_cmp, which stays the reference (FuzzDecimalFastPath).
//
// The stored value is read once, in a subquery, rather than at each of the
// five places the condition uses it.

// decFastSQL is true for a stored value v on the fast path.
// (GLOB and length() stop at a NUL character, which the text may hold
// further on: octet_length() counts every byte.)
const decFastSQL = `octet_length(v) <= 15 AND length(v) = octet_length(v) AND v GLOB '*[0-9]*' AND v NOT GLOB '*[^0-9.]*' AND v NOT GLOB '*.*.*'`

// fastDecimal returns the double of the decimal s (valid) when it has at
// most 15 significant digits as written without leading and trailing
// zeros.
func fastDecimal(s string) (float64, bool) {
	t := strings.TrimLeft(s, "+-")
	intg, frac, _ := strings.Cut(t, ".")
	intg = strings.TrimLeft(intg, "0")
	frac = strings.TrimRight(frac, "0")
	if len(intg)+len(frac) > 15 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	if f == 0 {
		f = 0 // -0 is 0
	}
	return f, true
}

// decimalSQL writes col compared with the decimals vs: op one of = < <=
// > >= (vs one value), or in (vs one or more).
func (b *sqlBuilder) decimalSQL(col, op string, vs []string) {
	fs := make([]float64, len(vs))
	fast := true
	for i, v := range vs {
		fs[i], fast = fastDecimal(v)
		if !fast {
			break
		}
	}
	// exact writes the comparison with dec_cmp, of x.
	exact := func(x string) {
		if len(vs) > 1 {
			b.WriteByte('(')
		}
		for i, v := range vs {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString(sqlfunc.DecCmp + "(")
			if x == "v" {
				b.WriteString(x) // the subquery's name for col, read below
			} else {
				b.read(x)
			}
			b.WriteString(", ")
			b.arg(v)
			if op == "in" {
				b.WriteString(") = 0")
			} else {
				b.WriteString(") " + op + " 0")
			}
		}
		if len(vs) > 1 {
			b.WriteByte(')')
		}
	}
	if !fast {
		b.longDecimalSQL(col, op, vs, exact)
		return
	}
	b.WriteString("(SELECT CASE WHEN " + decFastSQL + " THEN CAST(v AS REAL)")
	if op == "in" {
		b.WriteString(" IN (")
		for i, f := range fs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.arg(f)
		}
		b.WriteByte(')')
	} else {
		b.WriteString(" " + op + " ")
		b.arg(fs[0])
	}
	b.WriteString(" ELSE ")
	exact("v")
	b.WriteString(" END FROM (SELECT ")
	b.read(col)
	b.WriteString(" AS v))")
}

// longDecimalSQL writes col compared with vs when some literal has more
// than 15 significant digits: a stored value on the fast path is compared
// by its double when that double differs from every literal's, and by
// dec_cmp otherwise. Rounding to nearest never inverts an order, so
// double(v) < double(lit) means v < lit, and double(v) > double(lit)
// means v > lit; only a tie needs the exact comparison. A literal beyond
// the doubles' range (more than 300 digits before the point) leaves
// every row to dec_cmp.
func (b *sqlBuilder) longDecimalSQL(col, op string, vs []string, exact func(string)) {
	fs := make([]float64, len(vs))
	for i, v := range vs {
		intg, _, _ := strings.Cut(strings.TrimLeft(v, "+-"), ".")
		f, err := strconv.ParseFloat(v, 64)
		if len(strings.TrimLeft(intg, "0")) > 300 || err != nil {
			exact(col)
			return
		}
		fs[i] = f
	}
	b.WriteString("(SELECT CASE WHEN " + decFastSQL + " AND CAST(v AS REAL) NOT IN (")
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.arg(f)
	}
	b.WriteString(") THEN ")
	if op == "in" {
		b.WriteString("0")
	} else {
		b.WriteString("CAST(v AS REAL) " + op + " ")
		b.arg(fs[0])
	}
	b.WriteString(" ELSE ")
	exact("v")
	b.WriteString(" END FROM (SELECT ")
	b.read(col)
	b.WriteString(" AS v))")
}
