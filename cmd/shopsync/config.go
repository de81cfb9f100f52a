package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/robfig/cron/v3"
	"github.com/spf13/viper"

	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/shopify"
	ssync "github.com/shopsync/shopsync/sync"
)

// Config is shopsync's whole configuration. Every key can come from the
// YAML file given with --config or from an environment variable
// SHOPSYNC_<SECTION>_<KEY>; see config.example.yaml.
type Config struct {
	Shopify   ShopifyConfig   `mapstructure:"shopify"`
	Store     StoreConfig     `mapstructure:"store"`
	HTTP      HTTPConfig      `mapstructure:"http"`
	Sync      SyncConfig      `mapstructure:"sync"`
	Webhooks  WebhooksConfig  `mapstructure:"webhooks"`
	Log       LogConfig       `mapstructure:"log"`
	Mapping   mapping.Config  `mapstructure:"mapping"`
	Marketing MarketingConfig `mapstructure:"marketing"`
	Outbound  OutboundConfig  `mapstructure:"outbound"`
}

// MarketingConfig says who may receive marketing (package marketing).
type MarketingConfig struct {
	// ExcludeDisabledAccounts also leaves out contacts whose account
	// state is disabled: see config.example.yaml before turning it on.
	ExcludeDisabledAccounts bool `mapstructure:"exclude_disabled_accounts"`
}

// ShopifyConfig says which shop to read and how to authenticate.
type ShopifyConfig struct {
	Shop           string        `mapstructure:"shop"`         // required
	AccessToken    string        `mapstructure:"access_token"` // this, or client_id + client_secret
	ClientID       string        `mapstructure:"client_id"`
	ClientSecret   string        `mapstructure:"client_secret"`
	APIVersion     string        `mapstructure:"api_version"`
	APIBaseURL     string        `mapstructure:"api_base_url"`
	WebhookSecrets []string      `mapstructure:"webhook_secrets"`
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	MaxRetries     int           `mapstructure:"max_retries"`
	LeakRate       float64       `mapstructure:"leak_rate"`

	// The *_file keys name files holding the secrets above.
	AccessTokenFile    string `mapstructure:"access_token_file"`
	ClientSecretFile   string `mapstructure:"client_secret_file"`
	WebhookSecretsFile string `mapstructure:"webhook_secrets_file"`
}

// StoreConfig locates the SQLite contact store.
type StoreConfig struct {
	Path string `mapstructure:"path"`
}

// HTTPConfig configures the daemon's HTTP server.
type HTTPConfig struct {
	Listen        string `mapstructure:"listen"`
	SyncToken     string `mapstructure:"sync_token"`
	SyncTokenFile string `mapstructure:"sync_token_file"`
	// AllowedHosts are host names the API and page answer to besides
	// localhost and loopback addresses; empty: any (with a sync token).
	// Needs a sync token: without one only loopback names are answered.
	AllowedHosts []string `mapstructure:"allowed_hosts"`
}

// SyncConfig configures scheduled runs, sweeps and re-fetches.
type SyncConfig struct {
	Schedule         string        `mapstructure:"schedule"`
	Timezone         string        `mapstructure:"timezone"`
	ReconcileEvery   time.Duration `mapstructure:"reconcile_every"`   // 0: no sweeps
	ReconcileOverlap time.Duration `mapstructure:"reconcile_overlap"` // looked back before the mark
	RefetchDelay     time.Duration `mapstructure:"refetch_delay"`     // lets a burst of webhooks coalesce
	Engine           string        `mapstructure:"engine"`            // how full imports read Shopify: auto, rest, bulk
}

