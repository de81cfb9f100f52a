package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

func (e *env) syncCommand() *cobra.Command {
	var (
		noProgress bool
		engine     string
	)
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Import every customer now (resumes an interrupted import)",
		Long: `sync runs one full import of every customer of the shop into the store and
prints one summary line. An import that was interrupted (killed, network down)
resumes from its last checkpoint. Only a completed import marks contacts that
Shopify no longer has as deleted. Exit code 0 on success, 1 on failure,
2 on bad configuration, 3 when another sync is running on the same store.

--engine (or sync.engine) chooses how Shopify is read: rest pages through
customers.json; bulk has Shopify write every customer to a file and reads
it; auto (the default) uses bulk where it is expected to be faster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			if engine != "" {
				if _, err := ssync.ParseEngine(engine); err != nil {
					return usageError{fmt.Errorf("--engine %w", err)}
				}
				cfg.Sync.Engine = engine
			}
			showBar := !noProgress && isTerminal(e.stderr)
			logger := e.logger(cfg.Log)
			if showBar {
				logger = e.quietLogger(cfg.Log, slog.LevelWarn) // the bar owns the terminal; warnings still show
			}
			return e.runSync(cmd.Context(), cfg, logger, showBar)
		},
	}
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "never draw the progress bar")
	cmd.Flags().StringVar(&engine, "engine", "", "auto, rest or bulk: how to read Shopify (default: sync.engine)")
	return cmd
}

func (e *env) runSync(ctx context.Context, cfg Config, logger *slog.Logger, showBar bool) error {
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return usageError{err}
	}
	db, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	warnPermissions(db, logger)
	aud, err := newAudience(cfg, db)
	if err != nil {
		return usageError{err}
	}
	wireFeed(db, aud, logger) // the import's changes are events: segment events with them
	client, err := shopify.NewClient(cfg.shopifyConfig(), logger)
	if err != nil {
		return usageError{err}
	}
	im := ssync.New(db, client, mapper, logger)
	im.SetEngine(ssync.Engine(cfg.Sync.Engine))
	var bar *progressBar
	if showBar {
		bar = newProgressBar(e.stderr)
		im.OnProgress(bar.update)
	}
	start := time.Now()
	run, err := im.Run(ctx, shopsync.TriggerCLI)
	if bar != nil {
		bar.finish()
	}
	if run != nil {
		fmt.Fprintf(e.stdout, "fetched %d, created %d, updated %d, unchanged %d, deleted %d in %s\n",
			run.Fetched, run.Created, run.Updated, run.Unchanged, run.Deleted, time.Since(start).Round(time.Millisecond))
	}
	switch {
	case err == nil:
		return nil
	case run == nil:
		return e.explain("sync not started", err)
	case ctx.Err() != nil:
		return fmt.Errorf("sync run %d interrupted; the next run resumes from its checkpoint", run.ID)
	default:
		return e.runFailure(run.ID, err)
	}
}

func (e *env) contactsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "contacts", Short: "Read contacts from the store"}
	export := e.exportCommand()
	get := &cobra.Command{
		Use:   "get ID|EMAIL",
		Short: "Print the contact with a Shopify id, or the contacts with an email (any case), as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, db, err := e.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			var cs []*shopsync.Contact
			if id, perr := strconv.ParseInt(args[0], 10, 64); perr == nil {
				var c *shopsync.Contact
				c, err = db.Contact(cmd.Context(), id)
				cs = []*shopsync.Contact{c}
			} else {
				cs, err = db.ContactsByEmail(cmd.Context(), args[0])
			}
			if errors.Is(err, store.ErrNotFound) {
				return errors.New("no such contact")
			} else if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			for _, c := range cs {
				if err := enc.Encode(c); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.AddCommand(export, get)
	return cmd
}

// openStore loads the local configuration and opens the existing store,
// for commands that only read it.
func (e *env) openStore(ctx context.Context) (Config, *store.DB, error) {
	cfg, err := e.config(true)
	if err != nil {
		return cfg, nil, err
	}
	db, err := openExisting(ctx, cfg.Store.Path)
	if err == nil {
		warnPermissions(db, e.logger(cfg.Log))
	}
	return cfg, db, err
}

// warnPermissions warns, with the fix, when other users can read the
// store's files.
func warnPermissions(db *store.DB, logger *slog.Logger) {
	if err := db.PermissionProblem(); err != nil {
		logger.Warn("store files readable by other users", slog.Any("error", err))
	}
}

// openExisting opens the store only if its file exists, so that a typo in
// store.path is an error instead of a new empty store.
func openExisting(ctx context.Context, path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageError{fmt.Errorf("store.path: %w (run shopsync sync first)", err)}
	}
	return store.Open(ctx, path)
}

func (e *env) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print it, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			if err := checkListen(cfg.HTTP); err != nil {
				return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
			}
			w := e.stdout
			printKeys(w, "", reflect.ValueOf(cfg.redacted()))
			mapper, _ := mapping.New(cfg.Mapping)
			fmt.Fprintf(w, "\ncredentials: %s\n", cfg.CredentialKind())
			fmt.Fprintf(w, "attributes mapped: %s\n", strings.Join(mapper.Attributes(), ", "))
			fmt.Fprintln(w, "configuration OK")
			return nil
		},
	}
	cmd.AddCommand(check)
	return cmd
}

// printKeys prints every key of the configuration as key = value.
func printKeys(w interface{ Write([]byte) (int, error) }, prefix string, rv reflect.Value) {
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		key := f.Tag.Get("mapstructure")
		v := rv.Field(i)
		if key == ",squash" {
			printKeys(w, prefix, v)
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		if v.Kind() == reflect.Struct {
			printKeys(w, key, v)
			continue
		}
		if fields, ok := v.Interface().([]mapping.FieldConfig); ok {
			// mapping.fields: the fields' names, one line.
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = cmp.Or(f.Name, f.Source)
			}
			fmt.Fprintf(w, "%s = [%s]\n", key, strings.Join(names, ", "))
			continue
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			// outbound.endpoints: each endpoint's keys.
			if v.Len() == 0 {
				fmt.Fprintf(w, "%s = []\n", key)
			}
			for j := range v.Len() {
				printKeys(w, fmt.Sprintf("%s[%d]", key, j), v.Index(j))
			}
			continue
		}
		val := fmt.Sprint(v.Interface())
		if s, ok := v.Interface().([]string); ok {
			val = "[" + strings.Join(s, ", ") + "]"
		}
		fmt.Fprintf(w, "%s = %s\n", key, val)
	}
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						v = "dev-" + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "shopsync %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
