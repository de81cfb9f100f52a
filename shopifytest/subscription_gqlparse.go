package shopifytest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A minimal GraphQL reader, enough for the webhook subscription requests
// real clients send: operations with variable definitions, fields with
// aliases and arguments (inline values or variables), inline fragments,
// named fragments and ignored directives. It validates nothing against a
// schema; subscription_graphql.go does that.

// gqlToken is one lexical token.
type gqlToken struct {
	kind      byte // 'n' name, 's' string, '#' number, 'p' punctuator, 0 end
	val       string
	line, col int
}

type gqlLexer struct {
	src       string
	pos       int
	line, col int
}

// gqlParseError is a syntax error, at a place in the query.
type gqlParseError struct {
	msg       string
	line, col int
}

func (e *gqlParseError) Error() string { return e.msg }

func (l *gqlLexer) errorf(line, col int, format string, args ...any) *gqlParseError {
	return &gqlParseError{fmt.Sprintf(format, args...), line, col}
}

// advance moves over n bytes, none of them a newline.
func (l *gqlLexer) advance(n int) {
	l.pos += n
	l.col += n
}

// next returns the next token.
func (l *gqlLexer) next() (gqlToken, error) {
	for l.pos < len(l.src) {
		switch c := l.src[l.pos]; {
		case c == '\n':
			l.pos++
			l.line, l.col = l.line+1, 1
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			l.advance(1)
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case strings.HasPrefix(l.src[l.pos:], "\ufeff"):
			l.pos += len("\ufeff")
		default:
			return l.token()
		}
	}
	return gqlToken{line: l.line, col: l.col}, nil
}

func isNameStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isNameByte(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

func (l *gqlLexer) token() (gqlToken, error) {
	t := gqlToken{line: l.line, col: l.col}
	start, c := l.pos, l.src[l.pos]
	switch {
	case strings.HasPrefix(l.src[l.pos:], "..."):
		l.advance(3)
		t.kind, t.val = 'p', "..."
	case strings.IndexByte("!$&()/:=@[]{}|", c) >= 0:
		l.advance(1)
		t.kind, t.val = 'p', string(c)
	case isNameStart(c):
		for l.pos < len(l.src) && isNameByte(l.src[l.pos]) {
			l.advance(1)
		}
		t.kind, t.val = 'n', l.src[start:l.pos]
	case c == '-' || c >= '0' && c <= '9':
		l.advance(1)
		for l.pos < len(l.src) && strings.IndexByte("0123456789.eE+-", l.src[l.pos]) >= 0 {
			l.advance(1)
		}
		t.kind, t.val = '#', l.src[start:l.pos]
		if _, err := strconv.ParseFloat(t.val, 64); err != nil {
			return t, l.errorf(t.line, t.col, "Parse error on %q (error) at [%d, %d]", t.val, t.line, t.col)
		}
	case strings.HasPrefix(l.src[l.pos:], `"""`):
		end := strings.Index(l.src[l.pos+3:], `"""`)
		if end < 0 {
			return t, l.errorf(t.line, t.col, "Parse error: unterminated block string at [%d, %d]", t.line, t.col)
		}
		raw := l.src[l.pos+3 : l.pos+3+end]
		for _, r := range l.src[l.pos : l.pos+6+end] {
			if r == '\n' {
				l.line, l.col = l.line+1, 0
			}
			l.col++
		}
		l.pos += 6 + end
		t.kind, t.val = 's', strings.TrimSpace(strings.ReplaceAll(raw, `\"""`, `"""`))
	case c == '"':
		s, err := l.str()
		if err != nil {
			return t, err
		}
		t.kind, t.val = 's', s
	default:
		r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
		return t, l.errorf(t.line, t.col, "Parse error on %q (error) at [%d, %d]", string(r), t.line, t.col)
	}
	return t, nil
}

// str reads a quoted string with its escapes.
func (l *gqlLexer) str() (string, error) {
	line, col := l.line, l.col
	l.advance(1)
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '"':
			l.advance(1)
			return b.String(), nil
		case c == '\n':
			return "", l.errorf(line, col, "Parse error: unterminated string at [%d, %d]", line, col)
		case c == '\\' && l.pos+1 < len(l.src):
			e := l.src[l.pos+1]
			if e == 'u' && l.pos+6 <= len(l.src) {
				n, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 16)
				if err != nil {
					return "", l.errorf(line, col, "Parse error: bad unicode escape at [%d, %d]", line, col)
				}
				b.WriteRune(rune(n))
				l.advance(6)
				continue
			}
			r, ok := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[e]
			if !ok {
				return "", l.errorf(line, col, "Parse error: bad escape at [%d, %d]", line, col)
			}
			b.WriteByte(r)
			l.advance(2)
		default:
			_, size := utf8.DecodeRuneInString(l.src[l.pos:])
			b.WriteString(l.src[l.pos : l.pos+size])
			l.pos += size
			l.col++
		}
	}
	return "", l.errorf(line, col, "Parse error: unterminated string at [%d, %d]", line, col)
}

