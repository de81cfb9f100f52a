package marketing_test

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/marketing"
)

// randContacts makes contacts that share addresses in every written form.
func randContacts(r *rand.Rand, n int) []*shopsync.Contact {
	// Addresses out of a pool about a third the size of the shop, each
	// written in several ways, so that some are shared and some not.
	var emails, phones []string
	for i := range n / 3 {
		emails = append(emails, fmt.Sprintf("u%d@x.com", i), fmt.Sprintf(" U%d@X.com", i), fmt.Sprintf("é%d@x.fr", i), fmt.Sprintf("É%d@X.FR", i))
		phones = append(phones, fmt.Sprintf("+336123%05d", i), fmt.Sprintf("06 123 %05d", i), fmt.Sprintf("+1 613 555 %04d", i), fmt.Sprintf("(613) 555-%04d", i))
	}
	emails = append(emails, "", "  ", "bad", "x@")
	phones = append(phones, "", "call me", "12")
	consents := []string{"", "subscribed", "subscribed", "SUBSCRIBED", "not_subscribed", "unsubscribed", "pending"}
	states := []string{"", "enabled", "disabled", "invited"}
	var out []*shopsync.Contact
	for i := range n {
		c := &shopsync.Contact{ShopifyID: int64(i + 1), Tags: []string{}}
		pick := func(pool []string) *string {
			if s := pool[r.IntN(len(pool))]; s != "" || r.IntN(2) == 0 {
				return &s
			}
			return nil
		}
		c.Email, c.Phone, c.State = pick(emails), pick(phones), pick(states)
		if r.IntN(6) > 0 {
			c.ShopifyUpdatedAt = ptr(t0.Add(time.Duration(r.IntN(4)) * time.Hour)) // ties on purpose
		}
		if r.IntN(15) == 0 {
			c.DeletedAt = ptr(t0)
		}
		for _, name := range []string{"email_marketing_consent", "sms_marketing_consent"} {
			if s := consents[r.IntN(len(consents))]; s != "" {
				c.Attributes = append(c.Attributes, shopsync.StringAttr(name, &s))
			}
		}
		c.Attributes.Sort()
		out = append(out, c)
	}
	return out
}

// reference applies the rule with a map over all contacts at once, in
// any order: what Eligibility must find in one ordered pass.
func reference(rule marketing.Rule, cs []*shopsync.Contact) ([]int64, marketing.Report) {
	rep := marketing.Report{Channel: rule.Channel, Read: int64(len(cs))}
	groups := map[string][]*shopsync.Contact{}
	for _, c := range cs {
		if key, why := rule.Key(c); why == "" && c.DeletedAt == nil {
			groups[key] = append(groups[key], c)
		}
	}
	kept := []int64{}
	for _, c := range cs {
		switch rule.Check(c) {
		case marketing.Deleted:
			rep.Deleted++
		case marketing.NoAddress:
			rep.NoAddress++
		case marketing.InvalidAddress:
			rep.InvalidAddress++
		case marketing.NotSubscribed:
			rep.NotSubscribed++
		case marketing.DisabledAccount:
			rep.DisabledAccount++
		}
	}
	for _, g := range groups {
		ok := 0
		for _, c := range g {
			if rule.Check(c) == "" {
				ok++
			}
		}
		if ok < len(g) {
			rep.Withheld += int64(ok)
			continue
		}
		best := slices.MinFunc(g, func(a, b *shopsync.Contact) int {
			au, bu := a.ShopifyUpdatedAt, b.ShopifyUpdatedAt
			switch {
			case au != nil && bu == nil:
				return -1
			case au == nil && bu != nil:
				return 1
			case au != nil && !au.Equal(*bu):
				return -au.Compare(*bu)
			}
			return cmp.Compare(a.ShopifyID, b.ShopifyID)
		})
		kept = append(kept, best.ShopifyID)
		rep.Included++
		rep.Duplicates += int64(len(g) - 1)
	}
	slices.Sort(kept)
	return kept, rep
}

