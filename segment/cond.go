package segment

import (
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/decimal"
)

// A cond is a checked condition. It writes itself as SQL and evaluates
// itself on a contact, with the same meaning:
//
//   - A comparison with a null field is false, except != and not in,
//     which are the negations of = and in and so true. not is true when
//     its condition is false, whatever made it false.
//   - In SQL each condition is 1 when true and 0 or NULL when false;
//     not is written NOT coalesce(x, 0) so that NULL counts as false.
type cond interface {
	sql(b *sqlBuilder)
	eval(c *shopsync.Contact, now time.Time) bool
}

// sqlBuilder collects a WHERE fragment and its arguments, and the
// expressions of the row it reads.
type sqlBuilder struct {
	strings.Builder
	args  []any
	now   time.Time
	reads map[string]bool
}

// read writes expr, an expression of the row, and notes that the
// condition reads it.
func (b *sqlBuilder) read(expr string) {
	b.WriteString(expr)
	if b.reads == nil {
		b.reads = map[string]bool{}
	}
	b.reads[expr] = true
}

// arg writes a ? for v.
func (b *sqlBuilder) arg(v any) {
	b.WriteByte('?')
	b.args = append(b.args, v)
}

type (
	andCond   struct{ l, r cond }
	orCond    struct{ l, r cond }
	notCond   struct{ x cond }
	constCond bool
)

func (c *andCond) sql(b *sqlBuilder) {
	b.WriteByte('(')
	c.l.sql(b)
	b.WriteString(" AND ")
	c.r.sql(b)
	b.WriteByte(')')
}

func (c *andCond) eval(k *shopsync.Contact, now time.Time) bool {
	return c.l.eval(k, now) && c.r.eval(k, now)
}

func (c *orCond) sql(b *sqlBuilder) {
	b.WriteByte('(')
	c.l.sql(b)
	b.WriteString(" OR ")
	c.r.sql(b)
	b.WriteByte(')')
}

func (c *orCond) eval(k *shopsync.Contact, now time.Time) bool {
	return c.l.eval(k, now) || c.r.eval(k, now)
}

func (c *notCond) sql(b *sqlBuilder) {
	b.WriteString("NOT coalesce(")
	c.x.sql(b)
	b.WriteString(", 0)")
}

func (c *notCond) eval(k *shopsync.Contact, now time.Time) bool { return !c.x.eval(k, now) }

func (c constCond) sql(b *sqlBuilder) {
	if c {
		b.WriteByte('1')
	} else {
		b.WriteByte('0')
	}
}

func (c constCond) eval(*shopsync.Contact, time.Time) bool { return bool(c) }

// operandKind is the kind of a checked value.
type operandKind int

const (
	oInt  operandKind = iota
	oDec              // s: decimal text
	oBool             // b
	oStr              // s: folded text
	oTime             // t: an instant
	oDay              // t: midnight UTC starting a day
	oNow              // now + off
)

// operand is a value converted to its field's type.
type operand struct {
	kind operandKind
	i    int64
	s    string
	b    bool
	t    time.Time
	off  time.Duration
}

// instant returns the time of a time operand, now being now.
func (o operand) instant(now time.Time) time.Time {
	if o.kind == oNow {
		t := now.UTC().Add(o.off)
		switch {
		case t.Year() < 0:
			return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
		case t.Year() > 9999:
			return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
		}
		return t
	}
	return o.t
}

// storedTime is how the store writes times: fixed width, so that they
// compare as text in the order of time.
const storedTime = "2006-01-02T15:04:05.000000000Z07:00"

// sqlValue returns the SQL argument of o.
func (o operand) sqlValue(now time.Time) any {
	switch o.kind {
	case oInt:
		return o.i
	case oBool:
		if o.b {
			return int64(1)
		}
		return int64(0)
	case oDec, oStr:
		return o.s
	}
	return o.instant(now).Format(storedTime)
}

// cmpCond is field op value.
type cmpCond struct {
	f  *field
	op string
	v  operand
}

func (c *cmpCond) sql(b *sqlBuilder) {
	if c.v.kind == oDay {
		c.daySQL(b)
		return
	}
	op := c.op
	if op == "!=" {
		// true for NULL: not (=)
		if c.f.Type != Decimal && c.f.Type != String {
			b.read(c.f.column)
			b.WriteString(" IS NOT ")
			b.arg(c.v.sqlValue(b.now))
			return
		}
		b.WriteString("NOT coalesce(")
		defer b.WriteString(", 0)")
		op = "="
	}
	switch c.f.Type {
	case Decimal:
		b.decimalSQL(c.f.column, op, []string{c.v.s})
	case String:
		if op == "=" {
			b.textIn(c.f.text(), []string{c.v.s})
		} else {
			b.textCmp(c.f.text(), op, c.v.s)
		}
	default:
		b.read(c.f.column)
		b.WriteString(" " + op + " ")
		b.arg(c.v.sqlValue(b.now))
	}
}

// daySQL compares a time with a whole day, d to d+1: = is within the
// day, <= up to its end, > after its end.
func (c *cmpCond) daySQL(b *sqlBuilder) {
	start := c.v.t.Format(storedTime)
	end := c.v.t.AddDate(0, 0, 1).Format(storedTime)
	col := c.f.column
	switch c.op {
	case "=", "!=":
		if c.op == "!=" {
			b.WriteString("NOT coalesce(")
		}
		b.WriteByte('(')
		b.read(col)
		b.WriteString(" >= ")
		b.arg(start)
		b.WriteString(" AND ")
		b.read(col)
		b.WriteString(" < ")
		b.arg(end)
		b.WriteByte(')')
		if c.op == "!=" {
			b.WriteString(", 0)")
		}
	case "<":
		b.read(col)
		b.WriteString(" < ")
		b.arg(start)
	case "<=":
		b.read(col)
		b.WriteString(" < ")
		b.arg(end)
	case ">":
		b.read(col)
		b.WriteString(" >= ")
		b.arg(end)
	case ">=":
		b.read(col)
		b.WriteString(" >= ")
		b.arg(start)
	}
}

