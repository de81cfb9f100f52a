package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// RunMetrics count sync runs; the daemon records each run's end.
type RunMetrics struct {
	runs        *prometheus.CounterVec
	fetched     prometheus.Counter
	lastSuccess prometheus.Gauge
}

// NewRunMetrics registers the run metrics with reg.
func NewRunMetrics(reg prometheus.Registerer) *RunMetrics {
	m := &RunMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopsync_sync_runs_total",
			Help: "Sync runs finished, by trigger and state.",
		}, []string{"trigger", "state"}),
		fetched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shopsync_customers_fetched_total",
			Help: "Customers received from Shopify by sync runs.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shopsync_last_successful_sync_timestamp_seconds",
			Help: "When the last full import succeeded, as a Unix time; 0 if never.",
		}),
	}
	reg.MustRegister(m.runs, m.fetched, m.lastSuccess)
	return m
}

// Observe records a finished run.
func (m *RunMetrics) Observe(run *shopsync.SyncRun) {
	if run == nil {
		return
	}
	m.runs.WithLabelValues(string(run.Trigger), string(run.State)).Inc()
	m.fetched.Add(float64(run.Fetched))
	if run.State == shopsync.RunSucceeded && run.Trigger != shopsync.TriggerReconcile && run.FinishedAt != nil {
		m.SetLastSuccess(*run.FinishedAt)
	}
}

// SetLastSuccess sets the time of the last successful full import.
func (m *RunMetrics) SetLastSuccess(t time.Time) { m.lastSuccess.Set(float64(t.Unix())) }

// clientCollector exposes the Shopify client's own counters.
type clientCollector struct {
	stats                     func() shopify.Stats
	requests, throttled, retr *prometheus.Desc
}

// RegisterClient exposes a Shopify client's request counters.
func RegisterClient(reg prometheus.Registerer, stats func() shopify.Stats) {
	reg.MustRegister(&clientCollector{
		stats: stats,
		requests: prometheus.NewDesc("shopsync_shopify_requests_total",
			"Answers from the Shopify Admin API, by status class.", []string{"code"}, nil),
		throttled: prometheus.NewDesc("shopsync_shopify_throttled_total",
			"429 answers from the Shopify Admin API.", nil, nil),
		retr: prometheus.NewDesc("shopsync_shopify_retries_total",
			"Requests retried after 5xx, timeouts, dropped connections or cut bodies.", nil, nil),
	})
}

func (c *clientCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.throttled
	ch <- c.retr
}

func (c *clientCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for class := 1; class <= 5; class++ {
		ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(s.ByClass[class]), strconv.Itoa(class)+"xx")
	}
	ch <- prometheus.MustNewConstMetric(c.throttled, prometheus.CounterValue, float64(s.Throttled))
	ch <- prometheus.MustNewConstMetric(c.retr, prometheus.CounterValue, float64(s.Retries))
}
