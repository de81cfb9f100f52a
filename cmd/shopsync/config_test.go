package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/mapping"
)

// envOf turns a map into a getenv func, so tests never touch os.Environ.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runCLI runs the command line as main does and returns its output and
// exit code.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb, envOf(env))
	if err != nil {
		errb.WriteString("shopsync: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCode(err)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigSources(t *testing.T) {
	file := writeFile(t, "config.yaml", `
shopify:
  shop: from-file
  access_token: shpat_file
  api_version: "2025-01"
  webhook_secrets: [one, two]
store:
  path: /var/lib/shopsync/contacts.db
`)
	tokenFile := writeFile(t, "token", "shpat_from_secret_file\n")
	secretsFile := writeFile(t, "secrets", "old-secret\nnew-secret\n")
	cfg, err := LoadConfig(file, envOf(map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":                 "from-env", // env beats the file
		"SHOPSYNC_SHOPIFY_ACCESS_TOKEN_FILE":    tokenFile,
		"SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS_FILE": secretsFile,
		"SHOPSYNC_SYNC_SCHEDULE":                "*/5 * * * *",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shopify.Shop != "from-env" || cfg.Shopify.APIVersion != "2025-01" || cfg.Store.Path != "/var/lib/shopsync/contacts.db" {
		t.Errorf("got shop %q version %q path %q", cfg.Shopify.Shop, cfg.Shopify.APIVersion, cfg.Store.Path)
	}
	if cfg.Shopify.AccessToken != "shpat_from_secret_file" {
		t.Errorf("access token %q, want the file's content without its newline", cfg.Shopify.AccessToken)
	}
	if got := strings.Join(cfg.Shopify.WebhookSecrets, "|"); got != "old-secret|new-secret" {
		t.Errorf("webhook secrets %q", got)
	}
	if cfg.Sync.Schedule != "*/5 * * * *" || cfg.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("schedule %q listen %q", cfg.Sync.Schedule, cfg.HTTP.Listen)
	}
}

func TestLoadConfigEnvOnly(t *testing.T) {
	cfg, err := LoadConfig("", envOf(map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":            "acme",
		"SHOPSYNC_SHOPIFY_ACCESS_TOKEN":    "shpat_x",
		"SHOPSYNC_SHOPIFY_API_BASE_URL":    "http://127.0.0.1:9",
		"SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS": "a, b,,c",
		"SHOPSYNC_SHOPIFY_MAX_RETRIES":     "2",
		"SHOPSYNC_SHOPIFY_REQUEST_TIMEOUT": "5s",
		"SHOPSYNC_STORE_PATH":              "x.db",
		"SHOPSYNC_MAPPING_ATTRIBUTES":      "orders_count,total_spent",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Shopify.Shop != "acme.myshopify.com" || cfg.Shopify.APIBaseURL != "http://127.0.0.1:9" ||
		cfg.Shopify.MaxRetries != 2 || cfg.Shopify.RequestTimeout.String() != "5s" || cfg.Store.Path != "x.db" {
		t.Errorf("got %+v", cfg)
	}
	if got := strings.Join(cfg.Shopify.WebhookSecrets, "|"); got != "a|b|c" {
		t.Errorf("webhook secrets %q", got)
	}
	if got := strings.Join(cfg.Mapping.Attributes, "|"); got != "orders_count|total_spent" {
		t.Errorf("attributes %q", got)
	}
}

func TestConfigErrorsNameKeysNotSecrets(t *testing.T) {
	const secret = "shpat_TOPSECRET_1234"
	tests := []struct {
		name   string
		yaml   string
		env    map[string]string
		errHas []string
	}{
		{name: "typo in a key", yaml: "shopify:\n  shop: acme\n  acess_token: " + secret + "\n",
			errHas: []string{"unknown keys: shopify.acess_token"}},
		{name: "wrong type", yaml: "shopify:\n  shop: acme\n  access_token: x\n  max_retries: " + secret + "\n",
			errHas: []string{"shopify.max_retries: wrong type"}},
		{name: "custom domain", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "shop.acme.com", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": secret},
			errHas: []string{"shopify.shop", "custom domain"}},
		{name: "no credentials", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme"},
			errHas: []string{"shopify.access_token: required"}},
		{name: "bad version and schedule", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": secret,
			"SHOPSYNC_SHOPIFY_API_VERSION": "april", "SHOPSYNC_SYNC_SCHEDULE": "nightly", "SHOPSYNC_SYNC_TIMEZONE": "Mars/Base"},
			errHas: []string{"shopify.api_version", "sync.schedule", "sync.timezone"}},
		{name: "unknown attribute", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": secret,
			"SHOPSYNC_MAPPING_ATTRIBUTES": "orders_count,favourite_colour"},
			errHas: []string{"mapping.attributes", "favourite_colour"}},
		{name: "duration without a unit in YAML", yaml: "shopify:\n  shop: acme\n  access_token: " + secret +
			"\n  request_timeout: 30\nsync:\n  reconcile_every: 15\n  reconcile_overlap: 2.5\n",
			errHas: []string{"sync.reconcile_every: 15 has no unit; write 15m or 15s",
				"shopify.request_timeout: 30 has no unit; write 30m or 30s", "sync.reconcile_overlap: 2.5 has no unit"}},
		{name: "duration without a unit in the environment", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme",
			"SHOPSYNC_SHOPIFY_ACCESS_TOKEN": secret, "SHOPSYNC_SYNC_RECONCILE_EVERY": "15", "SHOPSYNC_SYNC_REFETCH_DELAY": "soon"},
			errHas: []string{"sync.reconcile_every: 15 has no unit; write 15m or 15s", `sync.refetch_delay: "soon" is not a duration`}},
		{name: "missing secret file", env: map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN_FILE": "/nonexistent/token"},
			errHas: []string{"shopify.access_token_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"config", "check"}
			if tt.yaml != "" {
				args = append([]string{"--config", writeFile(t, "c.yaml", tt.yaml)}, args...)
			}
			stdout, stderr, code := runCLI(t, tt.env, args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not contain %q", stderr, s)
				}
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("output holds the secret:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestDurationsWithUnits: durations with a unit, and a bare 0, are taken.
func TestDurationsWithUnits(t *testing.T) {
	file := writeFile(t, "c.yaml", "shopify:\n  shop: acme\n  access_token: x\n  request_timeout: 45s\n"+
		"sync:\n  reconcile_every: 0\n  reconcile_overlap: 1h30m\n  refetch_delay: 0.5s\n")
	cfg, err := LoadConfig(file, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shopify.RequestTimeout != 45*time.Second || cfg.Sync.ReconcileEvery != 0 ||
		cfg.Sync.ReconcileOverlap != 90*time.Minute || cfg.Sync.RefetchDelay != 500*time.Millisecond {
		t.Errorf("got %v %v %v %v", cfg.Shopify.RequestTimeout, cfg.Sync.ReconcileEvery, cfg.Sync.ReconcileOverlap, cfg.Sync.RefetchDelay)
	}
	cfg, err = LoadConfig("", envOf(map[string]string{"SHOPSYNC_SYNC_RECONCILE_EVERY": "0"}))
	if err != nil || cfg.Sync.ReconcileEvery != 0 {
		t.Errorf("SHOPSYNC_SYNC_RECONCILE_EVERY=0: %v %v", cfg.Sync.ReconcileEvery, err)
	}
}

func TestConfigCheckRedacts(t *testing.T) {
	env := map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":            "https://acme.myshopify.com/",
		"SHOPSYNC_SHOPIFY_CLIENT_ID":       "client-id-visible",
		"SHOPSYNC_SHOPIFY_CLIENT_SECRET":   "shpss_CLIENTSECRET",
		"SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS": "whsec_ONE,whsec_TWO",
		"SHOPSYNC_HTTP_SYNC_TOKEN":         "SYNCTOKEN_xyz",
	}
	stdout, stderr, code := runCLI(t, env, "config", "check")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"shpss_CLIENTSECRET", "whsec_ONE", "whsec_TWO", "SYNCTOKEN_xyz"} {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("config check printed secret %q:\n%s", s, stdout)
		}
	}
	for _, s := range []string{"shopify.shop = acme.myshopify.com", "shopify.client_secret = <redacted>",
		"shopify.webhook_secrets = [<redacted>, <redacted>]", "credentials: client credentials grant", "configuration OK"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("config check output lacks %q:\n%s", s, stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"sync", "--bogus"}, {"nope"}, {"contacts", "get"}, {"contacts", "export", "--format", "xml"}} {
		_, _, code := runCLI(t, nil, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestExampleSmartPushMapping loads the SmartPush-style mapping that
// config.example.yaml shows commented out, as a merchant would use it,
// and checks that it is valid and has the 20 prefixed attributes it
// promises beside the email.
func TestExampleSmartPushMapping(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "# --- SmartPush-style example\n")
	block, _, ok2 := strings.Cut(block, "# --- end of the example")
	if !ok || !ok2 {
		t.Fatal("config.example.yaml: no SmartPush-style example between its markers")
	}
	yaml := "mapping:\n"
	for line := range strings.Lines(block) {
		yaml += strings.Replace(line, "# ", "", 1)
	}
	path := filepath.Join(t.TempDir(), "smartpush.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("load:\n%s\n%v", yaml, err)
	}
	if err := cfg.Mapping.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	mapper, err := mapping.New(cfg.Mapping)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := mapping.NewProjection(cfg.Mapping.ProjectionConfig, mapper.Attributes())
	if err != nil {
		t.Fatal(err)
	}
	prefixed := 0
	for _, h := range proj.Header() {
		if strings.HasPrefix(h, "sp_") {
			prefixed++
		}
	}
	if h := proj.Header(); prefixed != 20 || h[0] != "email" {
		t.Errorf("header %v: %d prefixed fields, want 20 and the email first", h, prefixed)
	}
}
