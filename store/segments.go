package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// SavedSegment is a segment a merchant saved by name: the text of its
// condition, compiled each time it runs.
type SavedSegment struct {
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrExists is a name already taken.
var ErrExists = errors.New("already exists")

// SaveSegment stores a segment under name: a new one, or when replace is
// set, a new text for an existing one. ErrExists when the name is taken
// and replace is not set. The caller checks the name and the text.
func (db *DB) SaveSegment(ctx context.Context, name, query string, replace bool) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("save segment: %w", err)
	}
	defer tx.Rollback()
	conflict := `ON CONFLICT (name) DO NOTHING`
	if replace {
		conflict = `ON CONFLICT (name) DO UPDATE SET query = excluded.query, updated_at = excluded.updated_at`
	}
	res, err := tx.exec(ctx, `INSERT INTO segments (name, query, created_at, updated_at) VALUES (?, ?, ?, ?) `+conflict,
		name, query, tx.nowText, tx.nowText)
	if err != nil {
		return fmt.Errorf("save segment %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("save segment %s: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("segment %s: %w", name, ErrExists)
	}
	return tx.Commit()
}

// DeleteSegment deletes the saved segment name; ErrNotFound when there is
// none.
func (db *DB) DeleteSegment(ctx context.Context, name string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("delete segment: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.exec(ctx, `DELETE FROM segments WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete segment %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete segment %s: %w", name, err)
	} else if n == 0 {
		return ErrNotFound
	}
	return tx.Commit()
}

// SegmentsGeneration counts the changes to the saved segments: it moves
// whenever one is saved, replaced or deleted, by any process, so that a
// cache of them knows when to read them again.
func (db *DB) SegmentsGeneration(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT value FROM outbox_marks WHERE name = 'segments'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("segments generation: %w", err)
	}
	return n, nil
}

// SavedSegments returns the saved segments, by name.
func (db *DB) SavedSegments(ctx context.Context) ([]SavedSegment, error) {
	return db.querySegments(ctx, ``)
}

// SavedSegment returns the saved segment name; ErrNotFound when there is
// none.
func (db *DB) SavedSegment(ctx context.Context, name string) (SavedSegment, error) {
	ss, err := db.querySegments(ctx, `WHERE name = ?`, name)
	if err != nil {
		return SavedSegment{}, err
	}
	if len(ss) == 0 {
		return SavedSegment{}, ErrNotFound
	}
	return ss[0], nil
}

func (db *DB) querySegments(ctx context.Context, where string, args ...any) ([]SavedSegment, error) {
	return querySegments(ctx, db.read.QueryContext, where, args...)
}

