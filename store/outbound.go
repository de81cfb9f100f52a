package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Outbound endpoints' durable state (migration 0013): where each is in
// the change feed, and whether it is paused. The delivery loop (package
// outbound) moves it; the CLI and the API resume and replay it, in this
// process or another, by moving its generation.

// ErrNotInFeed is an event number past the next one.
var ErrNotInFeed = errors.New("that event is not in the change feed yet")

// Endpoint is an outbound endpoint's durable state.
type Endpoint struct {
	Name string
	// Cursor is the last event acknowledged (or not for this endpoint):
	// the next delivery starts after it.
	Cursor int64
	// Generation moves when the endpoint is resumed or replayed: an
	// acknowledgement of a delivery made before moves nothing.
	Generation    int64
	Config        string     // a digest of the endpoint's configuration
	PausedAt      *time.Time // set while deliveries are stopped
	PauseReason   string     // why, in a merchant's words
	FailingSince  *time.Time // the first failed attempt of the batch being retried
	LastSuccessAt *time.Time
	Delivered     int64 // events acknowledged, all time
}

const endpointColumns = `name, cursor, generation, config, paused_at, pause_reason, failing_since, last_success_at, delivered`

func scanEndpoint(row interface{ Scan(...any) error }) (Endpoint, error) {
	var (
		e                      Endpoint
		paused, failing, okked sql.NullString
		err                    error
	)
	if err := row.Scan(&e.Name, &e.Cursor, &e.Generation, &e.Config, &paused, &e.PauseReason, &failing, &okked, &e.Delivered); err != nil {
		return e, err
	}
	if e.PausedAt, err = nullTime(paused); err != nil {
		return e, err
	}
	if e.FailingSince, err = nullTime(failing); err != nil {
		return e, err
	}
	if e.LastSuccessAt, err = nullTime(okked); err != nil {
		return e, err
	}
	return e, nil
}

// OpenEndpoint returns the state of the endpoint called name, creating it
// at the end of the feed when it is new: an endpoint receives the changes
// made from the time it is first configured (ReplayEndpoint sends earlier
// ones). config is a digest of its configuration: when it differs from the
// one stored, the configuration changed, and a paused endpoint resumes.
func (db *DB) OpenEndpoint(ctx context.Context, name, config string) (Endpoint, error) {
	var e Endpoint
	err := db.update(ctx, func(tx *Tx) error {
		var err error
		e, err = scanEndpoint(tx.queryRow(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints WHERE name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			var last int64
			if err := tx.queryRow(ctx, `SELECT value FROM outbox_marks WHERE name = 'last'`).Scan(&last); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `INSERT INTO outbound_endpoints (name, cursor, config) VALUES (?, ?, ?)`,
				name, last, config); err != nil {
				return err
			}
			e = Endpoint{Name: name, Cursor: last, Config: config}
			return nil
		}
		if err != nil || e.Config == config {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE outbound_endpoints SET config = ?, paused_at = NULL, pause_reason = '',
			failing_since = NULL, generation = generation + 1 WHERE name = ?`, config, name); err != nil {
			return err
		}
		e.Config, e.PausedAt, e.PauseReason, e.FailingSince, e.Generation = config, nil, "", nil, e.Generation+1
		return nil
	})
	if err != nil {
		return e, fmt.Errorf("open endpoint %s: %w", name, err)
	}
	return e, nil
}

// EndpointState returns the state of the endpoint called name:
// ErrNotFound when it was never configured.
func (db *DB) EndpointState(ctx context.Context, name string) (Endpoint, error) {
	e, err := scanEndpoint(db.read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("endpoint %s: %w", name, err)
	}
	return e, nil
}

// Endpoints returns the state of every endpoint ever configured, by name.
func (db *DB) Endpoints(ctx context.Context) ([]Endpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM outbound_endpoints ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("endpoints: %w", err)
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// endpointUpdate runs one statement on the endpoint if its generation is
// still gen, and reports whether it was.
func (db *DB) endpointUpdate(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := db.exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}

// AckEndpoint records a delivery's acknowledgement: the cursor moves to
// cursor, delivered events are counted, and the endpoint is no longer
// failing. It reports false, and changes nothing, when the generation is
// no longer gen (the endpoint was resumed or replayed meanwhile).
func (db *DB) AckEndpoint(ctx context.Context, name string, gen, cursor, delivered int64) (bool, error) {
	return db.endpointUpdate(ctx, "acknowledge delivery to "+name, `UPDATE outbound_endpoints
		SET cursor = ?, delivered = delivered + ?, failing_since = NULL, last_success_at = CASE WHEN ? > 0 THEN ? ELSE last_success_at END
		WHERE name = ? AND generation = ?`, cursor, delivered, delivered, formatTime(db.Now()), name, gen)
}

// EndpointFailing records when the endpoint started failing, unless it
// already is; false when the generation is no longer gen.
func (db *DB) EndpointFailing(ctx context.Context, name string, gen int64, since time.Time) (bool, error) {
	return db.endpointUpdate(ctx, "endpoint "+name+" failing", `UPDATE outbound_endpoints
		SET failing_since = coalesce(failing_since, ?) WHERE name = ? AND generation = ?`, formatTime(since), name, gen)
}

// PauseEndpoint stops deliveries to the endpoint, saying why; false when
// the generation is no longer gen.
func (db *DB) PauseEndpoint(ctx context.Context, name string, gen int64, reason string) (bool, error) {
	return db.endpointUpdate(ctx, "pause endpoint "+name, `UPDATE outbound_endpoints
		SET paused_at = coalesce(paused_at, ?), pause_reason = ? WHERE name = ? AND generation = ?`,
		formatTime(db.Now()), reason, name, gen)
}

// ResumeEndpoint resumes deliveries to the endpoint from its cursor, now,
// as not failing: paused or waiting to retry, it tries again at once.
func (db *DB) ResumeEndpoint(ctx context.Context, name string) (Endpoint, error) {
	ok, err := db.endpointUpdate(ctx, "resume endpoint "+name, `UPDATE outbound_endpoints
		SET paused_at = NULL, pause_reason = '', failing_since = NULL, generation = generation + 1 WHERE name = ?`, name)
	if err != nil {
		return Endpoint{}, err
	}
	if !ok {
		return Endpoint{}, ErrNotFound
	}
	return db.EndpointState(ctx, name)
}

// ReplayEndpoint makes the endpoint deliver again from the event from on
// (events already delivered included), and resumes it. A from older than
// the oldest event kept is a *CursorExpiredError; one past the next event
// is refused.
func (db *DB) ReplayEndpoint(ctx context.Context, name string, from int64) (Endpoint, error) {
	err := db.update(ctx, func(tx *Tx) error {
		oldest, last, err := feedBounds(ctx, tx.tx)
		if err != nil {
			return err
		}
		if from < oldest {
			return &CursorExpiredError{After: from - 1, Oldest: oldest, Last: last}
		}
		if from > last+1 {
			return fmt.Errorf("%w: the last is %d", ErrNotInFeed, last)
		}
		res, err := tx.exec(ctx, `UPDATE outbound_endpoints SET cursor = ?, paused_at = NULL, pause_reason = '',
			failing_since = NULL, generation = generation + 1 WHERE name = ?`, from-1, name)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("replay endpoint %s from %d: %w", name, from, err)
	}
	return db.EndpointState(ctx, name)
}
