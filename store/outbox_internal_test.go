package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
)

// TestEventsShareTheTransaction: an event is written with its change or
// not at all. A change rolled back to its savepoint leaves no event and
// gives its number back; a transaction rolled back leaves none; one that
// commits keeps its events, numbered without a gap.
func TestEventsShareTheTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	email := "tx@example.com"
	write := func(tx *Tx, id int64) error {
		r := testRecord(shopsync.Contact{ShopifyID: id, Email: &email})
		return tx.writeChange(ctx, nil, r, shopsync.SourceImport)
	}
	failed := errors.New("the change failed after its write")

	tx, err := db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(tx, 1); err != nil {
		t.Fatal(err)
	}
	err = tx.savepoint(ctx, func() error {
		if err := write(tx, 2); err != nil {
			return err
		}
		return failed
	})
	var sp *savepointError
	if !errors.As(err, &sp) || !errors.Is(err, failed) {
		t.Fatalf("savepoint: %v", err)
	}
	if err := tx.savepoint(ctx, func() error { return write(tx, 3) }); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	tx, err = db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(tx, 4); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	events, err := db.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		got = append(got, fmt.Sprintf("%s %d #%d", ev.Type, ev.ContactID, ev.Seq))
	}
	if diff := cmp.Diff(got, []string{"contact.created 1 #1", "contact.created 3 #2"}); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	if _, last, err := db.FeedBounds(ctx); err != nil || last != 2 {
		t.Errorf("last %d %v, want 2", last, err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := func(v string) *string { return &v }
	tm := func(t time.Time) *time.Time { return &t }
	for _, c := range []shopsync.Contact{
		{ShopifyID: 1, Tags: []string{}, Attributes: shopsync.Attributes{}},
		{ShopifyID: 706405506930370084, Email: s("a@example.com"), FirstName: s("山田"), LastName: s("太郎 🌸"),
			Phone: s("+15555550100"), State: s(""), Tags: []string{"VIP", "Léon", ""},
			ShopifyCreatedAt: tm(time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)),
			ShopifyUpdatedAt: tm(time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)),
			DeletedAt:        tm(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)),
			Attributes: shopsync.Attributes{
				{Name: "accepts", Type: shopsync.TypeBoolean, Value: true},
				{Name: "big", Type: shopsync.TypeInteger, Value: int64(-1 << 63)},
				{Name: "nothing", Type: shopsync.TypeString},
				{Name: "spent", Type: shopsync.TypeDecimal, Value: "12345678901234567890.01"},
				{Name: "when", Type: shopsync.TypeTimestamp, Value: time.Date(2004, 1, 2, 3, 4, 5, 6, time.UTC)},
			}},
	} {
		b := appendSnapshot(nil, &c)
		got, err := decodeSnapshot(c.ShopifyID, b)
		if err != nil {
			t.Fatal(err)
		}
		c.Fields = shopsync.AllFields
		if diff := cmp.Diff(got, &c); diff != "" {
			t.Errorf("snapshot (-got +want):\n%s", diff)
		}
		want, _ := json.Marshal(&c)
		if j, _ := json.Marshal(got); string(j) != string(want) {
			t.Errorf("JSON %s, want %s", j, want)
		}
		for i := range b {
			if _, err := decodeSnapshot(c.ShopifyID, b[:i]); err == nil {
				t.Errorf("a snapshot cut at %d of %d bytes decoded", i, len(b))
			}
		}
		if _, err := decodeSnapshot(c.ShopifyID, append(b, 0)); err == nil {
			t.Error("a snapshot with a byte more decoded")
		}
	}
}

// FuzzDecodeSnapshot: a stored snapshot is the store's own bytes, but a
// damaged one must be an error, never a panic or a huge allocation.
func FuzzDecodeSnapshot(f *testing.F) {
	s := "x"
	f.Add(appendSnapshot(nil, &shopsync.Contact{ShopifyID: 1, Email: &s, Tags: []string{"a"},
		Attributes: shopsync.Attributes{{Name: "n", Type: shopsync.TypeInteger, Value: int64(3)}}}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeSnapshot(1, b)
		if err != nil {
			return
		}
		again, err := decodeSnapshot(1, appendSnapshot(nil, c))
		if err != nil {
			t.Fatalf("%x decoded, and its encoding does not: %v", b, err)
		}
		if diff := cmp.Diff(again, c); diff != "" {
			t.Errorf("%x: decoded again (-got +want):\n%s", b, diff)
		}
	})
}

// FuzzContactJSON holds appendContactJSON to json.Marshal, byte for byte.
func FuzzContactJSON(f *testing.F) {
	f.Add("bob@biller.com", "Bob", "VIP", "note", int64(706405506930370084), int64(1_700_000_000), true, uint8(0))
	f.Add("<script>&\"\\\u2028\x00\xff", "山田 🌸", "", "\t\n\r\b\f", int64(-1), int64(-62135596800), false, uint8(7))
	f.Add("", "", "a,b", "12.50", int64(0), int64(253402300799), true, uint8(3))
	f.Fuzz(func(t *testing.T, email, first, tag, text string, n, sec int64, flag bool, shape uint8) {
		when := time.Unix(sec%253402300800, n%1e9).UTC()
		c := shopsync.Contact{ShopifyID: n, Email: &email, FirstName: &first, Tags: []string{tag, text},
			Attributes: shopsync.Attributes{
				{Name: "a" + tag, Type: shopsync.TypeString, Value: text},
				{Name: "b", Type: shopsync.TypeInteger, Value: n},
				{Name: "c", Type: shopsync.TypeBoolean, Value: flag},
				{Name: "d", Type: shopsync.TypeTimestamp, Value: when},
				{Name: "e", Type: shopsync.TypeDecimal},
			}}
		if shape&1 != 0 {
			c.ShopifyCreatedAt, c.ShopifyUpdatedAt = &when, &when
		}
		if shape&2 != 0 {
			c.DeletedAt, c.Tags, c.Attributes = &when, nil, nil
		}
		if shape&4 != 0 {
			c.Phone, c.State = &text, &tag
		}
		want, werr := json.Marshal(&c)
		got, gerr := appendContactJSON(nil, &c)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal: %v; appendContactJSON: %v", werr, gerr)
		}
		if string(got) != string(want) {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
}
