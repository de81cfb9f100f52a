package segment

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopsync/shopsync/sqlfunc"
)

// Text compares ignoring case with Go's Unicode lower-casing, which SQLite
// does not have: casefold (package sqlfunc) is Go, called through cgo for
// every row, and no index can hold it. The SQL below gets the same result
// from SQLite's own lower(), which lower-cases ASCII letters and leaves
// every other character as it is, and calls casefold only where lower()
// cannot decide.
//
// Go's lower case (unicode.ToLower, rune by rune: strings.ToLower) maps
// ASCII to ASCII, and only two other runes to ASCII: U+0130 LATIN CAPITAL
// LETTER I WITH DOT ABOVE to 'i' and U+212A KELVIN SIGN to 'k' (asciiPre;
// TestASCIIPreimages checks the tables of the Go in use). So for a value x
// and its lower(x) = L, rune by rune:
//
//   - an ASCII rune of x is lower-cased alike by both;
//   - any other rune is left as it is by lower(), and Go maps it to a
//     rune that is not ASCII, except İ and K.
//
// Hence, with a literal lit already in Go's lower case:
//
//   - lit all ASCII: Go's lower(x) = lit exactly when L is lit with any of
//     its i and k written İ and K instead: L IN (those variants).
//   - lit all ASCII: Go's lower(x) LIKE pat, pat made of ASCII characters
//     and %, matches exactly when L LIKE pat does, unless L holds İ or K
//     (then only casefold(L) can tell, and casefold(L) is Go's lower(x)):
//     a rune of x that is not ASCII meets only % in both.
//   - otherwise (a literal that is not ASCII, or an order): L itself when it
//     is printable ASCII, which it is exactly when x is, else casefold(L):
//     iif(L GLOB '*[^ -~]*' OR length(L) <> octet_length(L), casefold(L), L).
//     (GLOB and length() stop at a NUL character; octet_length() does
//     not: a NUL, or a character of more than one byte, makes them differ.)
//
// Every form reads x only as lower(x), the expression the store's indexes
// hold for the consent attributes (see index.go).
//
// lower() turns a number into text, casefold does not: an attribute
// stored as a number where the field is text (a mapping that changed an
// attribute's type) would compare as text. A text field's attribute value
// that is not text matches nothing, as in Match; the forms whose literal
// could be a number's text, and orders, check typeof (numberLike).

// asciiPre are the runes other than ASCII that Go lower-cases to an ASCII
// letter, by that letter.
var asciiPre = map[byte]rune{'i': '\u0130', 'k': '\u212a'}

// maxVariants bounds the literals an equality expands to (2 per i or k);
// beyond, it takes the casefold form.
const maxVariants = 64

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// variants returns every text whose SQLite lower() Go lower-cases to one
// of lits (each in Go's lower case), so that "Go's lower case of x is one
// of lits" is "lower(x) IN (variants)", and "contains lit" is a LIKE of
// each variant, without casefold. Rune by rune, lower() leaves what is
// not ASCII as it is: each ASCII rune of a lit stands for itself (i and k
// also for İ and K), each other rune r for any rune Go lower-cases to r
// (lowerPre). A rune of a case (lowerPre gives more than r) always stands
// for maxPre texts, the first repeated, so that the SQL's form does not
// depend on which letters the lit has. false when a lit has U+FFFD (Go's
// lower case also makes it of bytes that are not UTF-8) or there would be
// more than maxVariants.
func variants(lits []string) ([]string, bool) {
	var out []string
	for _, lit := range lits {
		vs := []string{""}
		for _, r := range lit {
			alts := []rune{r}
			switch {
			case r == utf8.RuneError:
				return nil, false
			case r < utf8.RuneSelf:
				if pre, ok := asciiPre[byte(r)]; ok {
					alts = append(alts, pre)
				}
			default:
				if pre := lowerPre(r); len(pre) > 1 {
					alts = make([]rune, maxPre)
					for k := range alts {
						alts[k] = pre[min(k, len(pre)-1)]
					}
				}
			}
			if len(out)+len(alts)*len(vs) > maxVariants {
				return nil, false
			}
			next := make([]string, 0, len(alts)*len(vs))
			for _, v := range vs {
				for _, c := range alts {
					next = append(next, v+string(c))
				}
			}
			vs = next
		}
		out = append(out, vs...)
	}
	return out, true
}

