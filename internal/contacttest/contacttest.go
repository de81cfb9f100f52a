// Package contacttest builds contacts tables for tests of SQL that reads
// the store: a real SQLite file with the store's own DDL (its migration
// files, read from store/migrations), rows encoded as the store encodes
// them, and the sqlfunc functions on every connection. It lets segment
// and marketing SQL be checked by its results without the store's Go API,
// which may change under it; TestMatchesStore checks the encoding against
// the store's.
package contacttest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/sqlfunc"
)

// StoredTime is the store's time layout: UTC with nine fraction digits, so
// that stored times compare as text.
const StoredTime = "2006-01-02T15:04:05.000000000Z07:00"

// MigrationsDir returns the store's migrations folder, found from this
// source file's path.
func MigrationsDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		panic("contacttest: no absolute source path (built with -trimpath?)")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "store", "migrations")
}

// connector opens go-sqlite3 connections with sqlfunc registered, without
// a global sql.Register.
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// Open opens (creating) the SQLite file at path with sqlfunc's functions
// on every connection, and applies the store's SQL migrations if the
// contacts table is missing.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error { return sqlfunc.Register(c) }}
	db := sql.OpenDB(connector{dsn: "file:" + path + "?" + q.Encode(), drv: drv})
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'contacts'`).Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	if n == 0 {
		if err := migrate(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// migrate applies the store's SQL migration files in lexical order. The
// store's Go migrations only rewrite existing rows, of which there are
// none.
func migrate(ctx context.Context, db *sql.DB) error {
	files, err := filepath.Glob(filepath.Join(MigrationsDir(), "*.sql"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no migrations in %s", MigrationsDir())
	}
	sort.Strings(files)
	for _, f := range files {
		buf, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, string(buf)); err != nil {
			return fmt.Errorf("migration %s: %w", filepath.Base(f), err)
		}
	}
	return nil
}

// OpenDB opens a fresh contacts database in tb.TempDir() and closes it
// when the test ends.
func OpenDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "contacts.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Insert writes contacts as the store writes them, in one transaction.
func Insert(tb testing.TB, db *sql.DB, cs ...*shopsync.Contact) {
	tb.Helper()
	if err := InsertContacts(context.Background(), db, cs); err != nil {
		tb.Fatal(err)
	}
}

// InsertContacts is Insert, returning its error.
func InsertContacts(ctx context.Context, db *sql.DB, cs []*shopsync.Contact) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO contacts (shopify_id, email, email_norm, first_name,
		last_name, phone, state, tags, shopify_created_at, shopify_updated_at, content_hash, created_at,
		updated_at, changed_by, deleted_at, attributes, attribute_types)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 'test', ?, ?,
			(SELECT id FROM attribute_type_sets WHERE types = ?))`)
	if err != nil {
		return err
	}
	defer ins.Close()
	typeSet, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO attribute_type_sets (types) VALUES (?)`)
	if err != nil {
		return err
	}
	defer typeSet.Close()
	now := time.Now().UTC().Format(StoredTime)
	for _, c := range cs {
		r := Encode(c)
		if _, err := typeSet.ExecContext(ctx, r.Types); err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, c.ShopifyID, r.Email, r.EmailNorm, r.FirstName, r.LastName,
			r.Phone, r.State, r.Tags, r.CreatedAt, r.UpdatedAt, now, now, r.DeletedAt, r.Attributes,
			r.Types); err != nil {
			return fmt.Errorf("insert contact %d: %w", c.ShopifyID, err)
		}
	}
	return tx.Commit()
}

// Row is a contact's columns as the store writes them; nil is NULL.
type Row struct {
	Email, EmailNorm, FirstName, LastName, Phone, State any
	Tags                                                string
	CreatedAt, UpdatedAt, DeletedAt                     any
	Attributes                                          string
	Types                                               string // the attribute_type_sets.types of the row
}

// Encode returns c's columns as the store writes them.
func Encode(c *shopsync.Contact) Row {
	r := Row{
		Email: str(c.Email), FirstName: str(c.FirstName), LastName: str(c.LastName),
		Phone: str(c.Phone), State: str(c.State),
		CreatedAt: tm(c.ShopifyCreatedAt), UpdatedAt: tm(c.ShopifyUpdatedAt), DeletedAt: tm(c.DeletedAt),
	}
	if c.Email != nil {
		r.EmailNorm = strings.ToLower(strings.TrimSpace(*c.Email))
	}
	tags := []byte{'['}
	for i, t := range c.Tags {
		if i > 0 {
			tags = append(tags, ',')
		}
		tags = appendJSONString(tags, t)
	}
	r.Tags = string(append(tags, ']'))
	attrs, types := []byte{'{'}, []byte{'{'}
	for i, a := range c.Attributes {
		if i > 0 {
			attrs, types = append(attrs, ','), append(types, ',')
		}
		attrs = append(appendJSONString(attrs, a.Name), ':')
		types = append(appendJSONString(types, a.Name), ':')
		types = appendJSONString(types, string(a.Type))
		switch v := a.Value.(type) {
		case nil:
			attrs = append(attrs, "null"...)
		case int64:
			attrs = strconv.AppendInt(attrs, v, 10)
		case bool:
			attrs = strconv.AppendBool(attrs, v)
		case time.Time:
			attrs = appendJSONString(attrs, v.UTC().Format(StoredTime))
		default:
			s, _ := a.Text()
			attrs = appendJSONString(attrs, s)
		}
	}
	r.Attributes, r.Types = string(append(attrs, '}')), string(append(types, '}'))
	return r
}

func str(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func tm(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(StoredTime)
}

// appendJSONString is the store's: printable ASCII as is, anything else
// through encoding/json.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
