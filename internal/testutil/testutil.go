// Package testutil holds helpers shared by tests.
package testutil

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shopsync/shopsync/store"
)

// MustOpenDB opens a store in a real file under t.TempDir(), so WAL and the
// pragmas are the real ones, and closes it when the test ends.
func MustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "shopsync.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}
