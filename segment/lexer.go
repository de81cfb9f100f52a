package segment

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // a field name or a keyword, lower-cased
	tString           // "text" or 'text'; val holds it unquoted
	tNumber           // 12, 12.50
	tDuration         // 30d: digits, then letters (the unit)
	tOp               // = != <> < <= > >= ( ) , + -
)

// token is one lexeme. pos is its byte offset in the source; for a
// duration, unit is the offset of its unit.
type token struct {
	kind tokKind
	val  string
	pos  int
	unit int
}

func (t token) is(kind tokKind, val string) bool { return t.kind == kind && t.val == val }

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end"
	case tString:
		return "text " + quote(t.val)
	}
	return quote(t.val)
}

// quote quotes s for a message, shortened.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:37]) + "..."
	}
	return `"` + s + `"`
}

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isLetter(c) || c == '_':
			j := i + 1
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j]) || src[j] == '_') {
				j++
			}
			toks = append(toks, token{kind: tIdent, val: strings.ToLower(src[i:j]), pos: i})
			i = j
		case isDigit(c):
			j := i + 1
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
				j += 2
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j < len(src) && (isLetter(src[j]) || src[j] == '_') {
				k := j + 1
				for k < len(src) && (isLetter(src[k]) || isDigit(src[k]) || src[k] == '_') {
					k++
				}
				toks = append(toks, token{kind: tDuration, val: src[i:k], pos: i, unit: j})
				i = k
				continue
			}
			toks = append(toks, token{kind: tNumber, val: src[i:j], pos: i})
			i = j
		case c == '"' || c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, val: s, pos: i})
			i += n
		default:
			op, err := lexOp(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tOp, val: op, pos: i})
			i += len(op)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// lexString reads the quoted text at src[i:]: a backslash takes the
// next character as is. It returns the text and the length read.
func lexString(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case q:
			return b.String(), j + 1 - i, nil
		case '\\':
			if j+1 == len(src) {
				return "", 0, errorf(src, i, "text not closed: add %c", q)
			}
			j++
		}
		b.WriteByte(src[j])
	}
	return "", 0, errorf(src, i, "text not closed: add %c", q)
}

// lexOp reads the operator at src[i:].
func lexOp(src string, i int) (string, error) {
	for _, op := range [...]string{"!=", "<>", "<=", ">=", "==", "=", "<", ">", "(", ")", ",", "+", "-"} {
		if strings.HasPrefix(src[i:], op) {
			return op, nil
		}
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	if r == '“' || r == '”' || r == '‘' || r == '’' {
		return "", errorf(src, i, "curly quote %q: write text between straight quotes \"…\"", r)
	}
	if r == utf8.RuneError {
		return "", errorf(src, i, "invalid UTF-8")
	}
	return "", errorf(src, i, "unexpected character %q", r)
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
