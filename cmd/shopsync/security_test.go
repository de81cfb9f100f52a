package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

// hostCall sends GET or POST path to the daemon naming host in the Host
// header, with the sync token when bearer is set.
func (d *daemon) hostCall(method, path, host string, bearer bool) (int, string) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Host = host
	if bearer {
		req.Header.Set("Authorization", "Bearer "+e2eSyncToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeDNSRebinding runs the real daemon in its default mode
// (loopback, no sync token): a request naming another host gets 421,
// loopback names are served.
func TestServeDNSRebinding(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	_, env := shopEnv(t, shopifytest.Options{Customers: 5, Seed: 71})
	env = serveEnv(env)
	delete(env, "SHOPSYNC_HTTP_SYNC_TOKEN")
	d := startDaemon(t, env)
	port := d.url[strings.LastIndexByte(d.url, ':')+1:]
	for _, p := range []struct{ method, path string }{
		{"POST", "/sync"}, {"GET", "/contacts?email=a@b.c"}, {"GET", "/api/session"}, {"GET", "/api/contacts?q=a"}, {"GET", "/"},
	} {
		if code, body := d.hostCall(p.method, p.path, "rebind.attacker.example:"+port, false); code != http.StatusMisdirectedRequest {
			t.Errorf("%s %s for rebind.attacker.example: %d %.80s, want 421", p.method, p.path, code, body)
		}
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "localhost:1234"} {
		if code, body := d.hostCall("GET", "/api/session", host, false); code != http.StatusOK {
			t.Errorf("/api/session for %s: %d %.80s, want 200", host, code, body)
		}
	}
}

// TestServeAllowedHosts: with a sync token, http.allowed_hosts restricts
// the names the daemon answers to.
func TestServeAllowedHosts(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	_, env := shopEnv(t, shopifytest.Options{Customers: 5, Seed: 72})
	env = serveEnv(env)
	env["SHOPSYNC_HTTP_ALLOWED_HOSTS"] = "sync.shop.example, other.example"
	d := startDaemon(t, env)
	for _, tc := range []struct {
		host string
		want int
	}{{"sync.shop.example", 200}, {"other.example:8443", 200}, {"127.0.0.1", 200}, {"rebind.attacker.example", 421}} {
		if code, body := d.hostCall("GET", "/sync/status", tc.host, true); code != tc.want {
			t.Errorf("Host %s: %d %.80s, want %d", tc.host, code, body, tc.want)
		}
	}
}

// TestConfigListenAndHosts: beyond loopback the sync token must hold 128
// bits; allowed_hosts needs a token and host names. Errors name the key
// and the fix, never the token.
func TestConfigListenAndHosts(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": "shpat_x"}
	}
	const weak = "WEAK_sync_token_1"
	tests := []struct {
		name   string
		env    map[string]string
		code   int
		errHas []string
	}{
		{name: "loopback, no token", env: map[string]string{}, code: exitOK},
		{name: "loopback, weak token", env: map[string]string{"SHOPSYNC_HTTP_SYNC_TOKEN": weak}, code: exitOK},
		{name: "beyond loopback, no token", env: map[string]string{"SHOPSYNC_HTTP_LISTEN": "0.0.0.0:8080"},
			code: exitUsage, errHas: []string{"http.sync_token: required", "openssl rand -hex 32"}},
		{name: "beyond loopback, weak token", env: map[string]string{"SHOPSYNC_HTTP_LISTEN": ":8080", "SHOPSYNC_HTTP_SYNC_TOKEN": weak},
			code: exitUsage, errHas: []string{"http.sync_token", "128 bits", "openssl rand -hex 32"}},
		{name: "beyond loopback, strong token", env: map[string]string{"SHOPSYNC_HTTP_LISTEN": "0.0.0.0:8080",
			"SHOPSYNC_HTTP_SYNC_TOKEN": "3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"}, code: exitOK},
		{name: "allowed hosts without token", env: map[string]string{"SHOPSYNC_HTTP_ALLOWED_HOSTS": "sync.example.com"},
			code: exitUsage, errHas: []string{"http.allowed_hosts: needs http.sync_token"}},
		{name: "allowed host with scheme", env: map[string]string{"SHOPSYNC_HTTP_SYNC_TOKEN": weak, "SHOPSYNC_HTTP_ALLOWED_HOSTS": "https://sync.example.com"},
			code: exitUsage, errHas: []string{"http.allowed_hosts", "without scheme"}},
		{name: "allowed host with port", env: map[string]string{"SHOPSYNC_HTTP_SYNC_TOKEN": weak, "SHOPSYNC_HTTP_ALLOWED_HOSTS": "sync.example.com:443"},
			code: exitUsage, errHas: []string{"http.allowed_hosts"}},
		{name: "allowed hosts", env: map[string]string{"SHOPSYNC_HTTP_SYNC_TOKEN": weak, "SHOPSYNC_HTTP_ALLOWED_HOSTS": "sync.example.com,10.0.0.5"},
			code: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := base()
			for k, v := range tt.env {
				env[k] = v
			}
			stdout, stderr, code := runCLI(t, env, "config", "check")
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q lacks %q", stderr, s)
				}
			}
			if strings.Contains(stdout+stderr, weak) {
				t.Errorf("output holds the token:\n%s%s", stdout, stderr)
			}
		})
	}
	// serve refuses too, before listening.
	env := base()
	env["SHOPSYNC_HTTP_LISTEN"], env["SHOPSYNC_HTTP_SYNC_TOKEN"] = "0.0.0.0:0", weak
	env["SHOPSYNC_STORE_PATH"] = t.TempDir() + "/s.db"
	if _, stderr, code := runCLI(t, env, "serve"); code != exitUsage || !strings.Contains(stderr, "http.sync_token") {
		t.Errorf("serve with a weak token beyond loopback: exit %d %q", code, stderr)
	}
}

