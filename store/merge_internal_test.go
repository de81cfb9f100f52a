package store

import (
	"encoding/binary"
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
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), // a consent date of year 1
		time.Date(2026, 7, 1, 0, 0, 0, 1000, time.UTC),
	}
	kinds := []shopsync.ClockKind{shopsync.ClockUpdatedAt, shopsync.ClockConsentUpdatedAt, shopsync.ClockOccurredAt}
	for p := range s.part {
		clock := times[(p+1)%len(times)]
		s.part[p] = shopsync.Stamp{Clock: shopsync.Clock{Time: clock, Kind: kinds[p%len(kinds)]},
			Seen: times[(p+2)%len(times)], Read: p%2 == 0}
	}
	s.part[0].Clock = shopsync.Clock{} // no clock of its own
	s.deleted = shopsync.Stamp{Seen: times[2], Read: true}
	s.setField(shopsync.PartProfile, ".email", shopsync.Stamp{Seen: times[5]})
	s.setField(shopsync.PartPurchasing, "currency", shopsync.Stamp{Seen: times[2],
		Clock: shopsync.Clock{Time: times[3], Kind: shopsync.ClockOccurredAt}})
	s.setField(shopsync.PartProfile, "note 🌸", shopsync.Stamp{Seen: times[1], Read: true})
	got, err := decodeStamps(s.encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, s, cmp.AllowUnexported(stamps{}, fieldStamp{})); diff != "" {
		t.Errorf("stamps (-got +want):\n%s", diff)
	}
	if string(got.encode()) != string(s.encode()) {
		t.Error("one content, two encodings")
	}
	// Truncated, or with bytes after: malformed, never silently zero.
	b := s.encode()
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), {}, {0}, {2, 0}} {
		if _, err := decodeStamps(bad, nil); !errors.Is(err, errBadStamps) {
			t.Errorf("decodeStamps(%x): got %v, want errBadStamps", bad, err)
		}
	}
}

func TestStampsBeforeMigration(t *testing.T) {
	u := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	s, err := decodeStamps(nil, &u)
	if err != nil {
		t.Fatal(err)
	}
	for p, st := range s.part {
		if !st.Clock.Time.Equal(u) || st.Clock.Kind != shopsync.ClockUpdatedAt || !st.Seen.IsZero() {
			t.Errorf("part %d: got %+v, want an updated_at clock %v", p, st, u)
		}
	}
	if s.known() != shopsync.AllParts || !s.deleted.IsZero() {
		t.Errorf("got known %b deleted %+v, want all parts, not deleted", s.known(), s.deleted)
	}
	if s, _ := decodeStamps(nil, nil); s.known() != 0 {
		t.Errorf("no stamps, no updated_at: got known %b, want none", s.known())
	}
}

// TestLegacyStamps reads stamps as releases before migration 0007 wrote
// them: a clock equal to the contact's updated_at, or to its consent's
// date, keeps that kind; any other is compared by its tie-break.
func TestLegacyStamps(t *testing.T) {
	updated := time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)
	consent := time.Date(2004, 6, 13, 15, 57, 11, 0, time.UTC)
	occurred := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tie := time.Date(2024, 5, 1, 0, 0, 1, 500000000, time.UTC)
	c := &shopsync.Contact{ShopifyUpdatedAt: &updated, Attributes: shopsync.Attributes{
		shopsync.TimeAttr("email_marketing_consent_updated_at", &consent)}}
	var b []byte
	put := func(clock, tie time.Time) {
		b = binary.AppendVarint(b, micros(clock))
		b = binary.AppendVarint(b, micros(tie))
	}
	put(updated, tie)             // profile
	put(consent, tie)             // email consent
	put(updated, time.Time{})     // SMS consent, stored by an import before tie-breaks
	put(occurred, tie)            // purchasing, from a purchasing summary
	put(time.Time{}, time.Time{}) // tags: never known
	put(tie, tie)                 // deleted
	got, err := legacyStamps(b, c)
	if err != nil {
		t.Fatal(err)
	}
	want := stamps{deleted: shopsync.Stamp{Seen: tie, Read: true}}
	want.part[shopsync.PartProfile] = shopsync.Stamp{Clock: shopsync.Clock{Time: updated, Kind: shopsync.ClockUpdatedAt}, Seen: tie}
	want.part[shopsync.PartEmailConsent] = shopsync.Stamp{Clock: shopsync.Clock{Time: consent, Kind: shopsync.ClockConsentUpdatedAt}, Seen: tie}
	want.part[shopsync.PartSMSConsent] = shopsync.Stamp{Clock: shopsync.Clock{Time: updated, Kind: shopsync.ClockUpdatedAt}, Seen: updated}
	want.part[shopsync.PartPurchasing] = shopsync.Stamp{Seen: tie}
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(stamps{}, fieldStamp{})); diff != "" {
		t.Errorf("legacy stamps (-got +want):\n%s", diff)
	}
	if _, err := legacyStamps(b[:len(b)-1], c); !errors.Is(err, errBadStamps) {
		t.Errorf("truncated legacy stamps: got %v, want errBadStamps", err)
	}
}

