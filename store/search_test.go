package store_test

import (
	"context"
	"slices"
	"testing"
)

func TestSearchContacts(t *testing.T) {
	db, _ := newDB(t)
	ctx := context.Background()
	a := profileOnly(1, "Hanako.Yamada@Example.JP", "山田", at(1))
	a.LastName, a.Phone = ptr("花子"), ptr("+81 90-1234-5678")
	b := profileOnly(2, "bob_100%@example.com", "Bob", at(2))
	c := profileOnly(3, "gone@example.com", "山田", at(3))
	apply(t, db, upsert(a, at(1), ""), upsert(b, at(2), ""), upsert(c, at(3), ""), deleteChange(3, at(4)))

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
		{"nobody", nil},
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
