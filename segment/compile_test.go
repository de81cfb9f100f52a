package segment_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/contacttest"
	"github.com/shopsync/shopsync/segment"
)

// now is the clock of the result tests.
var now = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// fixture is a handful of contacts with the edges the segments test:
// case and Unicode in text and tags, nulls, decimals beyond float64,
// times on day and 30-day boundaries.
func fixture() []*shopsync.Contact {
	attrs := func(as ...shopsync.Attribute) shopsync.Attributes {
		out := shopsync.Attributes(as)
		out.Sort()
		return out
	}
	str := func(name, v string) shopsync.Attribute { return shopsync.StringAttr(name, &v) }
	null := func(name string, t shopsync.AttrType) shopsync.Attribute {
		return shopsync.Attribute{Name: name, Type: t}
	}
	num := func(name string, v int64) shopsync.Attribute { return shopsync.IntAttr(name, &v) }
	dec := func(v string) shopsync.Attribute { return shopsync.DecimalAttr("total_spent", &v) }
	yes := func(name string, v bool) shopsync.Attribute { return shopsync.BoolAttr(name, &v) }
	return []*shopsync.Contact{
		{ShopifyID: 1, Email: ptr("Alice@Example.com"), FirstName: ptr("Alice"), LastName: ptr("Martin"),
			Phone: ptr("+33612345678"), State: ptr("enabled"), Tags: []string{"VIP", "Léon"},
			ShopifyCreatedAt: at("2025-06-01T08:00:00Z"), ShopifyUpdatedAt: at("2025-06-10T08:00:00Z"),
			Attributes: attrs(str("email_marketing_consent", "subscribed"), str("sms_marketing_consent", "subscribed"),
				num("orders_count", 3), dec("250.00"), yes("accepts_email_marketing", true),
				str("default_address_country_code", "FR"),
				shopsync.TimeAttr("email_marketing_consent_updated_at", at("2025-06-01T08:00:00Z")))},
		{ShopifyID: 2, Email: ptr("bob@example.com"), FirstName: ptr("Bob"), State: ptr("disabled"), Tags: []string{"vip"},
			ShopifyCreatedAt: at("2024-01-31T23:59:59.999999999Z"),
			Attributes: attrs(str("email_marketing_consent", "not_subscribed"), num("orders_count", 1), dec("100"),
				yes("accepts_email_marketing", false))},
		{ShopifyID: 3, FirstName: ptr("ÉLODIE"), LastName: ptr("Noël"), Phone: ptr("+16135550123"), Tags: []string{},
			ShopifyCreatedAt: at("2024-02-01T00:00:00Z"),
			Attributes: attrs(null("email_marketing_consent", shopsync.TypeString), str("sms_marketing_consent", "subscribed"),
				num("orders_count", 0), dec("0.00"), yes("accepts_email_marketing", false))},
		{ShopifyID: 4, Email: ptr("carol@gmail.com"), FirstName: ptr("Carol"), Tags: []string{"wholesale"},
			ShopifyCreatedAt: at("2023-05-05T10:00:00Z"),
			Attributes: attrs(str("email_marketing_consent", "unsubscribed"), null("orders_count", shopsync.TypeInteger),
				null("total_spent", shopsync.TypeDecimal), yes("accepts_email_marketing", false))},
		{ShopifyID: 5, Email: ptr("dan@GMAIL.com "), Tags: []string{"VIP", "b2b"},
			Attributes: attrs(str("email_marketing_consent", "SUBSCRIBED"), num("orders_count", 2), dec("99.995"),
				yes("accepts_email_marketing", true))},
		{ShopifyID: 6, Email: ptr("eve@example.org"), FirstName: ptr("Eve"), LastName: ptr("O'Hara"), Tags: []string{"10%_club"},
			ShopifyCreatedAt: at("2025-06-14T12:00:00Z"),
			Attributes: attrs(str("email_marketing_consent", "pending"), num("orders_count", 12), dec("1000.01"),
				str("note", "50% off_code"), yes("accepts_email_marketing", false))},
		{ShopifyID: 7, Email: ptr("frank@example.com"), Tags: []string{},
			ShopifyCreatedAt: at("2025-05-16T12:00:00Z"), // exactly 30 days before now
			Attributes: attrs(str("email_marketing_consent", "subscribed"), num("orders_count", 2),
				dec("100.000000000000001"), yes("accepts_email_marketing", true))},
		{ShopifyID: 8, Email: ptr("grace@example.com"), Tags: []string{"Straße"},
			ShopifyCreatedAt: at("2025-05-16T12:00:00.000000001Z")}, // no attributes at all
	}
}

