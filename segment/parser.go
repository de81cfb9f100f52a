package segment

import (
	"strconv"
	"time"
)

// Limits on a segment, so that one cannot exhaust the parser's stack or
// SQLite's host parameters.
const (
	// MaxLen is the longest segment, in bytes.
	MaxLen = 8 << 10
	// MaxDepth is how deeply parentheses and not may nest.
	MaxDepth = 50
	// MaxValues is the most values an in (...) list may hold, and the most
	// values a whole segment may hold.
	MaxValues = 1000
	// MaxDays is the furthest a relative date reaches: about a century.
	MaxDays = 36600
)

// parser reads tokens into a syntax tree.
type parser struct {
	src    string
	toks   []token
	i      int
	depth  int
	values int
}

// parse parses src into a syntax tree.
func parse(src string) (expr, error) {
	if len(src) > MaxLen {
		return nil, errorf(src, MaxLen, "segment longer than %d bytes", MaxLen)
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tEOF {
		return nil, errorf(src, 0, "empty segment: write a condition, or true for every contact")
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.is(tOp, ")") {
			return nil, errorf(src, t.pos, "unexpected ): no ( to close")
		}
		return nil, errorf(src, t.pos, "unexpected %s: join conditions with and or or", t.describe())
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword consumes the keyword kw if it comes next.
func (p *parser) keyword(kw string) bool {
	if p.peek().is(tIdent, kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().is(tIdent, "or") {
		at := p.next().pos
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &binary{op: "or", at: at, l: l, r: r}
	}
	return l, nil
}

func (p *parser) and() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().is(tIdent, "and") {
		at := p.next().pos
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &binary{op: "and", at: at, l: l, r: r}
	}
	return l, nil
}

func (p *parser) unary() (expr, error) {
	if p.depth++; p.depth > MaxDepth {
		return nil, errorf(p.src, p.peek().pos, "nested more than %d deep", MaxDepth)
	}
	defer func() { p.depth-- }()
	if p.peek().is(tIdent, "not") {
		at := p.next().pos
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &not{at: at, x: x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	switch {
	case t.is(tOp, "("):
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); !c.is(tOp, ")") {
			return nil, errorf(p.src, c.pos, "expected ) to close the ( at column %d, found %s", column(p.src, t.pos), c.describe())
		}
		return e, nil
	case t.is(tIdent, "true"), t.is(tIdent, "false"):
		return &constant{at: t.pos, v: t.val == "true"}, nil
	case t.is(tIdent, "has"):
		if !p.keyword("tag") {
			return nil, errorf(p.src, p.peek().pos, `expected tag after has: has tag "VIP"`)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		return &hasTag{at: t.pos, v: v}, nil
	case t.kind == tIdent && keywords[t.val]:
		return nil, errorf(p.src, t.pos, "expected a field name or (, found the keyword %s", t.val)
	case t.kind == tIdent:
		return p.predicate(ident{name: t.val, at: t.pos})
	case t.kind == tEOF:
		return nil, errorf(p.src, t.pos, "segment ends too soon: expected a condition")
	}
	return nil, errorf(p.src, t.pos, "expected a field name or (, found %s", t.describe())
}

// keywords are the words that cannot name a field.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "null": true, "has": true,
	"tag": true, "contains": true, "starts_with": true, "ends_with": true, "true": true,
	"false": true, "now": true,
}

// predicate reads what follows a field name.
func (p *parser) predicate(f ident) (expr, error) {
	t := p.peek()
	switch {
	case t.kind == tOp && isCompare(t.val):
		p.next()
		op := t.val
		switch op {
		case "==":
			op = "="
		case "<>":
			op = "!="
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		return &compare{f: f, op: op, at: t.pos, v: v}, nil
	case t.is(tIdent, "is"):
		p.next()
		neg := p.keyword("not")
		if !p.keyword("null") {
			return nil, errorf(p.src, p.peek().pos, "expected null after is: %s is null, %s is not null", f.name, f.name)
		}
		return &isNull{f: f, neg: neg}, nil
	case t.is(tIdent, "not"):
		p.next()
		switch n := p.peek(); {
		case n.is(tIdent, "in"):
			return p.in(f, true)
		case n.is(tIdent, "contains"), n.is(tIdent, "starts_with"), n.is(tIdent, "ends_with"):
			return p.match(f, true)
		default:
			return nil, errorf(p.src, n.pos, "expected in, contains, starts_with or ends_with after not, found %s", n.describe())
		}
	case t.is(tIdent, "in"):
		return p.in(f, false)
	case t.is(tIdent, "contains"), t.is(tIdent, "starts_with"), t.is(tIdent, "ends_with"):
		return p.match(f, false)
	case t.kind == tEOF, t.is(tIdent, "and"), t.is(tIdent, "or"), t.is(tOp, ")"):
		return &truth{f: f}, nil
	}
	return nil, errorf(p.src, t.pos, "expected an operator after %s (=, !=, <, <=, >, >=, in, is null, contains, starts_with, ends_with), found %s", f.name, t.describe())
}

func isCompare(op string) bool {
	switch op {
	case "=", "==", "!=", "<>", "<", "<=", ">", ">=":
		return true
	}
	return false
}

func (p *parser) match(f ident, neg bool) (expr, error) {
	t := p.next()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &match{f: f, op: t.val, neg: neg, at: t.pos, v: v}, nil
}

func (p *parser) in(f ident, neg bool) (expr, error) {
	at := p.next().pos
	if o := p.next(); !o.is(tOp, "(") {
		return nil, errorf(p.src, o.pos, `expected ( after in: %s in ("a", "b")`, f.name)
	}
	e := &in{f: f, neg: neg, at: at}
	for {
		if p.peek().is(tOp, ")") && len(e.vs) > 0 {
			p.next() // a trailing comma
			return e, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		e.vs = append(e.vs, v)
		switch t := p.next(); {
		case t.is(tOp, ")"):
			return e, nil
		case !t.is(tOp, ","):
			return nil, errorf(p.src, t.pos, "expected , or ) in the list, found %s", t.describe())
		}
	}
}

// value reads a literal.
func (p *parser) value() (value, error) {
	if p.values++; p.values > MaxValues {
		return value{}, errorf(p.src, p.peek().pos, "more than %d values", MaxValues)
	}
	t := p.next()
	switch {
	case t.kind == tString:
		return value{kind: vString, text: t.val, at: t.pos}, nil
	case t.kind == tNumber:
		return value{kind: vNumber, text: t.val, at: t.pos}, nil
	case t.is(tOp, "-"):
		n := p.next()
		if n.kind != tNumber || n.pos != t.pos+1 {
			return value{}, errorf(p.src, n.pos, "expected a number after -, found %s", n.describe())
		}
		return value{kind: vNumber, text: "-" + n.val, at: t.pos}, nil
	case t.is(tIdent, "true"), t.is(tIdent, "false"):
		return value{kind: vBool, b: t.val == "true", at: t.pos}, nil
	case t.is(tIdent, "now"):
		return p.now(t)
	case t.is(tIdent, "null"):
		return value{}, errorf(p.src, t.pos, "compare with null using is null or is not null")
	case t.kind == tDuration:
		return value{}, errorf(p.src, t.pos, "a duration alone is not a value: now - %s", t.val)
	case t.kind == tIdent:
		return value{}, errorf(p.src, t.pos, "expected a value, found %s: quote text, \"%s\"", t.describe(), t.val)
	case t.kind == tEOF:
		return value{}, errorf(p.src, t.pos, "segment ends too soon: expected a value")
	}
	return value{}, errorf(p.src, t.pos, "expected a value, found %s", t.describe())
}

// now reads now, now - 30d, now + 12h.
func (p *parser) now(t token) (value, error) {
	v := value{kind: vNow, at: t.pos}
	sign := p.peek()
	if !sign.is(tOp, "-") && !sign.is(tOp, "+") {
		return v, nil
	}
	p.next()
	d := p.next()
	switch d.kind {
	case tDuration:
	case tNumber:
		return value{}, errorf(p.src, d.pos+len(d.val), "missing unit after %s: use d, h or m (now - %sd)", d.val, d.val)
	default:
		return value{}, errorf(p.src, d.pos, "expected a duration after now %s, such as 30d, 12h or 15m; found %s", sign.val, d.describe())
	}
	num, unit := d.val[:d.unit-d.pos], d.val[d.unit-d.pos:]
	var per time.Duration
	var most int64
	switch unit {
	case "d":
		per, most = 24*time.Hour, MaxDays
	case "h":
		per, most = time.Hour, MaxDays*24
	case "m":
		per, most = time.Minute, MaxDays*24*60
	default:
		return value{}, errorf(p.src, d.unit, "unknown unit %s: use d, h or m", quote(unit))
	}
	for i := 0; i < len(num); i++ {
		if !isDigit(num[i]) {
			return value{}, errorf(p.src, d.pos, "%s: use a whole number of %s", num, unitName(unit))
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > most {
		return value{}, errorf(p.src, d.pos, "%s%s reaches too far: at most %d days", num, unit, MaxDays)
	}
	v.offset = time.Duration(n) * per
	if sign.val == "-" {
		v.offset = -v.offset
	}
	return v, nil
}

func unitName(u string) string {
	switch u {
	case "d":
		return "days"
	case "h":
		return "hours"
	}
	return "minutes"
}

// column returns the column, from 1 in characters, of pos on its line.
func column(src string, pos int) int {
	_, col, _ := (&Error{Src: src, Pos: pos}).where()
	return col
}
