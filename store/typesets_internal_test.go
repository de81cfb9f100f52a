package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopsync/shopsync"
)

// TestTypeSetsSharedAndRolledBack checks attribute type sets: contacts
// with the same attribute types share one set, another mapping gets its
// own, and a set added inside a savepoint that rolls back is forgotten
// with it, so the next contact with those types adds it again instead of
// pointing at a row that is not there.
func TestTypeSetsSharedAndRolledBack(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	n := int64(3)
	withAttrs := func(id int64, as ...shopsync.Attribute) *record {
		return testRecord(shopsync.Contact{ShopifyID: id, Attributes: as})
	}
	common := []shopsync.Attribute{shopsync.IntAttr("orders_count", &n), shopsync.StringAttr("note", nil)}
	other := []shopsync.Attribute{shopsync.StringAttr("orders_count", nil)} // same name, another type

	tx, err := db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 3; id++ {
		if err := tx.writeRecord(ctx, withAttrs(id, common...), shopsync.SourceImport); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	err = tx.savepoint(ctx, func() error {
		if err := tx.writeRecord(ctx, withAttrs(4, other...), shopsync.SourceImport); err != nil {
			return err
		}
		return boom
	})
	var sp *savepointError
	if !errors.As(err, &sp) || !errors.Is(err, boom) {
		t.Fatalf("savepoint: got %v, want the rolled-back boom", err)
	}
	if err := tx.writeRecord(ctx, withAttrs(5, other...), shopsync.SourceImport); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	var sets, dangling int
	if err := db.read.QueryRow(`SELECT count(*) FROM attribute_type_sets`).Scan(&sets); err != nil {
		t.Fatal(err)
	}
	if err := db.read.QueryRow(`SELECT count(*) FROM contacts
		WHERE attribute_types NOT IN (SELECT id FROM attribute_type_sets)`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if sets != 2 || dangling != 0 {
		t.Errorf("%d type sets, %d contacts without theirs; want 2 and 0", sets, dangling)
	}
	for id, want := range map[int64]shopsync.AttrType{1: shopsync.TypeInteger, 3: shopsync.TypeInteger, 5: shopsync.TypeString} {
		c, err := db.Contact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got shopsync.AttrType
		for _, a := range c.Attributes {
			if a.Name == "orders_count" {
				got = a.Type
			}
		}
		if got != want {
			t.Errorf("contact %d: orders_count is %s, want %s", id, got, want)
		}
	}
	if _, err := db.Contact(ctx, 4); !errors.Is(err, ErrNotFound) {
		t.Errorf("contact 4, rolled back: %v, want ErrNotFound", err)
	}
	// The committed sets are cached: the next write finds them without a query.
	if cached := len(db.writer.types); cached != 2 {
		t.Errorf("%d type sets cached after the commit, want 2", len(db.writer.types))
	}
}

// TestEncodeAttributesKeysByPosition encodes contacts whose attributes
// differ at the same positions, in turn, with one transaction's buffers:
// each must encode as with fresh buffers, whatever the contact before.
func TestEncodeAttributesKeysByPosition(t *testing.T) {
	s := func(v string) *string { return &v }
	n := int64(7)
	contacts := []shopsync.Attributes{
		{shopsync.StringAttr("city", s("Paris")), shopsync.IntAttr("orders_count", &n), shopsync.StringAttr("zip", s("75002"))},
		{shopsync.IntAttr("orders_count", &n), shopsync.StringAttr("zip", nil)},
		{shopsync.StringAttr("city", s("東京")), shopsync.DecimalAttr("orders_count", s("7.5"))}, // another type
		{shopsync.StringAttr("city", s("Paris")), shopsync.IntAttr("orders_count", &n), shopsync.StringAttr("zip", s("75002"))},
		{},
	}
	var (
		shared attrBufs
		keys   attrKeyCache
	)
	for round := range 2 {
		for i, as := range contacts {
			var (
				fresh     attrBufs
				freshKeys attrKeyCache
			)
			wa, wm, wt := encodeAttributes(&fresh, &freshKeys, as, nil, "now", "import")
			ga, gm, gt := encodeAttributes(&shared, &keys, as, nil, "now", "import")
			if string(ga) != string(wa) || string(gm) != string(wm) || string(gt) != string(wt) {
				t.Errorf("round %d contact %d: got %s %s %s, want %s %s %s", round, i, ga, gm, gt, wa, wm, wt)
			}
		}
	}
}

// openTestDB opens a new store in t's temporary directory, closed with t.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testRecord is the record of c as a full customer new to the store, hashed.
func testRecord(c shopsync.Contact) *record {
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.Fields, c.Parts, c.Full = shopsync.AllFields, shopsync.AllParts, shopsync.AllParts
	r := newRecord(&c, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true)
	r.hash = contentHash(&r.c)
	return &r
}

// TestDecodeAttributes reads attributes as a write lays them out and as
// it might not: names with escapes, members out of the type set's order,
// a value with escapes, nulls, and times of change apart from the row.
func TestDecodeAttributes(t *testing.T) {
	db := &DB{}
	types := `{"a":"string","n":"integer","q\"é":"string","t":"timestamp","z":"boolean"}`
	attrs := `{"z":true,"a":"plain","q\"é":"tab\there \u00e9","n":-9007199254740993,"t":"2024-04-02T14:23:53.120000000Z"}`
	meta := `{"n":["2024-01-01T00:00:00.000000000Z","webhook"]}`
	got, state, err := db.decodeAttributes(attrs, meta, types, "2026-01-01T00:00:00.000000000Z", "import")
	if err != nil {
		t.Fatal(err)
	}
	n := int64(-9007199254740993)
	at := time.Date(2024, 4, 2, 14, 23, 53, 120000000, time.UTC)
	want := shopsync.Attributes{
		shopsync.StringAttr("a", new("plain")),
		shopsync.IntAttr("n", &n),
		shopsync.StringAttr(`q"é`, new("tab\there é")),
		shopsync.TimeAttr("t", &at),
		shopsync.BoolAttr("z", new(true)),
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("attributes (-got +want):\n%s", diff)
	}
	var names []string
	for _, s := range state {
		names = append(names, s.name+"@"+s.by)
	}
	if diff := cmp.Diff(names, []string{"a@import", "n@webhook", `q"é@import`, "t@import", "z@import"}); diff != "" {
		t.Errorf("state (-got +want):\n%s", diff)
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `{"a":"x"`, `{"nope":"x"}`, `{"n":"1"}`, `{"a":1,"a":2}`} {
		if _, _, err := db.decodeAttributes(bad, "{}", types, "", ""); err == nil {
			t.Errorf("attributes %s: no error", bad)
		}
	}
}
