package segment

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync/internal/decimal"
)

// checker turns a syntax tree into conditions, looking fields up and
// converting each value to the type of its field.
type checker struct {
	src    string
	fields map[string]*field
}

func (k *checker) check(e expr) (cond, error) {
	switch e := e.(type) {
	case *binary:
		l, err := k.check(e.l)
		if err != nil {
			return nil, err
		}
		r, err := k.check(e.r)
		if err != nil {
			return nil, err
		}
		if e.op == "and" {
			return &andCond{l, r}, nil
		}
		return &orCond{l, r}, nil
	case *not:
		x, err := k.check(e.x)
		if err != nil {
			return nil, err
		}
		return &notCond{x}, nil
	case *constant:
		return constCond(e.v), nil
	case *compare:
		f, err := k.field(e.f)
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case List:
			return nil, k.errorf(e.at, `%s is a list: test it with has tag "…"`, f.Name)
		case Boolean:
			if e.op != "=" && e.op != "!=" {
				return nil, k.errorf(e.at, "%s is a boolean: compare it with = or !=", f.Name)
			}
		}
		v, err := k.operand(f, e.v)
		if err != nil {
			return nil, err
		}
		return &cmpCond{f: f, op: e.op, v: v}, nil
	case *in:
		f, err := k.field(e.f)
		if err != nil {
			return nil, err
		}
		if f.Type == List || f.Type == Timestamp {
			return nil, k.errorf(e.at, "%s is %s: in takes a text, number or boolean field", f.Name, typeName(f.Type))
		}
		c := &inCond{f: f, neg: e.neg}
		for _, v := range e.vs {
			o, err := k.operand(f, v)
			if err != nil {
				return nil, err
			}
			c.vs = append(c.vs, o)
		}
		return c, nil
	case *isNull:
		f, err := k.field(e.f)
		if err != nil {
			return nil, err
		}
		if f.Type == List {
			return nil, k.errorf(e.f.at, `%s is a list, never null: test it with has tag "…"`, f.Name)
		}
		return &nullCond{f: f, neg: e.neg}, nil
	case *match:
		f, err := k.field(e.f)
		if err != nil {
			return nil, err
		}
		if f.Type != String {
			return nil, k.errorf(e.at, "%s is %s: %s takes a text field", f.Name, typeName(f.Type), e.op)
		}
		v, err := k.operand(f, e.v)
		if err != nil {
			return nil, err
		}
		return &matchCond{f: f, op: e.op, neg: e.neg, s: v.s}, nil
	case *hasTag:
		if e.v.kind != vString {
			return nil, k.errorf(e.v.at, `has tag takes a tag in quotes: has tag "VIP"`)
		}
		return &tagCond{tag: strings.ToLower(e.v.text)}, nil
	case *truth:
		f, err := k.field(e.f)
		if err != nil {
			return nil, err
		}
		if f.Type != Boolean {
			return nil, k.errorf(e.f.at, "%s is %s, not a condition: compare it, as in %s", f.Name, typeName(f.Type), example(f))
		}
		return &truthCond{f: f}, nil
	}
	panic("segment: unknown node")
}

func (k *checker) errorf(pos int, format string, args ...any) *Error {
	return errorf(k.src, pos, format, args...)
}

// field looks a field up.
func (k *checker) field(id ident) (*field, error) {
	if f, ok := k.fields[id.name]; ok {
		return f, nil
	}
	if s := k.suggest(id.name); s != "" {
		return nil, k.errorf(id.at, "unknown field %s: did you mean %s?", quote(id.name), s)
	}
	return nil, k.errorf(id.at, "unknown field %s", quote(id.name))
}

// suggest returns the known field nearest to name, within two edits.
func (k *checker) suggest(name string) string {
	best, dist := "", 3
	for n := range k.fields {
		if d := editDistance(name, n); d < dist || d == dist && n < best {
			best, dist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// operand converts v to a value of f's type.
func (k *checker) operand(f *field, v value) (operand, error) {
	mismatch := func(want string) error {
		return k.errorf(v.at, "%s is %s: %s is %s", f.Name, typeName(f.Type), describe(v), want)
	}
	switch f.Type {
	case Integer:
		if v.kind != vNumber {
			return operand{}, mismatch("not a number")
		}
		n, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			if strings.Contains(v.text, ".") {
				return operand{}, mismatch("not a whole number")
			}
			return operand{}, mismatch("out of range")
		}
		return operand{kind: oInt, i: n}, nil
	case Decimal:
		if v.kind != vNumber || !decimal.Valid(v.text) {
			return operand{}, mismatch("not a number")
		}
		return operand{kind: oDec, s: v.text}, nil
	case Boolean:
		if v.kind != vBool {
			return operand{}, mismatch("not true or false")
		}
		return operand{kind: oBool, b: v.b}, nil
	case String:
		if v.kind != vString {
			return operand{}, k.errorf(v.at, "%s is text: quote the value, as in %s = \"%s\"", f.Name, f.Name, valueText(v))
		}
		return operand{kind: oStr, s: strings.ToLower(v.text)}, nil
	case Timestamp:
		switch v.kind {
		case vNow:
			return operand{kind: oNow, off: v.offset}, nil
		case vString:
			if t, err := time.Parse(time.DateOnly, v.text); err == nil {
				return operand{kind: oDay, t: t}, nil
			}
			if t, err := time.Parse(time.RFC3339Nano, v.text); err == nil {
				if t = t.UTC(); t.Year() >= 0 && t.Year() <= 9999 {
					return operand{kind: oTime, t: t}, nil
				}
			}
			return operand{}, k.errorf(v.at, `%s is not a date ("2024-01-31") or a time with its zone ("2024-01-31T12:00:00Z")`, quote(v.text))
		}
		return operand{}, k.errorf(v.at, `%s is a time: compare it with now - 30d, or a date in quotes such as "2024-01-31"`, f.Name)
	}
	return operand{}, mismatch("not a value it can hold")
}

// typeName names a type for a message, after "is".
func typeName(t Type) string {
	switch t {
	case Integer:
		return "a whole number"
	case Decimal:
		return "a decimal number"
	case Timestamp:
		return "a time"
	case String:
		return "text"
	}
	return "a " + string(t)
}

// describe names a value for a message.
func describe(v value) string {
	switch v.kind {
	case vString:
		return "text " + quote(v.text)
	case vBool:
		return strconv.FormatBool(v.b)
	case vNow:
		return "a time"
	}
	return v.text
}

func valueText(v value) string {
	switch v.kind {
	case vString, vNumber:
		return v.text
	case vBool:
		return strconv.FormatBool(v.b)
	}
	return "…"
}

// example is a comparison that makes sense for f.
func example(f *field) string {
	switch f.Type {
	case Integer, Decimal:
		return f.Name + " > 0"
	case Timestamp:
		return f.Name + " > now - 30d"
	case List:
		return `has tag "VIP"`
	}
	return f.Name + ` = "…"`
}