func (c *cmpCond) eval(k *shopsync.Contact, now time.Time) bool {
	v := c.f.get(k)
	if c.v.kind == oDay {
		t, ok := v.(time.Time)
		if !ok {
			return c.op == "!="
		}
		start, end := c.v.t, c.v.t.AddDate(0, 0, 1)
		switch c.op {
		case "=":
			return !t.Before(start) && t.Before(end)
		case "!=":
			return t.Before(start) || !t.Before(end)
		case "<":
			return t.Before(start)
		case "<=":
			return t.Before(end)
		case ">":
			return !t.Before(end)
		case ">=":
			return !t.Before(start)
		}
	}
	r, ok := compareValue(c.f.Type, v, c.v, now)
	if !ok {
		return c.op == "!="
	}
	return holds(c.op, r)
}

// compareValue compares a field's value with an operand: -1, 0, 1; false
// when the value is null or not of the field's type.
func compareValue(t Type, v any, o operand, now time.Time) (int, bool) {
	switch t {
	case Integer:
		n, ok := v.(int64)
		if !ok {
			return 0, false
		}
		return cmp3(n, o.i), true
	case Decimal:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		r, err := decimal.Cmp(s, o.s)
		return r, err == nil
	case Boolean:
		x, ok := v.(bool)
		if !ok {
			return 0, false
		}
		if x == o.b {
			return 0, true
		}
		return 1, true // only = and != apply
	case String:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(s, o.s), true
	case Timestamp:
		x, ok := v.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(o.instant(now)), true
	}
	return 0, false
}

func cmp3[T int64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func holds(op string, r int) bool {
	switch op {
	case "=":
		return r == 0
	case "!=":
		return r != 0
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	case ">=":
		return r >= 0
	}
	return false
}

// inCond is field [not] in (values).
type inCond struct {
	f   *field
	neg bool
	vs  []operand
}

func (c *inCond) sql(b *sqlBuilder) {
	if c.neg {
		b.WriteString("NOT coalesce(")
	}
	switch c.f.Type {
	case Decimal:
		vs := make([]string, len(c.vs))
		for i, v := range c.vs {
			vs[i] = v.s
		}
		b.decimalSQL(c.f.column, "in", vs)
	case String:
		lits := make([]string, len(c.vs))
		for i, v := range c.vs {
			lits[i] = v.s
		}
		b.textIn(c.f.text(), lits)
	default:
		b.read(c.f.column)
		b.WriteString(" IN (")
		for i, v := range c.vs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.arg(v.sqlValue(b.now))
		}
		b.WriteByte(')')
	}
	if c.neg {
		b.WriteString(", 0)")
	}
}

func (c *inCond) eval(k *shopsync.Contact, now time.Time) bool {
	v := c.f.get(k)
	for _, o := range c.vs {
		if r, ok := compareValue(c.f.Type, v, o, now); ok && r == 0 {
			return !c.neg
		}
	}
	return c.neg
}

// nullCond is field is [not] null.
type nullCond struct {
	f   *field
	neg bool
}

func (c *nullCond) sql(b *sqlBuilder) {
	b.read(c.f.column)
	if c.neg {
		b.WriteString(" IS NOT NULL")
	} else {
		b.WriteString(" IS NULL")
	}
}

func (c *nullCond) eval(k *shopsync.Contact, _ time.Time) bool {
	return (c.f.get(k) == nil) != c.neg
}

// matchCond is field [not] contains|starts_with|ends_with text, on folded
// text.
type matchCond struct {
	f   *field
	op  string
	neg bool
	s   string // folded
}

// likeEscaper makes text a LIKE pattern's literal part, ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (c *matchCond) sql(b *sqlBuilder) {
	pattern := func(s string) string {
		pat := likeEscaper.Replace(s)
		switch c.op {
		case "contains":
			pat = "%" + pat + "%"
		case "starts_with":
			pat += "%"
		case "ends_with":
			pat = "%" + pat
		}
		return pat
	}
	if c.neg {
		b.WriteString("NOT coalesce(")
	}
	b.textLike(c.f.text(), c.s, pattern)
	if c.neg {
		b.WriteString(", 0)")
	}
}

func (c *matchCond) eval(k *shopsync.Contact, _ time.Time) bool {
	s, ok := c.f.get(k).(string)
	if !ok {
		return c.neg
	}
	var r bool
	switch c.op {
	case "contains":
		r = strings.Contains(s, c.s)
	case "starts_with":
		r = strings.HasPrefix(s, c.s)
	case "ends_with":
		r = strings.HasSuffix(s, c.s)
	}
	return r != c.neg
}

// tagCond is has tag "x", ignoring case.
type tagCond struct{ tag string }

func (c *tagCond) sql(b *sqlBuilder) { b.tagSQL(c.tag) }

func (c *tagCond) eval(k *shopsync.Contact, _ time.Time) bool {
	for _, t := range k.Tags {
		if strings.ToLower(t) == c.tag {
			return true
		}
	}
	return false
}

// truthCond is a boolean field alone.
type truthCond struct{ f *field }

func (c *truthCond) sql(b *sqlBuilder) {
	b.read(c.f.column)
	b.WriteString(" = 1")
}

func (c *truthCond) eval(k *shopsync.Contact, _ time.Time) bool {
	v, _ := c.f.get(k).(bool)
	return v
}
