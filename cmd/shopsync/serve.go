package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	gosync "sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
)

func (e *env) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: webhooks, Sync now, the nightly import and sweeps",
		Long: `serve runs shopsync as a daemon beside the shop. It receives Shopify's
customer webhooks (HMAC-verified) at POST /webhooks/shopify, starts a full
import on POST /sync ("Sync now") and on sync.schedule, sweeps recent changes
every sync.reconcile_every to catch webhooks that never arrived, and serves
status, run history, contacts, /healthz, /readyz and /metrics.
SIGTERM or SIGINT shut it down gracefully: in-flight webhooks are committed
and answered, the running import stops at a checkpoint, the store closes last.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.serveConfig()
			if err != nil {
				return err
			}
			// The soft memory limit is process-wide: the command sets it
			// for the daemon's process, and a Daemon that a test runs
			// leaves the test's process alone.
			if e.getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(defaultMemoryLimit)
			}
			return e.serve(cmd.Context(), NewDaemon(cfg, e.logger(cfg.Log)))
		},
	}
}

// serveConfig loads the daemon's configuration and validates it, listener
// included.
func (e *env) serveConfig() (Config, error) {
	cfg, err := e.config(false)
	if err != nil {
		return cfg, err
	}
	if err := checkListen(cfg.HTTP); err != nil {
		return cfg, usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	return cfg, nil
}

// checkListen refuses a listener reachable from other machines without a
// sync token (the API would be open to the network), or with a token
// weak enough to guess.
func checkListen(h HTTPConfig) error {
	host, _, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: want host:port such as 127.0.0.1:8080")
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	if h.SyncToken == "" {
		return fmt.Errorf("http.sync_token: required when http.listen (%s) is not a loopback address; set a long random token, e.g. `openssl rand -hex 32`", h.Listen)
	}
	if tokenBits(h.SyncToken) < minTokenBits {
		return fmt.Errorf("http.sync_token: too easy to guess for http.listen (%s) beyond loopback: want %d bits of randomness or more, "+
			"such as 32 hex or 22 base64 characters; generate one with `openssl rand -hex 32`", h.Listen, minTokenBits)
	}
	return nil
}

// The daemon's timeouts. Shopify waits 5 s for a webhook answer.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
	deliveryRetention = 8 * 24 * time.Hour // dedupe keys kept beyond Shopify's 7 days
)

// defaultMemoryLimit is the daemon's soft memory limit (runtime/debug
// SetMemoryLimit) unless GOMEMLIMIT sets another: under a flood of
// connections the garbage collector then works harder instead of letting
// the heap double (TestServeUnverifiedFloodBounded).
const defaultMemoryLimit = 64 << 20

// serve runs the daemon until ctx ends (SIGTERM or SIGINT) or its HTTP
// server fails, then closes it.
func (e *env) serve(ctx context.Context, d *Daemon) error {
	if err := d.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "shopsync serving on http://%s\n", d.Addr())
	select {
	case <-ctx.Done():
	case <-d.Done():
	}
	return d.Close(context.WithoutCancel(ctx))
}

// wakeOnBulkFinish calls wake after h accepted (200) a bulk_operations/finish
// delivery, which Shopify sends when a bulk operation completes, fails or
// is canceled (shopify.dev/changelog/new-webhook-topic-notifies-when-a-bulk-operation-has-finished):
// a bulk import waiting for its job looks at once instead of at its next
// poll. Only a delivery h verified (signature, shop) answers 200, and a
// wake only makes a poll early, so nothing else is trusted to it.
func wakeOnBulkFinish(h http.Handler, wake func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("X-Shopify-Topic"), "bulk_operations/finish") {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusOK {
			wake()
		}
	})
}

// statusRecorder remembers the status an http.Handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// rejectionFlush is how often refused webhook counts are written.
const rejectionFlush = 5 * time.Second

// countEvery is how often Shopify's count of customers is asked when
// sweeps are off: one request, for the page's "is my copy exact?".
const countEvery = 15 * time.Minute

// countCustomers asks Shopify how many customers the shop has and
// records it: the status page compares the copy with it.
func countCustomers(ctx context.Context, client *shopify.Client, db *store.DB, logger *slog.Logger) {
	n, err := client.CountCustomers(ctx)
	if err != nil {
		if ctx.Err() == nil {
			logger.Warn("count customers", slog.Any("error", err))
		}
		return
	}
	if err := db.SetCustomerCount(ctx, n, time.Now()); err != nil && ctx.Err() == nil {
		logger.Error("record customer count", slog.Any("error", err))
	}
}

// maintain runs the reconciliation sweeps, counts Shopify's customers
// after each (or every countEvery without sweeps), and prunes old
// records, until ctx ends. A failing sweep is logged and the next one
// runs anyway.
func maintain(ctx context.Context, db *store.DB, sw *ssync.Sweeper, every time.Duration, m *server.RunMetrics, count func(), logger *slog.Logger) {
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	var sweep, counts <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		sweep = t.C
	} else {
		t := time.NewTicker(countEvery)
		defer t.Stop()
		counts = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			before := time.Now().Add(-deliveryRetention)
			if n, err := db.PruneDeliveries(ctx, before); err != nil {
				logger.Error("prune webhook deliveries", "error", err)
			} else if n > 0 {
				logger.Debug("pruned webhook deliveries", "count", n)
			}
			if _, err := db.PruneRejections(ctx, before); err != nil {
				logger.Error("prune refused webhook counts", "error", err)
			}
			if _, err := db.PruneRunContacts(ctx, before); err != nil {
				logger.Error("prune swept contacts", "error", err)
			}
		case <-counts:
			count()
		case <-sweep:
			run, err := sw.Sweep(ctx)
			var busy *ssync.RunningError
			switch {
			case errors.As(err, &busy):
				logger.Debug("sweep skipped: a full import is running")
			case errors.Is(err, ssync.ErrNoMark):
				logger.Debug("sweep skipped: " + err.Error())
			case err != nil && ctx.Err() == nil:
				logger.Error("sweep failed", "error", err)
			}
			m.Observe(run)
			if err == nil {
				count()
			}
		}
	}
}

// subscriptionState holds what the last check of the subscriptions found,
// for the status page.
type subscriptionState struct {
	mu gosync.Mutex
	s  server.SubscriptionState
}

func (st *subscriptionState) set(s server.SubscriptionState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s = s
}

func (st *subscriptionState) get() server.SubscriptionState {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s
}

// ensureSubscriptions puts the subscriptions in place and says what it
// found.
func ensureSubscriptions(ctx context.Context, client *shopify.Client, address string, logger *slog.Logger) server.SubscriptionState {
	state := server.SubscriptionState{State: "ok", Address: address, CheckedAt: time.Now().UTC()}
	res, err := client.EnsureSubscriptions(ctx, address, shopify.SubscriptionTopics())
	for _, t := range res.Topics {
		if t.Err != nil {
			state.State, state.Missing = "missing", append(state.Missing, t.Topic)
			logger.Error("webhook subscription failed", "topic", t.Topic, "error", t.Err)
		}
	}
	if err != nil {
		if state.State == "ok" {
			state.State = "unknown"
		}
		state.Error = err.Error()
		if ctx.Err() == nil && len(state.Missing) == 0 {
			logger.Error("webhook subscriptions not checked", "error", err)
		}
		return state
	}
	logger.Info("webhook subscriptions checked", "created", res.Count(shopify.TopicCreated), "existing", res.Count(shopify.TopicExisting))
	return state
}

// lastSuccess finds when the last full import succeeded.
func lastSuccess(ctx context.Context, db *store.DB) (time.Time, bool, error) {
	runs, err := db.Runs(ctx, 200)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, r := range runs {
		if r.State == shopsync.RunSucceeded && r.Trigger != shopsync.TriggerReconcile && r.FinishedAt != nil {
			return *r.FinishedAt, true, nil
		}
	}
	return time.Time{}, false, nil
}
