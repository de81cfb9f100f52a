package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Counting a segment (issue 18). A segment that reads only what one of
// the indexes of migration 0014 holds is counted from that index: a scan
// of its entries, reading no row. Any other is counted by reading the
// rows, in the table's order: an index that picks many contacts, each then
// looked up in the table, is slower than the table read in order, and
// without statistics SQLite cannot tell, so the count names its plan
// (INDEXED BY, NOT INDEXED) rather than leave it to SQLite. The rows are
// read in parts, on several read connections at once: what costs is
// decoding each contact's attributes JSON, a few hundred nanoseconds a row
// on one core.

// allIndex is the index that counts every active contact: the first of
// migration 0014's (segment/index.go).
const allIndex = "contacts_email_consent_orders"

// countParts is how many parts each scanning connection reads, in turn,
// so that a part denser in contacts than others does not leave the other
// connections idle.
const countParts = 4

// CountContacts counts the active contacts f picks. With f.Index, it
// reads that index only. Otherwise it reads the table in parts on up to
// GOMAXPROCS read connections, each part in its own read: while contacts
// are being written, parts can see the store at moments a write apart, as
// a count of a changing store can.
func (db *DB) CountContacts(ctx context.Context, f Filter) (int64, error) {
	where, args := f.sql()
	index := f.Index
	if f.Where == "" {
		index = allIndex
	}
	if index != "" {
		if !validIndexName(index) {
			return 0, fmt.Errorf("count contacts: index name %q", index)
		}
		var n int64
		err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM contacts INDEXED BY `+index+` WHERE `+where, args...).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("count contacts: %w", err)
		}
		return n, nil
	}
	n, err := db.countScan(ctx, where, args)
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

// countScan counts the rows where holds, reading the table.
func (db *DB) countScan(ctx context.Context, where string, args []any) (int64, error) {
	workers := min(runtime.GOMAXPROCS(0), readConns)
	if workers < 2 {
		var n int64
		err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM contacts NOT INDEXED WHERE `+where, args...).Scan(&n)
		return n, err
	}
	var lo, hi sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT min(shopify_id), max(shopify_id) FROM contacts`).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	if !lo.Valid {
		return 0, nil
	}
	parts := idRanges(lo.Int64, hi.Int64, workers*countParts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan idRange, len(parts))
	for _, p := range parts {
		next <- p
	}
	close(next)
	q := `SELECT count(*) FROM contacts NOT INDEXED WHERE shopify_id BETWEEN ? AND ? AND ` + where
	var (
		mu    sync.Mutex
		total int64
		errs  []error
		wg    sync.WaitGroup
	)
	for range min(workers, len(parts)) {
		wg.Go(func() {
			qargs := make([]any, 2, 2+len(args))
			qargs = append(qargs, args...)
			for p := range next {
				qargs[0], qargs[1] = p.first, p.last
				var n int64
				err := db.read.QueryRowContext(ctx, q, qargs...).Scan(&n)
				mu.Lock()
				total += n
				if err != nil {
					errs = append(errs, err)
					cancel()
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	return total, nil
}

// idRange is the ids first to last, both in.
type idRange struct{ first, last int64 }

// idRanges splits the ids lo to hi (lo <= hi, both positive) into at most
// n ranges of equal width.
func idRanges(lo, hi int64, n int) []idRange {
	width := uint64(hi-lo)/uint64(n) + 1
	var out []idRange
	for first := uint64(lo); first <= uint64(hi); first += width {
		last := min(first+width-1, uint64(hi))
		out = append(out, idRange{int64(first), int64(last)})
		if last == uint64(hi) {
			break
		}
	}
	return out
}

// validIndexName reports whether name can stand in SQL text as an index's
// name: a lower-case identifier.
func validIndexName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || c == '_' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
