package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// The writer's hottest statement, a contact's upsert, goes to go-sqlite3
// without database/sql, which converted its twenty arguments into a fresh
// kilobyte slice and took its locks: about a microsecond of the writer's
// time per contact (BenchmarkIngest's profile). Everything else goes
// through database/sql.
//
// The write pool has one connection (SetMaxOpenConns(1)), so the
// connection a write transaction holds is the one writeConnector opened
// last. A transaction's context is not handed to BeginTx (see begin), so
// database/sql never rolls it back from another goroutine while a raw
// statement runs: cancellation is seen by the next statement, raw or not,
// and the transaction's own Rollback undoes what the raw statements wrote.

// sqliteDriver is go-sqlite3 as the store configures it.
// Every connection has the search's fold function (see Fold).
var sqliteDriver = &sqlite3.SQLiteDriver{
	ConnectHook: func(c *sqlite3.SQLiteConn) error {
		if _, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
			return err
		}
		return c.RegisterFunc(foldFunc, Fold, true)
	},
}

// writeConnector opens the write pool's connections and remembers the last.
type writeConnector struct {
	dsn  string
	last atomic.Pointer[writeConn]
}

func (c *writeConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := sqliteDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	wc := &writeConn{SQLiteConn: conn.(*sqlite3.SQLiteConn)}
	c.last.Store(wc)
	return wc, nil
}

func (c *writeConnector) Driver() driver.Driver { return sqliteDriver }

// writeConn is a write connection with its raw statements. Embedding the
// *SQLiteConn keeps every interface database/sql looks for.
type writeConn struct {
	*sqlite3.SQLiteConn
	stmts map[string]driver.StmtExecContext
}

// Close finalizes the raw statements, then closes the connection: SQLite
// keeps a connection with unfinalized statements open.
func (c *writeConn) Close() error {
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.(driver.Stmt).Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.SQLiteConn.Close())...)
}

// rawExec runs query with args on the connection tx holds, through a
// statement prepared once per connection. args must be driver values
// (int64, string, []byte, nil...); the driver copies them before it
// returns.
func (tx *Tx) rawExec(ctx context.Context, query string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn := tx.conn.last.Load()
	st, ok := conn.stmts[query]
	if !ok {
		ds, err := conn.Prepare(query)
		if err != nil {
			return err
		}
		st = ds.(driver.StmtExecContext)
		if conn.stmts == nil {
			conn.stmts = map[string]driver.StmtExecContext{}
		}
		conn.stmts[query] = st
	}
	nv := tx.args[:0]
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
		nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: v})
	}
	tx.args = nv
	// No context: a cancellable one makes go-sqlite3 run the statement on
	// a goroutine of its own, to interrupt it.
	_, err := st.ExecContext(context.Background(), nv)
	clear(nv) // the strings and bytes were copied by SQLite
	return err
}
