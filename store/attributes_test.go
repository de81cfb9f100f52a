package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/store"
)

// TestAttributeChangeTimes checks that each attribute keeps when and by
// what it last changed while the row around it changes: through an
// import, a webhook, and a re-import that changes the row.
func TestAttributeChangeTimes(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	c := contact(1, "ada@example.com", at(0), 3)
	withAttr(&c, shopsync.StringAttr("note", ptr("first")))
	seed(t, db, c, at(0)) // written at clock 1 by the import

	changes := func() map[string]store.LastChange {
		t.Helper()
		_, attrs, err := db.ContactChanges(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return attrs
	}
	first := changes()
	imported := first["orders_count"]
	if imported.By != shopsync.SourceImport || first["note"] != imported || len(first) != 4 {
		t.Fatalf("after the import: %+v", first)
	}

	// A webhook changes the note only: the other attributes keep the import.
	p := profileOnly(1, "ada@example.com", "Ada", at(10))
	p.Attributes = shopsync.Attributes{shopsync.StringAttr("note", ptr("second"))}
	apply(t, db, upsert(p, at(10), "w1"))
	second := changes()
	if second["note"].By != "customers/update" || !second["note"].At.After(imported.At) {
		t.Errorf("note after the webhook: %+v", second["note"])
	}
	for _, name := range []string{"orders_count", "total_spent", "accepts_email_marketing"} {
		if second[name] != imported {
			t.Errorf("%s after the webhook: %+v, want the import's %+v", name, second[name], imported)
		}
	}

	// A re-import changes orders_count and carries the same note: the
	// note keeps the webhook, orders_count takes the re-import.
	c2 := contact(1, "ada@example.com", at(20), 4)
	c2.FirstName = ptr("Ada")
	withAttr(&c2, shopsync.StringAttr("note", ptr("second")))
	run, _ := beginRun(t, db) // resumes the first, unfinished import
	if _, err := db.ApplyPage(ctx, run, 0, 1, at(20), []shopsync.Contact{c2}); err != nil {
		t.Fatal(err)
	}
	third := changes()
	if third["note"] != second["note"] {
		t.Errorf("note after the re-import: %+v, want the webhook's %+v", third["note"], second["note"])
	}
	if third["orders_count"].By != shopsync.SourceImport || !third["orders_count"].At.After(second["note"].At) {
		t.Errorf("orders_count after the re-import: %+v", third["orders_count"])
	}
	if third["total_spent"] != imported {
		t.Errorf("total_spent after the re-import: %+v, want %+v", third["total_spent"], imported)
	}
	if got := attrValue(mustContact(t, db, 1), "orders_count"); got != int64(4) {
		t.Errorf("orders_count %v, want 4", got)
	}

	// The contact_attributes view keeps the old table's shape and storage
	// classes for readers written against it.
	rows, err := rawDB(t, db).Query(`SELECT name, type, typeof(value), value, changed_by
		FROM contact_attributes WHERE shopify_id = 1 ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ, class, by string
		var value any
		if err := rows.Scan(&name, &typ, &class, &value, &by); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %v %s", name, typ, class, value, by))
	}
	want := []string{
		"accepts_email_marketing boolean integer 1 import",
		"note string text second customers/update",
		"orders_count integer integer 4 import",
		"total_spent decimal text 123456789.10 import",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact_attributes view (-want +got):\n%s", diff)
	}
}

// oldStore creates a store at path as an older release left it: only the
// given migrations applied, and recorded. The caller closes it before
// store.Open migrates the rest.
func oldStore(t *testing.T, path string, migrations ...string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, name := range migrations {
		buf, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(buf)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := raw.Exec(`INSERT INTO migrations VALUES (?, '2026-01-01T00:00:00Z')`, "migrations/"+name); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

// migrate closes the old store raw and opens it with store.Open, which
// applies the migrations it lacks.
func migrate(t *testing.T, raw *sql.DB, path string) *store.DB {
	t.Helper()
	raw.Close()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMigrationMovesAttributes opens a store written by the schema before
// migration 0003, one row per attribute, and checks every attribute comes
// back with its exact value, type and time of change.
func TestMigrationMovesAttributes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw := oldStore(t, path, "0001_init.sql", "0002_webhooks.sql")
	const rowAt, attrAt = "2026-02-02T00:00:00.000000000Z", "2026-01-15T10:00:00.000000000Z"
	const id = int64(9007199254740993) // 2^53 + 1: not a float64
	if _, err := raw.Exec(`INSERT INTO contacts (shopify_id, email, content_hash, created_at, updated_at, changed_by,
		shopify_updated_at) VALUES (?, 'old@example.com', 0, ?, ?, 'import', '2026-01-31T09:00:00.000000000Z')`,
		id, rowAt, rowAt); err != nil {
		t.Fatal(err)
	}
	for _, a := range [][]any{
		{"accepts_email_marketing", "boolean", int64(0)},
		{"accepts_sms_marketing", "boolean", int64(1)},
		{"last_order_id", "integer", int64(1<<62 + 7)},
		{"note", "string", `quote " and 改行` + "\n"},
		{"total_spent", "decimal", "0.10"},
		{"last_order_name", "string", nil},
		{"consent_updated_at", "timestamp", "2025-01-02T03:04:05.000000000Z"},
	} {
		if _, err := raw.Exec(`INSERT INTO contact_attributes VALUES (?, ?, ?, ?, ?, 'customers/update')`,
			id, a[0], a[1], a[2], attrAt); err != nil {
			t.Fatal(err)
		}
	}
	db := migrate(t, raw, path)
	c, err := db.Contact(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	want := shopsync.Attributes{
		shopsync.BoolAttr("accepts_email_marketing", ptr(false)),
		shopsync.BoolAttr("accepts_sms_marketing", ptr(true)),
		shopsync.TimeAttr("consent_updated_at", &ts),
		shopsync.IntAttr("last_order_id", ptr(int64(1<<62+7))),
		shopsync.StringAttr("last_order_name", nil),
		shopsync.StringAttr("note", ptr(`quote " and 改行`+"\n")),
		shopsync.DecimalAttr("total_spent", ptr("0.10")),
	}
	if diff := cmp.Diff(want, c.Attributes, ignoreVersions); diff != "" {
		t.Errorf("attributes after migration (-want +got):\n%s", diff)
	}
	_, changes, err := db.ContactChanges(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for name, ch := range changes {
		if ch.By != "customers/update" || ch.At.Format(time.RFC3339) != "2026-01-15T10:00:00Z" {
			t.Errorf("%s: changed %+v, want the old row's time and source", name, ch)
		}
	}
	if len(changes) != len(want) {
		t.Errorf("%d attribute changes, want %d", len(changes), len(want))
	}
	// Migration 0004 takes the sweep's mark from the data.
	if mark, ok, err := db.HighWaterMark(ctx); err != nil || !ok || mark.Format(time.RFC3339) != "2026-01-31T09:00:00Z" {
		t.Errorf("mark after migration: %v %v %v, want 2026-01-31T09:00:00Z", mark, ok, err)
	}
}

// TestJSONColumnsAreText checks the JSON columns are stored as TEXT: a
// BLOB would look like binary to SQL readers and compare unequal to text.
func TestJSONColumnsAreText(t *testing.T) {
	db, _ := newDB(t)
	seed(t, db, contact(1, "a@example.com", at(0), 3), at(0))
	var tags, attrs, meta string
	if err := rawDB(t, db).QueryRow(`SELECT typeof(tags), typeof(attributes), typeof(attribute_meta) FROM contacts`).
		Scan(&tags, &attrs, &meta); err != nil {
		t.Fatal(err)
	}
	if tags != "text" || attrs != "text" || meta != "text" {
		t.Errorf("tags %s, attributes %s, attribute_meta %s: want text", tags, attrs, meta)
	}
}

// TestDataMark checks the sweep's high-water mark: it is the newest
// Shopify updated_at written, it never moves back (an older write, a
// deletion of the newest contact), a failed change does not move it, and
// shop/redact clears it.
func TestDataMark(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	mark := func() string {
		t.Helper()
		m, ok, err := db.HighWaterMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "none"
		}
		return m.UTC().Format(time.RFC3339)
	}
	if got := mark(); got != "none" {
		t.Fatalf("empty store: mark %s", got)
	}
	seed(t, db, contact(1, "a@example.com", at(50), 1), at(50))
	if got, want := mark(), at(50).Format(time.RFC3339); got != want {
		t.Errorf("after the import: mark %s, want %s", got, want)
	}
	apply(t, db, upsert(profileOnly(2, "b@example.com", "B", at(10)), at(11), "older"))
	apply(t, db, deleteChange(1, at(60)))
	if got, want := mark(), at(50).Format(time.RFC3339); got != want {
		t.Errorf("after an older write and a deletion: mark %s, want %s", got, want)
	}
	// A failing change (no contact) after a newer one that succeeds, and
	// a newer one that fails alone: only the success moves the mark.
	bad := shopsync.Change{Kind: shopsync.ChangeUpsert, ShopifyID: 5, Seen: at(99)}
	good := upsert(profileOnly(3, "c@example.com", "C", at(70)), at(71), "good")
	if _, err := db.ApplyChanges(ctx, []shopsync.Change{good, bad}); err != nil {
		t.Fatal(err)
	}
	if got, want := mark(), at(70).Format(time.RFC3339); got != want {
		t.Errorf("after a success and a failure: mark %s, want %s", got, want)
	}
	apply(t, db, upsert(profileOnly(4, "d@example.com", "D", at(80)), at(81), "d"),
		shopsync.Change{Kind: shopsync.ChangeRedactShop, Source: "shop/redact",
			Delivery: &shopsync.Delivery{WebhookID: "shop", Topic: "shop/redact"}})
	if got := mark(); got != "none" {
		t.Errorf("after shop/redact: mark %s, want none", got)
	}
}

// TestMigrationSharesAttributeTypes opens a store written before migration
// 0005, whose attribute_meta held every attribute's type, and checks the
// types move to one shared set, attribute_meta keeps only the attributes
// that changed apart from their row, and the contact_attributes view and
// the contact read back as before.
func TestMigrationSharesAttributeTypes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw := oldStore(t, path, "0001_init.sql", "0002_webhooks.sql", "0003_attributes_in_row.sql", "0004_data_mark.sql")
	const rowAt, attrAt = "2026-02-02T00:00:00.000000000Z", "2026-01-15T10:00:00.000000000Z"
	attrs := `{"orders_count":4,"total_spent":"0.10","note":null,"accepts_email_marketing":true}`
	for id, meta := range map[int64]string{
		9007199254740993: `{"orders_count":["integer","` + attrAt + `","customers/update"],"total_spent":["decimal"],` +
			`"note":["string","` + attrAt + `","import"],"accepts_email_marketing":["boolean"]}`,
		2: `{"orders_count":["integer"],"total_spent":["decimal"],"note":["string"],"accepts_email_marketing":["boolean"]}`,
	} {
		if _, err := raw.Exec(`INSERT INTO contacts (shopify_id, email, content_hash, created_at, updated_at, changed_by,
			attributes, attribute_meta) VALUES (?, 'old@example.com', 0, ?, ?, 'customers/create', ?, ?)`,
			id, rowAt, rowAt, attrs, meta); err != nil {
			t.Fatal(err)
		}
	}
	db := migrate(t, raw, path)
	r := rawDB(t, db)
	var sets int
	if err := r.QueryRow(`SELECT count(*) FROM attribute_type_sets`).Scan(&sets); err != nil || sets != 1 {
		t.Errorf("type sets after migration: %d (%v), want 1 shared", sets, err)
	}
	metas := map[int64]string{}
	rows, err := r.Query(`SELECT shopify_id, attribute_meta FROM contacts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var meta string
		if err := rows.Scan(&id, &meta); err != nil {
			t.Fatal(err)
		}
		metas[id] = meta
	}
	rows.Close()
	want := map[int64]string{
		9007199254740993: `{"orders_count":["` + attrAt + `","customers/update"],"note":["` + attrAt + `","import"]}`,
		2:                `{}`,
	}
	if diff := cmp.Diff(want, metas); diff != "" {
		t.Errorf("attribute_meta after migration (-want +got):\n%s", diff)
	}
	var view []string
	rows, err = r.Query(`SELECT name, type, quote(value), updated_at, changed_by FROM contact_attributes
		WHERE shopify_id = 9007199254740993 ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, typ, value, at, by string
		if err := rows.Scan(&name, &typ, &value, &at, &by); err != nil {
			t.Fatal(err)
		}
		view = append(view, fmt.Sprintf("%s %s %s %s %s", name, typ, value, at, by))
	}
	rows.Close()
	wantView := []string{
		"accepts_email_marketing boolean 1 " + rowAt + " customers/create",
		"note string NULL " + attrAt + " import",
		"orders_count integer 4 " + attrAt + " customers/update",
		"total_spent decimal '0.10' " + rowAt + " customers/create",
	}
	if diff := cmp.Diff(wantView, view); diff != "" {
		t.Errorf("contact_attributes after migration (-want +got):\n%s", diff)
	}
	c, err := db.Contact(ctx, 9007199254740993)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := shopsync.Attributes{
		shopsync.BoolAttr("accepts_email_marketing", ptr(true)),
		shopsync.StringAttr("note", nil),
		shopsync.IntAttr("orders_count", ptr(int64(4))),
		shopsync.DecimalAttr("total_spent", ptr("0.10")),
	}
	if diff := cmp.Diff(wantAttrs, c.Attributes, ignoreVersions); diff != "" {
		t.Errorf("attributes after migration (-want +got):\n%s", diff)
	}
}

// legacyBlob is the stamps column as releases before 0007 wrote it for a
// contact imported at tie whose parts all have the clock updated.
func legacyBlob(updated, tie time.Time) []byte {
	var b []byte
	for range shopsync.NumParts {
		b = binary.AppendVarint(b, updated.UnixMicro())
		b = binary.AppendVarint(b, tie.UnixMicro())
	}
	return binary.AppendVarint(binary.AppendVarint(b, 0), 0)
}

// TestMigrationRehashesContacts opens a store whose content hashes and
// stamps are not this release's (as releases before 0007 left them) and
// checks the migration rewrites every contact's, batch after batch, so
// that the next import of the same customers finds them all unchanged and
// writes nothing.
func TestMigrationRehashesContacts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rehash.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2500 // more than one batch
	updated := time.Date(2024, 4, 2, 14, 23, 53, 120000000, time.UTC)
	page := make([]shopsync.Contact, n)
	for i := range page {
		c := contact(int64(i+1)<<40, fmt.Sprintf("c%d@example.com", i), updated, int64(i))
		consent := updated.Add(-time.Duration(i) * time.Millisecond)
		a := shopsync.TimeAttr("consent_updated_at", &consent)
		a.Part = shopsync.PartEmailConsent
		c.Attributes = append(c.Attributes[:1], append(shopsync.Attributes{a}, c.Attributes[1:]...)...)
		page[i] = c
	}
	importAll := func(fetched time.Time) shopsync.PageCounts {
		t.Helper()
		run, cp := beginRun(t, db)
		if cp != 0 {
			t.Fatalf("checkpoint %d, want a new import", cp)
		}
		counts, err := db.ApplyPage(ctx, run, 0, page[n-1].ShopifyID, fetched, page)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.FinishImport(ctx, run, fetched); err != nil {
			t.Fatal(err)
		}
		return counts
	}
	importAll(updated.Add(time.Minute))
	// One contact changed by a webhook since: its record is a merge.
	apply(t, db, tagsChange(shopsync.ChangeTagsAdded, page[7].ShopifyID, updated.Add(time.Hour), updated.Add(time.Hour), "gold"))
	db.Close()

	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// As a release before 0007 left the store: hashes of another
	// function, stamps as varint pairs of clock and tie-break, and tag
	// events as JSON in a column of their own.
	legacy := legacyBlob(updated, updated.Add(time.Minute))
	event := updated.Add(time.Hour).UnixMicro()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE contacts SET content_hash = shopify_id % 977, stamps = ?`, []any{legacy}},
		{`ALTER TABLE contacts ADD COLUMN tag_events TEXT`, nil},
		{`UPDATE contacts SET tag_events = ? WHERE shopify_id = ?`,
			[]any{fmt.Sprintf(`{"gold":[%d,%d,1]}`, event, event), page[7].ShopifyID}},
		{`DELETE FROM migrations WHERE name IN (?, ?, ?)`, []any{"migrations/0007_merge_model_stamps.go",
			"migrations/0010_tag_events_and_hashes.go", "migrations/0011_drop_tag_events.sql"}},
	} {
		if _, err := raw.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	written := func(raw *sql.DB) string {
		t.Helper()
		var s string
		if err := raw.QueryRow(`SELECT group_concat(updated_at || changed_by) FROM contacts`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := written(raw)
	db = migrate(t, raw, path)
	checkHashes(t, db)

	// The tagged contact keeps its tag, from an event newer than the page.
	if got := importAll(updated.Add(2 * time.Minute)); got.Unchanged != n || got.Updated != 0 || got.Created != 0 {
		t.Errorf("re-import after the migration: %+v, want all %d unchanged", got, n)
	}
	if written(rawDB(t, db)) != before {
		t.Error("the re-import after the migration rewrote contacts that did not change")
	}
}

// TestPageSize checks that a new store, and an empty file given as one,
// get 8 KB pages in WAL mode, and that a store an older release created
// with 4 KB pages keeps them and opens as before.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	pragmas := func(path string) (pageSize int, journal string) {
		t.Helper()
		raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if err := raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
			t.Fatal(err)
		}
		if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&journal); err != nil {
			t.Fatal(err)
		}
		return pageSize, journal
	}
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "new.db"), empty} {
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if size, journal := pragmas(path); size != 8192 || journal != "wal" {
			t.Errorf("%s: page size %d, journal %s; want 8192, wal", filepath.Base(path), size, journal)
		}
	}

	old := filepath.Join(dir, "old.db")
	raw := oldStore(t, old, "0001_init.sql")
	if _, err := raw.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	db := migrate(t, raw, old)
	seed(t, db, contact(42, "old@example.com", time.Date(2024, 4, 2, 0, 0, 0, 0, time.UTC), 1), time.Now())
	db.Close()
	if size, journal := pragmas(old); size != 4096 || journal != "wal" {
		t.Errorf("older store: page size %d, journal %s; want 4096 kept, wal", size, journal)
	}
}
