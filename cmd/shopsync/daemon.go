package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/robfig/cron/v3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/server"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
	"github.com/shopsync/shopsync/webhook"
)

// Daemon is `shopsync serve`: the HTTP server (webhooks, Sync now, the
// API and the page), the schedule, the sweeps and the re-fetches, over one
// store. Run starts it and Close stops it; the serve command wraps it in
// signal handling, and tests run it in their own process on 127.0.0.1:0.
type Daemon struct {
	cfg    Config
	logger *slog.Logger

	// Set by Run.
	db        *store.DB
	sched     *cron.Cron
	syncer    *ssync.Syncer
	committer *webhook.Committer
	ensure    func() // puts the webhook subscriptions in place
	ln        net.Listener
	srv       *http.Server
	served    chan struct{} // closed when srv.Serve has returned
	serveErr  error         // what srv.Serve returned, once served is closed
	stopBG    context.CancelFunc
	workers   gosync.WaitGroup

	closeOnce gosync.Once
	closeErr  error
}

// NewDaemon returns the daemon for cfg, which must have passed
// Config.Validate, logging to logger. Nothing is opened until Run.
func NewDaemon(cfg Config, logger *slog.Logger) *Daemon {
	return &Daemon{cfg: cfg, logger: logger}
}

// Run opens the store, listens on http.listen and starts the daemon's
// work: serving HTTP, the schedule, the sweeps, re-fetches and the
// subscription check. It returns once the daemon serves (Addr says where),
// or with the reason it could not start, having closed what it opened.
// ctx bounds the start only: the daemon runs until Close.
func (d *Daemon) Run(ctx context.Context) (err error) {
	cfg, logger := d.cfg, d.logger
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
	sched := cron.New(cron.WithLocation(loc))
	entry, err := sched.AddFunc(cfg.Sync.Schedule, d.scheduledRun)
	if err != nil {
		return usageError{fmt.Errorf("sync.schedule: %w", err)}
	}

	db, err := store.Open(ctx, cfg.Store.Path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	warnPermissions(db, logger)
	aud, err := newAudience(cfg, db)
	if err != nil {
		return usageError{err}
	}
	wireFeed(db, aud, logger)

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
	feedMetrics(reg, db)
	deliverer, err := newDeliverer(ctx, cfg, db, aud, reg, logger)
	if err != nil {
		return err
	}
	var outboundAPI server.Outbound
	if deliverer != nil {
		outboundAPI = deliverer
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	// Nothing fails from here on: what starts goroutines starts below.

	// Background work lives until Close has stopped the HTTP server; it
	// is cancelled then, not at the signal, so that in-flight requests
	// finish against a working daemon.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))

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
			format := audience.CSV
			if excel {
				format = audience.CSVExcel
			}
			_, err := aud.Export(ctx, w, audience.ExportRequest{Format: format})
			return err
		},
		Outbound: outboundAPI,
		Audience: aud,
	})
	d.db, d.sched, d.syncer, d.committer, d.ensure, d.ln, d.stopBG = db, sched, syncer, committer, ensure, ln, stopBG
	d.srv = &http.Server{
		Handler: api, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	d.srv.RegisterOnShutdown(api.StopLongPolls) // Shutdown would wait for every long poll of GET /changes
	d.served = make(chan struct{})
	go func() {
		d.serveErr = d.srv.Serve(ln)
		close(d.served)
	}()
	logger.Info("serving", "addr", ln.Addr().String(), "shop", cfg.Shopify.Shop,
		"schedule", cfg.Sync.Schedule, "timezone", loc.String(), "reconcile_every", cfg.Sync.ReconcileEvery)

	sched.Start()
	d.workers.Go(func() { refetcher.Run(bg, time.Minute) })
	d.workers.Go(func() { rejections.Run(bg, rejectionFlush) })
	d.workers.Go(func() {
		sweeper := ssync.NewSweeper(&sweepRecorder{DB: db}, client, mapper, cfg.Sync.ReconcileOverlap, logger)
		maintain(bg, db, sweeper, cfg.Sync.ReconcileEvery, runMetrics, func() { countCustomers(bg, client, db, logger) }, logger)
	})
	d.workers.Go(ensure)
	d.workers.Go(func() { countCustomers(bg, client, db, logger) })
	d.workers.Go(func() { pruneFeed(bg, db, cfg.Outbound.Retention, logger) })
	if deliverer != nil {
		d.workers.Go(func() { deliverer.Run(bg) })
	}
	return nil
}

// scheduledRun is the job of sync.schedule: a full import, unless one is
// going, then the subscriptions put back in place (Shopify deletes a
// subscription after 8 failed deliveries).
func (d *Daemon) scheduledRun() {
	run, started, err := d.syncer.RunAndWait(shopsync.TriggerSchedule)
	switch {
	case err != nil:
		d.logger.Error("scheduled sync not run", "error", err)
	case !started:
		d.logger.Info("scheduled sync skipped: a run is going", "run_id", run.ID)
	}
	d.ensure()
}

// Addr is the address the daemon listens on, once Run has returned: with
// http.listen 127.0.0.1:0, the port the system chose.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// Done is closed when the HTTP server has stopped: after Close, or on its
// own when it failed, which Close then returns. Close must be called
// either way.
func (d *Daemon) Done() <-chan struct{} { return d.served }

// Close shuts the daemon down, in this order: the HTTP server stops
// taking requests and answers those in flight (webhooks are committed
// first; long polls of GET /changes answer at once), for up to
// shutdownTimeout or until ctx ends; the schedule stops; background work
// is cancelled, so that the running import stops at its next request with
// its checkpoint kept, and an outbound delivery in flight is cut short,
// unacknowledged (its endpoint receives it again after a restart), and
// waited for with the workers; the committer applies what it was handed;
// the store closes last. It returns the HTTP server's failure, if any, or the store's.
// Close may be called more than once; it does nothing after a Run that
// failed.
func (d *Daemon) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Daemon) close(ctx context.Context) error {
	if d.srv == nil {
		return nil // Run did not start it
	}
	d.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	if err := d.srv.Shutdown(sctx); err != nil {
		d.logger.Warn("http shutdown", "error", err)
	}
	<-d.served
	<-d.sched.Stop().Done()
	d.stopBG() // the import stops at its next request; its checkpoint stays
	d.syncer.Wait()
	d.workers.Wait()
	d.committer.Close()
	var errs []error
	if !errors.Is(d.serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("http server: %w", d.serveErr))
	}
	if err := d.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d.logger.Info("stopped")
	return nil
}