// gqlVarRef is a $variable in a value.
type gqlVarRef string

// gqlEnumValue is an enum value written inline.
type gqlEnumValue string

// gqlSel is a selection: a field, an inline fragment (Spread false,
// Name "" and On the type condition, maybe "") or a fragment spread
// (Spread true, Name the fragment).
type gqlSel struct {
	Alias, Name string
	Args        map[string]any // values: nil, bool, string, int64, float64, gqlVarRef, gqlEnumValue, []any, map[string]any
	Sels        []gqlSel
	On          string
	Fragment    bool // an inline fragment
	Spread      bool
	Line, Col   int
}

// key is the response key of a field.
func (s *gqlSel) key() string {
	if s.Alias != "" {
		return s.Alias
	}
	return s.Name
}

// gqlOp is an operation.
type gqlOp struct {
	Kind, Name string
	VarTypes   map[string]string
	VarDefault map[string]any
	Sels       []gqlSel
}

// gqlDoc is a parsed document.
type gqlDoc struct {
	Ops   []*gqlOp
	Frags map[string]*gqlSel // fragment name -> inline fragment
}

type gqlParser struct {
	lex   gqlLexer
	tok   gqlToken
	depth int // nesting of selection sets and values
}

// maxDepth bounds nesting, so that a hostile query cannot exhaust the
// stack.
const maxDepth = 64

// enter counts one level of nesting, failing past maxDepth; leave undoes
// it.
func (p *gqlParser) enter() error {
	if p.depth++; p.depth > maxDepth {
		return &gqlParseError{fmt.Sprintf("Parse error: nested too deep at [%d, %d]", p.tok.line, p.tok.col), p.tok.line, p.tok.col}
	}
	return nil
}

func (p *gqlParser) leave() { p.depth-- }

// parseGraphQL parses a query document.
func parseGraphQL(src string) (*gqlDoc, error) {
	p := &gqlParser{lex: gqlLexer{src: src, line: 1, col: 1}}
	if err := p.adv(); err != nil {
		return nil, err
	}
	doc := &gqlDoc{Frags: map[string]*gqlSel{}}
	for p.tok.kind != 0 {
		switch {
		case p.is('p', "{"):
			sels, err := p.selections()
			if err != nil {
				return nil, err
			}
			doc.Ops = append(doc.Ops, &gqlOp{Kind: "query", Sels: sels})
		case p.is('n', "query") || p.is('n', "mutation") || p.is('n', "subscription"):
			op, err := p.operation()
			if err != nil {
				return nil, err
			}
			doc.Ops = append(doc.Ops, op)
		case p.is('n', "fragment"):
			name, frag, err := p.fragment()
			if err != nil {
				return nil, err
			}
			doc.Frags[name] = frag
		default:
			return nil, p.unexpected()
		}
	}
	if len(doc.Ops) == 0 {
		return nil, &gqlParseError{"Parse error: the document has no operation", 1, 1}
	}
	return doc, nil
}

func (p *gqlParser) adv() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *gqlParser) is(kind byte, val string) bool { return p.tok.kind == kind && p.tok.val == val }

func (p *gqlParser) unexpected() error {
	if p.tok.kind == 0 {
		return &gqlParseError{fmt.Sprintf("Parse error on end of query at [%d, %d]", p.tok.line, p.tok.col), p.tok.line, p.tok.col}
	}
	return &gqlParseError{fmt.Sprintf("Parse error on %q at [%d, %d]", p.tok.val, p.tok.line, p.tok.col), p.tok.line, p.tok.col}
}

// expect consumes a punctuator.
func (p *gqlParser) expect(val string) error {
	if !p.is('p', val) {
		return p.unexpected()
	}
	return p.adv()
}

func (p *gqlParser) name() (string, error) {
	if p.tok.kind != 'n' {
		return "", p.unexpected()
	}
	n := p.tok.val
	return n, p.adv()
}

