package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
	"github.com/shopsync/shopsync/sqlfunc"
)

// The contact upsert, the writer's hottest statement, goes to go-sqlite3
// without database/sql, which converted its twenty arguments into a fresh
// slice and took its locks for each row (BENCHMARKS.md, issue 5). It runs
// through sql.Conn.Raw on the transaction's own connection, which holds
// the connection's lock while it runs; its statement is prepared once per
// connection and closed with it (writeConn).

// newDriver returns go-sqlite3 as the store configures it: SQLite's
// automatic checkpoint off (the store checkpoints from its own goroutine,
// see checkpointer), the search's folding function and the functions of
// segments and audiences (package sqlfunc) registered.
func newDriver() *sqlite3.SQLiteDriver {
	return &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			if _, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil); err != nil {
				return err
			}
			if err := c.RegisterFunc(foldFunc, Fold, true); err != nil {
				return err
			}
			return sqlfunc.Register(c) // what segments and audiences call
		},
	}
}

// connector opens the store's connections: sql.OpenDB takes it, so no
// driver is registered under a global name.
type connector struct {
	dsn   string
	drv   *sqlite3.SQLiteDriver
	write bool // connections that run raw statements
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	if !c.write {
		return conn, nil
	}
	return &writeConn{SQLiteConn: conn.(*sqlite3.SQLiteConn)}, nil
}

func (c *connector) Driver() driver.Driver { return c.drv }

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

// rawExec runs query with args on the transaction's connection, through a
// statement prepared once per connection. args must be driver values
// (int64, string, []byte, nil...); the driver copies them before it
// returns. An ended ctx means database/sql may have rolled the transaction
// back (see begin): the statement does not run, under the lock that the
// rollback needs too, so it never runs outside the transaction.
func (tx *Tx) rawExec(ctx context.Context, query string, args ...any) error {
	err := tx.conn.Raw(func(dc any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		conn, ok := dc.(*writeConn)
		if !ok {
			return fmt.Errorf("raw statement on a %T, not a write connection", dc)
		}
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
		nv := tx.w.args[:0]
		for i, a := range args {
			v, err := driver.DefaultParameterConverter.ConvertValue(a)
			if err != nil {
				return fmt.Errorf("argument %d: %w", i+1, err)
			}
			nv = append(nv, driver.NamedValue{Ordinal: i + 1, Value: v})
		}
		tx.w.args = nv
		// No context: a cancellable one makes go-sqlite3 run the statement
		// on a goroutine of its own, to interrupt it.
		_, err := st.ExecContext(context.Background(), nv)
		clear(nv) // the strings and bytes were copied by SQLite
		return err
	})
	if errors.Is(err, sql.ErrConnDone) && ctx.Err() != nil {
		// database/sql rolled the transaction back for ctx on its own
		// goroutine, closing the connection, before Raw could run: the
		// statement did not run because ctx ended, which is what the
		// caller must hear.
		return ctx.Err()
	}
	return err
}
