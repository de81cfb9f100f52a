package store

import (
	"testing"
	"time"

	"github.com/shopsync/shopsync"
)

// TestContentHashStable pins contentHash's value for one contact: stored
// hashes outlive releases, and a change to the hash without a migration
// that hashes the stored contacts again (as 0006 does) would make the next
// import rewrite every row.
func TestContentHashStable(t *testing.T) {
	s := func(v string) *string { return &v }
	n := int64(1<<62 + 3)
	created := time.Date(2024, 4, 2, 10, 23, 53, 0, time.UTC)
	c := shopsync.Contact{
		ShopifyID: 706405506930370084, Email: s("hanako@example.jp"), FirstName: s("花子"), LastName: s("山田"),
		State: s("enabled"), Tags: []string{"VIP", "常連"}, ShopifyCreatedAt: &created, ShopifyUpdatedAt: &created,
		Attributes: shopsync.Attributes{
			shopsync.BoolAttr("accepts_email_marketing", new(true)),
			shopsync.StringAttr("note", nil),
			shopsync.IntAttr("last_order_id", &n),
			shopsync.DecimalAttr("total_spent", s("100.10")),
			shopsync.TimeAttr("consent_updated_at", &created),
		},
	}
	var st stamps
	for p := range st.part {
		st.part[p] = shopsync.Stamp{Clock: created.Add(time.Duration(p) * time.Second)}
	}
	if got, want := contentHash(&c, &st), int64(-5206320811414291491); got != want {
		t.Errorf("contentHash = %d, want %d", got, want)
	}
}

// BenchmarkContentHash hashes a contact of some twenty attributes of
// every type, about what the default mapping gives: once per contact an
// import stores.
func BenchmarkContentHash(b *testing.B) {
	s := func(v string) *string { return &v }
	n := int64(1<<62 + 3)
	created := time.Date(2024, 4, 2, 10, 23, 53, 0, time.UTC)
	c := shopsync.Contact{
		ShopifyID: 706405506930370084, Email: s("hanako@example.jp"), FirstName: s("花子"), LastName: s("山田"),
		State: s("enabled"), Tags: []string{"VIP", "常連"}, ShopifyCreatedAt: &created, ShopifyUpdatedAt: &created,
	}
	for _, name := range []string{"a_accepts_email_marketing", "b_note", "c_last_order_id", "d_total_spent", "e_consent_updated_at", "f_city", "g_country", "h_zip", "i_currency", "j_orders_count", "k_sms_state", "l_email_state", "m_opt_in", "n_verified", "o_tax_exempt", "p_last_order_name", "q_province"} {
		switch name[0] % 4 {
		case 0:
			c.Attributes = append(c.Attributes, shopsync.IntAttr(name, &n))
		case 1:
			c.Attributes = append(c.Attributes, shopsync.StringAttr(name, s("some value")))
		case 2:
			c.Attributes = append(c.Attributes, shopsync.TimeAttr(name, &created))
		case 3:
			c.Attributes = append(c.Attributes, shopsync.DecimalAttr(name, s("100.10")))
		}
	}
	var st stamps
	for b.Loop() {
		contentHash(&c, &st)
	}
}