// numberLike reports whether s could be the text SQLite gives a number
// (an integer, a real such as 1.5e+20, Inf), lower-cased.
func numberLike(s string) bool {
	return strings.Trim(s, "0123456789.+-einf") == ""
}

// text is a text value as SQL reads it.
type text struct {
	expr    string // its SQL expression
	folded  bool   // expr is already in Go's lower case (email_norm)
	anyType bool   // expr may be a value that is not text (an attribute)
}

// lowered is its SQLite lower().
func (t text) lowered() string { return lower(t.expr) }

// lower is SQLite's lower() of expr, without the parentheses of an
// attribute's expression: as the store's indexes write it.
func lower(expr string) string {
	if strings.HasPrefix(expr, "(attributes ->> '") {
		expr = expr[1 : len(expr)-1]
	}
	return "lower(" + expr + ")"
}

// guard opens a check that the value is text, when it may not be and lits
// could match a number's text: the condition then reads
// (typeof(x) = 'text' AND …). It reports whether it did; close with
// b.WriteByte(')').
func (b *sqlBuilder) guard(t text, always bool, lits ...string) bool {
	if !t.anyType {
		return false
	}
	need := always
	for _, l := range lits {
		need = need || numberLike(l)
	}
	if need {
		b.WriteString("(typeof(")
		b.read(t.expr)
		b.WriteString(") = 'text' AND ")
	}
	return need
}

// fullFold writes Go's lower case of the value (see the comment above).
func (b *sqlBuilder) fullFold(t text) {
	if t.folded {
		b.read(t.expr)
		return
	}
	l := t.lowered()
	b.WriteString("iif(")
	b.read(l)
	b.WriteString(" GLOB '*[^ -~]*' OR length(")
	b.read(l)
	b.WriteString(") <> octet_length(")
	b.read(l)
	b.WriteString("), " + sqlfunc.Fold + "(")
	b.read(l)
	b.WriteString("), ")
	b.read(l)
	b.WriteByte(')')
}

// A literal that is not ASCII needs casefold, a call into Go for every
// row (about a microsecond), unless the row is ruled out first by
// SQLite's own instr(). A rune r of the literal other than ASCII can only
// come from a rune of x that Go lower-cases to r, and lower() leaves such
// a rune as it is: so lower(x) holds one of r's preimages (lowerPre;
// TestLowerPreimages checks every rune), or x cannot match. The test
// holds for =, in, contains, starts_with and ends_with, which find the
// literal whole in Go's lower case of x; an order needs every row.

// lowerPre returns the runes that Go lower-cases to r, r itself first: r
// is in Go's lower case and not ASCII. There are at most maxPre.
func lowerPre(r rune) []rune {
	out := []rune{r}
	for c := unicode.SimpleFold(r); c != r; c = unicode.SimpleFold(c) {
		if unicode.ToLower(c) == r {
			out = append(out, c)
		}
	}
	return out
}

// maxPre is the most runes Go lower-cases to one rune (θ: θ, Θ and ϴ).
const maxPre = 3

