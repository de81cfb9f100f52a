package segment_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/segment"
)

// Each bad segment's error, rendered under the line: the caret must
// point at what is wrong.
func TestErrors(t *testing.T) {
	c := newCompiler(t)
	tests := []struct {
		src, want string
	}{
		{`created_at > now - 30x`, `
created_at > now - 30x
                     ^ unknown unit "x": use d, h or m`},
		{`created_at > now - 30`, `
created_at > now - 30
                     ^ missing unit after 30: use d, h or m (now - 30d)`},
		{`created_at > now - 1.5d`, `
created_at > now - 1.5d
                   ^ 1.5: use a whole number of days`},
		{`created_at > now - 99999d`, `
created_at > now - 99999d
                   ^ 99999d reaches too far: at most 36600 days`},
		{`ordres_count > 2`, `
ordres_count > 2
^ unknown field "ordres_count": did you mean orders_count?`},
		{`zzz = 1`, `
zzz = 1
^ unknown field "zzz"`},
		{`orders_count > 1.5`, `
orders_count > 1.5
               ^ orders_count is a whole number: 1.5 is not a whole number`},
		{`orders_count = "3"`, `
orders_count = "3"
               ^ orders_count is a whole number: text "3" is not a number`},
		{`total_spent >= "100"`, `
total_spent >= "100"
               ^ total_spent is a decimal number: text "100" is not a number`},
		{`first_name = 3`, `
first_name = 3
             ^ first_name is text: quote the value, as in first_name = "3"`},
		{`first_name = Bob`, `
first_name = Bob
             ^ expected a value, found "bob": quote text, "bob"`},
		{`email = null`, `
email = null
        ^ compare with null using is null or is not null`},
		{`accepts_email_marketing > true`, `
accepts_email_marketing > true
                        ^ accepts_email_marketing is a boolean: compare it with = or !=`},
		{`accepts_email_marketing = "yes"`, `
accepts_email_marketing = "yes"
                          ^ accepts_email_marketing is a boolean: text "yes" is not true or false`},
		{`orders_count`, `
orders_count
^ orders_count is a whole number, not a condition: compare it, as in orders_count > 0`},
		{`orders_count contains "1"`, `
orders_count contains "1"
             ^ orders_count is a whole number: contains takes a text field`},
		{`created_at in ("2024-01-01")`, `
created_at in ("2024-01-01")
           ^ created_at is a time: in takes a text, number or boolean field`},
		{`created_at > "yesterday"`, `
created_at > "yesterday"
             ^ "yesterday" is not a date ("2024-01-31") or a time with its zone ("2024-01-31T12:00:00Z")`},
		{`created_at > "2024-01-31T12:00:00"`, `
created_at > "2024-01-31T12:00:00"
             ^ "2024-01-31T12:00:00" is not a date ("2024-01-31") or a time with its zone ("2024-01-31T12:00:00Z")`},
		{`created_at > 30`, `
created_at > 30
             ^ created_at is a time: compare it with now - 30d, or a date in quotes such as "2024-01-31"`},
		{`tags = "VIP"`, `
tags = "VIP"
     ^ tags is a list: test it with has tag "…"`},
		{`has VIP`, `
has VIP
    ^ expected tag after has: has tag "VIP"`},
		{`has tag VIP`, `
has tag VIP
        ^ expected a value, found "vip": quote text, "vip"`},
		{`has tag 3`, `
has tag 3
        ^ has tag takes a tag in quotes: has tag "VIP"`},
		{`(orders_count > 1`, `
(orders_count > 1
                 ^ expected ) to close the ( at column 1, found the end`},
		{`orders_count > 1)`, `
orders_count > 1)
                ^ unexpected ): no ( to close`},
		{`orders_count > 1 orders_count < 5`, `
orders_count > 1 orders_count < 5
                 ^ unexpected "orders_count": join conditions with and or or`},
		{`orders_count > 1 and`, `
orders_count > 1 and
                    ^ segment ends too soon: expected a condition`},
		{`note = "unfinished`, `
note = "unfinished
       ^ text not closed: add "`},
		{`note = “smart”`, `
note = “smart”
       ^ curly quote '“': write text between straight quotes "…"`},
		{`note = "Léon" and x ~ 1`, `
note = "Léon" and x ~ 1
                    ^ unexpected character '~'`},
		{``, `

^ empty segment: write a condition, or true for every contact`},
		{`state not = "x"`, `
state not = "x"
          ^ expected in, contains, starts_with or ends_with after not, found "="`},
		{`state is "x"`, `
state is "x"
         ^ expected null after is: state is null, state is not null`},
		{`state in "x"`, `
state in "x"
         ^ expected ( after in: state in ("a", "b")`},
		{`state in ("a" "b")`, `
state in ("a" "b")
              ^ expected , or ) in the list, found text "b"`},
		{`and = 1`, `
and = 1
^ expected a field name or (, found the keyword and`},
		{"orders_count > 1\nand  créé = 2", `
and  créé = 2
       ^ unexpected character 'é'`},
		{`orders_count > 99999999999999999999`, `
orders_count > 99999999999999999999
               ^ orders_count is a whole number: 99999999999999999999 is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := c.Parse(tt.src)
			var e *segment.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if got, want := e.Caret(), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	e := &segment.Error{Src: "a = 1\nand é", Pos: 10, Msg: "unexpected character 'é'"}
	if got, want := e.Error(), "segment: line 2, column 5: unexpected character 'é'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &segment.Error{Src: "created_at > now - 30x", Pos: 21, Msg: "unknown unit"}
	if got, want := e.Error(), "segment: column 22: unknown unit"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewCompilerRefuses(t *testing.T) {
	for name, attrs := range map[string]map[string]shopsync.AttrType{
		"quote in name":   {"it's": shopsync.TypeString},
		"upper case":      {"Orders": shopsync.TypeInteger},
		"keyword":         {"tag": shopsync.TypeString},
		"contact field":   {"email": shopsync.TypeString},
		"unknown type":    {"x": "money"},
		"starts with a 1": {"1x": shopsync.TypeString},
	} {
		if _, err := segment.NewCompiler(attrs); err == nil {
			t.Errorf("%s: NewCompiler(%v) accepted", name, attrs)
		}
	}
}
