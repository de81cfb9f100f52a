package segment_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
)

// Small pools, so that random segments and random contacts meet.
//
// The fast paths' edges (text.go, fast.go) are in them: the Kelvin sign
// and İ, which Go lower-cases to ASCII and SQLite's lower() does not; ı,
// ſ and the Ångström sign, which it does not lower-case to ASCII either;
// control characters; text that could be a number's; tags that JSON
// escapes, or that are commas; decimals past 15 digits, negative zero, a
// sign, and stored text that is no decimal.
var (
	poolText = []string{"subscribed", "SUBSCRIBED", "not_subscribed", "Léon", "LÉON", "élodie", "ÉLODIE", "a%b", "a_b", "x", "", "vip", "VIP", "Straße", "o'hara", `back\slash`,
		"SUBSCR\u0130BED", "subscr\u0130bed", "\u212a", "k", "K", "\u212aelvin", "kelvin", "\u0131", "I", "\u017f", "s", "\u212b", "å", "a\tb", "\x7f", "12", "1.5", "-3", "inf", "Kim", "kİm",
		"\u01c4emal", "\u01c5emal", "\u01c6emal", "ΣΊΣΥΦΟΣ", "σίσυφος", "\ufffd", "a\xffb"}
	poolTags       = []string{"VIP", "vip", "Léon", "wholesale", "10%_club", "b2b", "V\u0130P", "v\u0131p", "\u212aey", "key", `a"b`, `a\b`, ",", " , ", "", "<b>&", "a\u2028b", "tab\tx", "12"}
	poolDec        = []string{"0", "0.00", "99.995", "100", "100.00", "100.000000000000001", "-1", "1000.01", "12345678901234567890.5", "-0", "-0.00", "999999999999999", "1000000000000000", "0.00000000000001", "123456789012345.6", "0.1", "0.30", "99999999999999.9"}
	poolDecStored  = append(slices.Clone(poolDec), "5.", ".5", "+1.50", "abc", "1e3", "", "1.2.3", ".", "-", "12a")
	poolInt        = []int64{0, 1, 2, 3, -1, 1 << 40, 12}
	poolEmails     = []string{"a@example.com", "A@Example.com ", "b@gmail.com", "ÉLODIE@mail.fr", "\u212aim@x.com"}
	poolTagLiteral = append(slices.Clone(poolTags), "LÉON", "10%", "x", "V\u0130p", "\u212aEY", `A"B`, ",")
)

// randContact makes a contact from the pools, fields null at random.
func randContact(r *rand.Rand, id int64, now time.Time) *shopsync.Contact {
	maybe := func(pool []string) *string {
		if r.IntN(4) == 0 {
			return nil
		}
		return ptr(pool[r.IntN(len(pool))])
	}
	when := func() *time.Time {
		if r.IntN(5) == 0 {
			return nil
		}
		// Around the boundaries the segments use: days, and now - 30d.
		t := now.Add(-time.Duration(r.IntN(40*24)) * time.Hour).Add(time.Duration(r.IntN(3)-1) * time.Nanosecond)
		if r.IntN(3) == 0 {
			t = time.Date(2024, 1, 31+r.IntN(2), 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3)-1) * time.Nanosecond)
		}
		return &t
	}
	c := &shopsync.Contact{ShopifyID: id, Email: maybe(poolEmails), FirstName: maybe(poolText), LastName: maybe(poolText),
		Phone: maybe([]string{"+33612345678", "+16135550123"}), State: maybe([]string{"enabled", "disabled", "ENABLED"}),
		ShopifyCreatedAt: when(), ShopifyUpdatedAt: when(), Tags: []string{}}
	for range r.IntN(3) {
		c.Tags = append(c.Tags, poolTags[r.IntN(len(poolTags))])
	}
	add := func(a shopsync.Attribute) {
		switch r.IntN(5) {
		case 0: // absent
		case 1:
			a.Value = nil
			c.Attributes = append(c.Attributes, a)
		default:
			c.Attributes = append(c.Attributes, a)
		}
	}
	add(shopsync.StringAttr("email_marketing_consent", ptr(poolText[r.IntN(len(poolText))])))
	if r.IntN(8) == 0 {
		// A text field stored as a number: it matches no text.
		add(shopsync.IntAttr("note", ptr(poolInt[r.IntN(len(poolInt))])))
	} else {
		add(shopsync.StringAttr("note", ptr(poolText[r.IntN(len(poolText))])))
	}
	add(shopsync.IntAttr("orders_count", ptr(poolInt[r.IntN(len(poolInt))])))
	add(shopsync.DecimalAttr("total_spent", ptr(poolDecStored[r.IntN(len(poolDecStored))])))
	add(shopsync.BoolAttr("accepts_email_marketing", ptr(r.IntN(2) == 0)))
	add(shopsync.TimeAttr("email_marketing_consent_updated_at", when()))
	c.Attributes.Sort()
	return c
}