func (p *gqlParser) operation() (*gqlOp, error) {
	op := &gqlOp{Kind: p.tok.val, VarTypes: map[string]string{}, VarDefault: map[string]any{}}
	if err := p.adv(); err != nil {
		return nil, err
	}
	if p.tok.kind == 'n' {
		op.Name = p.tok.val
		if err := p.adv(); err != nil {
			return nil, err
		}
	}
	if p.is('p', "(") {
		if err := p.adv(); err != nil {
			return nil, err
		}
		for !p.is('p', ")") {
			if err := p.expect("$"); err != nil {
				return nil, err
			}
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			typ, err := p.typeRef()
			if err != nil {
				return nil, err
			}
			op.VarTypes[name] = typ
			if p.is('p', "=") {
				if err := p.adv(); err != nil {
					return nil, err
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				op.VarDefault[name] = v
			}
			if err := p.directives(); err != nil {
				return nil, err
			}
		}
		if err := p.adv(); err != nil {
			return nil, err
		}
	}
	if err := p.directives(); err != nil {
		return nil, err
	}
	sels, err := p.selections()
	op.Sels = sels
	return op, err
}

// typeRef reads a type such as [String!]! and returns it as written.
func (p *gqlParser) typeRef() (string, error) {
	var t string
	if p.is('p', "[") {
		if err := p.adv(); err != nil {
			return "", err
		}
		inner, err := p.typeRef()
		if err != nil {
			return "", err
		}
		if err := p.expect("]"); err != nil {
			return "", err
		}
		t = "[" + inner + "]"
	} else {
		n, err := p.name()
		if err != nil {
			return "", err
		}
		t = n
	}
	if p.is('p', "!") {
		t += "!"
		return t, p.adv()
	}
	return t, nil
}

func (p *gqlParser) fragment() (string, *gqlSel, error) {
	line, col := p.tok.line, p.tok.col
	if err := p.adv(); err != nil {
		return "", nil, err
	}
	name, err := p.name()
	if err != nil {
		return "", nil, err
	}
	if !p.is('n', "on") {
		return "", nil, p.unexpected()
	}
	if err := p.adv(); err != nil {
		return "", nil, err
	}
	on, err := p.name()
	if err != nil {
		return "", nil, err
	}
	if err := p.directives(); err != nil {
		return "", nil, err
	}
	sels, err := p.selections()
	return name, &gqlSel{On: on, Fragment: true, Sels: sels, Line: line, Col: col}, err
}

// directives skips @name(args) directives.
func (p *gqlParser) directives() error {
	for p.is('p', "@") {
		if err := p.adv(); err != nil {
			return err
		}
		if _, err := p.name(); err != nil {
			return err
		}
		if p.is('p', "(") {
			if _, err := p.args(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *gqlParser) selections() ([]gqlSel, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var sels []gqlSel
	for !p.is('p', "}") {
		sel, err := p.selection()
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
	}
	if len(sels) == 0 {
		return nil, p.unexpected()
	}
	return sels, p.adv()
}

func (p *gqlParser) selection() (gqlSel, error) {
	sel := gqlSel{Line: p.tok.line, Col: p.tok.col}
	if p.is('p', "...") {
		if err := p.adv(); err != nil {
			return sel, err
		}
		switch {
		case p.is('n', "on"):
			if err := p.adv(); err != nil {
				return sel, err
			}
			on, err := p.name()
			if err != nil {
				return sel, err
			}
			sel.On = on
			fallthrough
		case p.is('p', "{") || p.is('p', "@"):
			sel.Fragment = true
			if err := p.directives(); err != nil {
				return sel, err
			}
			sels, err := p.selections()
			sel.Sels = sels
			return sel, err
		default:
			name, err := p.name()
			if err != nil {
				return sel, err
			}
			sel.Spread, sel.Name = true, name
			return sel, p.directives()
		}
	}
	name, err := p.name()
	if err != nil {
		return sel, err
	}
	sel.Name = name
	if p.is('p', ":") {
		if err := p.adv(); err != nil {
			return sel, err
		}
		if sel.Name, err = p.name(); err != nil {
			return sel, err
		}
		sel.Alias = name
	}
	if p.is('p', "(") {
		if sel.Args, err = p.args(); err != nil {
			return sel, err
		}
	}
	if err := p.directives(); err != nil {
		return sel, err
	}
	if p.is('p', "{") {
		sel.Sels, err = p.selections()
	}
	return sel, err
}

func (p *gqlParser) args() (map[string]any, error) {
	if err := p.adv(); err != nil {
		return nil, err
	}
	args := map[string]any{}
	for !p.is('p', ")") {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		if args[name], err = p.value(); err != nil {
			return nil, err
		}
	}
	return args, p.adv()
}

func (p *gqlParser) value() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.tok
	switch {
	case p.is('p', "$"):
		if err := p.adv(); err != nil {
			return nil, err
		}
		n, err := p.name()
		return gqlVarRef(n), err
	case t.kind == 's':
		return t.val, p.adv()
	case t.kind == '#':
		if n, err := strconv.ParseInt(t.val, 10, 64); err == nil {
			return n, p.adv()
		}
		f, _ := strconv.ParseFloat(t.val, 64)
		return f, p.adv()
	case t.kind == 'n':
		var v any
		switch t.val {
		case "true":
			v = true
		case "false":
			v = false
		case "null":
			v = nil
		default:
			v = gqlEnumValue(t.val)
		}
		return v, p.adv()
	case p.is('p', "["):
		if err := p.adv(); err != nil {
			return nil, err
		}
		list := []any{}
		for !p.is('p', "]") {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, p.adv()
	case p.is('p', "{"):
		if err := p.adv(); err != nil {
			return nil, err
		}
		obj := map[string]any{}
		for !p.is('p', "}") {
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			if obj[name], err = p.value(); err != nil {
				return nil, err
			}
		}
		return obj, p.adv()
	}
	return nil, p.unexpected()
}
