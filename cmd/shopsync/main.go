// Command shopsync keeps a local SQLite contact store an exact copy of a
// Shopify shop's customers.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // sync.timezone works on machines without a zoneinfo database

	"github.com/spf13/cobra"

	ssync "github.com/shopsync/shopsync/sync"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in the README.
const (
	exitOK      = 0
	exitFailure = 1 // a run or command failed
	exitUsage   = 2 // bad command line or configuration
	exitBusy    = 3 // another sync run holds the store
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shopsync:", err)
	}
	os.Exit(exitCode(err))
}

// usageError marks bad input from the user: flags, arguments, config.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var (
		usage   usageError
		running *ssync.RunningError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &running):
		return exitBusy
	default:
		return exitFailure
	}
}

// env is the process environment, injectable for tests.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	configFile     string
	verbose        bool    // -v: technical detail of errors
	cfg            *Config // the configuration loaded, for explaining errors
}

// run executes the command line args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:   "shopsync",
		Short: "Keep a local SQLite contact store in sync with a Shopify shop's customers",
		Long: `shopsync imports every customer of a Shopify shop into a local SQLite
contact store and keeps it current. Configure it with a YAML file (--config)
or SHOPSYNC_* environment variables; see config.example.yaml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetContext(ctx)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVar(&e.configFile, "config", "", "YAML configuration file (default: environment variables only)")
	root.PersistentFlags().BoolVarP(&e.verbose, "verbose", "v", false, "print the technical detail of errors")
	root.AddCommand(e.syncCommand(), e.serveCommand(), e.contactsCommand(), e.configCommand(), e.webhooksCommand(),
		e.doctorCommand(), e.segmentsCommand(), e.mappingCommand(), e.changesCommand(), e.outboundCommand(),
		versionCommand())
	err := root.ExecuteContext(ctx)
	if err != nil && isCobraUsage(err) {
		return usageError{err}
	}
	return e.explain("", err)
}

// isCobraUsage recognises cobra's own errors for unknown commands and bad
// argument counts, which it does not type.
func isCobraUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// config loads and validates the configuration; local skips the Shopify
// keys, for commands that only read the store.
func (e *env) config(local bool) (Config, error) {
	cfg, err := LoadConfig(e.configFile, e.getenv)
	if err != nil {
		return cfg, usageError{err}
	}
	if local {
		err = cfg.validateLocal()
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		return cfg, usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	e.cfg = &cfg
	return cfg, nil
}

// logger builds the process's logger from the configuration: log.level
// and log.format, as set.
func (e *env) logger(cfg LogConfig) *slog.Logger {
	level, _ := parseLevel(cfg.Level) // validated with the configuration
	return e.newLogger(cfg, level)
}

// quietLogger is logger with records below floor dropped, whatever
// log.level says: for when something else speaks on the terminal, such as
// sync's progress bar or doctor's report.
func (e *env) quietLogger(cfg LogConfig, floor slog.Level) *slog.Logger {
	level, _ := parseLevel(cfg.Level)
	return e.newLogger(cfg, max(level, floor))
}

func (e *env) newLogger(cfg LogConfig, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(e.stderr, opts)
	if cfg.Format == "json" {
		h = slog.NewJSONHandler(e.stderr, opts)
	}
	if !e.verbose {
		// The command says why a run failed, once, in plain words.
		h = dropMessages{Handler: h, msgs: []string{"sync run failed"}}
	}
	return slog.New(h)
}
