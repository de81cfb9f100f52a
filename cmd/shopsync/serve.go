package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
	"github.com/shopsync/shopsync/webhook"
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
			cfg, err := e.config(false)
			if err != nil {
				return err
			}
			if err := checkListen(cfg.HTTP); err != nil {
				return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
			}
			return e.serve(cmd.Context(), cfg, e.logger(cfg.Log))
		},
	}
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

func (e *env) serve(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		return usageError{err}
	}
	client, err := shopify.NewClient(cfg.shopifyConfig(), logger)
	if err != nil {
		return usageError{err}
	}
	loc, err := time.LoadLocation(cfg.Sync.Timezone)
	if err != nil {
		return usageError{fmt.Errorf("sync.timezone: %w", err)}
	}
	db, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return err
	}
	defer db.Close() // last: after every user of the store has stopped
	warnPermissions(db, logger)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shopsync_sqlite_memory_bytes",
			Help: "Bytes SQLite has allocated in this process (page caches, statements)."},
			func() float64 { used, _ := store.SQLiteMemory(); return float64(used) }))
	runMetrics := server.NewRunMetrics(reg)
	server.RegisterClient(reg, client.Stats)
	hookMetrics := webhook.NewMetrics(reg)
	if t, ok, err := lastSuccess(ctx, db); err != nil {
		return err
	} else if ok {
		runMetrics.SetLastSuccess(t)
	}

	// Background work lives until shutdown has stopped the HTTP server;
	// it is cancelled then, not at the signal, so that in-flight requests
	// finish against a working daemon.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()

	im := ssync.New(db, client, mapper, logger)
	im.SetEngine(ssync.Engine(cfg.Sync.Engine))
	syncer := ssync.NewSyncer(bg, im, logger)
	subs := &subscriptionState{s: server.SubscriptionState{State: "not_configured"}}
	ensure := func() {}
	if addr := cfg.Webhooks.Address; addr != "" {
		subs.set(server.SubscriptionState{State: "unknown", Address: addr})
		ensure = func() { subs.set(ensureSubscriptions(bg, client, addr, logger)) }
	}
	syncer.OnFinish = func(run *shopsync.SyncRun, err error) {
		runMetrics.Observe(run)
		if err == nil {
			countCustomers(bg, client, db, logger) // the copy against Shopify, right after the import
		}
	}

	committer := webhook.NewCommitter(db)
	refetcher := ssync.NewRefetcher(db, client, mapper, cfg.Sync.RefetchDelay, logger)
	secrets := append([]string{cfg.Shopify.ClientSecret}, cfg.Shopify.WebhookSecrets...)
	rejections := server.NewRejectionLog(db, logger)
	hooks := webhook.NewHandler(webhook.Config{
		Shop: cfg.Shopify.Shop, Secrets: secrets, Mapper: mapper, Committer: committer,
		Metrics: hookMetrics, Logger: logger, OnQueued: refetcher.Poke, OnReject: rejections.Add,
		ShopifyNow: client.ShopifyNow,
	})
	// shopsync's own test deliveries (doctor, Check connection) are
	// answered in front of the receiver and never stored.
	testDeliveries := doctor.NewTestReceiver(wakeOnBulkFinish(hooks, im.WakeBulk), cfg.Shopify.Shop, secrets)
	if cfg.Shopify.ClientSecret == "" && len(cfg.Shopify.WebhookSecrets) == 0 {
		logger.Warn("no webhook secret configured: every webhook will be refused with 401; set shopify.webhook_secrets or shopify.client_secret")
	}

	sched := cron.New(cron.WithLocation(loc))
	entry, err := sched.AddFunc(cfg.Sync.Schedule, func() {
		run, started, err := syncer.RunAndWait(shopsync.TriggerSchedule)
		switch {
		case err != nil:
			logger.Error("scheduled sync not run", "error", err)
		case !started:
			logger.Info("scheduled sync skipped: a run is going", "run_id", run.ID)
		}
		ensure() // Shopify deletes a subscription after 8 failed deliveries
	})
	if err != nil {
		return usageError{fmt.Errorf("sync.schedule: %w", err)}
	}

	attrs := mapper.Attributes()
	api := server.New(server.Config{
		Store: db, Syncer: syncer, Webhooks: testDeliveries, Gatherer: reg, Logger: logger,
		SyncToken: cfg.HTTP.SyncToken, AllowedHosts: cfg.HTTP.AllowedHosts,
		NextRun: func() time.Time { return sched.Entry(entry).Next }, ClientStats: client.Stats,
		Shop: cfg.Shopify.Shop, APIVersion: cfg.Shopify.APIVersion,
		ClientCredentials: cfg.Shopify.AccessToken == "",
		Rejections:        rejections, Subscriptions: subs.get, TestDeliveries: testDeliveries,
		Doctor: func(ctx context.Context) doctor.Report {
			return doctor.Run(ctx, doctor.Config{
				Shopify: client, Shop: cfg.Shopify.Shop, APIVersion: cfg.Shopify.APIVersion,
				ClientCredentials: cfg.Shopify.AccessToken == "",
				WebhookAddress:    cfg.Webhooks.Address, WebhookSecret: firstSecret(cfg), Received: testDeliveries.Received,
				StorePath: cfg.Store.Path, Store: db,
			})
		},
		ExportCSV: func(ctx context.Context, w io.Writer, excel bool) error {
			return exportCSV(ctx, db, w, attrs, csvOptions{excel: excel})
		},
	})
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	srv := &http.Server{
		Handler: api, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "shopsync serving on http://%s\n", ln.Addr())
	logger.Info("serving", "addr", ln.Addr().String(), "shop", cfg.Shopify.Shop,
		"schedule", cfg.Sync.Schedule, "timezone", loc.String(), "reconcile_every", cfg.Sync.ReconcileEvery)

	var workers gosync.WaitGroup
	sched.Start()
	workers.Go(func() { refetcher.Run(bg, time.Minute) })
	workers.Go(func() { rejections.Run(bg, rejectionFlush) })
	workers.Go(func() {
		sweeper := ssync.NewSweeper(&sweepRecorder{DB: db}, client, mapper, cfg.Sync.ReconcileOverlap, logger)
		maintain(bg, db, sweeper, cfg.Sync.ReconcileEvery, runMetrics, func() { countCustomers(bg, client, db, logger) }, logger)
	})
	workers.Go(ensure)
	workers.Go(func() { countCustomers(bg, client, db, logger) })

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "error", err)
	}
	<-sched.Stop().Done()
	stopBG() // the import stops at its next request; its checkpoint stays
	syncer.Wait()
	workers.Wait()
	committer.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", serveErr)
	}
	logger.Info("stopped")
	return nil
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