// deleted is a contact the store has marked deleted: the WHERE around a
// segment leaves it out, whatever the segment.
func deleted() *shopsync.Contact {
	return &shopsync.Contact{ShopifyID: 9, Email: ptr("gone@example.com"), Tags: []string{"VIP"}, DeletedAt: at("2025-01-01T00:00:00Z")}
}

// selectIDs runs a segment's SQL as the store will and returns the ids.
func selectIDs(t testing.TB, db *sql.DB, where string, args []any) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT shopify_id FROM contacts WHERE deleted_at IS NULL AND (`+where+`) ORDER BY shopify_id`, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", where, args, err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestResults runs each segment's SQL on a real SQLite contacts table
// and checks the contacts it selects, and that Match selects the same.
func TestResults(t *testing.T) {
	c := newCompiler(t)
	db := contacttest.OpenDB(t)
	contacts := fixture()
	contacttest.Insert(t, db, append(contacts, deleted())...)
	all := []int64{1, 2, 3, 4, 5, 6, 7, 8}
	but := func(ids ...int64) []int64 {
		return slices.DeleteFunc(slices.Clone(all), func(id int64) bool { return slices.Contains(ids, id) })
	}
	tests := []struct {
		src  string
		want []int64
	}{
		{`true`, all},
		{`false`, nil},
		{`email_marketing_consent = "subscribed"`, []int64{1, 5, 7}},
		{`email_marketing_consent != "subscribed"`, []int64{2, 3, 4, 6, 8}},
		{`sms_marketing_consent = "subscribed"`, []int64{1, 3}},
		{`created_at > now - 30d`, []int64{1, 6, 8}},
		{`created_at >= now - 30d`, []int64{1, 6, 7, 8}},
		{`created_at > now - 720h`, []int64{1, 6, 8}},
		{`created_at > now - 1d`, nil},
		{`created_at >= now - 1440m`, []int64{6}},
		{`orders_count >= 2`, []int64{1, 5, 6, 7}},
		{`orders_count = 0 or orders_count is null`, []int64{3, 4, 8}},
		{`not orders_count >= 2`, []int64{2, 3, 4, 8}},
		{`orders_count != 2`, but(5, 7)},
		{`orders_count in (0, 1)`, []int64{2, 3}},
		{`orders_count not in (0, 1)`, but(2, 3)},
		{`total_spent >= 100`, []int64{1, 2, 6, 7}},
		{`total_spent > 100`, []int64{1, 6, 7}},
		{`total_spent = 100`, []int64{2}}, // 100.000000000000001 is not 100, whatever float64 says
		{`total_spent = 100.000000000000001`, []int64{7}},
		{`total_spent < 100`, []int64{3, 5}},
		{`total_spent > -1`, []int64{1, 2, 3, 5, 6, 7}},
		{`total_spent in (0, 100.00)`, []int64{2, 3}},
		{`total_spent != 100`, but(2)},
		{`has tag "vip"`, []int64{1, 2, 5}},
		{`has tag "LÉON"`, []int64{1}},
		{`has tag "10%_club"`, []int64{6}},
		{`has tag "10"`, nil},
		{`first_name = "élodie"`, []int64{3}},
		{`first_name starts_with "É"`, []int64{3}},
		{`last_name = "NOËL"`, []int64{3}},
		{`email ends_with "@gmail.com"`, []int64{4, 5}},
		{`email contains "EXAMPLE"`, []int64{1, 2, 6, 7, 8}},
		{`email not contains "example"`, []int64{3, 4, 5}},
		{`email is null`, []int64{3}},
		{`email is not null`, but(3)},
		{`email = "ALICE@example.COM"`, []int64{1}},
		{`email = " dan@gmail.com"`, nil}, // the value is not trimmed, only the stored email
		{`note contains "50%"`, []int64{6}},
		{`note contains "0_"`, nil}, // _ is a character, not a LIKE wildcard
		{`note contains "f_c"`, []int64{6}},
		{`note starts_with "50% o"`, []int64{6}},
		{`last_name contains "'"`, []int64{6}},
		{`state = "disabled"`, []int64{2}},
		{`state in ("enabled", "DISABLED")`, []int64{1, 2}},
		{`not state = "disabled"`, but(2)},
		{`state < "e"`, []int64{2}},
		{`accepts_email_marketing`, []int64{1, 5, 7}},
		{`not accepts_email_marketing`, []int64{2, 3, 4, 6, 8}},
		{`accepts_email_marketing = false`, []int64{2, 3, 4, 6}},
		{`accepts_email_marketing != true`, []int64{2, 3, 4, 6, 8}},
		{`accepts_email_marketing in (true)`, []int64{1, 5, 7}},
		{`accepts_email_marketing is null`, []int64{8}},
		{`created_at = "2024-01-31"`, []int64{2}},
		{`created_at <= "2024-01-31"`, []int64{2, 4}},
		{`created_at < "2024-02-01"`, []int64{2, 4}},
		{`created_at > "2024-01-31"`, []int64{1, 3, 6, 7, 8}},
		{`created_at >= "2024-02-01T00:00:00Z"`, []int64{1, 3, 6, 7, 8}},
		{`created_at >= "2024-02-01T01:00:00+01:00"`, []int64{1, 3, 6, 7, 8}},
		{`created_at = "2024-02-01T00:00:00Z"`, []int64{3}},
		{`created_at != "2024-01-31"`, but(2)},
		{`created_at is null`, []int64{5}},
		{`shopify_created_at is null`, []int64{5}},
		{`updated_at > "2025-01-01"`, []int64{1}},
		{`email_marketing_consent_updated_at > "2025-01-01"`, []int64{1}},
		{`shopify_id in (1, 3, 99)`, []int64{1, 3}},
		{`shopify_id > 6`, []int64{7, 8}},
		{`phone starts_with "+33"`, []int64{1}},
		{`default_address_country_code = "fr"`, []int64{1}},
		{`(has tag "vip" or orders_count > 10) and not email ends_with ".org"`, []int64{1, 2, 5}},
		{`not (email_marketing_consent = "subscribed" or has tag "wholesale")`, []int64{2, 3, 6, 8}},
		{`not not has tag "b2b"`, []int64{5}},
		{`orders_count >= 2 AND Email_Marketing_Consent = 'Subscribed'`, []int64{1, 5, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			s, err := c.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			where, args := s.SQL(now)
			want := tt.want
			if want == nil {
				want = []int64{}
			}
			if diff := cmp.Diff(selectIDs(t, db, where, args), want); diff != "" {
				t.Errorf("SQL %s %v (-got +want):\n%s", where, args, diff)
			}
			matched := []int64{}
			for _, k := range contacts {
				if s.Match(k, now) {
					matched = append(matched, k.ShopifyID)
				}
			}
			if diff := cmp.Diff(matched, want); diff != "" {
				t.Errorf("Match (-got +want):\n%s", diff)
			}
		})
	}
}

// TestBuiltins compiles every built-in segment under the default mapping,
// and checks the SQL each gives: what the lead's store will run.
func TestBuiltins(t *testing.T) {
	c := newCompiler(t)
	want := map[string]string{
		"all":                       `1 []`,
		"email_subscribers":         `lower(attributes ->> 'email_marketing_consent') IN (?, ?) [subscribed subscr\u0130bed]`,
		"sms_subscribers":           `lower(attributes ->> 'sms_marketing_consent') IN (?, ?) [subscribed subscr\u0130bed]`,
		"new_30d":                   `shopify_created_at > ? [2025-05-16T12:00:00.000000000Z]`,
		"repeat_buyers":             `(attributes ->> 'orders_count') >= ? [2]`,
		"one_time_buyers":           `(attributes ->> 'orders_count') = ? [1]`,
		"never_ordered":             `((attributes ->> 'orders_count') = ? OR (attributes ->> 'orders_count') IS NULL) [0]`,
		"subscribers_never_ordered": `(lower(attributes ->> 'email_marketing_consent') IN (?, ?) AND ((attributes ->> 'orders_count') = ? OR (attributes ->> 'orders_count') IS NULL)) [subscribed subscr\u0130bed 0]`,
		"email_unsubscribed":        `lower(attributes ->> 'email_marketing_consent') IN (?, ?) [unsubscribed unsubscr\u0130bed]`,
	}
	// Each reads one index's expressions only, and is counted from it.
	index := map[string]string{
		"all": "contacts_email_consent_orders", "email_subscribers": "contacts_email_consent_orders",
		"sms_subscribers": "contacts_sms_consent_created", "new_30d": "contacts_sms_consent_created",
		"repeat_buyers": "contacts_email_consent_orders", "one_time_buyers": "contacts_email_consent_orders",
		"never_ordered": "contacts_email_consent_orders", "subscribers_never_ordered": "contacts_email_consent_orders",
		"email_unsubscribed": "contacts_email_consent_orders",
	}
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, fixture()...)
	var names []string
	for _, b := range segment.Builtins() {
		names = append(names, b.Name)
		where, args, err := c.Compile(b.Expr, now)
		if err != nil {
			t.Errorf("%s: %v", b.Name, err)
			continue
		}
		if got := fmt.Sprintf("%s %v", where, args); got != strings.ReplaceAll(want[b.Name], `\u0130`, "\u0130") {
			t.Errorf("%s: got %s, want %s", b.Name, got, want[b.Name])
		}
		s, err := c.Parse(b.Expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Index(); got != index[b.Name] {
			t.Errorf("%s: index %q, want %q", b.Name, got, index[b.Name])
		}
		selectIDs(t, db, where, args) // runs
	}
	if len(names) != len(want) {
		t.Errorf("got built-ins %v, want %d", names, len(want))
	}
	// Segments of the merchant's own read an index when it holds all they
	// read: total spent is there, with the order count.
	for src, want := range map[string]string{
		`total_spent >= 100 and orders_count >= 3`:                           "contacts_email_consent_orders",
		`email_marketing_consent = "subscribed" and total_spent in (1, 2.5)`: "contacts_email_consent_orders",
		`total_spent >= 100 and sms_marketing_consent = "subscribed"`:        "",
		`total_spent >= 100 and first_name = "Ann"`:                          "",
	} {
		s, err := c.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Index(); got != want {
			t.Errorf("%s: index %q, want %q", src, got, want)
		}
	}
}

// TestSQLHasNoSegmentText: values travel as arguments, never in the SQL.
func TestSQLHasNoSegmentText(t *testing.T) {
	c := newCompiler(t)
	src := `note contains "Robert'); DROP TABLE contacts;--" or first_name = "x' OR 1=1 --" or has tag "\" OR 1"`
	where, args, err := c.Compile(src, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"DROP", "OR 1", "Robert", "--"} {
		if strings.Contains(where, s) {
			t.Errorf("SQL %q holds %q", where, s)
		}
	}
	if n := strings.Count(where, "?"); n != len(args) {
		t.Errorf("got %d placeholders and %d args", n, len(args))
	}
	db := contacttest.OpenDB(t)
	contacttest.Insert(t, db, fixture()...)
	if got := selectIDs(t, db, where, args); len(got) != 0 {
		t.Errorf("got %v, want no contact", got)
	}
}

// TestTextEdges: the fast paths of text comparison (text.go) on the
// characters where SQLite's lower() and Go's lower case part: the Kelvin
// sign and İ, which Go lower-cases to k and i; characters neither maps to
// ASCII; a NUL before a capital; a text field holding a number.
func TestTextEdges(t *testing.T) {
	c := newCompiler(t)
	db := contacttest.OpenDB(t)
	n := func(id int64, first string, note shopsync.Attribute, tags ...string) *shopsync.Contact {
		return &shopsync.Contact{ShopifyID: id, FirstName: &first, Tags: append([]string{}, tags...),
			Attributes: shopsync.Attributes{note}}
	}
	note := func(s string) shopsync.Attribute { return shopsync.StringAttr("note", &s) }
	num := func(v int64) shopsync.Attribute { return shopsync.IntAttr("note", &v) }
	contacts := []*shopsync.Contact{
		n(1, "\u212aelvin", note("SUBSCR\u0130BED"), "V\u0130P"), // Kelvin sign; capital I with dot
		n(2, "Kelvin", note("subscribed"), "vip"),
		n(3, "\u0131van", note("12"), "\u0131vip"), // dotless ı: Go keeps it
		n(4, "a\x00\u00c9", num(12), `a"b`),        // NUL then É
		n(5, "\u212b", note("1.5"), ","),           // Ångström sign: Go lower-cases it to å
		n(6, "\u00e5", num(0), "a,b"),
	}
	contacttest.Insert(t, db, contacts...)
	tests := []struct {
		src  string
		want []int64
	}{
		{`first_name = "kelvin"`, []int64{1, 2}},
		{`first_name = "KELVIN"`, []int64{1, 2}},
		{`first_name starts_with "kel"`, []int64{1, 2}},
		{`first_name contains "k"`, []int64{1, 2}},
		{`first_name ends_with "vin"`, []int64{1, 2}},
		{`first_name = "ivan"`, nil},
		{"first_name = \"\u0131van\"", []int64{3}},
		{"first_name = \"a\u0000\u00e9\"", []int64{4}},
		{"first_name >= \"a\u0000\u00e9\"", []int64{1, 2, 3, 4, 5, 6}},
		{"first_name > \"a\u0000\u00e9\"", []int64{1, 2, 3, 5, 6}},
		{"first_name = \"\u00e5\"", []int64{5, 6}},
		{"first_name in (\"\u00e5\", \"kelvin\")", []int64{1, 2, 5, 6}},
		{`first_name < "l"`, []int64{1, 2, 4}},
		{`note = "subscribed"`, []int64{1, 2}},
		{`note in ("subscribed", "12")`, []int64{1, 2, 3}},
		{`note = "12"`, []int64{3}}, // not 4: 12 the number is not the text
		{`note contains "1"`, []int64{3, 5}},
		{`note != "12"`, []int64{1, 2, 4, 5, 6}},
		{`note > "1"`, []int64{1, 2, 3, 5}},
		{`note not contains "1"`, []int64{1, 2, 4, 6}},
		{`has tag "vip"`, []int64{1, 2}},
		{`has tag "VIP"`, []int64{1, 2}},
		{"has tag \"\u0131vip\"", []int64{3}},
		{`has tag "a\"b"`, []int64{4}},
		{`has tag ","`, []int64{5}},
		{`has tag "a,b"`, []int64{6}},
		{`has tag "b"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			s, err := c.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			where, args := s.SQL(now)
			want := tt.want
			if want == nil {
				want = []int64{}
			}
			if diff := cmp.Diff(selectIDs(t, db, where, args), want); diff != "" {
				t.Errorf("SQL %s %q (-got +want):\n%s", where, args, diff)
			}
			matched := []int64{}
			for _, k := range contacts {
				if s.Match(k, now) {
					matched = append(matched, k.ShopifyID)
				}
			}
			if diff := cmp.Diff(matched, want); diff != "" {
				t.Errorf("Match (-got +want):\n%s", diff)
			}
		})
	}
}
