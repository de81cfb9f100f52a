package segment

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// show prints a syntax tree as an S-expression.
func show(e expr) string {
	switch e := e.(type) {
	case *binary:
		return fmt.Sprintf("(%s %s %s)", e.op, show(e.l), show(e.r))
	case *not:
		return fmt.Sprintf("(not %s)", show(e.x))
	case *constant:
		return fmt.Sprint(e.v)
	case *compare:
		return fmt.Sprintf("(%s %s %s)", e.op, e.f.name, showValue(e.v))
	case *in:
		var vs []string
		for _, v := range e.vs {
			vs = append(vs, showValue(v))
		}
		op := "in"
		if e.neg {
			op = "not-in"
		}
		return fmt.Sprintf("(%s %s %s)", op, e.f.name, strings.Join(vs, " "))
	case *isNull:
		if e.neg {
			return fmt.Sprintf("(not-null %s)", e.f.name)
		}
		return fmt.Sprintf("(null %s)", e.f.name)
	case *match:
		op := e.op
		if e.neg {
			op = "not-" + op
		}
		return fmt.Sprintf("(%s %s %s)", op, e.f.name, showValue(e.v))
	case *hasTag:
		return fmt.Sprintf("(tag %s)", showValue(e.v))
	case *truth:
		return e.f.name
	}
	return "?"
}

func showValue(v value) string {
	switch v.kind {
	case vString:
		return fmt.Sprintf("%q", v.text)
	case vNumber:
		return v.text
	case vBool:
		return fmt.Sprint(v.b)
	case vNow:
		if v.offset < 0 {
			return fmt.Sprintf("now%v", v.offset)
		}
		return fmt.Sprintf("now+%v", v.offset)
	}
	return "?"
}

// unparse writes a syntax tree back as a segment, fully parenthesised.
func unparse(e expr) string {
	switch e := e.(type) {
	case *binary:
		return fmt.Sprintf("(%s %s %s)", unparse(e.l), e.op, unparse(e.r))
	case *not:
		return fmt.Sprintf("not (%s)", unparse(e.x))
	case *constant:
		return fmt.Sprint(e.v)
	case *compare:
		return fmt.Sprintf("%s %s %s", e.f.name, e.op, unparseValue(e.v))
	case *in:
		var vs []string
		for _, v := range e.vs {
			vs = append(vs, unparseValue(v))
		}
		op := "in"
		if e.neg {
			op = "not in"
		}
		return fmt.Sprintf("%s %s (%s)", e.f.name, op, strings.Join(vs, ", "))
	case *isNull:
		if e.neg {
			return e.f.name + " is not null"
		}
		return e.f.name + " is null"
	case *match:
		op := e.op
		if e.neg {
			op = "not " + op
		}
		return fmt.Sprintf("%s %s %s", e.f.name, op, unparseValue(e.v))
	case *hasTag:
		return "has tag " + unparseValue(e.v)
	case *truth:
		return e.f.name
	}
	return "?"
}

func unparseValue(v value) string {
	switch v.kind {
	case vString:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v.text) + `"`
	case vNumber:
		return v.text
	case vBool:
		return fmt.Sprint(v.b)
	case vNow:
		m := int64(v.offset / time.Minute)
		if m < 0 {
			return fmt.Sprintf("now - %dm", -m)
		}
		return fmt.Sprintf("now + %dm", m)
	}
	return "?"
}

func TestParse(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{`true`, `true`},
		{`orders_count >= 2`, `(>= orders_count 2)`},
		{`ORDERS_COUNT >= 2 AND Email_Marketing_Consent = "subscribed"`,
			`(and (>= orders_count 2) (= email_marketing_consent "subscribed"))`},
		{`a = 1 or b = 2 and c = 3`, `(or (= a 1) (and (= b 2) (= c 3)))`},
		{`(a = 1 or b = 2) and c = 3`, `(and (or (= a 1) (= b 2)) (= c 3))`},
		{`not a = 1 and b`, `(and (not (= a 1)) b)`},
		{`not not verified_email`, `(not (not verified_email))`},
		{`total_spent > -0.5`, `(> total_spent -0.5)`},
		{`x == 1 or x <> 2`, `(or (= x 1) (!= x 2))`},
		{`created_at > now - 30d`, `(> created_at now-720h0m0s)`},
		{`created_at>now-12h`, `(> created_at now-12h0m0s)`},
		{`updated_at < now + 15m`, `(< updated_at now+15m0s)`},
		{`created_at >= now`, `(>= created_at now+0s)`},
		{`state in ("enabled", 'invited',)`, `(in state "enabled" "invited")`},
		{`orders_count not in (1, 2)`, `(not-in orders_count 1 2)`},
		{`email is null or phone is not null`, `(or (null email) (not-null phone))`},
		{`email ends_with "@gmail.com" and first_name not contains "test"`,
			`(and (ends_with email "@gmail.com") (not-contains first_name "test"))`},
		{`has tag "VIP" and not has tag 'wholesale'`, `(and (tag "VIP") (not (tag "wholesale")))`},
		{`note = "say \"hi\" \\ bye"`, `(= note "say \"hi\" \\ bye")`},
		{"a = 1\n\tand b = 2", `(and (= a 1) (= b 2))`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := parse(tt.src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := show(e); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+1) + "true" + strings.Repeat(")", MaxDepth+1)
	nots := strings.Repeat("not ", MaxDepth+1) + "true"
	long := "true" + strings.Repeat(" ", MaxLen)
	list := "orders_count in (" + strings.Repeat("1, ", MaxValues) + "1)"
	for name, src := range map[string]string{"parentheses": deep, "nots": nots, "length": long, "values": list} {
		_, err := parse(src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v, want an *Error", name, err)
			continue
		}
		if e.Pos < 0 || e.Pos > len(src) {
			t.Errorf("%s: position %d outside the input", name, e.Pos)
		}
	}
	ok := strings.Repeat("(", MaxDepth-1) + "true" + strings.Repeat(")", MaxDepth-1)
	if _, err := parse(ok); err != nil {
		t.Errorf("%d parentheses: %v", MaxDepth-1, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`orders_count >= 2 and email_marketing_consent = "subscribed"`,
		`created_at > now - 30d`, `created_at > now - 30x`, `has tag "VIP"`,
		`state not in ("a", 'b',)`, `email is not null`, `not (a or b)`,
		`x = "unterminated`, `((((true`, `total_spent >= -10.50`, "“curly”", "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := parse(src)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("parse(%q): %T %v, want an *Error", src, err, err)
			}
			if se.Pos < 0 || se.Pos > len(src) {
				t.Fatalf("parse(%q): position %d outside the input", src, se.Pos)
			}
			_ = se.Caret()
			_ = se.Error()
			return
		}
		if e == nil {
			t.Fatalf("parse(%q): no tree and no error", src)
		}
		// Written back and parsed again, the tree is the same.
		again, err := parse(unparse(e))
		if err != nil {
			t.Fatalf("parse(%q) = %s, but parse(%q): %v", src, show(e), unparse(e), err)
		}
		if show(again) != show(e) {
			t.Fatalf("parse(%q) = %s, but parse(%q) = %s", src, show(e), unparse(e), show(again))
		}
	})
}
