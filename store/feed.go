package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"github.com/shopsync/shopsync"
)

// The read side of the change feed: events in order, each with the
// contact as of itself, waiting for new ones, and pruning.

// CursorExpiredError is a feed cursor older than the events the store
// keeps: the events just after it were pruned (outbound.retention).
type CursorExpiredError struct {
	After  int64 // the cursor asked for
	Oldest int64 // the oldest event kept
	Last   int64 // the newest event
}

func (e *CursorExpiredError) Error() string {
	return fmt.Sprintf("change feed cursor %d is older than the events kept (the oldest is %d): "+
		"events %d to %d were pruned", e.After, e.Oldest, e.After+1, e.Oldest-1)
}

// signal wakes everyone waiting for new events: wait returns a channel
// that the next notify closes.
type signal struct {
	mu gosync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

func (f *feed) notify() { f.signal.notify() }

// feedPoll is how often WaitChanges looks at the table for events that
// another process committed (a `shopsync sync` beside the daemon); events
// of this process wake it at once.
const feedPoll = time.Second

// FeedBounds returns the oldest sequence number kept and the last one
// given out: the feed holds every event in [oldest, last], none when
// oldest > last.
func (db *DB) FeedBounds(ctx context.Context) (oldest, last int64, err error) {
	return feedBounds(ctx, db.read)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func feedBounds(ctx context.Context, q queryRower) (oldest, last int64, err error) {
	var pruned int64
	if err := q.QueryRowContext(ctx, `SELECT (SELECT value FROM outbox_marks WHERE name = 'pruned'),
		(SELECT value FROM outbox_marks WHERE name = 'last')`).Scan(&pruned, &last); err != nil {
		return 0, 0, fmt.Errorf("change feed bounds: %w", err)
	}
	return pruned + 1, last, nil
}

// WaitChanges returns once an event after after is committed, or with
// ctx's error.
func (db *DB) WaitChanges(ctx context.Context, after int64) error {
	t := time.NewTimer(feedPoll)
	defer t.Stop()
	for {
		woken := db.feed.signal.wait()
		_, last, err := db.FeedBounds(ctx)
		if err != nil {
			return err
		}
		if last > after {
			return nil
		}
		t.Reset(feedPoll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-woken:
		case <-t.C:
		}
	}
}

// Changes returns up to limit events after the cursor after, in order,
// each with the contact as of itself, projected (see SetProjection). A
// cursor older than the oldest event kept, less one, is a
// *CursorExpiredError: events after it were pruned.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]shopsync.ChangeEvent, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	defer tx.Rollback()
	oldest, last, err := feedBounds(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	if after < oldest-1 {
		return nil, &CursorExpiredError{After: after, Oldest: oldest, Last: last}
	}
	if limit <= 0 || after >= last {
		return nil, nil
	}
	moved, err := db.outboxEvents(ctx, tx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	latest, err := db.rowEvents(ctx, tx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	// Both in order: merge them, up to limit.
	events := make([]shopsync.ChangeEvent, 0, min(limit, len(moved)+len(latest)))
	for len(events) < limit && (len(moved) > 0 || len(latest) > 0) {
		if len(latest) == 0 || len(moved) > 0 && moved[0].Seq < latest[0].Seq {
			events, moved = append(events, moved[0]), moved[1:]
		} else {
			events, latest = append(events, latest[0]), latest[1:]
		}
	}
	// Segment events of a contact's latest state read its row.
	var rowReaders []int64
	for i := range events {
		if ev := &events[i]; ev.State == nil && !ev.Erased && ev.Type != shopsync.EventRedacted {
			rowReaders = append(rowReaders, ev.ContactID)
		}
	}
	current, err := db.contactsIn(ctx, tx, rowReaders)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	for i := range events {
		ev := &events[i]
		if ev.State == nil && !ev.Erased && ev.Type != shopsync.EventRedacted {
			if ev.State = current[ev.ContactID]; ev.State == nil {
				return nil, fmt.Errorf("changes: event %d reads contact %d, which is not stored", ev.Seq, ev.ContactID)
			}
		}
		if ev.State != nil {
			if ev.Contact, err = db.projectContact(ev.State, ev.At); err != nil {
				return nil, fmt.Errorf("changes: event %d: project contact %d: %w", ev.Seq, ev.ContactID, err)
			}
		}
	}
	return events, nil
}

// outboxEvents reads up to limit events of the outbox table after after;
// those that read a contact's row have no State yet.
func (db *DB) outboxEvents(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]shopsync.ChangeEvent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, contact_id, type, source, at, fields, segment, snapshot
		FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []shopsync.ChangeEvent
	for rows.Next() {
		var (
			ev              shopsync.ChangeEvent
			typ             int64
			at              string
			fields, segment sql.NullString
			snapshot        []byte
		)
		if err := rows.Scan(&ev.Seq, &ev.ContactID, &typ, &ev.Source, &at, &fields, &segment, &snapshot); err != nil {
			return nil, err
		}
		ev.Type, ev.Segment, ev.Fields = shopsync.EventType(typ), segment.String, splitFields(fields.String)
		if ev.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		switch {
		case snapshot == nil: // reads the row
		case len(snapshot) == 0:
			ev.Erased = ev.Type != shopsync.EventRedacted
		default:
			if ev.State, err = decodeSnapshot(ev.ContactID, snapshot); err != nil {
				return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
			}
		}
		events = append(events, ev)
	}
	return events, rows.Err()
}

// rowEvents reads up to limit events after after that contacts' rows
// hold, with their contacts.
func (db *DB) rowEvents(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]shopsync.ChangeEvent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+contactColumns+`, event_seq, event_type, event_fields, updated_at, changed_by
		FROM contacts WHERE event_seq > ? ORDER BY event_seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []shopsync.ChangeEvent
	for rows.Next() {
		var (
			ev     shopsync.ChangeEvent
			typ    int64
			fields sql.NullString
			at     string
		)
		c, err := db.scanContact(rows, &ev.Seq, &typ, &fields, &at, &ev.Source)
		if err != nil {
			return nil, err
		}
		ev.Type, ev.ContactID, ev.Fields, ev.State = shopsync.EventType(typ), c.ShopifyID, splitFields(fields.String), c
		if ev.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		events = append(events, ev)
	}
	return events, rows.Err()
}

func splitFields(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// contactsIn reads the contacts with the given ids, deleted or not, in tx.
func (db *DB) contactsIn(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]*shopsync.Contact, error) {
	out := make(map[int64]*shopsync.Contact, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, contactSelect+` WHERE shopify_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			c, err := db.scanContact(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[c.ShopifyID] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// projectContact encodes c, as of an event at at, as the feed shows it:
// the projection set, or the contact's JSON.
func (db *DB) projectContact(c *shopsync.Contact, at time.Time) (json.RawMessage, error) {
	if db.feed.project != nil {
		return db.feed.project(c, at)
	}
	return appendContactJSON(nil, c) // json.Marshal(c), faster
}

// pruneBatch is how many events PruneChanges reads or deletes a
// transaction, so that neither readers nor the writer are held long.
const pruneBatch = 2000

// PruneChanges prunes the events committed before before and returns how
// many left the feed. It prunes from the start of the feed only, up to the
// first event not older than before: the events kept run without a gap,
// and a cursor is good as long as it is not older than the oldest kept,
// less one (see CursorExpiredError). A contact's latest event stays in its
// row, which is the contact, but leaves the feed like the others.
func (db *DB) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	oldest, last, err := db.FeedBounds(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	cut, err := db.pruneUpTo(ctx, oldest-1, last, formatTime(before))
	if err != nil || cut < oldest {
		return 0, err
	}
	err = db.update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE outbox_marks SET value = max(value, ?) WHERE name = 'pruned'`, cut)
		return err
	})
	for err == nil {
		var n int64
		err = db.update(ctx, func(tx *Tx) error {
			res, err := tx.exec(ctx, `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq <= ? ORDER BY seq LIMIT ?)`, cut, pruneBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if n < pruneBatch {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	return cut - oldest + 1, nil
}

// pruneUpTo walks the events after pos, in order, and returns the
// sequence number before the first committed at or after before (a
// stored time), or last when there is none.
func (db *DB) pruneUpTo(ctx context.Context, pos, last int64, before string) (int64, error) {
	type stamp struct {
		seq int64
		at  string
	}
	var tx *sql.Tx
	read := func(query string) ([]stamp, error) {
		rows, err := tx.QueryContext(ctx, query, pos, pruneBatch)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []stamp
		for rows.Next() {
			var s stamp
			if err := rows.Scan(&s.seq, &s.at); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	}
	for pos < last {
		// One snapshot for both: an event moving from a row to the outbox
		// table meanwhile is seen in one of them.
		var err error
		if tx, err = db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
			return 0, fmt.Errorf("prune changes: %w", err)
		}
		moved, err := read(`SELECT seq, at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`)
		var latest []stamp
		if err == nil {
			latest, err = read(`SELECT event_seq, updated_at FROM contacts WHERE event_seq > ? ORDER BY event_seq LIMIT ?`)
		}
		tx.Rollback()
		if err != nil {
			return 0, fmt.Errorf("prune changes: %w", err)
		}
		if len(moved) == 0 && len(latest) == 0 {
			return pos, nil
		}
		// Walk both in order, up to the end of the shorter full batch:
		// past it, the other might hold an event not read yet.
		end := last
		if len(moved) == pruneBatch {
			end = min(end, moved[len(moved)-1].seq)
		}
		if len(latest) == pruneBatch {
			end = min(end, latest[len(latest)-1].seq)
		}
		for len(moved) > 0 || len(latest) > 0 {
			var s stamp
			if len(latest) == 0 || len(moved) > 0 && moved[0].seq < latest[0].seq {
				s, moved = moved[0], moved[1:]
			} else {
				s, latest = latest[0], latest[1:]
			}
			if s.seq > end {
				break
			}
			if s.at >= before { // stored times compare as text
				return s.seq - 1, nil
			}
			pos = s.seq
		}
		if pos < end {
			pos = end // numbers given out in transactions that rolled back
		}
	}
	return pos, nil
}