func TestTagEventsEncodeAndReplay(t *testing.T) {
	st := func(sec int64) shopsync.Stamp {
		return shopsync.Stamp{Clock: shopsync.Clock{Time: time.Unix(sec, 0).UTC(), Kind: shopsync.ClockOccurredAt},
			Seen: time.Unix(sec, 500).UTC().Truncate(time.Microsecond)}
	}
	te := tagEvents{"Léon": {st(30), false}, "b": {st(10), true}, "a": {st(20), true}, "🌸": {st(20), true}}
	in := stamps{tags: te}
	in.setPart(shopsync.PartTags, st(5))
	b := in.encode()
	got, err := decodeStamps(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.tags, te, cmp.AllowUnexported(tagEvent{})); diff != "" {
		t.Errorf("tag events (-got +want):\n%s", diff)
	}
	// A blob cut right after the field stamps is one without tag events
	// (as written before migration 0010); any other cut is an error.
	withoutTags := (&stamps{part: in.part}).encode()
	for n := 1; n < len(b); n++ {
		got, err := decodeStamps(b[:n], nil)
		if n == len(withoutTags) {
			if err != nil || len(got.tags) != 0 {
				t.Errorf("stamps without tag events: %v, %d tags", err, len(got.tags))
			}
		} else if err == nil {
			t.Errorf("stamps cut at %d of %d: no error", n, len(b))
		}
	}
	// Replayed in the order they were seen, then by name; existing order kept.
	if diff := cmp.Diff(te.apply([]string{"Léon", "x", "a"}), []string{"x", "a", "b", "🌸"}); diff != "" {
		t.Errorf("replay (-got +want):\n%s", diff)
	}
	if legacy, err := legacyTagEvents(`{"a":[20000000,20000000,1],"b":[0,10000000,0]}`); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(legacy, tagEvents{
		"a": {stamp: shopsync.Stamp{Clock: shopsync.Clock{Time: time.Unix(20, 0).UTC(), Kind: shopsync.ClockOccurredAt}, Seen: time.Unix(20, 0).UTC()}, added: true},
		"b": {stamp: shopsync.Stamp{Seen: time.Unix(10, 0).UTC()}},
	}, cmp.AllowUnexported(tagEvent{})); diff != "" {
		t.Errorf("legacy tag events (-got +want):\n%s", diff)
	}
}

