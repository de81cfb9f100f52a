// Command shopifysim serves a simulated Shopify shop (package shopifytest)
// on a loopback address, for the demo and for trying shopsync without a
// Shopify account. It prints one line, "shopifysim listening on URL", to
// stdout, logs requests to stderr and stops on SIGINT or SIGTERM.
//
// Secrets come from the environment: SHOPIFYSIM_TOKEN (the static Admin
// API access token to accept), SHOPIFYSIM_CLIENT_SECRET (with -client-id,
// for the client-credentials grant) and SHOPIFYSIM_WEBHOOK_SECRET. The
// -token, -client-secret and -webhook-secret flags still work, but any
// local user can read a command line (ps, /proc/PID/cmdline), while a
// process's environment is readable by its owner alone.
//
// With a webhook secret it delivers signed webhooks, as Shopify does, to
// the subscriptions made through its API; with -trickle it changes a
// random customer at every interval (new customer, edit, consent, tags,
// order, deletion) so that those webhooks keep coming. -v prints one line
// per change to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "shopifysim:", err)
		os.Exit(1)
	}
}

// The environment variables that hold the simulator's secrets.
const (
	envToken         = "SHOPIFYSIM_TOKEN"
	envClientSecret  = "SHOPIFYSIM_CLIENT_SECRET"
	envWebhookSecret = "SHOPIFYSIM_WEBHOOK_SECRET"
)

// run parses args and the secrets in getenv, serves until ctx is done,
// then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shopifysim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen    = fs.String("listen", "127.0.0.1:0", "loopback `address` to listen on")
		customers = fs.Int("customers", 5000, "number of generated customers")
		seed      = fs.Int64("seed", 1, "generator seed")
		token     = fs.String("token", "", "static Admin API access token to accept (shpat_...); prefer $"+envToken+": a command line is public")
		clientID  = fs.String("client-id", "", "client ID for the client-credentials grant")
		secret    = fs.String("client-secret", "", "client secret for the client-credentials grant; prefer $"+envClientSecret)
		bucket    = fs.Int("bucket", 40, "leaky bucket size (0: no rate limit)")
		leak      = fs.Float64("leak", 2, "requests leaked per second")
		latency   = fs.Duration("latency", 0, "latency added to every response")
		domain    = fs.String("shop-domain", "demo.myshopify.com", "the shop's permanent `domain`, sent in webhooks' X-Shopify-Shop-Domain")
		whSecret  = fs.String("webhook-secret", "", "sign webhooks with this `key` and deliver them to the subscriptions (off when empty); prefer $"+envWebhookSecret)
		trickle   = fs.Duration("trickle", 0, "make one random customer change every `interval`, e.g. 2s (0: off)")
		verbose   = fs.Bool("v", false, "print one line per -trickle change to stdout")
		bulkRate  = fs.Float64("bulk-rate", 0, "objects/s a bulk query processes, so that a job takes time (0: at once)")
		scopes    = fs.String("scopes", "read_customers,read_orders,read_all_orders", "comma-separated access `scopes` the app is granted (read_orders and read_all_orders let a bulk query read the last order)")
		restore   = fs.Float64("graphql-restore", 100, "GraphQL cost points restored a second: 100 Standard, 200 Advanced, 1000 Plus")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var onCommandLine []string
	for _, s := range []struct {
		v         *string
		flag, env string
	}{{token, "-token", envToken}, {secret, "-client-secret", envClientSecret}, {whSecret, "-webhook-secret", envWebhookSecret}} {
		if *s.v != "" {
			onCommandLine = append(onCommandLine, s.flag)
		} else {
			*s.v = getenv(s.env)
		}
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}
	switch {
	case *customers < 0:
		return errors.New("-customers: must be >= 0")
	case *bucket < 0:
		return errors.New("-bucket: must be >= 0")
	case *bucket > 0 && *leak <= 0:
		return errors.New("-leak: must be > 0 when -bucket is set")
	case (*clientID == "") != (*secret == ""):
		return errors.New("-client-id and -client-secret go together")
	case *trickle < 0:
		return errors.New("-trickle: must be >= 0")
	case *bulkRate < 0:
		return errors.New("-bulk-rate: must be >= 0")
	case *restore <= 0:
		return errors.New("-graphql-restore: must be > 0")
	case *domain == "" || strings.ContainsAny(*domain, "/: \t"):
		return fmt.Errorf("-shop-domain %q: want a host name like demo.myshopify.com", *domain)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if *token == "" && *clientID == "" {
		logger.Warn("no token and no -client-id: every API request will get 401; set " + envToken)
	}
	if len(onCommandLine) > 0 {
		logger.Warn("secrets on the command line are visible to every local user; pass them in "+
			envToken+", "+envClientSecret+" and "+envWebhookSecret+" instead", slog.String("flags", strings.Join(onCommandLine, " ")))
	}

	sim := shopifytest.NewHandler(shopifytest.Options{
		Customers: *customers, Seed: *seed, Token: *token, ClientID: *clientID, ClientSecret: *secret,
		BucketSize: *bucket, LeakRate: *leak, Latency: *latency,
		ShopDomain: *domain, WebhookSecret: *whSecret,
		BulkRate: *bulkRate, Scopes: strings.Split(*scopes, ","), GraphQLRestoreRate: *restore,
		Logf: func(format string, args ...any) { logger.Info(fmt.Sprintf(format, args...)) },
	})
	defer sim.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "shopifysim listening on http://%s\n", ln.Addr())
	logger.Info("serving", slog.Int("customers", *customers), slog.Int("bucket", *bucket), slog.Float64("leak", *leak),
		slog.String("shop_domain", *domain), slog.Bool("webhooks", *whSecret != ""), slog.Duration("trickle", *trickle))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var trickling sync.WaitGroup
	tctx, stopTrickle := context.WithCancel(ctx)
	defer func() { stopTrickle(); trickling.Wait() }()
	if *trickle > 0 {
		var out io.Writer
		if *verbose {
			out = stdout
		}
		tr := newTrickler(sim, *seed, out)
		trickling.Go(func() { tr.run(tctx, *trickle) })
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	stopTrickle()
	trickling.Wait()
	sim.Close() // wake requests waiting out -latency
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// checkLoopback refuses any listen address but a loopback IP: the
// simulator accepts a well-known token and must not be reachable from
// the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: only loopback IP addresses are allowed, e.g. 127.0.0.1:0", addr)
	}
	return nil
}
