package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/store"
)

// The change feed and the outbound webhooks in the configuration and the
// daemon (issue 19).

// EndpointConfig is one of outbound.endpoints.
type EndpointConfig struct {
	Name       string   `mapstructure:"name" json:"name"`               // required: [a-z0-9_-]
	URL        string   `mapstructure:"url" json:"url"`                 // required: https, or http to loopback
	Secret     string   `mapstructure:"secret" json:"secret"`           // required (or secret_file): at least 128 bits
	SecretFile string   `mapstructure:"secret_file" json:"secret_file"` // a file holding the secret
	Events     []string `mapstructure:"events" json:"events"`           // event types; empty: all
	Segment    string   `mapstructure:"segment" json:"segment"`         // a saved segment's name; empty: every contact
}

// endpointsHook decodes outbound.endpoints given as a string (from
// SHOPSYNC_OUTBOUND_ENDPOINTS or outbound.endpoints_file): a JSON list of
// endpoints. Its errors never quote the value, which holds secrets.
func endpointsHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[[]EndpointConfig]() || from.Kind() != reflect.String {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []EndpointConfig{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var eps []EndpointConfig
	if err := dec.Decode(&eps); err != nil {
		var unknown string
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			unknown = ": unknown key " + strings.TrimPrefix(msg, "json: unknown field ")
		}
		return nil, &endpointsError{"not a JSON list of endpoints" + unknown + "; write it as " +
			`[{"name":"crm","url":"https://crm.example.com/hooks/shopsync","secret_file":"/run/secrets/crm"}]`}
	}
	if eps == nil {
		eps = []EndpointConfig{}
	}
	return eps, nil
}

// endpointsError is outbound.endpoints given as a string that is not a
// JSON list of endpoints. It never quotes the value.
type endpointsError struct{ msg string }

func (e *endpointsError) Error() string { return e.msg }

// readSecretFiles reads each endpoint's secret_file into its secret.
func (o *OutboundConfig) readSecretFiles() error {
	for i := range o.Endpoints {
		ep := &o.Endpoints[i]
		if ep.SecretFile == "" {
			continue
		}
		b, err := os.ReadFile(ep.SecretFile)
		if err != nil {
			return fmt.Errorf("outbound.endpoints[%d].secret_file: %w", i, err)
		}
		ep.Secret = string(bytes.TrimRight(b, "\r\n"))
	}
	return nil
}

// validate checks outbound.*; each error names its key and the fix, and
// no value but event type names.
func (o *OutboundConfig) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.Retention < time.Hour {
		bad("outbound.retention: %s: want at least 1h; the default, 720h, keeps 30 days of changes", o.Retention)
	}
	if o.BatchSize < 1 || o.BatchSize > outbound.MaxBatchSize {
		bad("outbound.batch_size: %d: want 1 to %d events a delivery", o.BatchSize, outbound.MaxBatchSize)
	}
	if o.Timeout <= 0 || o.Timeout > 5*time.Minute {
		bad("outbound.timeout: %s: want a duration from 1s to 5m, such as 10s", o.Timeout)
	}
	if o.RetryMin <= 0 || o.RetryMax < o.RetryMin {
		bad("outbound.retry_min, outbound.retry_max: %s, %s: want 0 < retry_min <= retry_max, such as 1s and 5m", o.RetryMin, o.RetryMax)
	}
	if o.PauseAfter < time.Minute {
		bad("outbound.pause_after: %s: want at least 1m, such as 24h", o.PauseAfter)
	}
	names := map[string]bool{}
	for i, ep := range o.Endpoints {
		key := fmt.Sprintf("outbound.endpoints[%d]", i)
		switch {
		case ep.Name == "":
			bad("%s.name: required: a short name for the endpoint, such as crm", key)
		case !outbound.ValidName(ep.Name):
			bad("%s.name: want lower-case letters, digits, - and _ (at most 63), such as crm", key)
		case names[ep.Name]:
			bad("%s.name: another endpoint has this name: give each its own", key)
		}
		names[ep.Name] = true
		if ep.URL == "" {
			bad("%s.url: required: where to send the changes, such as https://crm.example.com/hooks/shopsync", key)
		} else if err := outbound.CheckURL(ep.URL); err != nil {
			bad("%s.url: %v", key, err)
		}
		switch {
		case ep.Secret == "":
			bad("%s.secret: required (or secret_file): the key that signs deliveries, such as the output of `openssl rand -hex 32`", key)
		case tokenBits(ep.Secret) < minTokenBits:
			bad("%s.secret: too easy to guess: want %d bits of randomness or more, such as 32 hex or 22 base64 characters; "+
				"generate one with `openssl rand -hex 32`", key, minTokenBits)
		}
		for _, name := range ep.Events {
			if _, ok := shopsync.ParseEventType(name); !ok {
				bad("%s.events: %q is not an event type; want some of %s, or none for all", key, name, strings.Join(eventTypeNames(), ", "))
			}
		}
		if ep.Segment != "" && !outbound.ValidSegmentName(ep.Segment) {
			bad("%s.segment: want a saved segment's name: 1 to 100 printable characters, no spaces around", key)
		}
	}
	return errs
}

