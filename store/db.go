// Package store keeps shopsync's contact store in SQLite: each contact
// with its typed attributes and the versions of its parts, and everything
// that keeps the copy exact: full imports (REST pages or a bulk
// operation's file) with their checkpoints, the contacts an import did not
// find, the webhook deliveries applied (for duplicates), the contacts to
// read again, redactions, customer merges, rejected deliveries, the
// record of every sync run, and the change feed: an event for every
// change to a contact, written with it (outbox.go), read in order
// (feed.go), and each outbound endpoint's place in it (outbound.go).
//
// Every write is one transaction on the store's one write connection
// (SQLite allows one writer; queuing in Go beats busy-waiting in SQLite),
// through one path: a Tx and the writer it holds (writer.go). Every
// incoming contact, from a webhook or an import page, meets the stored one
// in one merge (merge.go). Reads run on a pool of their own beside the
// writer, which WAL allows, and a third connection checkpoints the WAL in
// the background. Every exported method is one transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotFound is returned when a contact or run does not exist (or, for a
// contact, has been deleted).
var ErrNotFound = errors.New("not found")

// DB is the contact store.
type DB struct {
	path   string
	write  *sql.DB // one connection: every write transaction, in turn
	writer writer  // what the transaction holding it writes with
	read   *sql.DB // reads, beside the writer thanks to WAL
	ckpt   *sql.DB // one connection: WAL checkpoints, beside the writer

	typeNames typeNameCache // attribute type sets decoded from their JSON, for reads
	decoders  sync.Pool     // *jsontext.Decoder for reading attributes

	permProblem error // see PermissionProblem

	feed feed // the change feed's hooks and its readers' wake-ups (outbox.go, feed.go)

	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}

	// Now is the clock for the times the store writes. Tests replace it.
	Now func() time.Time
}

// readConns is how many read connections the store opens at most.
const readConns = 4

// busyTimeout is how long, in milliseconds, a connection waits for a lock
// another process holds.
const busyTimeout = "5000"

// dsn builds the go-sqlite3 connection string. synchronous=FULL makes each
// commit durable (fsync of the WAL) before it returns: a webhook is
// acknowledged only after its effect survives a power cut. secure_delete
// overwrites deleted content, so erased personal data leaves the file.
func dsn(path string, readOnly bool) string {
	u := fileURL(path)
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", busyTimeout)
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "FULL")
	q.Set("_secure_delete", "on")
	if readOnly {
		q.Set("_query_only", "1")
		// Reads are lookups and streamed exports: SQLite's default 2 MB
		// cache each, so four readers cannot hold 256 MB between them.
	} else {
		q.Set("_txlock", "immediate")
		// KiB: 16 MB, four times SQLite's default. A page-ordered import
		// appends to the table; the cache holds the hot parts of its
		// indexes. A larger cache bought no speed and cost memory
		// (BenchmarkSyncMemory; BENCHMARKS.md).
		q.Set("_cache_size", "-16384")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens (creating if needed) the store at path and applies pending
// migrations. A new store file is created readable by its owner alone;
// an existing one that group or others may read is opened, and
// PermissionProblem says so.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	db := &DB{path: path, Now: time.Now}
	if err := createFile(ctx, path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	drv := newDriver()
	db.write = sql.OpenDB(&connector{dsn: dsn(path, false), drv: drv, write: true})
	db.write.SetMaxOpenConns(1) // the one writer: transactions queue for it
	db.write.SetConnMaxIdleTime(0)
	if err := db.write.PingContext(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.read = sql.OpenDB(&connector{dsn: dsn(path, true), drv: drv})
	db.read.SetMaxOpenConns(readConns)
	db.ckpt = sql.OpenDB(&connector{dsn: dsn(path, false), drv: drv})
	db.ckpt.SetMaxOpenConns(1)
	// Checked once SQLite has opened the side files, which an older
	// release may have left readable by all.
	if perr := checkPermissions(path); perr != nil {
		db.permProblem = perr
	}
	var cctx context.Context
	cctx, db.stopCheckpoints = context.WithCancel(context.Background())
	db.checkpointsDone = make(chan struct{})
	go db.checkpointer(cctx, db.ckpt, db.checkpointsDone)
	return db, nil
}

// pageSize is the page size of a new store. A contact's row is about a
// kilobyte: an 8 KB page holds eight instead of three or four, and a
// commit writes half as many WAL frames, each a checksum and a write
// (BenchmarkMapUpsert against SQLite's default of 4 KB; BENCHMARKS.md).
const pageSize = 8192

// createFile gives a store file that does not exist yet, or is empty, its
// page size. The page size is fixed when the file is first written, and in
// WAL mode it cannot change, so it is set here, before the connection
// string's journal_mode=WAL would write the file with SQLite's default. A
// store created by an older release keeps its page size.
//
// A missing file is created first with mode 0600, whatever the umask:
// SQLite would create it 0644 under the usual umask 022, and gives the
// -wal and -shm files the database's mode.
func createFile(ctx context.Context, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	} else if errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, storeFileMode)
		if err != nil && !errors.Is(err, fs.ErrExist) { // ErrExist: another process just made it
			return err
		}
		if err == nil {
			if err := f.Close(); err != nil {
				return err
			}
		}
	} else if err != nil {
		return err
	}
	u := fileURL(path)
	conn := sql.OpenDB(&connector{dsn: u.String(), drv: newDriver()})
	conn.SetMaxOpenConns(1)
	for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			return err
		}
	}
	return conn.Close()
}

