// Package phone writes phone numbers in E.164: a "+", the country calling
// code, the national number, digits only, 15 at most ("+16135550123").
//
// It normalises the way a number is written, not whether it exists:
//
//   - Spaces, dashes, dots, slashes and parentheses are dropped, and so is
//     a "(0)" after the country code ("+44 (0)20 7946 0000").
//   - A number starting with "+" keeps its country code.
//   - A number starting with the default country's international prefix
//     ("00" in most of Europe, "011" in North America) is international.
//   - Any other number is national to the default country: its trunk
//     prefix (the "0" of "06 12 34 56 78", the "1" of "1 613 555 0123")
//     is dropped and its calling code put in front. Without a default
//     country it is refused.
//
// Refused (no E.164 form): letters (vanity numbers, "ext. 12"), any other
// character, fewer than 7 or more than 15 digits in all, a country code
// starting with 0, and North American numbers that are not 10 digits with
// an area code of 2–9. Not checked: whether a country code is assigned,
// the length of each country's numbers beyond that, area codes elsewhere,
// short codes, and a trunk "0" written after a "+" ("+44 020…").
package phone

import (
	"slices"
	"strings"
	"unicode"
)

// Country is how one country writes its numbers.
type Country struct {
	Code  string // ISO 3166-1 alpha-2, upper-case
	Call  string // calling code, digits
	Trunk string // national trunk prefix, dropped from national numbers; "" when none
	IDD   string // international prefix, dialled before a calling code
	NANP  bool   // North American Numbering Plan: 10-digit national numbers
}

// countries are the default countries shopsync knows. Italy and San
// Marino have no trunk prefix: their leading 0 is part of the number.
var countries = []Country{
	{"AE", "971", "0", "00", false},
	{"AT", "43", "0", "00", false},
	{"AU", "61", "0", "0011", false},
	{"BE", "32", "0", "00", false},
	{"CA", "1", "1", "011", true},
	{"CH", "41", "0", "00", false},
	{"CN", "86", "0", "00", false},
	{"CZ", "420", "", "00", false},
	{"DE", "49", "0", "00", false},
	{"DK", "45", "", "00", false},
	{"ES", "34", "", "00", false},
	{"FI", "358", "0", "00", false},
	{"FR", "33", "0", "00", false},
	{"GB", "44", "0", "00", false},
	{"GR", "30", "", "00", false},
	{"HK", "852", "", "001", false},
	{"IE", "353", "0", "00", false},
	{"IL", "972", "0", "00", false},
	{"IN", "91", "0", "00", false},
	{"IT", "39", "", "00", false},
	{"JP", "81", "0", "010", false},
	{"LU", "352", "", "00", false},
	{"MX", "52", "", "00", false},
	{"NL", "31", "0", "00", false},
	{"NO", "47", "", "00", false},
	{"NZ", "64", "0", "00", false},
	{"PL", "48", "", "00", false},
	{"PT", "351", "", "00", false},
	{"SE", "46", "0", "00", false},
	{"SG", "65", "", "001", false},
	{"SM", "378", "", "00", false},
	{"US", "1", "1", "011", true},
	{"ZA", "27", "0", "00", false},
}

// Countries returns the ISO codes of the countries E164 knows, sorted.
func Countries() []string {
	out := make([]string, len(countries))
	for i, c := range countries {
		out[i] = c.Code
	}
	return out
}

// Lookup returns the country with ISO code code, in any case.
func Lookup(code string) (Country, bool) {
	code = strings.ToUpper(code)
	i, ok := slices.BinarySearchFunc(countries, code, func(c Country, code string) int {
		return strings.Compare(c.Code, code)
	})
	if !ok {
		return Country{}, false
	}
	return countries[i], true
}

// E164 returns raw in E.164, reading a number without a country code as
// national to country (an ISO code from Countries, or "" for none). The
// second result is false when raw has no E.164 form (see the package
// comment). A number already in E.164 comes back unchanged, without
// allocating.
func E164(raw, country string) (string, bool) {
	if isE164(raw) {
		return raw, true
	}
	var buf [32]byte
	digits, plus, ok := clean(buf[:0], raw)
	if !ok {
		return "", false
	}
	var c Country
	hasCountry := false
	if country != "" {
		c, hasCountry = Lookup(country)
	}
	switch {
	case plus:
	case hasCountry && hasPrefix(digits, c.IDD):
		digits = digits[len(c.IDD):]
	case hasCountry:
		national := digits
		if c.NANP {
			if len(national) == 11 && national[0] == '1' {
				national = national[1:]
			}
			if len(national) != 10 || national[0] < '2' {
				return "", false
			}
		} else if hasPrefix(national, c.Trunk) {
			national = national[len(c.Trunk):]
		}
		digits = append([]byte(c.Call), national...)
	default:
		return "", false
	}
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	if digits[0] == '1' && (len(digits) != 11 || digits[1] < '2') {
		return "", false // North America: +1, then ten digits, area code 2–9
	}
	return "+" + string(digits), true
}

// isE164 reports whether s is already written in E.164.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if s[1] == '1' && (len(s) != 12 || s[2] < '2') {
		return false
	}
	return true
}

// clean appends raw's digits to buf, dropping separators and a "(0)"
// after a leading "+"; plus reports the leading "+". ok is false for any
// other character, or a "+" elsewhere.
func clean(buf []byte, raw string) (digits []byte, plus, ok bool) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "+") {
		plus = true
		s = s[1:]
		if i := strings.Index(s, "(0)"); i >= 0 && !strings.ContainsAny(s[:i], "()") {
			s = s[:i] + s[i+3:]
		}
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			buf = append(buf, byte(r))
		case r == '-' || r == '.' || r == '/' || r == '(' || r == ')' || unicode.IsSpace(r):
		default:
			return nil, false, false
		}
		if len(buf) > 20 {
			return nil, false, false
		}
	}
	return buf, plus, len(buf) > 0
}

func hasPrefix(b []byte, p string) bool {
	return p != "" && len(b) >= len(p) && string(b[:len(p)]) == p
}