// querySegments reads saved segments through query: the store's readers,
// or a write transaction's.
func querySegments(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error),
	where string, args ...any) ([]SavedSegment, error) {
	rows, err := query(ctx, `SELECT name, query, created_at, updated_at FROM segments `+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	defer rows.Close()
	var out []SavedSegment
	for rows.Next() {
		var (
			s              SavedSegment
			created, updat string
		)
		if err := rows.Scan(&s.Name, &s.Query, &created, &updat); err != nil {
			return nil, fmt.Errorf("segments: %w", err)
		}
		if s.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("segment %s: %w", s.Name, err)
		}
		if s.UpdatedAt, err = parseTime(updat); err != nil {
			return nil, fmt.Errorf("segment %s: %w", s.Name, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Filter picks active contacts by a condition on their row: Where is SQL
// from package segment or marketing, which hold no text of the caller
// (its values are Args). "" is every active contact.
type Filter struct {
	Where string
	Args  []any
	// Index names an index of the store that holds everything Where
	// reads (segment.Segment.Index): a count reads that index alone. ""
	// when none does: a count reads the rows.
	Index string
}

func (f Filter) sql() (string, []any) {
	if f.Where == "" {
		return `deleted_at IS NULL`, nil
	}
	return `deleted_at IS NULL AND (` + f.Where + `)`, f.Args
}

// Reads of a filter's contacts take them in the order of the table, the
// order of ids they are asked in (NOT INDEXED), or of the email index for
// an order by email_norm: an index of a segment (migration 0014) would
// give them in another order, to be sorted, each row looked up.

// ContactsPage returns up to limit active contacts f picks with a Shopify
// id above after, in id order: a page, and after for the next is the
// last one's id.
func (db *DB) ContactsPage(ctx context.Context, f Filter, after int64, limit int) ([]*shopsync.Contact, error) {
	where, args := f.sql()
	return db.queryContacts(ctx, `NOT INDEXED WHERE `+where+` AND shopify_id > ? ORDER BY shopify_id LIMIT ?`,
		append(args[:len(args):len(args)], after, limit)...)
}

// Scan says which contacts EachContact reads, and in what order.
type Scan struct {
	Filter // which active contacts; every one when empty

	// OrderBy is SQL terms on the contacts row, with OrderArgs (from
	// package marketing); Shopify id order when empty.
	OrderBy   string
	OrderArgs []any

	// Mark, when set, is a condition each contact read is tested with:
	// fn is told whether it holds.
	Mark *Filter
}

// EachContact calls fn for every active contact s picks, in its order,
// streaming from one read transaction: memory does not grow with the
// store, and the contacts are those of one moment. It stops at fn's first
// error and returns it.
//
// The rows are read and decoded on a goroutine of their own while fn runs
// on the caller's, a few hundred contacts ahead: for an export the two
// halves cost about the same (BENCHMARKS.md, "Audiences").
func (db *DB) EachContact(ctx context.Context, s Scan, fn func(c *shopsync.Contact, marked bool) error) error {
	where, whereArgs := s.Filter.sql()
	from, orderBy := ` NOT INDEXED`, s.OrderBy
	if orderBy == "" {
		orderBy = `shopify_id`
	} else if strings.HasPrefix(orderBy, "email_norm") {
		from = ` INDEXED BY contacts_email_norm`
	}
	mark, markArgs := `1`, []any(nil)
	if s.Mark != nil {
		mark, markArgs = s.Mark.sql()
	}
	query := `SELECT ` + contactColumns + `, coalesce((` + mark + `), 0) FROM contacts` + from +
		` WHERE ` + where + ` ORDER BY ` + orderBy
	args := slices.Concat(markArgs, whereArgs, s.OrderArgs)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []scanned, 2)
	read := make(chan error, 1)
	go func() {
		defer close(batches)
		read <- db.readContacts(ctx, query, args, func(b []scanned) bool {
			select {
			case batches <- b:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for b := range batches {
		for _, r := range b {
			if err := fn(r.c, r.marked); err != nil {
				cancel()
				for range batches {
				}
				<-read
				return err
			}
		}
	}
	return <-read
}

// scanned is a contact EachContact read, and its mark.
type scanned struct {
	c      *shopsync.Contact
	marked bool
}

// readContacts runs query in a read transaction and hands its contacts to
// send a few hundred at a time, until send says to stop.
func (db *DB) readContacts(ctx context.Context, query string, args []any, send func([]scanned) bool) error {
	const n = 256
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("read contacts: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read contacts: %w", err)
	}
	defer rows.Close()
	batch := make([]scanned, 0, n)
	for rows.Next() {
		var r scanned
		if r.c, err = db.scanContact(rows, &r.marked); err != nil {
			return fmt.Errorf("read contacts: %w", err)
		}
		if batch = append(batch, r); len(batch) == n {
			if !send(batch) {
				return ctx.Err()
			}
			batch = make([]scanned, 0, n)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read contacts: %w", err)
	}
	if len(batch) > 0 && !send(batch) {
		return ctx.Err()
	}
	return nil
}

// NewestContact returns the active contact with the highest Shopify id:
// the newest customer. ErrNotFound when the store has none.
func (db *DB) NewestContact(ctx context.Context) (*shopsync.Contact, error) {
	cs, err := db.queryContacts(ctx, `WHERE deleted_at IS NULL ORDER BY shopify_id DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return cs[0], nil
}
