package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
)

// segmentStore is a store of n simulated customers imported as an import
// stores them, some deleted, some consents written in other cases, and a
// compiler for the default mapping.
func segmentStore(t *testing.T, n int) (*DB, *segment.Compiler) {
	t.Helper()
	ctx := context.Background()
	db := openTestDB(t)
	mapper, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	buf, err := json.Marshal(shopifytest.NewHandler(shopifytest.Options{}).Generate(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	var cs []shopify.Customer
	if err := json.Unmarshal(buf, &cs); err != nil {
		t.Fatal(err)
	}
	release, err := db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	page := shopsync.ImportPage{Fetched: time.Now()}
	for i := range cs {
		c, err := mapper.Contact(&cs[i])
		if err != nil {
			t.Fatal(err)
		}
		c.ShopifyID = int64(i+1) * 1000
		page.Contacts = append(page.Contacts, c)
	}
	page.Last = page.Contacts[len(page.Contacts)-1].ShopifyID
	if _, err := db.ApplyPages(ctx, run, []shopsync.ImportPage{page}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE contacts SET deleted_at = '2026-01-01T00:00:00.000000000Z' WHERE shopify_id % 7000 = 0`,
		`UPDATE contacts SET attributes = json_set(attributes, '$.email_marketing_consent', 'SUBSCRIBED') WHERE shopify_id % 11000 = 0`,
		`UPDATE contacts SET attributes = json_set(attributes, '$.email_marketing_consent', 'SUBSCR' || char(304) || 'BED') WHERE shopify_id % 13000 = 0`,
		`UPDATE contacts SET attributes = json_set(attributes, '$.sms_marketing_consent', 'Subscribed') WHERE shopify_id % 17000 = 0`,
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	c, err := segment.NewCompiler(mapper.AttributeTypes())
	if err != nil {
		t.Fatal(err)
	}
	return db, c
}

// TestCountContacts: every built-in segment is counted from an index
// alone, and every count, from an index or by reading the rows in parts,
// is the number of active contacts Match picks.
func TestCountContacts(t *testing.T) {
	ctx := context.Background()
	db, c := segmentStore(t, 3000)
	now := time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	var active []*shopsync.Contact
	if err := db.ExportContacts(ctx, func(k *shopsync.Contact) error {
		active = append(active, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var queries []string
	for _, b := range segment.Builtins() {
		queries = append(queries, b.Expr)
	}
	queries = append(queries,
		`false`,
		`email_marketing_consent != "subscribed"`,
		`not (sms_marketing_consent = "subscribed" or created_at <= "2021-06-30")`,
		`orders_count in (1, 2, 3) and email_marketing_consent in ("pending", "invalid")`,
		`total_spent >= 100 and orders_count >= 3`,
		`email ends_with "5@example.com"`,
		`first_name contains "an" or last_name contains "an"`,
		`email_marketing_consent = "subscribed" and (orders_count >= 3 or total_spent >= 300) and not has tag "wholesale" and created_at > now - 365d`,
		`default_address_country_code in ("FR", "DE", "JP")`,
		`has tag "VIP"`,
		`has tag "常連"`,
		`email_marketing_consent is null`,
	)
	for _, src := range append(queries, "") {
		t.Run(src, func(t *testing.T) {
			var (
				f    Filter
				want int64
			)
			if src == "" {
				want = int64(len(active))
			} else {
				s, err := c.Parse(src)
				if err != nil {
					t.Fatal(err)
				}
				where, args := s.SQL(now)
				f = Filter{Where: where, Args: args, Index: s.Index()}
				for _, k := range active {
					if s.Match(k, now) {
						want++
					}
				}
			}
			got, err := db.CountContacts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("counted %d, Match picks %d", got, want)
			}
			if want == 0 || want == int64(len(active)) {
				t.Logf("%s: picks %d of %d", src, want, len(active))
			}
			index := f.Index
			if src == "" {
				index = allIndex
			}
			if index == "" {
				return
			}
			where, args := f.sql()
			plan := queryPlan(t, db, `SELECT count(*) FROM contacts INDEXED BY `+index+` WHERE `+where, args...)
			if !strings.Contains(plan, "COVERING INDEX "+index) {
				t.Errorf("plan %q: want a covering index scan of %s", plan, index)
			}
		})
	}
	for _, b := range segment.Builtins() {
		if s, _ := c.Parse(b.Expr); s.Index() == "" {
			t.Errorf("built-in %s is counted by reading the rows", b.Name)
		}
	}
}

// TestSegmentIndexesUnused: queries that test deleted_at and nothing the
// segment indexes hold read the table, not a segment index looking each
// row up.
func TestSegmentIndexesUnused(t *testing.T) {
	db, _ := segmentStore(t, 100)
	for _, q := range []string{
		contactSelect + ` WHERE deleted_at IS NULL AND (shopify_id = 5 OR ` + foldFunc + `(first_name) LIKE '%a%') ORDER BY shopify_updated_at DESC LIMIT 5`,
		contactSelect + ` WHERE deleted_at IS NULL AND first_name LIKE '%a%'`,
		`SELECT count(*) FROM contacts WHERE deleted_at IS NULL AND first_name LIKE '%a%'`,
		contactSelect + ` WHERE email_norm = 'x@y.z' AND deleted_at IS NULL ORDER BY shopify_updated_at DESC, shopify_id`,
	} {
		if plan := queryPlan(t, db, q); strings.Contains(plan, "contacts_email_consent_orders") || strings.Contains(plan, "contacts_sms_consent_created") {
			t.Errorf("%s: plan %q", q, plan)
		}
	}
}

// queryPlan returns the EXPLAIN QUERY PLAN of q, its steps joined by "; ".
func queryPlan(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.read.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "; ")
}

func TestIDRanges(t *testing.T) {
	tests := []struct {
		lo, hi int64
		n      int
		want   int
	}{
		{1, 1, 8, 1},
		{1, 8, 8, 8},
		{1, 3, 8, 3},
		{1000, 3_000_000, 8, 8},
		{1, math.MaxInt64, 8, 8},
		{math.MaxInt64 - 5, math.MaxInt64, 4, 3},
	}
	for _, tt := range tests {
		rs := idRanges(tt.lo, tt.hi, tt.n)
		if len(rs) != tt.want {
			t.Errorf("idRanges(%d, %d, %d): %d ranges, want %d: %v", tt.lo, tt.hi, tt.n, len(rs), tt.want, rs)
		}
		next := tt.lo
		for _, r := range rs {
			if r.first != next || r.last < r.first {
				t.Fatalf("idRanges(%d, %d, %d) = %v: not contiguous", tt.lo, tt.hi, tt.n, rs)
			}
			next = r.last + 1
		}
		if rs[len(rs)-1].last != tt.hi {
			t.Errorf("idRanges(%d, %d, %d) = %v: does not end at %d", tt.lo, tt.hi, tt.n, rs, tt.hi)
		}
	}
}

// TestEachContact: every active contact a filter picks, once, in id
// order, across many batches; fn's error stops the read and is returned;
// a cancelled context stops it too.
func TestEachContact(t *testing.T) {
	ctx := context.Background()
	db, c := segmentStore(t, 1500)
	now := time.Now()
	seg, err := c.Parse(`orders_count >= 1`)
	if err != nil {
		t.Fatal(err)
	}
	where, args := seg.SQL(now)
	f := Filter{Where: where, Args: args}
	markSeg, err := c.Parse(`orders_count >= 3`)
	if err != nil {
		t.Fatal(err)
	}
	mw, ma := markSeg.SQL(now)
	scan := Scan{Filter: f, Mark: &Filter{Where: mw, Args: ma}}
	want, err := db.CountContacts(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	last := int64(0)
	marks := 0
	if err := db.EachContact(ctx, scan, func(k *shopsync.Contact, marked bool) error {
		if k.ShopifyID <= last {
			t.Fatalf("contact %d after %d", k.ShopifyID, last)
		}
		last = k.ShopifyID
		if !seg.Match(k, now) {
			t.Fatalf("contact %d does not match", k.ShopifyID)
		}
		if marked != markSeg.Match(k, now) {
			t.Fatalf("contact %d marked %v", k.ShopifyID, marked)
		}
		if marked {
			marks++
		}
		got++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != want || got < 600 || marks == 0 || marks == int(got) {
		t.Fatalf("read %d contacts (%d marked), the count says %d", got, marks, want)
	}

	stop := errors.New("stop")
	n := 0
	if err := db.EachContact(ctx, scan, func(*shopsync.Contact, bool) error {
		if n++; n == 300 {
			return stop
		}
		return nil
	}); err != stop || n != 300 {
		t.Fatalf("after fn's error: %v, %d calls; want stop after 300", err, n)
	}

	cctx, cancel := context.WithCancel(ctx)
	n = 0
	err = db.EachContact(cctx, scan, func(*shopsync.Contact, bool) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= int(want) {
		t.Fatalf("after cancel: %v after %d contacts of %d", err, n, want)
	}
}