func TestMergePartsGatesAttributesByPart(t *testing.T) {
	t1, t2, t3 := time.Unix(100, 0).UTC(), time.Unix(200, 0).UTC(), time.Unix(300, 0).UTC()
	note, city := "n", "Ottawa"
	r := record{c: shopsync.Contact{ShopifyID: 1, Tags: []string{}, Attributes: shopsync.Attributes{}}}
	full := shopsync.Contact{ShopifyID: 1, Parts: shopsync.Set(shopsync.PartProfile, shopsync.PartEmailConsent),
		Full:   shopsync.Set(shopsync.PartProfile, shopsync.PartEmailConsent),
		Fields: shopsync.FieldEmail, Email: &city,
		Attributes: shopsync.Attributes{
			{Name: "email_marketing_consent", Type: shopsync.TypeString, Value: "subscribed", Part: shopsync.PartEmailConsent},
			{Name: "note", Type: shopsync.TypeString, Value: note, Part: shopsync.PartProfile},
		}}
	full.Clocks[shopsync.PartProfile] = shopsync.Clock{Time: t1, Kind: shopsync.ClockUpdatedAt}
	full.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: t3, Kind: shopsync.ClockConsentUpdatedAt}
	// Triggered at t3: the consent's Seen. (Its clock, a consent date,
	// orders nothing; the profile's updated_at does.)
	if m := mergeParts(&r, &full, t3, false); m.taken != full.Parts || m.stale != 0 {
		t.Fatalf("first merge: got %+v", m)
	}
	// Newer profile (updated_at t2), older consent (triggered at t2): the
	// consent attribute stays.
	next := full
	next.Attributes = shopsync.Attributes{
		{Name: "email_marketing_consent", Type: shopsync.TypeString, Value: "unsubscribed", Part: shopsync.PartEmailConsent},
		{Name: "note", Type: shopsync.TypeString, Value: "newer", Part: shopsync.PartProfile},
	}
	next.Clocks[shopsync.PartProfile] = shopsync.Clock{Time: t2, Kind: shopsync.ClockUpdatedAt}
	next.Clocks[shopsync.PartEmailConsent] = shopsync.Clock{Time: t2, Kind: shopsync.ClockConsentUpdatedAt}
	m := mergeParts(&r, &next, t2, false)
	if m.taken != shopsync.Set(shopsync.PartProfile) || m.stale != shopsync.Set(shopsync.PartEmailConsent) {
		t.Errorf("got %+v, want profile taken, consent stale", m)
	}
	if a, _ := r.c.Attributes.Get("email_marketing_consent"); a.Value != "subscribed" {
		t.Errorf("got consent %v, want subscribed", a.Value)
	}
	if a, _ := r.c.Attributes.Get("note"); a.Value != "newer" {
		t.Errorf("got note %v, want newer", a.Value)
	}
	if r.stamps.part[shopsync.PartEmailConsent].Clock.Time != t3 || r.stamps.part[shopsync.PartProfile].Clock.Time != t2 {
		t.Errorf("got stamps %+v", r.stamps.part)
	}
}

// TestMergePartsFieldByField: a part carried in part (a trimmed payload)
// versions the fields it carried, so an older whole part arriving later
// keeps them, and a newer whole part makes them history.
func TestMergePartsFieldByField(t *testing.T) {
	at := func(sec int) time.Time { return time.Unix(int64(1_700_000_000+sec), 0).UTC() }
	str := func(s string) *string { return &s }
	whole := func(email, note string, sec int) shopsync.Contact {
		c := shopsync.Contact{ShopifyID: 1, Email: str(email), Fields: shopsync.FieldEmail,
			Parts: shopsync.Set(shopsync.PartProfile), Full: shopsync.Set(shopsync.PartProfile),
			Attributes: shopsync.Attributes{shopsync.StringAttr("note", str(note))}}
		c.Clocks[shopsync.PartProfile] = shopsync.Clock{Time: at(sec), Kind: shopsync.ClockUpdatedAt}
		return c
	}
	r := mergedRecord(ptr(whole("a@x", "first", 0)), at(0), false)
	// A trimmed update (only the email, at 20 s), then the whole profile
	// as it was at 10 s, delivered late.
	trimmed := shopsync.Contact{ShopifyID: 1, Email: str("b@x"), Fields: shopsync.FieldEmail,
		Parts: shopsync.Set(shopsync.PartProfile), Attributes: shopsync.Attributes{}}
	trimmed.Clocks[shopsync.PartProfile] = shopsync.Clock{Time: at(20), Kind: shopsync.ClockUpdatedAt}
	if m := mergeParts(&r, &trimmed, at(20), false); m.taken == 0 {
		t.Fatalf("trimmed update: got %+v, want taken", m)
	}
	if r.stamps.part[shopsync.PartProfile].Seen != at(0) || r.stamps.fields[".email"].stamp.Seen != at(20) {
		t.Fatalf("a trimmed payload moved the part's stamp: %+v", r.stamps)
	}
	if m := mergeParts(&r, ptr(whole("a@x", "second", 10)), at(10), false); m.taken == 0 {
		t.Fatalf("late whole profile: got %+v, want taken", m)
	}
	if *r.c.Email != "b@x" {
		t.Errorf("email: got %s, want the trimmed update's b@x (newer than the whole profile)", *r.c.Email)
	}
	if a, _ := r.c.Attributes.Get("note"); a.Value != "second" {
		t.Errorf("note: got %v, want second", a.Value)
	}
	// A read newer than both makes the field's own stamp history.
	if m := mergeParts(&r, ptr(whole("c@x", "third", 30)), at(30), true); m.taken == 0 {
		t.Fatalf("read: got %+v", m)
	}
	if *r.c.Email != "c@x" || len(r.stamps.fields) != 0 {
		t.Errorf("after a newer read: email %s, field stamps %+v; want c@x and none", *r.c.Email, r.stamps.fields)
	}
	// An older trimmed payload is stale.
	old := trimmed
	old.Email = str("old@x")
	if m := mergeParts(&r, &old, at(25), false); m.taken != 0 || m.stale == 0 {
		t.Errorf("older trimmed payload: got %+v, want stale", m)
	}
}

