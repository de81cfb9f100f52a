package webhook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the receiver's Prometheus metrics.
type Metrics struct {
	Deliveries *prometheus.CounterVec   // by topic and outcome (applied, unchanged, stale, duplicate, ignored, rejected, failed)
	Rejected   *prometheus.CounterVec   // by reason
	Latency    *prometheus.HistogramVec // seconds from request to answer, by outcome
}

// NewMetrics makes the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopsync_webhook_deliveries_total",
			Help: "Webhook deliveries received, by topic and outcome.",
		}, []string{"topic", "outcome"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopsync_webhook_rejected_total",
			Help: "Webhook deliveries rejected before any effect, by reason.",
		}, []string{"reason"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shopsync_webhook_duration_seconds",
			Help:    "Time from receiving a webhook delivery to answering it, by outcome.",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.Deliveries, m.Rejected, m.Latency)
	return m
}
