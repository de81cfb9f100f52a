package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/marketing"
	"github.com/shopsync/shopsync/segment"
	"github.com/shopsync/shopsync/store"
)

// newAudience is the audience service of the configuration over db.
func newAudience(cfg Config, db *store.DB) (*audience.Service, error) {
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return nil, err
	}
	return audience.New(db, mapper, cfg.Mapping.ProjectionConfig,
		audience.Options{ExcludeDisabledAccounts: cfg.Marketing.ExcludeDisabledAccounts})
}

// openAudience opens the store and its audience service for a command.
func (e *env) openAudience(ctx context.Context) (*audience.Service, func(), error) {
	cfg, db, err := e.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	aud, err := newAudience(cfg, db)
	if err != nil {
		db.Close()
		return nil, nil, usageError{err}
	}
	return aud, func() { db.Close() }, nil
}

// audienceError makes a segment that does not parse, or a name that
// cannot be saved, a usage error that shows where it is wrong.
func audienceError(err error) error {
	var (
		se *segment.Error
		ne *audience.NameError
	)
	switch {
	case errors.As(err, &se):
		return usageError{fmt.Errorf("%s\n%s", se.Error(), se.Caret())}
	case errors.As(err, &ne), errors.Is(err, audience.ErrBuiltin), errors.Is(err, audience.ErrNotFound):
		return usageError{err}
	case errors.Is(err, store.ErrExists):
		return usageError{fmt.Errorf("%w: add --replace to change its text", err)}
	}
	return err
}

func (e *env) segmentsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "List, create, show and delete segments: named filters over contacts",
		Long: `A segment picks contacts by their fields, attributes and tags:

  email_marketing_consent = "subscribed" and orders_count >= 2 and created_at > now - 90d

The built-in segments are always there; saved ones are kept in the store. The
README's "Audiences" section describes the language.`,
	}
	var noCount bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in and saved segments, with their counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			aud, closeDB, err := e.openAudience(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			segs, err := aud.Segments(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tCONTACTS\tSEGMENT")
			for _, s := range segs {
				kind, count := "saved", "-"
				if s.Builtin {
					kind = "built-in"
				}
				if !noCount {
					n, err := aud.Count(cmd.Context(), s.Query)
					if err != nil {
						count = "error: " + err.Error()
					} else {
						count = strconv.FormatInt(n, 10)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, kind, count, s.Query)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&noCount, "no-count", false, "do not count each segment's contacts")

	var replace bool
	create := &cobra.Command{
		Use:   "create NAME SEGMENT",
		Short: "Save a segment under a name (--replace changes a saved one)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			aud, closeDB, err := e.openAudience(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			if err := aud.Save(cmd.Context(), args[0], args[1], replace); err != nil {
				return audienceError(err)
			}
			n, err := aud.Count(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "saved segment %s: %d contacts\n", args[0], n)
			return nil
		},
	}
	create.Flags().BoolVar(&replace, "replace", false, "replace the text of a saved segment of that name")

	var limit int
	show := &cobra.Command{
		Use:   "show NAME|SEGMENT",
		Short: "Show a segment (by name, or written out): its count and first contacts, as the CRM sees them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			aud, closeDB, err := e.openAudience(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			query := args[0]
			if seg, err := aud.Segment(cmd.Context(), args[0]); err == nil {
				query = seg.Query
				fmt.Fprintf(e.stdout, "segment %s: %s\n", seg.Name, seg.Query)
			} else if !errors.Is(err, audience.ErrNotFound) {
				return err
			}
			n, err := aud.Count(cmd.Context(), query)
			if err != nil {
				return audienceError(err)
			}
			fmt.Fprintf(e.stdout, "%d contacts\n", n)
			cs, err := aud.Contacts(cmd.Context(), query, 0, limit)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(e.stdout)
			for _, c := range cs {
				r, err := aud.Project(c)
				if err != nil {
					return err
				}
				w.Write(append(r.AppendJSON(nil), '\n'))
			}
			return w.Flush()
		},
	}
	show.Flags().IntVar(&limit, "limit", 10, "how many contacts to show")

	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a saved segment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			aud, closeDB, err := e.openAudience(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			if err := aud.Delete(cmd.Context(), args[0]); err != nil {
				return audienceError(err)
			}
			fmt.Fprintf(e.stdout, "deleted segment %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, create, show, del)
	return cmd
}

func (e *env) mappingCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "How contacts look to your CRM (mapping.fields)"}
	preview := &cobra.Command{
		Use:   "preview [ID]",
		Short: "Show one contact (default: the newest) as stored, then as the CRM sees it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var id int64
			if len(args) == 1 {
				n, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || n <= 0 {
					return usageError{fmt.Errorf("ID %q: want a Shopify customer id, a positive integer", args[0])}
				}
				id = n
			}
			aud, closeDB, err := e.openAudience(cmd.Context())
			if err != nil {
				return err
			}
			defer closeDB()
			p, err := aud.Preview(cmd.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				return errors.New("no such contact")
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			fmt.Fprintln(e.stdout, "stored:")
			if err := enc.Encode(p.Contact); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "as the CRM sees it (mapping.fields):")
			return enc.Encode(p.Record)
		},
	}
	cmd.AddCommand(preview)
	return cmd
}

// exportCommand is contacts export.
func (e *env) exportCommand() *cobra.Command {
	var format, seg, purpose string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write contacts to stdout as the CRM sees them: every active one, or a segment's, optionally only those a marketing channel may reach",
		Long: `export writes contacts as JSON lines or CSV (csv-excel for Excel and LibreOffice:
a byte-order mark, long ids as text), under the field names of mapping.fields.

--segment NAME exports a segment's contacts (shopsync segments list).
--for email or --for sms keeps only the contacts that may receive it: consent
subscribed, an address for the channel, one contact per address. What was left
out, and why, is printed to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := audience.ParseFormat(format)
			if err != nil {
				return usageError{fmt.Errorf("--%w", err)}
			}
			req := audience.ExportRequest{Segment: seg, Format: f}
			if purpose != "" {
				if req.For, err = marketing.ParseChannel(purpose); err != nil {
					return usageError{fmt.Errorf("--for %q: want email or sms", purpose)}
				}
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
			if seg != "" {
				s, err := aud.Segment(cmd.Context(), seg)
				if err != nil {
					return audienceError(err)
				}
				if err := aud.Check(s.Query); err != nil {
					return audienceError(err)
				}
			}
			// The change feed's last event before the export: the export
			// holds every change up to it (and maybe a few after, which the
			// feed then applies again, harmlessly).
			_, seq, err := db.FeedBounds(cmd.Context())
			if err != nil {
				return err
			}
			rep, err := aud.Export(cmd.Context(), e.stdout, req)
			if err != nil {
				return audienceError(err)
			}
			if rep.Marketing != nil {
				fmt.Fprintf(e.stderr, "%s\n", rep.Marketing)
			}
			fmt.Fprintf(e.stderr, "export current to change %d: follow the changes after it with "+
				"shopsync changes tail --after %d, or GET /changes?after=%d\n", seq, seq, seq)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl, csv, or csv-excel (for Excel and LibreOffice: a byte-order mark, long ids as text)")
	cmd.Flags().StringVar(&seg, "segment", "", "export this segment's contacts (default: every active contact)")
	cmd.Flags().StringVar(&purpose, "for", "", "email or sms: only contacts that may receive it, one per address")
	return cmd
}
