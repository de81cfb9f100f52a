// Package segment is shopsync's filter language over contacts: a segment
// such as
//
//	email_marketing_consent = "subscribed" and orders_count >= 2
//	    and created_at > now - 90d and not has tag "wholesale"
//
// is parsed, checked against the fields a mapping keeps, and compiled to
// a parameterised SQL condition over the store's contacts table, or
// evaluated on one contact in Go with the same meaning.
//
// The language (docs/audiences.md has the reference):
//
//	segment    = or .
//	or         = and { "or" and } .
//	and        = unary { "and" unary } .
//	unary      = "not" unary | primary .
//	primary    = "(" or ")" | "true" | "false" | "has" "tag" string
//	           | field [ predicate ] .
//	predicate  = compare value
//	           | [ "not" ] "in" "(" value { "," value } [ "," ] ")"
//	           | "is" [ "not" ] "null"
//	           | [ "not" ] ( "contains" | "starts_with" | "ends_with" ) string .
//	compare    = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" .
//	value      = string | [ "-" ] number | "true" | "false"
//	           | "now" [ ( "+" | "-" ) duration ] .
//	duration   = digits ( "d" | "h" | "m" ) .
//	string     = '"' { char } '"' | "'" { char } "'" .   (\ quotes the next char)
//
// Keywords and field names ignore case. A field alone must be a boolean
// and means field = true. Text compares ignoring case (Go's Unicode
// lower-casing on both sides); decimals compare exactly; a date
// ("2024-01-31") stands for the whole UTC day, so created_at <= "2024-01-31"
// includes the 31st. A comparison with a null field is false, except !=
// and not in, which are true.
//
// The SQL calls the functions of package sqlfunc, which every connection
// running it must have registered, and it holds no text of the segment:
// values are ? arguments, and the only names are the store's columns and
// attribute names checked as lower-case identifiers.
package segment

import (
	"time"

	"github.com/shopsync/shopsync"
)

// Segment is a parsed and checked segment.
type Segment struct {
	src  string
	cond cond
}

// Parse parses src and checks it against c's fields. Its error is an
// *Error.
func (c *Compiler) Parse(src string) (*Segment, error) {
	e, err := parse(src)
	if err != nil {
		return nil, err
	}
	k := &checker{src: src, fields: c.fields}
	cd, err := k.check(e)
	if err != nil {
		return nil, err
	}
	return &Segment{src: src, cond: cd}, nil
}

// Compile parses src and returns its SQL condition at time now; see
// Segment.SQL. Its error is an *Error.
func (c *Compiler) Compile(src string, now time.Time) (where string, args []any, err error) {
	s, err := c.Parse(src)
	if err != nil {
		return "", nil, err
	}
	where, args = s.SQL(now)
	return where, args, nil
}

// String returns the segment as written.
func (s *Segment) String() string { return s.src }

// SQL returns the segment as a condition on a row of the contacts table,
// with ? placeholders for args, relative dates taken from now:
//
//	SELECT … FROM contacts WHERE deleted_at IS NULL AND (<where>)
//
// The condition is 1 for a matching row and 0 or NULL otherwise. It
// reads the columns unqualified, so the table may be given an alias.
func (s *Segment) SQL(now time.Time) (where string, args []any) {
	b := &sqlBuilder{now: now}
	s.cond.sql(b)
	return b.String(), b.args
}

// Match reports whether contact c is in the segment, relative dates
// taken from now: what SQL selects, for one contact in memory (a preview,
// a webhook's change). Deletion is not a field: Match does not look at
// c.DeletedAt.
func (s *Segment) Match(c *shopsync.Contact, now time.Time) bool {
	return s.cond.eval(c, now)
}
