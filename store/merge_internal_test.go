package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

func TestStampsRoundTrip(t *testing.T) {
	var s stamps
	times := []time.Time{
		{},
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC), // negative micros
		time.Date(2024, 4, 2, 14, 23, 53, 123456000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 7, 1, 0, 0, 0, 1000, time.UTC),
	}
	for p := range s.part {
		s.part[p] = shopsync.Stamp{Clock: times[p%len(times)], Tie: times[(p+1)%len(times)]}
	}
	s.deleted = shopsync.Stamp{Clock: times[2], Tie: times[3]}
	got, err := decodeStamps(s.encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, s, cmp.AllowUnexported(stamps{})); diff != "" {
		t.Errorf("stamps (-got +want):\n%s", diff)
	}
	// Truncated: malformed, never silently zero.
	b := s.encode()
	if _, err := decodeStamps(b[:len(b)-1], nil); !errors.Is(err, errBadStamps) {
		t.Errorf("truncated stamps: got %v, want errBadStamps", err)
	}
}

func TestStampsBeforeMigration(t *testing.T) {
	u := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	s, err := decodeStamps(nil, &u)
	if err != nil {
		t.Fatal(err)
	}
	for p, st := range s.part {
		if !st.Clock.Equal(u) || !st.Tie.IsZero() {
			t.Errorf("part %d: got %+v, want clock %v", p, st, u)
		}
	}
	if s.known() != shopsync.AllParts || !s.deleted.IsZero() {
		t.Errorf("got known %b deleted %+v, want all parts, not deleted", s.known(), s.deleted)
	}
	if s, _ := decodeStamps(nil, nil); s.known() != 0 {
		t.Errorf("no stamps, no updated_at: got known %b, want none", s.known())
	}
}

func TestStampCompare(t *testing.T) {
	t1, t2 := time.Unix(100, 0), time.Unix(200, 0)
	tests := []struct {
		a, b shopsync.Stamp
		want int
	}{
		{shopsync.Stamp{Clock: t1, Tie: t2}, shopsync.Stamp{Clock: t2, Tie: t1}, -1}, // clock first
		{shopsync.Stamp{Clock: t1, Tie: t2}, shopsync.Stamp{Clock: t1, Tie: t1}, 1},  // then tie
		{shopsync.Stamp{Clock: t1, Tie: t1}, shopsync.Stamp{Clock: t1, Tie: t1}, 0},
		{shopsync.Stamp{}, shopsync.Stamp{Tie: t1}, -1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("%v.Compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestTagEventsEncodeAndReplay(t *testing.T) {
	st := func(sec int64) shopsync.Stamp {
		return shopsync.Stamp{Clock: time.Unix(sec, 0).UTC(), Tie: time.Unix(sec, 500).UTC().Truncate(time.Microsecond)}
	}
	te := tagEvents{"Léon": {st(30), false}, "b": {st(10), true}, "a": {st(20), true}, "🌸": {st(20), true}}
	s := te.encode().(string)
	got, err := decodeTagEvents(&s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, te, cmp.AllowUnexported(tagEvent{})); diff != "" {
		t.Errorf("tag events (-got +want):\n%s", diff)
	}
	// Replayed in stamp order, then by name; existing order kept.
	if diff := cmp.Diff(te.apply([]string{"Léon", "x", "a"}), []string{"x", "a", "b", "🌸"}); diff != "" {
		t.Errorf("replay (-got +want):\n%s", diff)
	}
	if tagEvents(nil).encode() != nil {
		t.Error("no events: want NULL")
	}
}

func TestMergePartsGatesAttributesByPart(t *testing.T) {
	t1, t2, t3 := time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC(), time.Unix(300, 0).UTC()
	note, city := "n", "Ottawa"
	r := record{c: shopsync.Contact{ShopifyID: 1, Tags: []string{}, Attributes: shopsync.Attributes{}}}
	full := shopsync.Contact{ShopifyID: 1, Parts: shopsync.Set(shopsync.PartProfile, shopsync.PartEmailConsent),
		Fields: shopsync.FieldEmail, Email: &city,
		Attributes: shopsync.Attributes{
			{Name: "email_marketing_consent", Type: shopsync.TypeString, Value: "subscribed", Part: shopsync.PartEmailConsent},
			{Name: "note", Type: shopsync.TypeString, Value: note, Part: shopsync.PartProfile},
		}}
	full.Clocks[shopsync.PartProfile], full.Clocks[shopsync.PartEmailConsent] = t1, t3
	if taken, stale := mergeParts(&r, &full, t1); taken != full.Parts || stale != 0 {
		t.Fatalf("first merge: got taken %b stale %b", taken, stale)
	}
	// Newer profile, older consent: the consent attribute stays.
	next := full
	next.Attributes = shopsync.Attributes{
		{Name: "email_marketing_consent", Type: shopsync.TypeString, Value: "unsubscribed", Part: shopsync.PartEmailConsent},
		{Name: "note", Type: shopsync.TypeString, Value: "newer", Part: shopsync.PartProfile},
	}
	next.Clocks[shopsync.PartProfile], next.Clocks[shopsync.PartEmailConsent] = t2, t2
	taken, stale := mergeParts(&r, &next, t2)
	if taken != shopsync.Set(shopsync.PartProfile) || stale != shopsync.Set(shopsync.PartEmailConsent) {
		t.Errorf("got taken %b stale %b, want profile taken, consent stale", taken, stale)
	}
	if a, _ := r.c.Attributes.Get("email_marketing_consent"); a.Value != "subscribed" {
		t.Errorf("got consent %v, want subscribed", a.Value)
	}
	if a, _ := r.c.Attributes.Get("note"); a.Value != "newer" {
		t.Errorf("got note %v, want newer", a.Value)
	}
	if r.stamps.part[shopsync.PartEmailConsent].Clock != t3 || r.stamps.part[shopsync.PartProfile].Clock != t2 {
		t.Errorf("got stamps %+v", r.stamps.part)
	}
}

// TestNewRecordOfFullCustomer holds newRecord's shortcut for a full
// customer to what a merge into an empty record gives, for the REST
// fixtures (CJK names, nulls, big numbers, no tags) and the slimmer
// webhook payloads, which take the merge.
func TestNewRecordOfFullCustomer(t *testing.T) {
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../mapping/testdata/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	tie := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	full := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c shopify.Customer
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		in, err := m.Contact(&c)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		variants := []shopsync.Contact{in}
		noTags := in
		noTags.Tags = nil
		variants = append(variants, noTags)
		for _, v := range variants {
			if v.Parts == shopsync.AllParts && v.Fields.Has(shopsync.AllFields) {
				full++
			}
			got, want := newRecord(&v, tie), mergedRecord(&v, tie)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(record{}, stamps{})); diff != "" {
				t.Errorf("%s: newRecord differs from a merge (-merge +newRecord):\n%s", filepath.Base(f), diff)
			}
		}
	}
	if full == 0 {
		t.Fatal("no fixture is a full customer: the shortcut was not tested")
	}
}
