package audience_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/marketing"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/store"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// seeded returns a service over a real store holding contacts.
func seeded(t *testing.T, cfg mapping.ProjectionConfig, contacts ...shopsync.Contact) (*audience.Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db := testutil.MustOpenDB(t)
	release, err := db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(contacts, func(a, b shopsync.Contact) int { return int(a.ShopifyID - b.ShopifyID) })
	if _, err := db.ApplyPage(ctx, run, 0, contacts[len(contacts)-1].ShopifyID, now, contacts); err != nil {
		t.Fatal(err)
	}
	release()
	mapper, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := audience.New(db, mapper, cfg, audience.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// person is a whole contact with an email, its consent, its orders and
// spend, and tags.
func person(id int64, email, consent string, orders int64, spent string, tags ...string) shopsync.Contact {
	created := now.Add(-time.Duration(id) * 24 * time.Hour)
	c := shopsync.Contact{ShopifyID: id, Tags: tags, ShopifyCreatedAt: &created, ShopifyUpdatedAt: &created,
		Fields: shopsync.AllFields, Parts: shopsync.AllParts, Full: shopsync.AllParts}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if email != "" {
		c.Email = &email
	}
	c.Attributes = shopsync.Attributes{
		shopsync.IntAttr("orders_count", &orders),
		shopsync.DecimalAttr("total_spent", &spent),
		shopsync.StringAttr("email_marketing_consent", &consent),
	}
	for i := range c.Attributes {
		for _, spec := range mapping.Catalog() {
			if spec.Name == c.Attributes[i].Name {
				c.Attributes[i].Part = spec.Part
			}
		}
	}
	c.Attributes.Sort()
	return c
}

func TestSaveRefusesWhatCannotRun(t *testing.T) {
	s, _ := seeded(t, mapping.ProjectionConfig{}, person(1, "a@x.com", "subscribed", 1, "10.00"))
	ctx := context.Background()
	var (
		ne *audience.NameError
		se *segment.Error
	)
	for _, tc := range []struct {
		name, query string
		check       func(error) bool
	}{
		{"Best", "true", func(err error) bool { return errors.As(err, &ne) }},
		{"", "true", func(err error) bool { return errors.As(err, &ne) }},
		{"a b", "true", func(err error) bool { return errors.As(err, &ne) }},
		{strings.Repeat("x", 65), "true", func(err error) bool { return errors.As(err, &ne) }},
		{"all", "true", func(err error) bool { return errors.As(err, &ne) }},
		{"ok", "orders_count >= ", func(err error) bool { return errors.As(err, &se) }},
		{"ok", "nope = 1", func(err error) bool { return errors.As(err, &se) }},
	} {
		if err := s.Save(ctx, tc.name, tc.query, false); !tc.check(err) {
			t.Errorf("Save(%q, %q) = %v", tc.name, tc.query, err)
		}
	}
	segs, err := s.Segments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range segs {
		if !seg.Builtin {
			t.Errorf("saved %+v: none was valid", seg)
		}
	}
	if err := s.Save(ctx, "big", "total_spent >= 100", false); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "big", "true", false); !errors.Is(err, store.ErrExists) {
		t.Errorf("save over: %v, want ErrExists", err)
	}
	if err := s.Save(ctx, "big", "total_spent >= 5", true); err != nil {
		t.Errorf("replace: %v", err)
	}
	if seg, err := s.Segment(ctx, "big"); err != nil || seg.Query != "total_spent >= 5" || seg.Builtin {
		t.Errorf("after replace: %+v, %v", seg, err)
	}
	if err := s.Delete(ctx, "all"); !errors.Is(err, audience.ErrBuiltin) {
		t.Errorf("delete a built-in: %v", err)
	}
	if err := s.Delete(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "big"); !errors.Is(err, audience.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

// TestCountsAgreeWithMatch counts segments through SQL and checks each
// against the segment's own Go evaluation of every contact.
func TestCountsAgreeWithMatch(t *testing.T) {
	people := []shopsync.Contact{
		person(1, "A@x.com", "subscribed", 0, "0.00", "VIP"),
		person(2, "b@x.com", "unsubscribed", 3, "300.00", "vip", "wholesale"),
		person(3, "c@x.com", "subscribed", 5, "99.99"),
		person(4, "", "not_subscribed", 1, "1000000000000000000.01", "Élodie"),
		person(40, "d@x.com", "subscribed", 2, "100"),
	}
	s, db := seeded(t, mapping.ProjectionConfig{}, people...)
	mapper, _ := mapping.New(mapping.Config{})
	comp, err := segment.NewCompiler(mapper.AttributeTypes())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := make([]*shopsync.Contact, 0, len(people))
	for _, p := range people {
		c, err := db.Contact(ctx, p.ShopifyID)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, c)
	}
	queries := []string{`has tag "vip"`, `total_spent >= 100`, `total_spent > 999999999999999999.99`,
		`email ends_with "@X.COM"`, `created_at > now - 10d`, `not has tag "élodie"`, `orders_count in (0, 5)`}
	for _, b := range segment.Builtins() {
		queries = append(queries, b.Expr)
	}
	for _, q := range queries {
		seg, err := comp.Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		want := int64(0)
		for _, c := range stored {
			if seg.Match(c, now) {
				want++
			}
		}
		got, err := s.Count(ctx, q)
		if err != nil || got != want {
			t.Errorf("Count(%s) = %d, %v; Match says %d", q, got, err, want)
		}
	}
}

// TestExportForEmail: a marketing list of a segment leaves out an address
// that another contact, outside the segment, unsubscribed from.
func TestExportForEmail(t *testing.T) {
	s, _ := seeded(t, mapping.ProjectionConfig{Prefix: "sp_", Fields: []mapping.FieldConfig{
		{Name: "email", Source: "email", Transforms: []string{"trim", "lower"}, NoPrefix: true},
		{Source: "total_spent", Type: "decimal", Scale: ptr(2)},
	}},
		person(1, "vip@x.com", "subscribed", 3, "300", "VIP"),
		person(2, "VIP@x.com", "unsubscribed", 0, "0"), // not VIP, but the same person
		person(3, "other@x.com", "subscribed", 3, "300.5", "vip"),
		person(4, "plain@x.com", "subscribed", 0, "0"),
	)
	ctx := context.Background()
	if err := s.Save(ctx, "vips", `has tag "VIP"`, false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := s.Export(ctx, &out, audience.ExportRequest{Segment: "vips", For: marketing.Email, Format: audience.CSV})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"email", "sp_total_spent"}, {"other@x.com", "300.50"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if rep.Marketing == nil || rep.Marketing.Read != 2 || rep.Marketing.Included != 1 || rep.Marketing.Withheld != 1 {
		t.Errorf("report %+v: want 2 read, 1 included, 1 withheld", rep.Marketing)
	}
}

func ptr[T any](v T) *T { return &v }