// WebhooksConfig configures webhook subscriptions.
type WebhooksConfig struct {
	// Address is the public HTTPS URL of POST /webhooks/shopify; when set,
	// serve subscribes the customer topics at start and after every
	// scheduled run.
	Address string `mapstructure:"address"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// OutboundConfig configures the change feed's retention and the outbound
// webhooks (outbound.go).
type OutboundConfig struct {
	Retention  time.Duration    `mapstructure:"retention"`   // how long the change feed keeps events
	BatchSize  int              `mapstructure:"batch_size"`  // events a delivery at most
	Timeout    time.Duration    `mapstructure:"timeout"`     // per delivery attempt
	RetryMin   time.Duration    `mapstructure:"retry_min"`   // the first wait after a failed attempt
	RetryMax   time.Duration    `mapstructure:"retry_max"`   // the longest
	PauseAfter time.Duration    `mapstructure:"pause_after"` // failing this long pauses the endpoint
	Endpoints  []EndpointConfig `mapstructure:"endpoints"`
	// EndpointsFile names a file holding the endpoints as a JSON list,
	// secrets included (SHOPSYNC_OUTBOUND_ENDPOINTS_FILE).
	EndpointsFile string `mapstructure:"endpoints_file"`
}

// DefaultConfig returns the configuration used for every key not set.
func DefaultConfig() Config {
	return Config{
		Shopify: ShopifyConfig{APIVersion: "2024-04", RequestTimeout: 30 * time.Second, MaxRetries: 6, WebhookSecrets: []string{}},
		Store:   StoreConfig{Path: "shopsync.db"},
		HTTP:    HTTPConfig{Listen: "127.0.0.1:8080", AllowedHosts: []string{}},
		Sync: SyncConfig{Schedule: "0 3 * * *", ReconcileEvery: 15 * time.Minute,
			ReconcileOverlap: 10 * time.Minute, RefetchDelay: 2 * time.Second, Engine: string(ssync.EngineAuto)},
		Log: LogConfig{Level: "info", Format: "text"},
		Mapping: mapping.Config{Attributes: []string{},
			ProjectionConfig: mapping.ProjectionConfig{Fields: []mapping.FieldConfig{}}},
		Outbound: OutboundConfig{Retention: 30 * 24 * time.Hour, BatchSize: outbound.DefaultBatchSize,
			Timeout: outbound.DefaultTimeout, RetryMin: outbound.DefaultRetryMin, RetryMax: outbound.DefaultRetryMax,
			PauseAfter: outbound.DefaultPauseAfter, Endpoints: []EndpointConfig{}},
	}
}

// secretKeys are the keys never printed, and which also accept a
// <key>_file variant naming a file that holds the secret.
var secretKeys = []string{"shopify.access_token", "shopify.client_secret", "shopify.webhook_secrets", "http.sync_token",
	"outbound.endpoints"}

// LoadConfig reads the configuration: defaults, then the file (if any),
// then SHOPSYNC_* environment variables from env, then <secret>_file files.
//
// The environment is bound key by key through env rather than with
// viper's AutomaticEnv, which reads os.Getenv: tests pass their own
// environment and can run in parallel. Every key is known to viper
// (setDefaults), so every key has its variable: shopify.api_base_url is
// SHOPSYNC_SHOPIFY_API_BASE_URL.
func LoadConfig(file string, env func(string) string) (Config, error) {
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(DefaultConfig()))
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config file %s: %w", file, err)
		}
	}
	for _, k := range v.AllKeys() {
		if val := env(envName(k)); val != "" {
			v.Set(k, val)
		}
	}
	for _, k := range secretKeys {
		path := v.GetString(k + "_file")
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("%s_file: %w", k, err)
		}
		v.Set(k, strings.TrimRight(string(b), "\r\n"))
	}
	var cfg Config
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		durationHook, endpointsHook, mapstructure.StringToSliceHookFunc(",")))); err != nil {
		return Config{}, fmt.Errorf("config: %w (compare with config.example.yaml)", describeDecodeError(err))
	}
	if err := cfg.Outbound.readSecretFiles(); err != nil {
		return Config{}, err
	}
	cfg.Shopify.WebhookSecrets = splitList(cfg.Shopify.WebhookSecrets)
	cfg.Mapping.Attributes = splitList(cfg.Mapping.Attributes)
	cfg.HTTP.AllowedHosts = splitList(cfg.HTTP.AllowedHosts)
	return cfg, nil
}

// envName is the environment variable for a key: SHOPSYNC_SHOPIFY_SHOP.
func envName(key string) string {
	return "SHOPSYNC_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// setDefaults registers every key of the Config struct with viper, so
// that AllKeys lists it and the environment can set it (spf13/viper#761).
func setDefaults(v *viper.Viper, prefix string, rv reflect.Value) {
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		key := f.Tag.Get("mapstructure")
		if key == ",squash" {
			setDefaults(v, prefix, rv.Field(i)) // its keys sit beside the others
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		if f.Type.Kind() == reflect.Struct {
			setDefaults(v, key, rv.Field(i))
			continue
		}
		v.SetDefault(key, rv.Field(i).Interface())
	}
}

// describeDecodeError names the keys a decode error is about, without
// echoing any value (a value may be a secret): unknown keys, typos
// included, and keys whose value has the wrong type.
func describeDecodeError(err error) error {
	var unknown, wrongType []string
	var durations []error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		de, ok := err.(*mapstructure.DecodeError)
		if !ok {
			// A wrapper (mapstructure wraps its joined errors): look inside.
			if inner := errors.Unwrap(err); inner != nil {
				walk(inner)
			}
			return
		}
		if _, nested := de.Unwrap().(interface{ Unwrap() []error }); nested {
			walk(de.Unwrap())
			return
		}
		var bad *durationError
		if errors.As(de.Unwrap(), &bad) {
			durations = append(durations, fmt.Errorf("%s: %w", de.Name(), bad))
			return
		}
		var eps *endpointsError
		if errors.As(de.Unwrap(), &eps) {
			durations = append(durations, fmt.Errorf("%s: %w", de.Name(), eps))
			return
		}
		if rest, ok := strings.CutPrefix(de.Unwrap().Error(), "has invalid keys: "); ok {
			for k := range strings.SplitSeq(rest, ", ") {
				unknown = append(unknown, strings.TrimPrefix(de.Name()+"."+k, "."))
			}
			return
		}
		wrongType = append(wrongType, de.Name())
	}
	walk(err)
	errs := durations
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("unknown keys: %s", strings.Join(unknown, ", ")))
	}
	if len(wrongType) > 0 {
		errs = append(errs, fmt.Errorf("%s: wrong type of value; check numbers, durations (e.g. 30s) and lists", strings.Join(wrongType, ", ")))
	}
	if len(errs) == 0 {
		return errors.New("a value has the wrong type; check numbers, durations (e.g. 30s) and lists")
	}
	return errors.Join(errs...)
}

// durationError is a duration key's value that is not a duration with a
// unit. Durations are never secrets, so the value is quoted.
type durationError struct {
	value string
	bare  bool // a plain number: the unit is missing
}

func (e *durationError) Error() string {
	if e.bare {
		return fmt.Sprintf("%s has no unit; write %sm or %ss", e.value, e.value, e.value)
	}
	return fmt.Sprintf("%q is not a duration; write it with a unit, such as 30s, 15m or 1h", e.value)
}

// durationHook decodes the duration keys. A plain number is refused, from
// YAML as from the environment: mapstructure would take YAML's 15 as 15
// nanoseconds (request_timeout: 30 timed every request out at once;
// reconcile_every: 15 ran 48 sweeps in 6 s). Zero needs no unit.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() || from == to {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if reflect.ValueOf(data).IsZero() {
			return time.Duration(0), nil
		}
		return nil, &durationError{value: fmt.Sprint(data), bare: true}
	case reflect.String:
		s := strings.TrimSpace(data.(string))
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if f == 0 {
				return time.Duration(0), nil
			}
			return nil, &durationError{value: s, bare: true}
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, &durationError{value: s}
		}
		return d, nil
	}
	return data, nil
}

// splitList accepts a list from YAML, or a string from the environment or
// a *_file, separated by commas or newlines; empty entries are dropped.
func splitList(in []string) []string {
	out := []string{}
	for _, s := range in {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// Validate checks the whole configuration; each error names its key and
// the fix. No error ever contains a secret's value.
func (c *Config) Validate() error {
	return errors.Join(c.validateShopify(), c.validateLocal())
}

// validateShopify checks the keys needed to talk to Shopify.
func (c *Config) validateShopify() error {
	var errs []error
	// The client validates its own keys (shop name, credentials, API
	// version, base URL); each error names its key.
	if err := c.shopifyConfig().Validate(); err != nil {
		errs = append(errs, unwrapJoined(err)...)
	} else {
		c.Shopify.Shop, _ = shopify.NormalizeShop(c.Shopify.Shop)
	}
	return errors.Join(errs...)
}

// validateLocal checks the keys that need no Shopify connection: enough
// for commands that only read the store.
func (c *Config) validateLocal() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Store.Path == "" {
		bad("store.path: required: the SQLite file to keep contacts in, e.g. shopsync.db")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen: want host:port such as 127.0.0.1:8080")
	}
	for _, h := range c.HTTP.AllowedHosts {
		if !validHostname(h) {
			bad("http.allowed_hosts: %q: want a host name such as sync.example.com, without scheme, port or path", h)
		}
	}
	if len(c.HTTP.AllowedHosts) > 0 && c.HTTP.SyncToken == "" {
		bad("http.allowed_hosts: needs http.sync_token: without a token shopsync answers only to localhost and loopback addresses")
	}
	if _, err := cron.ParseStandard(c.Sync.Schedule); err != nil {
		bad("sync.schedule: %v: want 5 cron fields, e.g. \"0 3 * * *\" for 03:00 every night", err)
	}
	if _, err := time.LoadLocation(c.Sync.Timezone); err != nil {
		bad("sync.timezone: unknown time zone %q: use an IANA name such as Europe/Paris, or leave empty for local time", c.Sync.Timezone)
	}
	if c.Sync.ReconcileEvery < 0 {
		bad("sync.reconcile_every: %s: want a duration such as 15m, or 0 to turn sweeps off", c.Sync.ReconcileEvery)
	}
	if c.Sync.ReconcileOverlap < 0 {
		bad("sync.reconcile_overlap: %s: want a positive duration such as 10m", c.Sync.ReconcileOverlap)
	}
	if c.Sync.RefetchDelay < 0 || c.Sync.RefetchDelay > time.Minute {
		bad("sync.refetch_delay: %s: want a duration from 0 to 1m, such as 2s", c.Sync.RefetchDelay)
	}
	if _, err := ssync.ParseEngine(c.Sync.Engine); err != nil {
		bad("sync.engine: %v: how full imports read Shopify (auto picks per shop size)", err)
	}
	if err := shopify.ValidateWebhookAddress(c.Webhooks.Address); c.Webhooks.Address != "" && err != nil {
		bad("webhooks.address: %v", err)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		bad("log.level: %w", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format: %q: want text or json", c.Log.Format)
	}
	if err := c.Mapping.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Outbound.validate()...)
	return errors.Join(errs...)
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// shopifyConfig is the client's view of the configuration.
func (c *Config) shopifyConfig() shopify.Config {
	return shopify.Config{
		Shop:           c.Shopify.Shop,
		AccessToken:    c.Shopify.AccessToken,
		ClientID:       c.Shopify.ClientID,
		ClientSecret:   c.Shopify.ClientSecret,
		APIVersion:     c.Shopify.APIVersion,
		APIBaseURL:     c.Shopify.APIBaseURL,
		RequestTimeout: c.Shopify.RequestTimeout,
		MaxRetries:     c.Shopify.MaxRetries,
		LeakRate:       c.Shopify.LeakRate,
	}
}

// CredentialKind says which kind of credentials the configuration uses.
func (c *Config) CredentialKind() string {
	if c.Shopify.AccessToken != "" {
		return "static Admin API access token"
	}
	return "client credentials grant (client id + secret)"
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

// redacted is what `config check` prints: secrets as <redacted> when set.
func (c Config) redacted() Config {
	hide := func(s *string) {
		if *s != "" {
			*s = "<redacted>"
		}
	}
	hide(&c.Shopify.AccessToken)
	hide(&c.Shopify.ClientSecret)
	hide(&c.HTTP.SyncToken)
	// A proxy's URL may hold a user and password (https://user:pass@host/),
	// or a token as the user alone (https://token@host/).
	if u, err := url.Parse(c.Shopify.APIBaseURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); !ok {
			u.User = url.User("xxxxx")
		}
		c.Shopify.APIBaseURL = u.Redacted()
	}
	secrets := make([]string, len(c.Shopify.WebhookSecrets))
	for i := range secrets {
		secrets[i] = "<redacted>"
	}
	c.Shopify.WebhookSecrets = secrets
	c.Outbound.Endpoints = c.Outbound.redactedEndpoints()
	return c
}

// hostnameRE is a DNS name: dot-separated labels of letters, digits and
// inner hyphens.
var hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)

// validHostname reports whether h is a host name or an IP address, as a
// Host header names it without its port.
func validHostname(h string) bool {
	return net.ParseIP(h) != nil || (len(h) <= 253 && hostnameRE.MatchString(h))
}
