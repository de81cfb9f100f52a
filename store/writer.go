package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// The write path. Every write the store makes is a Tx: one transaction on
// the store's one write connection, held from begin to Commit or Rollback,
// so that transactions queue in Go rather than busy-wait in SQLite. A Tx
// runs SQL one way, through its statement cache (exec, query, queryRow),
// and the contact upsert, the hottest statement, also through rawExec
// (see rawconn.go). Whatever makes writing fast lives in the writer the
// Tx holds, and a savepoint saves and restores it whole.

// writer is the store's one writer: what writing derives once and reuses,
// for the life of the store, and what a transaction notes as it writes.
// Only the transaction that holds the write connection uses it, so it
// needs no lock.
type writer struct {
	// For the life of the store.
	types    typeSets            // attribute type set ids, committed
	keys     attrKeyCache        // JSON key prefixes of attributes, by name and type
	bufs     attrBufs            // encodeAttributes' space, and its keys by position
	args     []driver.NamedValue // rawExec's arguments
	segments segmentCache        // the change feed's segment hook, committed (outbox.go)

	// For one transaction.
	stmts       map[string]*sql.Stmt // prepared on first use; closed with the transaction
	mark        string               // the newest shopify_updated_at written; see Commit
	newTypes    []typeSet            // the type sets the transaction found or added
	outbox      outboxState          // the change feed's numbers given out (outbox.go)
	newSegments segmentCache         // a segment hook built in the transaction
}

// writerState is what a savepoint restores of the writer when it rolls
// back: what the transaction noted of the writes it undoes.
type writerState struct {
	mark     string
	newTypes int
	outbox   outboxState
}

func (w *writer) save() writerState {
	return writerState{mark: w.mark, newTypes: len(w.newTypes), outbox: w.outbox}
}

func (w *writer) restore(s writerState) {
	w.mark = s.mark
	w.newTypes = w.newTypes[:s.newTypes]
	w.outbox = s.outbox
}

// Tx is a write transaction. It carries the time of its start, so that
// every row it writes has the same timestamp.
type Tx struct {
	db      *DB
	conn    *sql.Conn // the write connection, held until Commit or Rollback
	tx      *sql.Tx
	w       *writer
	now     time.Time
	nowText string // now, as the store writes times
}

// begin starts a write transaction, waiting while another holds the write
// connection. ctx bounds the transaction: once it ends, database/sql rolls
// the transaction back (rawExec checks ctx under the connection's lock, so
// a raw statement never runs after that rollback, outside the
// transaction).
func (db *DB) begin(ctx context.Context) (*Tx, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("begin: %w", err)
	}
	w := &db.writer
	w.stmts, w.mark, w.newTypes, w.outbox, w.newSegments = nil, "", w.newTypes[:0], outboxState{}, segmentCache{}
	now := db.Now().UTC()
	return &Tx{db: db, conn: conn, tx: tx, w: w, now: now, nowText: formatTime(now)}, nil
}

// update runs fn in a write transaction and commits it.
func (db *DB) update(ctx context.Context, fn func(*Tx) error) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Commit moves the data mark (the marks table) forward to the newest
// shopify_updated_at the transaction wrote, commits, gives the write
// connection back, and wakes the change feed's readers when it appended
// events.
func (tx *Tx) Commit() error {
	if tx.w == nil {
		return sql.ErrTxDone
	}
	// Before release: when it fails, the caller's Rollback rolls back.
	if err := tx.saveLastSeq(context.Background()); err != nil {
		return err
	}
	defer tx.release()
	if tx.w.mark != "" {
		if _, err := tx.exec(context.Background(), `INSERT INTO marks (name, value) VALUES ('data', ?)
			ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`, tx.w.mark); err != nil {
			return fmt.Errorf("data mark: %w", err)
		}
	}
	if err := tx.tx.Commit(); err != nil {
		return err
	}
	tx.w.types.committed(tx.w.newTypes)
	if tx.w.newSegments.built {
		tx.w.segments = tx.w.newSegments
	}
	if tx.w.outbox.appended > 0 {
		tx.db.feed.notify() // long polls and outbound deliveries wake
	}
	return nil
}

// Rollback undoes the transaction, unless it has committed, and gives the
// write connection back; it is safe to call after Commit.
func (tx *Tx) Rollback() error {
	if tx.w == nil {
		return nil
	}
	defer tx.release()
	if err := tx.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

func (tx *Tx) release() {
	tx.w.stmts = nil // closed with the transaction
	tx.w = nil
	tx.conn.Close()
}

// stmt returns the transaction's prepared statement for query, preparing
// it on first use: a page writes hundreds of contacts with the same
// statements, and a batch of webhooks runs the same dozen for each change.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := tx.w.stmts[query]; ok {
		return st, nil
	}
	st, err := tx.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if tx.w.stmts == nil {
		tx.w.stmts = map[string]*sql.Stmt{}
	}
	tx.w.stmts[query] = st
	return st, nil
}

// exec, query and queryRow run query through the statement cache.
func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is QueryRowContext through the statement cache; a prepare
// error comes back from Scan.
func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := tx.stmt(ctx, query)
	if err != nil {
		return tx.tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// savepoint runs fn inside a savepoint. When fn fails, its writes are
// rolled back, and with them what the writer noted of them, and the error
// comes back as a *savepointError: the transaction can go on. Any other
// error means the savepoint itself failed.
func (tx *Tx) savepoint(ctx context.Context, fn func() error) error {
	if _, err := tx.exec(ctx, `SAVEPOINT change`); err != nil {
		return err
	}
	saved := tx.w.save()
	if err := fn(); err != nil {
		if _, rerr := tx.exec(ctx, `ROLLBACK TO change`); rerr != nil {
			return errors.Join(err, rerr)
		}
		tx.w.restore(saved)
		if _, rerr := tx.exec(ctx, `RELEASE change`); rerr != nil {
			return errors.Join(err, rerr)
		}
		return &savepointError{err}
	}
	_, err := tx.exec(ctx, `RELEASE change`)
	return err
}

// savepointError is the error of a savepoint's fn, whose writes were
// rolled back.
type savepointError struct{ err error }

func (e *savepointError) Error() string { return e.err.Error() }
func (e *savepointError) Unwrap() error { return e.err }

// exec runs one statement in a write transaction of its own.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.update(ctx, func(tx *Tx) error {
		var err error
		res, err = tx.exec(ctx, query, args...)
		return err
	})
	return res, err
}
