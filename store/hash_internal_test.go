package store

import (
	"testing"
	"time"

	"github.com/shopsync/shopsync"
)

// TestContentHashStable pins contentHash's value for one contact: stored
// hashes outlive releases, and a change to the hash would make the next
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
	if got, want := contentHash(&c, &st), int64(-4556981200600242173); got != want {
		t.Errorf("contentHash = %d, want %d", got, want)
	}
}
