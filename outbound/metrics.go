package outbound

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the deliverer's Prometheus metrics, by endpoint; nil when no
// Registerer was given (every method is then a no-op).
type metrics struct {
	events     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	paused     *prometheus.GaugeVec
	behind     *prometheus.GaugeVec
	lastOK     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer, d *Deliverer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopsync_outbound_events_total",
			Help: "Change feed events an outbound endpoint acknowledged.",
		}, []string{"endpoint"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopsync_outbound_deliveries_total",
			Help: "Delivery attempts to an outbound endpoint, by outcome (acknowledged, failed).",
		}, []string{"endpoint", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shopsync_outbound_delivery_duration_seconds",
			Help:    "How long a delivery attempt took, answer included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shopsync_outbound_paused",
			Help: "1 while an outbound endpoint is paused (see the status page for why and the fix), else 0.",
		}, []string{"endpoint"}),
		behind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shopsync_outbound_behind_events",
			Help: "Change feed events after an outbound endpoint's cursor: not delivered yet.",
		}, []string{"endpoint"}),
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shopsync_outbound_last_success_timestamp_seconds",
			Help: "When an outbound endpoint last acknowledged a delivery, as a Unix time; 0 if never.",
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.events, m.deliveries, m.duration, m.paused, m.behind, m.lastOK)
	for _, w := range d.workers { // every series from the start, at zero
		name := w.ep.Name
		m.events.WithLabelValues(name)
		m.deliveries.WithLabelValues(name, "acknowledged")
		m.deliveries.WithLabelValues(name, "failed")
		m.paused.WithLabelValues(name)
		m.behind.WithLabelValues(name)
		m.lastOK.WithLabelValues(name)
	}
	return m
}

func (m *metrics) observe(endpoint string, ok bool, took time.Duration) {
	if m == nil {
		return
	}
	outcome := "failed"
	if ok {
		outcome = "acknowledged"
	}
	m.deliveries.WithLabelValues(endpoint, outcome).Inc()
	m.duration.WithLabelValues(endpoint).Observe(took.Seconds())
}

func (m *metrics) delivered(endpoint string, n int) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(endpoint).Add(float64(n))
}

func (m *metrics) endpoint(s Status) {
	if m == nil {
		return
	}
	paused := 0.0
	if s.PausedAt != nil {
		paused = 1
	}
	m.paused.WithLabelValues(s.Name).Set(paused)
	m.behind.WithLabelValues(s.Name).Set(float64(s.Behind))
	if s.LastSuccessAt != nil {
		m.lastOK.WithLabelValues(s.Name).Set(float64(s.LastSuccessAt.Unix()))
	}
}