// randSegment writes a random well-typed segment.
func randSegment(r *rand.Rand, depth int) string {
	if depth > 0 && r.IntN(3) > 0 {
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("(%s and %s)", randSegment(r, depth-1), randSegment(r, depth-1))
		case 1:
			return fmt.Sprintf("(%s or %s)", randSegment(r, depth-1), randSegment(r, depth-1))
		default:
			return "not " + randSegment(r, depth-1)
		}
	}
	q := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	cmpOp := func() string { return pick("=", "!=", "<", "<=", ">", ">=") }
	text := func() string { return q(poolText[r.IntN(len(poolText))]) }
	switch r.IntN(10) {
	case 0:
		f := pick("first_name", "last_name", "email", "state", "note", "email_marketing_consent")
		return fmt.Sprintf("%s %s %s", f, pick("=", "!=", "<", ">=", "contains", "starts_with", "ends_with", "not contains", "not ends_with"), text())
	case 1:
		f := pick("first_name", "email", "email_marketing_consent", "note")
		return fmt.Sprintf("%s %s (%s, %s)", f, pick("in", "not in"), text(), q(poolEmails[r.IntN(len(poolEmails))]))
	case 2:
		return fmt.Sprintf("orders_count %s %d", cmpOp(), poolInt[r.IntN(len(poolInt))])
	case 3:
		return fmt.Sprintf("orders_count %s (%d, %d)", pick("in", "not in"), poolInt[r.IntN(len(poolInt))], poolInt[r.IntN(len(poolInt))])
	case 4:
		return fmt.Sprintf("total_spent %s %s", cmpOp(), poolDec[r.IntN(len(poolDec))])
	case 5:
		return fmt.Sprintf("total_spent %s (%s, %s)", pick("in", "not in"), poolDec[r.IntN(len(poolDec))], poolDec[r.IntN(len(poolDec))])
	case 6:
		f := pick("created_at", "updated_at", "email_marketing_consent_updated_at")
		v := pick(`"2024-01-31"`, `"2024-02-01"`, `"2024-01-31T00:00:00Z"`, "now", "now - 30d", "now - 12h", "now - 90m", "now + 1d")
		return fmt.Sprintf("%s %s %s", f, cmpOp(), v)
	case 7:
		return pick("accepts_email_marketing", "accepts_email_marketing = true", "accepts_email_marketing != false",
			"accepts_email_marketing in (false)")
	case 8:
		return fmt.Sprintf("%s is %s", pick("email", "first_name", "orders_count", "total_spent", "created_at", "note", "accepts_email_marketing"), pick("null", "not null"))
	default:
		return "has tag " + q(pick(poolTagLiteral...))
	}
}

// TestSQLAgreesWithMatch: over random contacts and random segments, the
// SQL on a real SQLite table and Match in Go select the same contacts.
func TestSQLAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	var contacts []*shopsync.Contact
	for id := range int64(500) {
		contacts = append(contacts, randContact(r, id+1, now))
	}
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, contacts...)
	c := newCompiler(t)
	n := 1500
	if testing.Short() {
		n = 50
	}
	mixed := 0 // segments that select some contacts and not others
	for range n {
		src := randSegment(r, 3)
		s, err := c.Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		where, args := s.SQL(now)
		want := []int64{}
		for _, k := range contacts {
			if s.Match(k, now) {
				want = append(want, k.ShopifyID)
			}
		}
		got := selectIDs(t, db, where, args)
		if len(got) > 0 && len(got) < len(contacts) {
			mixed++
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s\nSQL %s %v\n(-SQL +Match):\n%s", src, where, args, cmp.Diff(got, want))
		}
	}
	// Segments that select all or nothing would agree trivially.
	if mixed < n/2 {
		t.Errorf("only %d of %d segments select some contacts and not others", mixed, n)
	}
}
