// Package decimal compares, divides and rounds exact decimal numbers kept
// as text, such as Shopify's total_spent "199.65", without going through
// float64. A decimal is an optional sign, digits, and an optional point
// followed by digits: "199.65", "-3", "+0.5", "12.", ".5". Exponents,
// spaces, thousands separators, NaN and infinities are not decimals.
//
// Comparison works on the text and allocates nothing; division and
// rounding use math/big only when the numbers outgrow an int64.
package decimal

import (
	"errors"
	"fmt"
)

// ErrSyntax is returned for text that is not a decimal.
var ErrSyntax = errors.New("not a decimal")

// parts is a decimal split into its pieces, pointing into the text.
type parts struct {
	neg  bool
	intg string // integer digits, leading zeros removed
	frac string // fraction digits, trailing zeros removed
}

func (p parts) zero() bool { return p.intg == "" && p.frac == "" }

// split parses s. It allocates nothing.
func split(s string) (parts, bool) {
	var p parts
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		p.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	p.intg = s[start:i]
	digits := i - start
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		p.frac = s[fs:i]
		digits += i - fs
	}
	if i != len(s) || digits == 0 {
		return parts{}, false
	}
	for len(p.intg) > 0 && p.intg[0] == '0' {
		p.intg = p.intg[1:]
	}
	for len(p.frac) > 0 && p.frac[len(p.frac)-1] == '0' {
		p.frac = p.frac[:len(p.frac)-1]
	}
	if p.zero() {
		p.neg = false // -0 is 0
	}
	return p, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Valid reports whether s is a decimal.
func Valid(s string) bool {
	_, ok := split(s)
	return ok
}

// Scale returns the number of digits after the point as written: 2 for
// "199.65" and "100.00", 0 for "100". The second result is false when s
// is not a decimal.
func Scale(s string) (int, bool) {
	if !Valid(s) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return len(s) - i - 1, true
		}
	}
	return 0, true
}

// Cmp compares a and b exactly: -1 when a < b, 0 when they are equal
// ("1.50" equals "1.5", "-0" equals "0"), +1 when a > b. It returns an
// error wrapping ErrSyntax when either is not a decimal.
func Cmp(a, b string) (int, error) {
	pa, ok := split(a)
	if !ok {
		return 0, fmt.Errorf("%q: %w", a, ErrSyntax)
	}
	pb, ok := split(b)
	if !ok {
		return 0, fmt.Errorf("%q: %w", b, ErrSyntax)
	}
	return cmpParts(pa, pb), nil
}

func cmpParts(a, b parts) int {
	switch {
	case a.neg && !b.neg:
		return -1
	case !a.neg && b.neg:
		return 1
	}
	c := cmpAbs(a, b)
	if a.neg {
		return -c
	}
	return c
}

// cmpAbs compares the magnitudes of a and b.
func cmpAbs(a, b parts) int {
	if len(a.intg) != len(b.intg) {
		return sign(len(a.intg) - len(b.intg))
	}
	if c := cmpStr(a.intg, b.intg); c != 0 {
		return c
	}
	// Fractions without trailing zeros compare as text: "5" > "49".
	return cmpStr(a.frac, b.frac)
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
