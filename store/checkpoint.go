package store

import (
	"context"
	"database/sql"
	"time"
)

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file.
const checkpointEvery = 100 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection until ctx
// ends, then closes done. SQLite's automatic checkpoint runs inside the
// commit that crosses 1,000 WAL pages: that commit, and every webhook
// waiting on it, paid for copying the WAL (the webhooks' p99). A passive
// checkpoint here runs beside the writer, on the other core, and never
// blocks it; the writer restarts the WAL once it has all been copied, so
// the WAL stays small. Durability is unchanged: a commit is durable in the
// WAL before it returns.
func (db *DB) checkpointer(ctx context.Context, conn *sql.DB, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Errors (SQLITE_BUSY while a redaction truncates) are
			// retried at the next tick.
			conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}