// TestStorePermissionWarning: a store other users can read is used, with
// a warning naming the fix; a new one is private.
func TestStorePermissionWarning(t *testing.T) {
	withUmask(t, 0o022)
	_, env := shopEnv(t, shopifytest.Options{Customers: 3, Seed: 73})
	path := env["SHOPSYNC_STORE_PATH"]
	if _, stderr, code := runCLI(t, env, "sync"); code != exitOK || strings.Contains(stderr, "chmod") {
		t.Fatalf("first sync: exit %d %s", code, stderr)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new store: %v %v, want mode 0600", fi.Mode(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"sync"}, {"contacts", "export"}} {
		_, stderr, code := runCLI(t, env, args...)
		if code != exitOK || !strings.Contains(stderr, "store files readable by other users") || !strings.Contains(stderr, "chmod 600 "+path) {
			t.Errorf("%v on a 0644 store: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// TestConfigCheckRedactsBaseURL: credentials in shopify.api_base_url are
// not printed; http is refused beyond loopback.
func TestConfigCheckRedactsBaseURL(t *testing.T) {
	env := map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": "shpat_x"}
	for base, want := range map[string]string{
		"https://proxyuser:PROXY_PASS_123@proxy.example/shopify": "shopify.api_base_url = https://proxyuser:xxxxx@proxy.example/shopify",
		"https://PROXY_PASS_123@proxy.example/":                  "shopify.api_base_url = https://xxxxx@proxy.example/",
		"http://127.0.0.1:9000":                                  "shopify.api_base_url = http://127.0.0.1:9000",
	} {
		env["SHOPSYNC_SHOPIFY_API_BASE_URL"] = base
		stdout, stderr, code := runCLI(t, env, "config", "check")
		if code != exitOK || !strings.Contains(stdout, want+"\n") {
			t.Errorf("%s: exit %d, output lacks %q:\n%s%s", base, code, want, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "PROXY_PASS_123") {
			t.Errorf("%s: config check printed the password:\n%s", base, stdout)
		}
	}
	env["SHOPSYNC_SHOPIFY_API_BASE_URL"] = "http://proxyuser:PROXY_PASS_123@proxy.example"
	_, stderr, code := runCLI(t, env, "config", "check")
	if code != exitUsage || !strings.Contains(stderr, "shopify.api_base_url") || !strings.Contains(stderr, "https://proxy.example") {
		t.Errorf("http beyond loopback: exit %d %q", code, stderr)
	}
	if strings.Contains(stderr, "PROXY_PASS_123") {
		t.Errorf("the error holds the password: %q", stderr)
	}
}
