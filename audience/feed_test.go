package audience_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/store"
)

// wireFeed sets s's projection and segment hook on db, as the daemon does.
func wireFeed(t *testing.T, s *audience.Service, db *store.DB) {
	db.SetProjection(s.EventContact)
	db.SetSegmentHook(func(saved []store.SavedSegment) store.SegmentHook {
		hook, errs := s.SegmentHook(saved)
		for _, err := range errs {
			t.Logf("left out: %v", err)
		}
		return hook
	})
}

// TestSegmentEventsWithTheirChange: a change that moves a contact into a
// saved segment, or out of it (a change, a deletion), has the segment's
// event right after its own, from its transaction (the next number, the
// same time and source), with the contact as the mapping projects it; a
// saved segment's new text counts from the next change.
func TestSegmentEventsWithTheirChange(t *testing.T) {
	ctx := context.Background()
	proj := mapping.ProjectionConfig{Prefix: "crm_", Fields: []mapping.FieldConfig{
		{Name: "email", Source: "email", NoPrefix: true},
		{Name: "orders", Source: "orders_count", Type: "int"},
	}}
	s, db := seeded(t, proj, person(1, "a@x.com", "subscribed", 1, "10.00"), person(2, "b@x.com", "subscribed", 9, "90.00"))
	wireFeed(t, s, db)
	if err := s.Save(ctx, "big", "orders_count >= 5", false); err != nil {
		t.Fatal(err)
	}
	_, start, err := db.FeedBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := now
	change := func(c shopsync.Change) {
		t.Helper()
		seen = seen.Add(time.Hour)
		c.Seen, c.Read = seen, true
		res, err := db.ApplyChanges(ctx, []shopsync.Change{c})
		if err != nil || res[0].Err != nil {
			t.Fatalf("apply: %v %v", err, res)
		}
	}
	orders := func(id, n int64) {
		c := person(id, fmt.Sprintf("%c@x.com", 'a'+id-1), "subscribed", n, "10.00")
		change(shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: id, Contact: &c, Source: shopsync.SourceReconcile})
	}
	orders(1, 7)                                                                                       // into big
	orders(1, 8)                                                                                       // still in
	orders(1, 2)                                                                                       // out
	change(shopsync.Change{Kind: shopsync.ChangeDelete, ShopifyID: 2, Source: shopsync.SourceRefetch}) // 2 was in
	if err := s.Save(ctx, "big", "orders_count >= 3", true); err != nil {
		t.Fatal(err)
	}
	orders(1, 3) // into big as it now reads

	events, err := db.Changes(ctx, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, ev := range events {
		line := fmt.Sprintf("%d %s %d %s", ev.Seq-start, ev.Type, ev.ContactID, ev.Segment)
		got = append(got, strings.TrimSpace(line)+" "+string(ev.Contact))
		if ev.Type != shopsync.EventSegmentJoined && ev.Type != shopsync.EventSegmentLeft {
			continue
		}
		if prev := events[i-1]; prev.Seq != ev.Seq-1 || !prev.At.Equal(ev.At) || prev.Source != ev.Source ||
			prev.ContactID != ev.ContactID || string(prev.Contact) != string(ev.Contact) {
			t.Errorf("event %d (%s) follows %+v: want the change that moved the contact, from its transaction", ev.Seq, ev.Type, prev)
		}
	}
	want := []string{
		`1 contact.updated 1 {"email":"a@x.com","crm_orders":7}`,
		`2 segment.joined 1 big {"email":"a@x.com","crm_orders":7}`,
		`3 contact.updated 1 {"email":"a@x.com","crm_orders":8}`,
		`4 contact.updated 1 {"email":"a@x.com","crm_orders":2}`,
		`5 segment.left 1 big {"email":"a@x.com","crm_orders":2}`,
		`6 contact.deleted 2 {"email":"b@x.com","crm_orders":9}`,
		`7 segment.left 2 big {"email":"b@x.com","crm_orders":9}`,
		`8 contact.updated 1 {"email":"a@x.com","crm_orders":3}`,
		`9 segment.joined 1 big {"email":"a@x.com","crm_orders":3}`,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}

	// An endpoint limited to big: the contact as of each event.
	for _, tc := range []struct {
		seq  int64
		name string
		want bool
	}{{1, "big", true}, {3, "big", true}, {4, "big", false}, {1, "nope", false}, {6, "big", true}, {8, "big", true}} {
		ev := events[tc.seq-1]
		if got := s.InSegment(tc.name, ev.State, ev.At); got != tc.want {
			t.Errorf("InSegment(%s, event %d) = %v, want %v", tc.name, tc.seq, got, tc.want)
		}
	}
}
