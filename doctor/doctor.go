// Package doctor checks that shopsync can do its work before it has to:
// the token, the scope, protected customer data, the API version, the
// clock, the webhook subscriptions and a signed test delivery through the
// public address, the store file and the disk. Each failed check comes
// with a one-line fix. `shopsync doctor` prints the report; the status
// page's "Check connection" shows it.
//
// Nothing here prints a customer's data: the sample of customers is only
// counted.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync/internal/problem"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
)

// Status is a check's result.
type Status string

// The results of a check.
const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but something deserves a look
	Fail Status = "fail" // shopsync cannot do its work until it is fixed
	Skip Status = "skip" // not checked: it depends on a failed check, or is not configured
)

// Check is one check's result.
type Check struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`          // what was found, one sentence
	Fix     string `json:"fix,omitempty"`    // what to do, for warn and fail
	Detail  string `json:"detail,omitempty"` // the technical error, if any
}

// Report is every check's result.
type Report struct {
	Shop   string    `json:"shop"`
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
}

// Failed reports whether a check failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == Fail })
}

// Count returns how many checks ended with s.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Shopify is what the checks need of the Shopify client.
type Shopify interface {
	Probe(ctx context.Context) (shopify.ShopProbe, error)
	AccessScopes(ctx context.Context) ([]string, error)
	SampleCustomers(ctx context.Context, n int) (shopify.SampleStats, error)
	ListSubscriptions(ctx context.Context) ([]shopify.Subscription, error)
}

var _ Shopify = (*shopify.Client)(nil)

// Config says what to check.
type Config struct {
	Shopify           Shopify // required
	Shop              string  // the myshopify domain; required
	APIVersion        string  // the configured version
	ClientCredentials bool    // a Dev Dashboard app's client id and secret

	// WebhookAddress is webhooks.address; "" skips the webhook checks
	// but says what that costs.
	WebhookAddress string
	// WebhookSecret signs the test delivery: the first configured key.
	WebhookSecret string
	// HTTPClient sends the test delivery; nil: one with Shopify's limits
	// (1 s to connect, 5 s for the answer).
	HTTPClient *http.Client
	// Received, when set (the daemon checking itself), tells whether this
	// daemon received the test delivery with the nonce.
	Received func(nonce string) bool

	// StorePath is store.path. Store, when the file exists and is open,
	// gives the refused deliveries of the last 24 hours.
	StorePath string
	Store     *store.DB

	Now func() time.Time // nil: time.Now
	// WebhookTimeout bounds the test delivery; 0: 5 s, Shopify's limit.
	WebhookTimeout time.Duration
	// FreeSpace returns the free bytes of a folder's file system; nil:
	// statfs(2).
	FreeSpace func(dir string) (int64, error)
}

// Run runs every check and returns the report. It never fails: a check
// that cannot run says so.
func Run(ctx context.Context, cfg Config) Report {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = webhookTimeout
	}
	if cfg.FreeSpace == nil {
		cfg.FreeSpace = freeSpace
	}
	r := Report{Shop: cfg.Shop, At: cfg.Now().UTC()}
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	pctx := problem.Context{Shop: cfg.Shop, StorePath: cfg.StorePath, ClientCredentials: cfg.ClientCredentials}

	probe, err := cfg.Shopify.Probe(ctx)
	connected := err == nil
	add(checkConnection(probe, err, pctx))
	if connected {
		add(checkScopes(ctx, cfg, pctx))
		add(checkProtectedData(ctx, cfg, pctx))
		add(checkVersion(probe, cfg.APIVersion))
		add(checkClock(probe))
		add(checkSubscriptions(ctx, cfg, pctx))
	} else {
		for _, c := range []Check{
			{ID: "scope", Name: "Access to customers"}, {ID: "protected_data", Name: "Protected customer data"},
			{ID: "api_version", Name: "API version"}, {ID: "clock", Name: "Clock"},
			{ID: "subscriptions", Name: "Webhook subscriptions"},
		} {
			c.Status, c.Summary = Skip, "Not checked: Shopify did not answer."
			add(c)
		}
	}
	add(checkTestDelivery(ctx, cfg))
	add(checkDeliveries(ctx, cfg))
	add(checkStoreFile(cfg.StorePath))
	add(checkDisk(cfg.StorePath, cfg.FreeSpace))
	return r
}

func checkConnection(p shopify.ShopProbe, err error, pctx problem.Context) Check {
	c := Check{ID: "connection", Name: "Connection and access token"}
	if err != nil {
		pr := problem.Explain(err, pctx)
		c.Status, c.Summary, c.Fix, c.Detail = Fail, pr.Title, pr.Fix, pr.Detail
		return c
	}
	c.Status = OK
	c.Summary = fmt.Sprintf("Shopify accepted the %s and counts %s in the shop (answered in %s).",
		credentialWords(pctx.ClientCredentials), plural(p.Customers, "customer", "customers"), p.Latency.Round(time.Millisecond))
	return c
}

func credentialWords(cc bool) string {
	if cc {
		return "app's client credentials"
	}
	return "access token"
}

func checkScopes(ctx context.Context, cfg Config, pctx problem.Context) Check {
	c := Check{ID: "scope", Name: "Access to customers (read_customers)"}
	scopes, err := cfg.Shopify.AccessScopes(ctx)
	if err != nil {
		pr := problem.Explain(err, pctx)
		c.Status, c.Summary, c.Fix, c.Detail = Warn, "Could not list the app's access scopes: "+lowerFirst(pr.Title), pr.Fix, pr.Detail
		return c
	}
	if slices.Contains(scopes, "read_customers") || slices.Contains(scopes, "write_customers") {
		c.Status, c.Summary = OK, "The app may read customers."
		return c
	}
	c.Status = Fail
	c.Summary = "The app lacks the read_customers scope"
	if len(scopes) > 0 {
		c.Summary += " (it has " + strings.Join(scopes, ", ") + ")"
	}
	c.Summary += "."
	c.Fix = "Give the app the read_customers Admin API scope, then install that version on the store (Dev Dashboard: release a new version; an app made in the store admin: Configuration > Admin API scopes, then Install)."
	return c
}

// sampleSize is how many customers the protected-data check reads.
const sampleSize = 25

func checkProtectedData(ctx context.Context, cfg Config, pctx problem.Context) Check {
	c := Check{ID: "protected_data", Name: "Protected customer data (names, emails)"}
	st, err := cfg.Shopify.SampleCustomers(ctx, sampleSize)
	if err != nil {
		pr := problem.Explain(err, pctx)
		c.Status, c.Summary, c.Fix, c.Detail = Fail, "Could not read customers: "+lowerFirst(pr.Title), pr.Fix, pr.Detail
		return c
	}
	switch {
	case st.Sampled == 0:
		c.Status, c.Summary = Skip, "The shop has no customers yet: nothing to check."
	case st.WithEmail == 0 && st.WithName == 0:
		c.Status = Fail
		c.Summary = fmt.Sprintf("Shopify sent no name and no email for any of the %s read: the app may not read protected customer data.",
			plural(int64(st.Sampled), "customer", "customers"))
		c.Fix = "In the Dev Dashboard (or the Partner Dashboard), under the app's API access, request access to protected customer data and to the Name, Email, Phone and Address fields, then release the new version and sync again."
	default:
		c.Status = OK
		c.Summary = fmt.Sprintf("Of %s read, %d have an email and %d a name (customers without one are normal).",
			plural(int64(st.Sampled), "customer", "customers"), st.WithEmail, st.WithName)
	}
	return c
}

func checkVersion(p shopify.ShopProbe, configured string) Check {
	c := Check{ID: "api_version", Name: "API version"}
	switch {
	case p.ServedVersion == "":
		c.Status, c.Summary = Warn, "Shopify did not say which API version it served."
		c.Fix = "Nothing to do if syncs work; shopify.api_base_url may point at a proxy that drops X-Shopify-API-Version."
	case p.ServedVersion == configured:
		c.Status, c.Summary = OK, "Shopify serves "+configured+", the configured version."
	default:
		c.Status = Warn
		c.Summary = fmt.Sprintf("You asked for %s, but Shopify serves %s: %s is no longer supported.", configured, p.ServedVersion, configured)
		c.Fix = fmt.Sprintf("Set shopify.api_version: %s (or a newer supported version) so that what you configure is what runs.", p.ServedVersion)
	}
	return c
}

// Clock skew limits: Shopify's Date has one-second resolution.
const (
	skewWarn = 5 * time.Second
	skewFail = time.Minute
)

func checkClock(p shopify.ShopProbe) Check {
	c := Check{ID: "clock", Name: "Clock"}
	if p.ServerTime.IsZero() {
		c.Status, c.Summary = Skip, "Shopify's answer had no Date header."
		return c
	}
	// The Date is truncated to the second (so, on average, half a second
	// early) and sent before the answer's transit: a difference within
	// both is none.
	skew := p.ReceivedAt.Sub(p.ServerTime.Add(time.Second / 2))
	if skew.Abs() <= time.Second/2+p.Latency {
		skew = 0
	}
	abs := skew.Abs().Round(time.Second)
	ahead := "ahead of"
	if skew < 0 {
		ahead = "behind"
	}
	switch {
	case abs < skewWarn:
		c.Status, c.Summary = OK, "This machine's clock agrees with Shopify's."
	default:
		c.Status = Warn
		if abs >= skewFail {
			c.Status = Fail
		}
		c.Summary = fmt.Sprintf("This machine's clock is %s %s Shopify's.", abs, ahead)
		c.Fix = "Turn on time synchronisation (e.g. timedatectl set-ntp true): shopsync compares webhook times with the times it reads from the API."
	}
	return c
}

func checkSubscriptions(ctx context.Context, cfg Config, pctx problem.Context) Check {
	c := Check{ID: "subscriptions", Name: "Webhook subscriptions"}
	if cfg.WebhookAddress == "" {
		c.Status, c.Summary = Warn, "webhooks.address is not set: no real-time updates; the copy is refreshed only by imports and sweeps."
		c.Fix = "Set webhooks.address to the public https URL of POST /webhooks/shopify (see the README: HTTPS behind a reverse proxy)."
		return c
	}
	subs, err := cfg.Shopify.ListSubscriptions(ctx)
	if err != nil {
		pr := problem.Explain(err, pctx)
		c.Status, c.Summary, c.Fix, c.Detail = Warn, "Could not list the subscriptions: "+lowerFirst(pr.Title), pr.Fix, pr.Detail
		return c
	}
	var missing, elsewhere []string
	for _, topic := range shopify.SubscriptionTopics() {
		here := false
		for _, s := range subs {
			if s.Topic != topic {
				continue
			}
			if s.Address == cfg.WebhookAddress {
				here = true
			} else if !slices.Contains(elsewhere, s.Address) {
				elsewhere = append(elsewhere, s.Address)
			}
		}
		if !here {
			missing = append(missing, topic)
		}
	}
	switch {
	case len(missing) > 0:
		c.Status = Fail
		c.Summary = fmt.Sprintf("%s not subscribed to %s: %s.", plural(int64(len(missing)), "topic is", "topics are"),
			cfg.WebhookAddress, strings.Join(missing, ", "))
		c.Fix = "Start shopsync serve, which subscribes them at start, or run shopsync webhooks register. (Shopify deletes a subscription after 8 failed deliveries.)"
	case len(elsewhere) > 0:
		c.Status = Warn
		c.Summary = "Every topic is subscribed to " + cfg.WebhookAddress + ", and some also to " + strings.Join(elsewhere, ", ") + "."
		c.Fix = "If that is an old address, delete those subscriptions (shopsync webhooks list shows them): deliveries that fail there count against the app."
	default:
		c.Status = OK
		c.Summary = fmt.Sprintf("All %d customer topics are subscribed to %s. (Shopify does not report failing deliveries through its API: the test delivery below checks the path.)",
			len(shopify.SubscriptionTopics()), cfg.WebhookAddress)
	}
	return c
}

// webhookTimeout is how long Shopify waits for a webhook's whole answer.
const webhookTimeout = 5 * time.Second

func checkTestDelivery(ctx context.Context, cfg Config) Check {
	c := Check{ID: "test_delivery", Name: "Test delivery through webhooks.address"}
	switch {
	case cfg.WebhookAddress == "":
		c.Status, c.Summary = Skip, "webhooks.address is not set."
		return c
	case cfg.WebhookSecret == "":
		c.Status = Fail
		c.Summary = "No webhook key is configured: shopsync refuses every webhook."
		c.Fix = "Set shopify.client_secret (an app's webhooks) or shopify.webhook_secrets (webhooks made in Settings > Notifications) and restart shopsync."
		return c
	}
	client := cfg.HTTPClient
	if client == nil {
		client = shopifyLikeClient()
	}
	tctx, cancel := context.WithTimeout(ctx, cfg.WebhookTimeout)
	defer cancel()
	td, err := SendTestDelivery(tctx, client, cfg.WebhookAddress, cfg.Shop, cfg.WebhookSecret, cfg.Now())
	addr := cfg.WebhookAddress
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || tctx.Err() != nil):
		c.Status = Fail
		c.Summary = fmt.Sprintf("%s did not answer within %s: Shopify gives up after 5 s.", addr, cfg.WebhookTimeout)
		c.Fix = "Check that shopsync serve is running and the reverse proxy forwards to it quickly."
		c.Detail = err.Error()
	case err != nil:
		c.Status = Fail
		c.Summary = "Nothing answered at " + addr + "."
		c.Fix = "Check that shopsync serve is running, that the address resolves and its certificate is valid, and that the reverse proxy forwards POST /webhooks/shopify to shopsync. Shopify must reach it from the internet."
		c.Detail = err.Error()
	case td.Status == http.StatusUnauthorized:
		c.Status = Fail
		c.Summary = "shopsync at " + addr + " refused the test delivery's signature."
		c.Fix = "The daemon there has other webhook keys than this configuration: give both the same shopify.client_secret / shopify.webhook_secrets and restart it."
	case td.Status == http.StatusForbidden:
		c.Status = Fail
		c.Summary = "The daemon at " + addr + " serves another shop than " + cfg.Shop + "."
		c.Fix = "Point webhooks.address at the daemon of this shop, or fix its shopify.shop."
	case td.Status != http.StatusOK:
		c.Status = Fail
		c.Summary = fmt.Sprintf("%s answered HTTP %d: it does not lead to shopsync's webhook receiver.", addr, td.Status)
		c.Fix = "webhooks.address must be the public URL of shopsync's POST /webhooks/shopify: check the path and the reverse proxy's routes."
	case !td.Proven:
		c.Status = Fail
		c.Summary = addr + " answered 200, but not as shopsync does."
		c.Fix = "Something else answers at this address (or an older shopsync): point it at this shopsync's POST /webhooks/shopify."
	case cfg.Received != nil && !cfg.Received(td.Nonce):
		c.Status = Fail
		c.Summary = "Another shopsync answered at " + addr + ", not this one."
		c.Fix = "webhooks.address leads to a different daemon with the same keys: point it at this one."
	case td.Latency > cfg.WebhookTimeout*2/5:
		c.Status = Warn
		c.Summary = fmt.Sprintf("A signed test delivery reached shopsync, but took %s: Shopify gives up after 5 s.", td.Latency.Round(time.Millisecond))
		c.Fix = "Check the reverse proxy and the machine's load."
	default:
		c.Status = OK
		c.Summary = fmt.Sprintf("A signed test delivery reached shopsync through %s in %s.", addr, td.Latency.Round(time.Millisecond))
	}
	return c
}

// shopifyLikeClient waits as Shopify does: 1 s to connect, 5 s in all.
func shopifyLikeClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = webhookTimeout
	tr.TLSHandshakeTimeout = 2 * time.Second
	return &http.Client{Transport: tr, Timeout: webhookTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func checkDeliveries(ctx context.Context, cfg Config) Check {
	c := Check{ID: "deliveries", Name: "Webhook deliveries in the last 24 hours"}
	if cfg.Store == nil {
		c.Status, c.Summary = Skip, "No store yet: nothing received."
		return c
	}
	now := cfg.Now()
	rej, err := cfg.Store.Rejections(ctx, now.Add(-24*time.Hour))
	if err != nil {
		c.Status, c.Summary, c.Detail = Warn, "Could not read the store's record of deliveries.", err.Error()
		return c
	}
	var serious []string
	var fixes []string
	var total int64
	for _, r := range rej {
		what, fix, bad := problem.Rejection(r.Reason)
		total += r.Count
		if bad {
			serious = append(serious, fmt.Sprintf("%s %s", plural(r.Count, "delivery", "deliveries"), what))
			fixes = append(fixes, fix)
		}
	}
	last, ok, err := cfg.Store.LastDelivery(ctx)
	if err != nil {
		c.Status, c.Summary, c.Detail = Warn, "Could not read the store's record of deliveries.", err.Error()
		return c
	}
	lastWords := "no delivery accepted in the last 8 days"
	if ok {
		lastWords = "the last accepted " + ago(now.Sub(last)) + " ago"
	}
	switch {
	case len(serious) > 0:
		c.Status = Fail
		c.Summary = "Refused: " + strings.Join(serious, ", ") + "; " + lastWords + "."
		c.Fix = fixes[0]
	case total > 0:
		c.Status, c.Summary = OK, fmt.Sprintf("%s refused as noise (not from Shopify); %s.", plural(total, "delivery", "deliveries"), lastWords)
	case !ok && cfg.WebhookAddress != "":
		c.Status, c.Summary = Warn, "None refused, and "+lastWords+"."
		c.Fix = "Normal for a shop with no customer changes; otherwise check the subscriptions and the test delivery above."
	default:
		c.Status, c.Summary = OK, "None refused; "+lastWords+"."
	}
	return c
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return plural(int64(d/time.Second), "second", "seconds")
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute", "minutes")
	case d < 48*time.Hour:
		return plural(int64(d/time.Hour), "hour", "hours")
	}
	return plural(int64(d/(24*time.Hour)), "day", "days")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatCount(n) + " " + many
}

// formatCount writes n with thousands separators: 20,000.
func formatCount(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "API") || strings.HasPrefix(s, "Shopify") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