// readOrdered reads the active contacts in the rule's order, with the
// columns the rule needs, as a store would stream them.
func readOrdered(t *testing.T, db *sql.DB, rule marketing.Rule) []*shopsync.Contact {
	t.Helper()
	order, args := rule.OrderBy()
	rows, err := db.Query(`SELECT shopify_id, email, phone, state, shopify_updated_at, attributes
		FROM contacts WHERE deleted_at IS NULL ORDER BY `+order, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*shopsync.Contact
	for rows.Next() {
		var (
			c                   shopsync.Contact
			email, phone, state sql.NullString
			updated             sql.NullString
			attrs               string
		)
		if err := rows.Scan(&c.ShopifyID, &email, &phone, &state, &updated, &attrs); err != nil {
			t.Fatal(err)
		}
		str := func(s sql.NullString) *string {
			if !s.Valid {
				return nil
			}
			return &s.String
		}
		c.Email, c.Phone, c.State = str(email), str(phone), str(state)
		if updated.Valid {
			u, err := time.Parse(time.RFC3339Nano, updated.String)
			if err != nil {
				t.Fatal(err)
			}
			c.ShopifyUpdatedAt = &u
		}
		var m map[string]*string
		if err := json.Unmarshal([]byte(attrs), &m); err != nil {
			t.Fatal(err)
		}
		for name, v := range m {
			c.Attributes = append(c.Attributes, shopsync.StringAttr(name, v))
		}
		c.Attributes.Sort()
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStoreOrder streams a real SQLite contacts table in Rule.OrderBy's
// order through Eligibility, and checks it against the reference: the
// SQL order makes duplicates adjacent, in the order the rule wants.
func TestStoreOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 20 {
		cs := randContacts(r, 200)
		db := contacttest.OpenDB(t)
		contacttest.Insert(t, db, cs...)
		for _, rule := range []marketing.Rule{
			{Channel: marketing.Email},
			{Channel: marketing.Email, ExcludeDisabledAccounts: true},
			{Channel: marketing.SMS, DefaultCountry: "FR"},
			{Channel: marketing.SMS},
		} {
			var active []*shopsync.Contact
			for _, c := range cs {
				if c.DeletedAt == nil {
					active = append(active, c)
				}
			}
			wantKept, wantReport := reference(rule, active)
			kept, report := run(t, rule, readOrdered(t, db, rule)...)
			slices.Sort(kept)
			if diff := gocmp.Diff(kept, wantKept); diff != "" {
				t.Fatalf("round %d, %+v: kept (-got +want):\n%s", round, rule, diff)
			}
			if diff := gocmp.Diff(report, wantReport); diff != "" {
				t.Fatalf("round %d, %+v: report (-got +want):\n%s", round, rule, diff)
			}
			if report.Included == 0 || report.Duplicates+report.Withheld == 0 {
				t.Fatalf("round %d, %+v: %v: the data does not exercise the rule", round, rule, report)
			}
		}
	}
}

// TestPredicate: the SQL predicate selects the rows Check allows.
func TestPredicate(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cs := randContacts(r, 500)
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, cs...)
	for _, rule := range []marketing.Rule{
		{Channel: marketing.Email},
		{Channel: marketing.Email, ExcludeDisabledAccounts: true},
		{Channel: marketing.SMS, DefaultCountry: "FR"},
		{Channel: marketing.SMS, DefaultCountry: "US", ExcludeDisabledAccounts: true},
	} {
		where, args := rule.Predicate()
		rows, err := db.Query(`SELECT shopify_id FROM contacts WHERE `+where+` ORDER BY shopify_id`, args...)
		if err != nil {
			t.Fatal(err)
		}
		got := []int64{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		rows.Close()
		want := []int64{}
		for _, c := range cs {
			if rule.Check(c) == "" {
				want = append(want, c.ShopifyID)
			}
		}
		if diff := gocmp.Diff(got, want); diff != "" {
			t.Errorf("%+v: %s (-SQL +Check):\n%s", rule, where, diff)
		}
		if len(want) == 0 {
			t.Errorf("%+v: no contact passes", rule)
		}
	}
}