// TestMergeKeepIf: customers/purchasing_summary names the last order by id
// only. The stored name stays while the id does; once the id changes the
// name is unknown: null, and the contact is to be read again.
func TestMergeKeepIf(t *testing.T) {
	at := func(sec int) time.Time { return time.Unix(int64(1_700_000_000+sec), 0).UTC() }
	id1, id2, name := int64(1001), int64(1002), "#1001"
	r := record{c: shopsync.Contact{ShopifyID: 1, Tags: []string{}, Attributes: shopsync.Attributes{
		{Name: "last_order_id", Type: shopsync.TypeInteger, Value: id1, Part: shopsync.PartPurchasing},
		{Name: "last_order_name", Type: shopsync.TypeString, Value: name, Part: shopsync.PartPurchasing},
	}}}
	summary := func(id int64, sec int) *shopsync.Contact {
		c := &shopsync.Contact{ShopifyID: 1, Parts: shopsync.Set(shopsync.PartPurchasing), Full: shopsync.Set(shopsync.PartPurchasing),
			Attributes: shopsync.Attributes{
				{Name: "last_order_id", Type: shopsync.TypeInteger, Value: id, Part: shopsync.PartPurchasing},
				{Name: "last_order_name", Type: shopsync.TypeString, Part: shopsync.PartPurchasing, KeepIf: "last_order_id"},
			}}
		c.Clocks[shopsync.PartPurchasing] = shopsync.Clock{Time: at(sec), Kind: shopsync.ClockOccurredAt}
		return c
	}
	if m := mergeParts(&r, summary(id1, 1), at(1), false); m.refetch {
		t.Error("same last order: want no re-fetch")
	}
	if a, _ := r.c.Attributes.Get("last_order_name"); a.Value != name || a.KeepIf != "" {
		t.Errorf("same last order: got name %+v, want %s kept", a, name)
	}
	if m := mergeParts(&r, summary(id2, 2), at(2), false); !m.refetch {
		t.Error("new last order: want a re-fetch for its name")
	}
	if a, _ := r.c.Attributes.Get("last_order_name"); a.Value != nil || a.KeepIf != "" {
		t.Errorf("new last order: got name %+v, want null", a)
	}
	if a, _ := r.c.Attributes.Get("last_order_id"); a.Value != id2 {
		t.Errorf("got last order id %v, want %d", a.Value, id2)
	}
}

func ptr[T any](v T) *T { return &v }

// TestNewRecordIsAMerge holds newRecord's exit for a full customer to
// what a merge into an empty record gives, for the REST fixtures (CJK
// names, nulls, big numbers, no tags) and the slimmer webhook payloads,
// which take the merge.
func TestNewRecordIsAMerge(t *testing.T) {
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../mapping/testdata/*.json")
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	seen := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
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
			if v.Full == shopsync.AllParts && v.Fields.Has(shopsync.AllFields) {
				full++
			}
			got, want := newRecord(&v, seen, true), mergedRecord(&v, seen, true)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(record{}, stamps{}, fieldStamp{})); diff != "" {
				t.Errorf("%s: newRecord differs from a merge (-merge +newRecord):\n%s", filepath.Base(f), diff)
			}
		}
	}
	if full == 0 {
		t.Fatal("no fixture is a full customer: the shortcut was not tested")
	}
}
