package segment_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
)

// benchRows is the size of the table the evaluation benchmarks scan.
const benchRows = 100_000

// benchContact is a contact with the default attributes, as a real
// import stores them: a row of the size a store holds.
func benchContact(r *rand.Rand, id int64, now time.Time) *shopsync.Contact {
	s := func(v string) *string { return &v }
	consent := []string{"subscribed", "not_subscribed", "unsubscribed", "pending"}[r.IntN(4)]
	sms := []string{"subscribed", "not_subscribed"}[r.IntN(2)]
	orders := int64(r.IntN(6))
	spent := fmt.Sprintf("%d.%02d", orders*int64(r.IntN(120)), r.IntN(100))
	created := now.Add(-time.Duration(r.IntN(3*365*24)) * time.Hour)
	updated := created.Add(time.Duration(r.IntN(1000)) * time.Hour)
	tags := []string{}
	if r.IntN(10) == 0 {
		tags = append(tags, "VIP")
	}
	if r.IntN(4) == 0 {
		tags = append(tags, "newsletter", "Léon")
	}
	yes, no := true, false
	accepts := &no
	if consent == "subscribed" {
		accepts = &yes
	}
	lastOrder := int64(450789469) + id
	as := shopsync.Attributes{
		shopsync.BoolAttr("accepts_email_marketing", accepts),
		shopsync.BoolAttr("accepts_sms_marketing", &no),
		shopsync.StringAttr("currency", s("EUR")),
		shopsync.StringAttr("default_address_city", s("Paris")),
		shopsync.StringAttr("default_address_country_code", s("FR")),
		shopsync.StringAttr("email_marketing_consent", &consent),
		shopsync.TimeAttr("email_marketing_consent_updated_at", &created),
		shopsync.StringAttr("email_marketing_opt_in_level", s("single_opt_in")),
		shopsync.IntAttr("last_order_id", &lastOrder),
		shopsync.StringAttr("last_order_name", s(fmt.Sprintf("#%d", 1000+id))),
		shopsync.StringAttr("note", nil),
		shopsync.IntAttr("orders_count", &orders),
		shopsync.StringAttr("sms_marketing_consent", &sms),
		shopsync.TimeAttr("sms_marketing_consent_updated_at", &created),
		shopsync.StringAttr("sms_marketing_opt_in_level", nil),
		shopsync.DecimalAttr("total_spent", &spent),
		shopsync.BoolAttr("verified_email", &yes),
	}
	as.Sort()
	return &shopsync.Contact{
		ShopifyID: 7_000_000_000_000 + id, Email: s(fmt.Sprintf("Customer%d@Example.com", id)),
		FirstName: s("Élodie"), LastName: s(fmt.Sprintf("Martin%d", id)), Phone: s(fmt.Sprintf("+3361%07d", id)),
		State: s("enabled"), Tags: tags, ShopifyCreatedAt: &created, ShopifyUpdatedAt: &updated, Attributes: as,
	}
}

// BenchmarkCompile parses, checks and writes the SQL of a segment.
func BenchmarkCompile(b *testing.B) {
	c := newCompiler(b)
	src := `email_marketing_consent = "subscribed" and orders_count >= 2 and total_spent >= 100
		and created_at > now - 90d and not has tag "wholesale"`
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Compile(src, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSegmentSQL counts the contacts of a segment in a table of
// benchRows contacts without indexes beyond the store's: a full scan.
func BenchmarkSegmentSQL(b *testing.B) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	db := contacttest.OpenDB(b)
	r := rand.New(rand.NewPCG(3, 4))
	batch := make([]*shopsync.Contact, 0, 10_000)
	for id := range int64(benchRows) {
		batch = append(batch, benchContact(r, id, now))
		if len(batch) == cap(batch) {
			if err := contacttest.InsertContacts(context.Background(), db, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	c := newCompiler(b)
	run := func(b *testing.B, src string) {
		where, args, err := c.Compile(src, now)
		if err != nil {
			b.Fatal(err)
		}
		q := `SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND (` + where + `)`
		var n int
		for b.Loop() {
			if err := db.QueryRow(q, args...).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "contacts")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchRows, "ns/row")
	}
	for _, bm := range []struct{ name, src string }{
		{"all", `true`},
		{"repeat_buyers", `orders_count >= 2`},
		{"email_subscribers", `email_marketing_consent = "subscribed"`},
		{"new_30d", `created_at > now - 30d`},
		{"total_spent", `total_spent >= 100`},
		{"vip", `has tag "VIP"`},
		{"email_domain", `email ends_with "9@example.com"`},
		{"combined", `email_marketing_consent = "subscribed" and orders_count >= 2 and total_spent >= 100 and not has tag "VIP"`},
	} {
		b.Run(bm.name, func(b *testing.B) { run(b, bm.src) })
	}
	// The same with the partial indexes docs/audiences.md suggests for
	// selective segments: what they buy, and what they do not.
	for _, ddl := range []string{
		`CREATE INDEX contacts_created ON contacts (shopify_created_at) WHERE deleted_at IS NULL`,
		`CREATE INDEX contacts_orders_count ON contacts ((attributes ->> 'orders_count')) WHERE deleted_at IS NULL`,
		`ANALYZE`,
	} {
		if _, err := db.Exec(ddl); err != nil {
			b.Fatal(err)
		}
	}
	for _, bm := range []struct{ name, src string }{
		{"indexed/new_30d", `created_at > now - 30d`},
		{"indexed/repeat_buyers", `orders_count >= 2`},
		{"indexed/orders_count_5", `orders_count >= 5`},
	} {
		b.Run(bm.name, func(b *testing.B) { run(b, bm.src) })
	}
}
