package segment

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/mapping"
)

// blank rewrites every value of src to another value of the same kind and
// shape, leaving the rest as written: a segment whose SQL must be the
// same. The SQL depends on a value's shape only: text that is ASCII or
// not, how many i and k it has (text.go), whether it could be a number's
// text, whether JSON escapes it, whether it is commas and spaces (has tag);
// a decimal's significant digits (fast.go).
func blank(src string) (string, bool) {
	toks, err := lex(src)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	last := 0
	for _, t := range toks {
		var repl string
		switch t.kind {
		case tString:
			switch {
			case isDate(t.val, time.DateOnly):
				repl = `"2000-01-01"`
			case isDate(t.val, time.RFC3339Nano):
				repl = `"2000-01-01T00:00:00Z"`
			default:
				repl = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(blankText(t.val)) + `"`
			}
		case tNumber:
			// Zeros stay zeros: the significant digits keep their count.
			repl = strings.Map(func(r rune) rune {
				if r >= '1' && r <= '9' {
					return '7'
				}
				return r
			}, t.val)
		default:
			continue
		}
		end := t.pos + len(t.val)
		if t.kind == tString {
			end = t.pos + stringLen(src, t.pos)
		}
		b.WriteString(src[last:t.pos])
		b.WriteString(repl)
		last = end
	}
	b.WriteString(src[last:])
	// A byte that is not UTF-8 becomes U+FFFD, three bytes: the blanked
	// text may be too long to parse.
	return b.String(), b.Len() <= MaxLen
}

// blankText is another text of the same shape as s, once lower-cased.
func blankText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == 'i' || r == 'k' || r == 'e' || r == 'n' || r == 'f':
			return r // asciiPre letters; letters of a number's text
		case r >= 'a' && r <= 'z':
			return 'x'
		case r >= '0' && r <= '9':
			return '7'
		case r == '.' || r == '+' || r == '-' || r == '"' || r == '\\' || r == ',' || r == ' ':
			return r
		case r < ' ' || r == 0x7f:
			return 1
		case r == utf8.RuneError:
			return r // not in a prefilter (text.go)
		case r >= utf8.RuneSelf && len(lowerPre(r)) == 1:
			return '中' // a rune without case (variants)
		case r >= utf8.RuneSelf:
			return 'é'
		}
		return '#'
	}, strings.ToLower(s))
}

func isDate(s, layout string) bool {
	t, err := time.Parse(layout, s)
	return err == nil && t.UTC().Year() >= 0 && t.UTC().Year() <= 9999
}

// stringLen is the length of the quoted text at src[i:] as written.
func stringLen(src string, i int) int {
	_, n, _ := lexString(src, i)
	return n
}

func FuzzCompile(f *testing.F) {
	m, err := mapping.New(mapping.Config{Attributes: catalogNames()})
	if err != nil {
		f.Fatal(err)
	}
	c, err := NewCompiler(m.AttributeTypes())
	if err != nil {
		f.Fatal(err)
	}
	db, err := contacttest.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	for _, b := range Builtins() {
		f.Add(b.Expr)
	}
	for _, s := range []string{
		`total_spent >= 100 and note contains "50%_"`, `created_at = "2024-01-31"`,
		`created_at > "2024-01-31T10:00:00+02:00" or updated_at <= now - 12h`,
		`email not in ("A@x.com", 'b@y.com') and first_name starts_with "É"`,
		`not (accepts_email_marketing or tax_exempt = false)`, `orders_count > 1.5`,
		`note = "x') OR 1=1 --"`, `last_order_id in (1, -2, 3)`, `created_at > now - 30x`,
	} {
		f.Add(s)
	}
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src string) {
		s, err := c.Parse(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q): %T %v, want an *Error", src, err, err)
			}
			if e.Pos < 0 || e.Pos > len(src) {
				t.Fatalf("Parse(%q): position %d outside the input", src, e.Pos)
			}
			_, _ = e.Caret(), e.Error()
			return
		}
		where, args := s.SQL(now)
		if n := strings.Count(where, "?"); n != len(args) {
			t.Fatalf("Parse(%q): %d placeholders for %d args in %s", src, n, len(args), where)
		}
		for _, a := range args {
			switch a.(type) {
			case int64, float64, string:
			default:
				t.Fatalf("Parse(%q): argument %v of type %T", src, a, a)
			}
		}
		// No text of the segment in the SQL: with every value replaced,
		// the SQL is the same.
		if other, ok := blank(src); ok {
			s2, err := c.Parse(other)
			if err != nil {
				t.Fatalf("Parse(%q) ok but Parse(%q): %v", src, other, err)
			}
			if where2, args2 := s2.SQL(now); where2 != where || len(args2) != len(args) {
				t.Fatalf("SQL depends on the values:\n%q: %s\n%q: %s", src, where, other, where2)
			}
		}
		// SQLite accepts it.
		rows, err := db.Query(`SELECT shopify_id FROM contacts WHERE deleted_at IS NULL AND (`+where+`)`, args...)
		if err != nil {
			t.Fatalf("Parse(%q): SQL %s: %v", src, where, err)
		}
		rows.Close()
	})
}

func catalogNames() []string {
	var out []string
	for _, s := range mapping.Catalog() {
		out = append(out, s.Name)
	}
	return out
}