// fileURL is the SQLite URI of the file at path, with no parameters.
func fileURL(path string) url.URL {
	return url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath()}
}

// Path returns the store's file path.
func (db *DB) Path() string { return db.path }

// Close closes the store.
func (db *DB) Close() error {
	db.stopCheckpoints()
	<-db.checkpointsDone
	return errors.Join(db.ckpt.Close(), db.read.Close(), db.write.Close())
}

// Ping checks that the store answers, for readiness checks.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	return db.read.QueryRowContext(ctx, `SELECT count(*) FROM migrations`).Scan(&n)
}

// migrate applies the embedded migrations not yet recorded, in lexical
// order, each in its own transaction. Migration files are append-only.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	for name := range goMigrations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if fn, ok := goMigrations[name]; ok {
			err = db.migrateGo(ctx, name, fn)
		} else {
			err = db.migrateFile(ctx, name)
		}
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// goMigrations are the migrations SQL cannot express, by name, in the
// same order as the SQL files.
var goMigrations = map[string]func(context.Context, *DB) error{
	"migrations/0006_content_hash_xxhash.go":   rehashContacts,
	"migrations/0007_merge_model_stamps.go":    restampContacts,
	"migrations/0010_tag_events_and_hashes.go": rewriteContacts,
}

// migrateGo applies a Go migration not yet recorded. fn commits its own
// transactions and must be safe to run again from the start: a migration
// cut short is run again in full at the next open.
func (db *DB) migrateGo(ctx context.Context, name string, fn func(context.Context, *DB) error) error {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n != 0 {
		return nil
	}
	if err := fn(ctx, db); err != nil {
		return err
	}
	_, err := db.write.ExecContext(ctx, `INSERT OR IGNORE INTO migrations (name, applied_at) VALUES (?, ?)`,
		name, formatTime(db.Now()))
	return err
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n != 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`,
		name, formatTime(db.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// storedTime is how the store writes times: UTC with a fixed nine-digit
// fraction, so that stored times compare correctly as text (SQL compares
// them so). RFC3339Nano trims trailing zeros, and "05Z" would sort after
// "05.1Z".
const storedTime = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	var buf [32]byte
	return string(appendStoredTime(buf[:0], t))
}

// parseTime reads a stored time; RFC 3339 parsing accepts any fraction.
func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

// nullTime parses a nullable time column.
func nullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