// prefilter opens "(lower(x) may match one of lits AND …" when every lit
// has a rune that is not ASCII, and reports whether it did; close with
// b.WriteByte(')'). It tests each lit's first such rune, always as
// maxPre arguments (the first repeated), so that the SQL depends on the
// segment's form, not its text. Not U+FFFD, which Go's lower case also
// makes of bytes that are not UTF-8.
func (b *sqlBuilder) prefilter(t text, lits []string) bool {
	firsts := make([]rune, 0, len(lits))
	for _, lit := range lits {
		i := strings.IndexFunc(lit, func(r rune) bool { return r >= utf8.RuneSelf && r != utf8.RuneError })
		if i < 0 {
			return false // this lit can match any row
		}
		r, _ := utf8.DecodeRuneInString(lit[i:])
		firsts = append(firsts, r)
	}
	b.WriteString("((")
	for i, r := range firsts {
		if i > 0 {
			b.WriteString(" OR ")
		}
		pre := lowerPre(r)
		for k := range maxPre {
			if k > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("instr(")
			b.read(t.lowered())
			b.WriteString(", ")
			b.arg(string(pre[min(k, len(pre)-1)]))
			b.WriteString(") > 0")
		}
	}
	b.WriteString(") AND ")
	return true
}

// textIn writes "t's lower case is one of lits" (lits in Go's lower case).
func (b *sqlBuilder) textIn(t text, lits []string) {
	closing := 0
	if b.guard(t, false, lits...) {
		closing++
	}
	vs, ok := variants(lits)
	switch {
	case t.folded:
		b.read(t.expr)
		vs = lits
	case ok:
		b.read(t.lowered())
	default:
		if b.prefilter(t, lits) {
			closing++
		}
		b.fullFold(t)
		vs = lits
	}
	if len(vs) == 1 {
		b.WriteString(" = ")
		b.arg(vs[0])
	} else {
		b.WriteString(" IN (")
		for i, v := range vs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.arg(v)
		}
		b.WriteByte(')')
	}
	b.WriteString(strings.Repeat(")", closing))
}

// textCmp writes "t's lower case op lit", op an order.
func (b *sqlBuilder) textCmp(t text, op, lit string) {
	closing := b.guard(t, true)
	b.fullFold(t)
	b.WriteString(" " + op + " ")
	b.arg(lit)
	if closing {
		b.WriteByte(')')
	}
}

// textLike writes "t's lower case LIKE pattern(lit)", lit in Go's lower
// case, pattern making it a LIKE pattern escaped with \.
func (b *sqlBuilder) textLike(t text, lit string, pattern func(string) string) {
	closing := 0
	if b.guard(t, false, lit) {
		closing++
	}
	pat := pattern(lit)
	vs, ok := variants([]string{lit})
	switch {
	case t.folded:
		b.read(t.expr)
		b.likeArg(pat)
	case isASCII(lit):
		l := t.lowered()
		var pre []rune
		for i := 0; i < len(lit); i++ {
			if r, ok := asciiPre[lit[i]]; ok && !strings.ContainsRune(string(pre), r) {
				pre = append(pre, r)
			}
		}
		if len(pre) > 0 {
			b.WriteByte('(')
		}
		b.read(l)
		b.likeArg(pat)
		if len(pre) > 0 {
			b.WriteString(" OR (")
			for i, r := range pre {
				if i > 0 {
					b.WriteString(" OR ")
				}
				b.WriteString("instr(")
				b.read(l)
				b.WriteString(", char(" + strconv.Itoa(int(r)) + ")) > 0")
			}
			b.WriteString(") AND " + sqlfunc.Fold + "(")
			b.read(l)
			b.WriteByte(')')
			b.likeArg(pat)
			b.WriteByte(')')
		}
	case ok:
		// SQLite's LIKE ignores the case of ASCII letters only, and lower()
		// has lowered them: a variant's other runes match as they are.
		b.WriteByte('(')
		for i, v := range vs {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.read(t.lowered())
			b.likeArg(pattern(v))
		}
		b.WriteByte(')')
	default:
		if b.prefilter(t, []string{lit}) {
			closing++
		}
		b.fullFold(t)
		b.likeArg(pat)
	}
	b.WriteString(strings.Repeat(")", closing))
}

func (b *sqlBuilder) likeArg(pat string) {
	b.WriteString(" LIKE ")
	b.arg(pat)
	b.WriteString(` ESCAPE '\'`)
}
