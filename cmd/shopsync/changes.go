package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync/store"
)

// tailDefault is how many events `changes tail` shows without --after.
const tailDefault = 10

func (e *env) changesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "changes", Short: "Read the change feed: every change to a contact, in order"}
	var (
		after  int64
		follow bool
	)
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print changes as JSON lines: the last 10, or every one after --after; --follow waits for more",
		Long: `tail prints change feed events as JSON lines, the form of GET /changes, in
order: without --after, the last 10; with --after SEQ, every event after SEQ.
--follow then keeps printing new ones as they commit, until Ctrl-C.

A cursor older than outbound.retention has lost events: the command says so
and how to catch up (a full export, which reports the sequence it is current
to, then --after that sequence).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("after") && after < 0 {
				return usageError{errors.New("--after: want a change sequence number, 0 or more")}
			}
			cfg, db, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			aud, err := newAudience(cfg, db)
			if err != nil {
				return usageError{err}
			}
			wireFeed(db, aud, e.logger(cfg.Log))
			ctx := cmd.Context()
			if !cmd.Flags().Changed("after") {
				oldest, last, err := db.FeedBounds(ctx)
				if err != nil {
					return err
				}
				after = max(oldest-1, last-tailDefault, 0)
			}
			return e.tail(ctx, db, after, follow)
		},
	}
	tail.Flags().Int64Var(&after, "after", 0, "print the events after this sequence number (default: the last 10)")
	tail.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.AddCommand(tail)
	return cmd
}

// tail prints the events after after, and with follow waits for more
// until ctx ends (Ctrl-C: a clean exit).
func (e *env) tail(ctx context.Context, db *store.DB, after int64, follow bool) error {
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	var buf []byte
	for {
		events, err := db.Changes(ctx, after, 500)
		var expired *store.CursorExpiredError
		if errors.As(err, &expired) {
			return fmt.Errorf("the change feed no longer holds the events after %d: they were older than outbound.retention "+
				"and were pruned (the oldest kept is %d). To catch up, run a full export (shopsync contacts export), which "+
				"says the change sequence it is current to, then follow from it: shopsync changes tail --after <that sequence>",
				after, expired.Oldest)
		}
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i := range events {
			buf = append(events[i].AppendJSON(buf[:0]), '\n')
			if _, err := w.Write(buf); err != nil {
				return err
			}
			after = events[i].Seq
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if len(events) == 500 {
			continue
		}
		if !follow {
			return nil
		}
		if err := db.WaitChanges(ctx, after); err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: done
			}
			return err
		}
	}
}

func (e *env) outboundCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "outbound", Short: "The outbound webhooks: their state, resume, replay"}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each endpoint's place in the change feed, and whether it is paused and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, db, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			return e.outboundStatus(cmd.Context(), cfg, db, asJSON)
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	resume := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused endpoint (or one waiting to retry) from its cursor, now",
		Long: `resume makes the endpoint deliver again from where it stopped, at once: a