func eventTypeNames() []string {
	var out []string
	for _, t := range shopsync.EventTypes() {
		out = append(out, t.String())
	}
	return out
}

// redactedEndpoints is outbound.endpoints as `config check` prints them:
// secrets <redacted>, URLs without their query.
func (o *OutboundConfig) redactedEndpoints() []EndpointConfig {
	out := make([]EndpointConfig, len(o.Endpoints))
	for i, ep := range o.Endpoints {
		if ep.Secret != "" {
			ep.Secret = "<redacted>"
		}
		if ep.URL != "" {
			ep.URL = outbound.ShowURL(ep.URL)
		}
		if ep.Events == nil {
			ep.Events = []string{}
		}
		out[i] = ep
	}
	return out
}

// endpoints are the configured endpoints, as the deliverer takes them.
func (o *OutboundConfig) endpoints() []outbound.Endpoint {
	out := make([]outbound.Endpoint, len(o.Endpoints))
	for i, ep := range o.Endpoints {
		out[i] = outbound.Endpoint{Name: ep.Name, URL: ep.URL, Secret: ep.Secret, Segment: ep.Segment}
		for _, name := range ep.Events {
			t, _ := shopsync.ParseEventType(name) // validated
			out[i].Events = append(out[i].Events, t)
		}
	}
	return out
}

// wireFeed sets the change feed's hooks on db, before it is shared, for
// every command that writes contacts or reads the feed, so that the
// daemon and the CLI record and show the same events:
//
//   - an event's contact is the contact as the CRM sees it: the mapping's
//     projection (mapping.fields), as exports show it;
//   - a change that moves a contact into or out of a saved segment adds
//     segment.joined or segment.left in its transaction, by evaluating the
//     saved segments, as the store holds them at the time, on the contact
//     before and after the change.
//
// A saved segment that no longer compiles against the mapping is logged
// and left out.
func wireFeed(db *store.DB, aud *audience.Service, logger *slog.Logger) {
	db.SetProjection(aud.EventContact)
	db.SetSegmentHook(func(saved []store.SavedSegment) store.SegmentHook {
		hook, errs := aud.SegmentHook(saved)
		for _, err := range errs {
			logger.Warn("a saved segment no longer compiles: it has no segment.joined or segment.left events "+
				"until it is fixed (shopsync segments create NAME SEGMENT --replace)", slog.Any("error", err))
		}
		return hook
	})
}

// newDeliverer returns the outbound deliverer of cfg, nil when no
// endpoint is configured.
func newDeliverer(ctx context.Context, cfg Config, db *store.DB, aud *audience.Service, reg prometheus.Registerer, logger *slog.Logger) (*outbound.Deliverer, error) {
	o := cfg.Outbound
	if len(o.Endpoints) == 0 {
		return nil, nil
	}
	for _, ep := range o.Endpoints {
		if ep.Segment == "" {
			continue
		}
		if _, err := db.SavedSegment(ctx, ep.Segment); errors.Is(err, store.ErrNotFound) {
			logger.Warn("outbound endpoint's segment is not saved: until a segment of this name is saved "+
				"(shopsync segments create), it receives only contact.redacted and erased events",
				"endpoint", ep.Name, "segment", ep.Segment)
		} else if err != nil {
			return nil, err
		}
	}
	return outbound.New(outbound.Config{
		Feed: db, Endpoints: o.endpoints(), BatchSize: o.BatchSize, Timeout: o.Timeout,
		RetryMin: o.RetryMin, RetryMax: o.RetryMax, PauseAfter: o.PauseAfter, InSegment: aud.InSegment,
		Logger: logger, Registerer: reg, UserAgent: "shopsync/" + version,
	})
}

// pruneEvery is how often the change feed is pruned.
const pruneEvery = time.Hour

// pruneFeed prunes the change feed of events older than retention, at
// start and then every pruneEvery, until ctx ends.
func pruneFeed(ctx context.Context, db *store.DB, retention time.Duration, logger *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		n, err := db.PruneChanges(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("prune the change feed", slog.Any("error", err))
		case n > 0:
			logger.Debug("pruned the change feed", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// feedMetrics exposes the change feed's newest event.
func feedMetrics(reg prometheus.Registerer, db *store.DB) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shopsync_changes_last_seq",
		Help: "The change feed's newest event (its sequence number).",
	}, func() float64 {
		_, last, err := db.FeedBounds(context.Background())
		if err != nil {
			return 0
		}
		return float64(last)
	}))
}

var errNoEndpoint = errors.New("no such outbound endpoint")
