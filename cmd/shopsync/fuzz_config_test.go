package main

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// FuzzLoadConfig loads a fuzzed YAML file that sets shopify.access_token
// to a known secret, with one fuzzed environment variable, and validates
// the result. Loading never panics, and no error of LoadConfig or
// Validate ever contains a secret's value: the file's access token, or
// the environment's value when the variable sets a secret key.
func FuzzLoadConfig(f *testing.F) {
	v := viper.New()
	setDefaults(v, "", reflect.ValueOf(DefaultConfig()))
	var keys []string
	for _, k := range v.AllKeys() {
		// *_file keys read the file they name: a fuzzed path could be
		// /dev/zero. They are tested in config_test.go.
		if !strings.HasSuffix(k, "_file") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	index := func(key string) uint8 { return uint8(slices.Index(keys, key)) }

	for _, s := range []struct {
		yaml string
		key  uint8
		val  string
	}{
		{"  shop: acme\n", index("shopify.shop"), "other"},
		{"  shop: acme.example.com\n  api_version: 2024-13\n", index("shopify.client_secret"), "x"},
		{"  access_token: shpat_override\n", index("shopify.access_token"), "shpat_env"},
		{"  access_token: [a, b]\n", index("shopify.webhook_secrets"), "a,,b\n c"},
		{"  request_timeout: 3 parsecs\n", index("shopify.request_timeout"), "forever"},
		{"  max_retries: many\n", index("shopify.max_retries"), "1e9"},
		{"  leak_rate: {a: 1}\n", index("shopify.leak_rate"), "NaN"},
		{"  unknown_key: 1\n", index("http.sync_token"), "token-value"},
		{"http:\n  listen: nowhere\nsync:\n  schedule: every day\n  timezone: Mars/Olympus\n", index("sync.reconcile_every"), "-1s"},
		{"mapping:\n  attributes: [nope, orders_count]\n", index("mapping.attributes"), "x,y"},
		{"log:\n  level: loud\n  format: xml\n", index("log.level"), "debug"},
		{"\t- bad: indentation\n", 0, ""},
		{"  a: &x [*x]\n", 0, ""},
		{"  a: *undefined\n", 0, ""},
		{"shopify: again\n", 0, ""},
		{"  access_token:\n    nested: map\n", index("shopify.shop"), "acme"},
		{"  !!binary x: y\n", 0, ""},
		{"\xff\xfe", 0, ""},
	} {
		f.Add(s.yaml, s.key, s.val)
	}

	dir := f.TempDir()
	const fileSecret = "shpat_fuzzsecret_0f1e2d3c4b5a"
	const envMark = "envsecret-"
	f.Fuzz(func(t *testing.T, rest string, key uint8, val string) {
		if strings.Contains(rest, "_file") {
			t.Skip("*_file keys read files")
		}
		content := "shopify:\n  access_token: " + fileSecret + "\n" + rest
		file := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		k := keys[int(key)%len(keys)]
		secret := slices.Contains(secretKeys, k)
		if secret {
			val = envMark + val
		}
		env := func(name string) string {
			if name == envName(k) {
				return val
			}
			return ""
		}
		cfg, err := LoadConfig(file, env)
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.Contains(msg, fileSecret) {
			t.Fatalf("error shows the file's access token: %s", msg)
		}
		if secret && !strings.Contains(content, envMark) && strings.Contains(msg, envMark) {
			t.Fatalf("error shows the value of %s from the environment: %s", envName(k), msg)
		}
	})
}
