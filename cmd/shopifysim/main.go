// Command shopifysim serves a simulated Shopify shop on a loopback port,
// for the demo and for trying shopsync without a Shopify account. It
// prints one line, "shopifysim listening on http://127.0.0.1:PORT", and
// serves until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shopifysim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("shopifysim", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
		customers = fs.Int("customers", 5000, "number of generated customers")
		seed      = fs.Int64("seed", 1, "generator seed")
		token     = fs.String("token", "", "static Admin API access token to accept")
		clientID  = fs.String("client-id", "", "client id for the client-credentials grant")
		secret    = fs.String("client-secret", "", "client secret for the client-credentials grant")
		bucket    = fs.Int("bucket", 40, "leaky bucket size (0: no rate limit)")
		leak      = fs.Float64("leak", 2, "requests leaked per second")
		latency   = fs.Duration("latency", 0, "added to every answer")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("-listen %q: only loopback addresses are allowed", *listen)
	}
	sim := shopifytest.NewHandler(shopifytest.Options{Customers: *customers, Seed: *seed, Token: *token,
		ClientID: *clientID, ClientSecret: *secret, BucketSize: *bucket, LeakRate: *leak, Latency: *latency})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("shopifysim listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