paused one, or one waiting to retry. A running daemon picks it up within a few
seconds. Fix the endpoint first: if it still fails, it is paused again after
outbound.pause_after.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, db, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ep, err := db.ResumeEndpoint(cmd.Context(), args[0])
			if errors.Is(err, store.ErrNotFound) {
				return unknownEndpoint(args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s resumed: it delivers the events after %d\n", ep.Name, ep.Cursor)
			return nil
		},
	}
	var from, after int64
	replay := &cobra.Command{
		Use:   "replay NAME (--from SEQ | --after SEQ)",
		Short: "Deliver again to an endpoint from an event on (events it has received included)",
		Long: `replay moves the endpoint's cursor back (or forward) so that it receives
again every event from --from SEQ on (or after --after SEQ), and resumes it.
The events come again with their own sequence numbers: a receiver that skips
numbers it has seen must forget them first. Only events still kept
(outbound.retention) can be replayed; after a full export into the CRM, replay
--after the sequence the export reports.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hasFrom, hasAfter := cmd.Flags().Changed("from"), cmd.Flags().Changed("after")
			switch {
			case hasFrom == hasAfter:
				return usageError{errors.New("want one of --from SEQ (the first event to deliver again) or --after SEQ")}
			case hasFrom && from < 1:
				return usageError{errors.New("--from: want a change sequence number, 1 or more")}
			case hasAfter && after < 0:
				return usageError{errors.New("--after: want a change sequence number, 0 or more")}
			}
			if hasAfter {
				from = after + 1
			}
			_, db, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ep, err := db.ReplayEndpoint(cmd.Context(), args[0], from)
			var expired *store.CursorExpiredError
			switch {
			case errors.Is(err, store.ErrNotFound):
				return unknownEndpoint(args[0])
			case errors.As(err, &expired):
				return fmt.Errorf("events before %d are no longer kept (outbound.retention): replay from %d or later, "+
					"or run a full export into the CRM and replay --after the sequence it reports", expired.Oldest, expired.Oldest)
			case errors.Is(err, store.ErrNotInFeed):
				return usageError{fmt.Errorf("--from %d: %w", from, store.ErrNotInFeed)}
			case err != nil:
				return err
			}
			fmt.Fprintf(e.stdout, "%s replays from event %d\n", ep.Name, ep.Cursor+1)
			return nil
		},
	}
	replay.Flags().Int64Var(&from, "from", 0, "the first event to deliver again")
	replay.Flags().Int64Var(&after, "after", 0, "deliver again the events after this one")
	cmd.AddCommand(status, resume, replay)
	return cmd
}

func unknownEndpoint(name string) error {
	return fmt.Errorf("%w %q in the store: it appears once `shopsync serve` has run with it in outbound.endpoints; "+
		"see shopsync outbound status", errNoEndpoint, name)
}

// outboundStatus prints every endpoint the store knows, configured or
// not.
func (e *env) outboundStatus(ctx context.Context, cfg Config, db *store.DB, asJSON bool) error {
	eps, err := db.Endpoints(ctx)
	if err != nil {
		return err
	}
	oldest, last, err := db.FeedBounds(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name          string     `json:"name"`
		Configured    bool       `json:"configured"`
		State         string     `json:"state"` // active or paused
		Cursor        int64      `json:"cursor"`
		Behind        int64      `json:"behind"`
		Delivered     int64      `json:"delivered"`
		LastSuccessAt *time.Time `json:"last_success_at"`
		FailingSince  *time.Time `json:"failing_since,omitempty"`
		PausedAt      *time.Time `json:"paused_at,omitempty"`
		PauseReason   string     `json:"pause_reason,omitempty"`
		Lost          bool       `json:"lost,omitempty"` // events after its cursor were pruned
	}
	var configured []string
	for _, ep := range cfg.Outbound.Endpoints {
		configured = append(configured, ep.Name)
	}
	rows := []row{}
	for _, ep := range eps {
		r := row{Name: ep.Name, Configured: slices.Contains(configured, ep.Name), State: "active", Cursor: ep.Cursor,
			Behind: max(0, last-ep.Cursor), Delivered: ep.Delivered, LastSuccessAt: ep.LastSuccessAt,
			FailingSince: ep.FailingSince, PausedAt: ep.PausedAt, PauseReason: ep.PauseReason, Lost: ep.Cursor < oldest-1}
		if ep.PausedAt != nil {
			r.State = "paused"
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"changes": map[string]int64{"oldest": oldest, "last": last}, "endpoints": rows})
	}
	fmt.Fprintf(e.stdout, "change feed: events %d to %d\n", oldest, last)
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "no outbound endpoint has run yet (outbound.endpoints, then shopsync serve)")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tCURSOR\tBEHIND\tDELIVERED\tLAST DELIVERY")
	for _, r := range rows {
		state, lastOK := r.State, "never"
		if !r.Configured {
			state += " (not configured)"
		}
		if r.FailingSince != nil && r.PausedAt == nil {
			state += ", failing since " + r.FailingSince.UTC().Format(time.RFC3339)
		}
		if r.LastSuccessAt != nil {
			lastOK = r.LastSuccessAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", r.Name, state, strconv.FormatInt(r.Cursor, 10), r.Behind, r.Delivered, lastOK)
	}
	tw.Flush()
	for _, r := range rows {
		if r.PausedAt == nil {
			continue
		}
		fmt.Fprintf(e.stdout, "\n%s is paused since %s: %s.\n", r.Name, r.PausedAt.UTC().Format(time.RFC3339), r.PauseReason)
		if r.Lost {
			fmt.Fprintf(e.stdout, "Events it had not received are gone: run a full export into the CRM, then "+
				"shopsync outbound replay %s --after <the sequence the export reports>.\n", r.Name)
		} else {
			fmt.Fprintf(e.stdout, "Fix the endpoint, then: shopsync outbound resume %s\n", r.Name)
		}
	}
	return nil
}
