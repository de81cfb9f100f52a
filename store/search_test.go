package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/shopsync/shopsync/store"
)

func TestSearchContacts(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	a := profileOnly(1, "Hanako.Yamada@Example.JP", "山田", at(1))
	a.LastName, a.Phone = ptr("花子"), ptr("+81 90-1234-5678")
	b := profileOnly(2, "bob_100%@example.com", "Bob", at(2))
	c := profileOnly(3, "gone@example.com", "山田", at(3))
	d := profileOnly(4, "d@example.vn", "Văn Đức", at(5))
	d.LastName, d.Phone = ptr("Nguyễn"), nil
	e := profileOnly(5, "jose@zoë.example", "José", at(1))
	e.LastName, e.Phone = ptr("Zoë"), ptr("+1 415 555 0101")
	apply(t, db, upsert(a, at(1), ""), upsert(b, at(2), ""), upsert(c, at(3), ""), deleteChange(3, at(4)),
		upsert(d, at(5), ""), upsert(e, at(1), ""))

	ids := func(q string) []int64 {
		t.Helper()
		cs, err := db.SearchContacts(ctx, q, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, c := range cs {
			out = append(out, c.ShopifyID)
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"山田", []int64{1}},                    // the deleted 山田 is not found
		{"山田 花子", []int64{1}},                 // first and last name together
		{"花子", []int64{1}},                    // last name
		{"hanako.yamada@example", []int64{1}}, // email, any case
		{"HANAKO", []int64{1}},
		{"9012345678", []int64{1}}, // phone without its spaces and dashes
		{"90-1234", []int64{1}},
		{"100%", []int64{2}}, // % is literal
		{"_", []int64{2}},    // so is _
		{"%", []int64{2}},
		{"\x1f", nil}, // the separator of the searched text is no match
		{"nobody", nil},
		{"nguyen", []int64{4}},                   // accents folded
		{"NGUYỄN", []int64{4}},                   // on both sides
		{"van duc", []int64{4}},                  // first and last, ư and đ folded
		{"jose", []int64{5}},                     // José
		{"ZOË", []int64{5}},                      // Zoë, in the email's domain too
		{"1", []int64{1, 2, 5}},                  // the id first, then emails and phones holding 1
		{"4", []int64{4, 2, 1, 5}},               // the id first, then phones holding 4
		{"gid://shopify/Customer/5", []int64{5}}, // the GraphQL id
		{"https://admin.shopify.com/store/acme/customers/4", []int64{4}}, // the admin's address
		{"https://example.com/orders/4", nil},                            // another URL ending in a number is not an id
		{"' OR 1=1 --", nil},
		{"", nil},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: got %v, want %v", tc.q, got, tc.want)
		}
	}

	row, attrs, err := db.ContactChanges(ctx, 1)
	if err != nil || row.By == "" || row.At.IsZero() {
		t.Errorf("changes: %+v %v", row, err)
	}
	if n := attrs["note"]; n.By == "" || n.At.IsZero() {
		t.Errorf("note's change: %+v", n)
	}
	if _, _, err := db.ContactChanges(ctx, 3); err == nil {
		t.Error("changes of a deleted contact: want ErrNotFound")
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Nguyễn", "nguyen"}, {"José", "jose"}, {"ÇÀ ÉTÉ", "ca ete"}, {"Đặng", "dang"}, {"Søren Łukasz", "soren lukasz"},
		{"Straße", "strasse"}, {"Ἀθῆναι", "αθηναι"}, {"Йошкар", "иошкар"},
		{"がっこう", "がっこう"}, {"한국", "한국"}, {"山田", "山田"}, {"Bob", "bob"}, {"", ""},
	} {
		if got := store.Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
