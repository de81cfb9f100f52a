package store

import (
	"context"
	"errors"
	"testing"

	"github.com/shopsync/shopsync"
)

// TestRawWritesAreTransactional checks that a contact written by rawExec,
// through sql.Conn.Raw, belongs to the transaction: seen inside it, gone
// after its rollback, kept after its commit; and that a context ended
// mid-transaction (database/sql then rolls the transaction back) stops
// the next raw write, so that it never runs outside the transaction.
func TestRawWritesAreTransactional(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	email := "raw@example.com"
	rec := func(id int64) *record { return testRecord(shopsync.Contact{ShopifyID: id, Email: &email}) }
	stored := func() int {
		t.Helper()
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM contacts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tx, err := db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.writeRecord(ctx, rec(1), shopsync.SourceImport); err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM contacts`).Scan(&inside); err != nil || inside != 1 {
		t.Fatalf("inside the transaction: %d contacts, %v; want 1", inside, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := stored(); n != 0 {
		t.Fatalf("after rollback: %d contacts stored, want 0", n)
	}

	cctx, cancel := context.WithCancel(ctx)
	tx, err = db.begin(cctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.writeRecord(cctx, rec(2), shopsync.SourceImport); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := tx.writeRecord(cctx, rec(3), shopsync.SourceImport); !errors.Is(err, context.Canceled) {
		t.Fatalf("write after cancel: %v, want context.Canceled", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := stored(); n != 0 {
		t.Fatalf("after a cancelled transaction: %d contacts stored, want 0", n)
	}

	tx, err = db.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.writeRecord(ctx, rec(4), shopsync.SourceImport); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := stored(); n != 1 {
		t.Fatalf("after commit: %d contacts stored, want 1", n)
	}
}
