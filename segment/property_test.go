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
var (
	poolText   = []string{"subscribed", "SUBSCRIBED", "not_subscribed", "Léon", "LÉON", "élodie", "ÉLODIE", "a%b", "a_b", "x", "", "vip", "VIP", "Straße", "o'hara", `back\slash`}
	poolTags   = []string{"VIP", "vip", "Léon", "wholesale", "10%_club", "b2b"}
	poolDec    = []string{"0", "0.00", "99.995", "100", "100.00", "100.000000000000001", "-1", "1000.01", "12345678901234567890.5"}
	poolInt    = []int64{0, 1, 2, 3, -1, 1 << 40}
	poolEmails = []string{"a@example.com", "A@Example.com ", "b@gmail.com", "ÉLODIE@mail.fr"}
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
	add(shopsync.StringAttr("note", ptr(poolText[r.IntN(len(poolText))])))
	add(shopsync.IntAttr("orders_count", ptr(poolInt[r.IntN(len(poolInt))])))
	add(shopsync.DecimalAttr("total_spent", ptr(poolDec[r.IntN(len(poolDec))])))
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
		return fmt.Sprintf("%s %s %s", f, pick("=", "!=", "<", ">=", "contains", "starts_with", "ends_with", "not contains"), text())
	case 1:
		f := pick("first_name", "email", "email_marketing_consent")
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
		return "has tag " + q(pick(append(poolTags, "LÉON", "10%", "x")...))
	}
}

// TestSQLAgreesWithMatch: over random contacts and random segments, the
// SQL on a real SQLite table and Match in Go select the same contacts.
func TestSQLAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	var contacts []*shopsync.Contact
	for id := range int64(300) {
		contacts = append(contacts, randContact(r, id+1, now))
	}
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, contacts...)
	c := newCompiler(t)
	n := 400
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
