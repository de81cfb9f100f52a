package segment

import "time"

// The syntax tree, before any field is looked up.

// expr is a condition.
type expr interface{ pos() int }

type (
	// binary is a and b, or a or b.
	binary struct {
		op   string // "and", "or"
		at   int
		l, r expr
	}

	// not is not x.
	not struct {
		at int
		x  expr
	}

	// constant is true or false.
	constant struct {
		at int
		v  bool
	}

	// compare is field op value, op one of = != < <= > >=.
	compare struct {
		f  ident
		op string
		at int // the operator
		v  value
	}

	// in is field [not] in (values).
	in struct {
		f   ident
		neg bool
		at  int // "in"
		vs  []value
	}

	// isNull is field is [not] null.
	isNull struct {
		f   ident
		neg bool
	}

	// match is field [not] contains|starts_with|ends_with value.
	match struct {
		f   ident
		op  string
		neg bool
		at  int // the operator
		v   value
	}

	// hasTag is has tag value.
	hasTag struct {
		at int
		v  value
	}

	// truth is a field alone: a boolean field that must be true.
	truth struct{ f ident }
)

// ident is a field name as written (lower-cased) and where.
type ident struct {
	name string
	at   int
}

// valueKind is the kind of a literal value.
type valueKind int

const (
	vString valueKind = iota
	vNumber           // text: digits, a point and digits, maybe a leading -
	vBool
	vNow // now, plus offset
)

// value is a literal as written.
type value struct {
	kind   valueKind
	text   string // vString: the text; vNumber: the number
	b      bool
	offset time.Duration // vNow
	at     int
}

func (e *binary) pos() int   { return e.at }
func (e *not) pos() int      { return e.at }
func (e *constant) pos() int { return e.at }
func (e *compare) pos() int  { return e.f.at }
func (e *in) pos() int       { return e.f.at }
func (e *isNull) pos() int   { return e.f.at }
func (e *match) pos() int    { return e.f.at }
func (e *hasTag) pos() int   { return e.at }
func (e *truth) pos() int    { return e.f.at }
