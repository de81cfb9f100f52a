package store

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldFunc is the SQL function the contact search compares with:
// shopsync_fold(text) is Fold(text). It is registered on every
// connection the store opens (see sqliteDriver); a sqlite3 shell does not
// have it, so nothing stored depends on it.
const foldFunc = "shopsync_fold"

// Fold makes text comparable the way a person searches it: lower case,
// and Latin, Greek and Cyrillic letters without their accents, so that
// "Nguyen" finds "Nguyễn" and "jose" finds "José". Only the combining
// diacritical marks (U+0300–U+036F) are dropped: Japanese voiced marks
// and Hangul are composed back as they were, so "が" never matches "か".
// A few letters that are not a base letter with a mark fold too (đ, ø,
// ł, ß...).
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if r >= 0x300 && r <= 0x36f {
			continue
		}
		if f, ok := foldLetters[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// foldLetters are letters NFD does not split into a base and a mark.
var foldLetters = map[rune]string{
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l",
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'þ': "th", 'Þ': "th",
	'ı': "i", 'ħ': "h", 'Ħ': "h",
}
