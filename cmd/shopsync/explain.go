package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/shopsync/shopsync/internal/problem"
	ssync "github.com/shopsync/shopsync/sync"
)

// explainedError is a command's failure in a merchant's words: what
// happened and what to do, once. The technical error is printed only with
// -v, and stays reachable with errors.Is/As for exit codes.
type explainedError struct {
	what    string // e.g. "sync run 12 failed"; "" for none
	p       problem.Problem
	verbose bool
	err     error
}

func (e *explainedError) Error() string {
	var b strings.Builder
	if e.what != "" {
		b.WriteString(e.what + ": ")
	}
	b.WriteString(e.p.Title)
	b.WriteString("\nTo fix: " + e.p.Fix)
	if e.verbose {
		b.WriteString("\nDetail: " + e.p.Detail)
	} else {
		b.WriteString("\n(The technical detail: run the command again with -v.)")
	}
	return b.String()
}

func (e *explainedError) Unwrap() error { return e.err }

// problemContext is what the fixes may name of the configuration.
func (e *env) problemContext() problem.Context {
	if e.cfg == nil {
		return problem.Context{}
	}
	return problem.Context{Shop: e.cfg.Shopify.Shop, StorePath: e.cfg.Store.Path,
		ClientCredentials: e.cfg.Shopify.AccessToken == "" && e.cfg.Shopify.ClientID != ""}
}

// explain turns a command's error into an explainedError when it is one
// of the failures problem knows. Usage errors already say what to fix;
// unknown errors are left as they are, the best words there are.
func (e *env) explain(what string, err error) error {
	var (
		usage     usageError
		running   *ssync.RunningError
		explained *explainedError
	)
	if err == nil || errors.As(err, &usage) || errors.As(err, &running) || errors.As(err, &explained) {
		return err
	}
	p := problem.Explain(err, e.problemContext())
	if p.Code == problem.Unknown && what == "" {
		return err
	}
	return &explainedError{what: what, p: p, verbose: e.verbose, err: err}
}

// dropMessages is a slog.Handler that leaves out records with the given
// messages: the failure a command explains itself is not logged a second
// time (-v keeps them).
type dropMessages struct {
	slog.Handler
	msgs []string
}

func (h dropMessages) Handle(ctx context.Context, r slog.Record) error {
	for _, m := range h.msgs {
		if r.Message == m {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h dropMessages) WithAttrs(attrs []slog.Attr) slog.Handler {
	return dropMessages{h.Handler.WithAttrs(attrs), h.msgs}
}

func (h dropMessages) WithGroup(name string) slog.Handler {
	return dropMessages{h.Handler.WithGroup(name), h.msgs}
}

// runFailure is the error of a failed run, said once.
func (e *env) runFailure(runID int64, err error) error {
	return e.explain(fmt.Sprintf("sync run %d failed", runID), err)
}
