package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
)

func (e *env) doctorCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the connection, webhooks and store before the first sync; each problem with its fix",
		Long: `doctor checks that shopsync can do its work: Shopify accepts the credentials,
the app may read customers and their protected data (names, emails), the API
version Shopify serves, this machine's clock, the webhook subscriptions, a
signed test delivery through webhooks.address to a running shopsync serve,
refused deliveries of the last 24 hours, the store file and free disk.
It prints one line per check, and a fix for each problem. It reads no
customer's data beyond counting a sample, and prints no secret.
Exit code 0 when nothing failed (warnings allowed), 1 when a check failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			logger := e.quietLogger(cfg.Log, slog.LevelError) // the report says what the logs would
			if e.verbose {
				logger = e.logger(cfg.Log)
			}
			client, err := shopify.NewClient(cfg.shopifyConfig(), logger)
			if err != nil {
				return usageError{err}
			}
			ctx := cmd.Context()
			var db *store.DB
			if _, err := os.Stat(cfg.Store.Path); err == nil {
				if db, err = store.Open(ctx, cfg.Store.Path); err == nil {
					defer db.Close()
				} else {
					db = nil // the store_file check says why
				}
			}
			report := doctor.Run(ctx, doctor.Config{
				Shopify: client, Shop: cfg.Shopify.Shop, APIVersion: cfg.Shopify.APIVersion,
				ClientCredentials: cfg.Shopify.AccessToken == "",
				WebhookAddress:    cfg.Webhooks.Address, WebhookSecret: firstSecret(cfg),
				StorePath: cfg.Store.Path, Store: db,
			})
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(report); err != nil {
					return err
				}
			} else {
				printReport(e.stdout, report, e.verbose)
			}
			if report.Failed() {
				return errDoctorFailed{report.Count(doctor.Fail)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// errDoctorFailed is doctor's exit 1: the report already said why.
type errDoctorFailed struct{ n int }

func (e errDoctorFailed) Error() string {
	if e.n == 1 {
		return "1 check failed: see its fix above"
	}
	return fmt.Sprintf("%d checks failed: see their fixes above", e.n)
}

// firstSecret is the key a test delivery is signed with: one the daemon
// verifies deliveries with.
func firstSecret(cfg Config) string {
	if cfg.Shopify.ClientSecret != "" {
		return cfg.Shopify.ClientSecret
	}
	for _, s := range cfg.Shopify.WebhookSecrets {
		if s != "" {
			return s
		}
	}
	return ""
}

var statusMark = map[doctor.Status]string{doctor.OK: "ok  ", doctor.Warn: "WARN", doctor.Fail: "FAIL", doctor.Skip: "skip"}

// printReport writes the report, a check a line, each fix indented below.
func printReport(w io.Writer, r doctor.Report, verbose bool) {
	fmt.Fprintf(w, "shopsync doctor: %s\n\n", r.Shop)
	for _, c := range r.Checks {
		fmt.Fprintf(w, "  %s  %s: %s\n", statusMark[c.Status], c.Name, c.Summary)
		if c.Fix != "" && (c.Status == doctor.Fail || c.Status == doctor.Warn) {
			fmt.Fprintf(w, "        fix: %s\n", c.Fix)
		}
		if verbose && c.Detail != "" {
			fmt.Fprintf(w, "        detail: %s\n", c.Detail)
		}
	}
	var parts []string
	for _, s := range []doctor.Status{doctor.Fail, doctor.Warn} {
		if n := r.Count(s); n > 0 {
			word := map[doctor.Status]string{doctor.Fail: "failed", doctor.Warn: "with a warning"}[s]
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		}
	}
	fmt.Fprintln(w)
	if len(parts) == 0 {
		fmt.Fprintln(w, "Everything checked is in order.")
		return
	}
	fmt.Fprintf(w, "%d checks: %s.\n", len(r.Checks), strings.Join(parts, ", "))
}
