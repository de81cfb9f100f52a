package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// Distinctive secrets: none may ever appear in a log line.
const (
	auditAccessToken   = "shpat_AUDIT_access_token_7f3a"
	auditClientID      = "audit-client-id"
	auditClientSecret  = "shpss_AUDIT_client_secret_91c2"
	auditWebhookSecret = "whsec_AUDIT_webhook_secret_55d0"
	auditOldSecret     = "whsec_AUDIT_rotated_secret_0b1e"
	auditSyncToken     = e2eSyncToken // daemon.call sends it
)

// TestAuditSecretsAndPIIInLogs runs every command and calls every
// endpoint of the daemon at log level debug, once with an access token and
// once with client credentials, and checks that no log line (stderr of
// every process) holds a secret or a customer's email, and that /metrics
// and /sync/status hold no secret.
func TestAuditSecretsAndPIIInLogs(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	for _, pass := range []string{"access_token", "client_credentials"} {
		t.Run(pass, func(t *testing.T) { auditPass(t, pass == "client_credentials") })
	}
}

func auditPass(t *testing.T, clientCreds bool) {
	opts := shopifytest.Options{Customers: 300, Seed: 61, ShopDomain: e2eShopDomain, WebhookSecret: auditWebhookSecret,
		WebhookGeneration: shopifytest.Gen2024_04}
	secrets := []string{auditWebhookSecret, auditOldSecret, auditSyncToken}
	env := map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":            "e2e-shop",
		"SHOPSYNC_SHOPIFY_MAX_RETRIES":     "2",
		"SHOPSYNC_SHOPIFY_REQUEST_TIMEOUT": "5s",
		"SHOPSYNC_STORE_PATH":              filepath.Join(t.TempDir(), "shopsync.db"),
		"SHOPSYNC_LOG_LEVEL":               "debug",
		"SHOPSYNC_SHOPIFY_WEBHOOK_SECRETS": auditOldSecret + "," + auditWebhookSecret,
		"SHOPSYNC_HTTP_LISTEN":             "127.0.0.1:0",
		"SHOPSYNC_HTTP_SYNC_TOKEN":         auditSyncToken,
		"SHOPSYNC_SYNC_REFETCH_DELAY":      "200ms",
	}
	if clientCreds {
		opts.ClientID, opts.ClientSecret = auditClientID, auditClientSecret
		env["SHOPSYNC_SHOPIFY_CLIENT_ID"] = auditClientID
		env["SHOPSYNC_SHOPIFY_CLIENT_SECRET"] = auditClientSecret
		secrets = append(secrets, auditClientSecret)
	} else {
		opts.Token = auditAccessToken
		env["SHOPSYNC_SHOPIFY_ACCESS_TOKEN"] = auditAccessToken
		secrets = append(secrets, auditAccessToken)
	}
	sim := shopifytest.NewServer(opts)
	t.Cleanup(sim.Close)
	env["SHOPSYNC_SHOPIFY_API_BASE_URL"] = sim.URL

	var logs []string // name: stderr, one entry per process
	cli := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, env, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
		logs = append(logs, fmt.Sprintf("shopsync %v", args), stderr)
		return stdout
	}
	cli("version")
	cli("config", "check")
	cli("sync", "--no-progress")
	ids := sim.CustomerIDs()
	var email string
	for _, id := range ids {
		if c, _ := sim.Customer(id); c.Email != nil {
			email = *c.Email
			break
		}
	}
	cli("contacts", "export", "--format", "jsonl")
	cli("contacts", "export", "--format", "csv")
	cli("contacts", "get", fmt.Sprint(ids[3]))
	cli("contacts", "get", email)

	d := startDaemon(t, env)
	d.importAll()
	cli("webhooks", "register", "--address", d.url+"/webhooks/shopify")
	cli("webhooks", "list")
	logs = append(logs, "shopsync doctor -v (its report)", cli("doctor", "-v"))

	// Webhooks: real deliveries from changes, then forged ones.
	for _, id := range ids[:5] {
		sim.Update(id, func(c *shopifytest.Customer) { note := "audited"; c.Note = &note; c.Tags = "audit" })
	}
	sim.Delete(ids[6])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sim.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: auditWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	c, _ := sim.Customer(ids[8])
	dl, err := shopifytest.CustomerDelivery("customers/update", c, shopifytest.Gen2024_04)
	if err != nil {
		t.Fatal(err)
	}
	hook := d.url + "/webhooks/shopify"
	if status, err := sender.Send(ctx, hook, dl); err != nil || status != http.StatusOK {
		t.Errorf("valid delivery: %d %v", status, err)
	}
	for _, cor := range []shopifytest.Corruption{shopifytest.FlipBodyByte, shopifytest.WrongSecret, shopifytest.NoSignature} {
		if status, _ := sender.SendCorrupt(ctx, hook, dl, cor); status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", cor, status)
		}
	}
	bad := dl
	bad.Body = []byte(`{"id": 1, "email": "` + email + `", "note": `)
	sender.Send(ctx, hook, bad)

	// Every endpoint, with the bearer token.
	bodies := map[string]string{}
	get := func(method, path, bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, d.url+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"/sync/status", "/sync/runs", fmt.Sprintf("/contacts/%d", ids[3]),
		"/contacts?email=" + url_(email), "/healthz", "/readyz", "/metrics", "/", "/api/overview",
		"/api/contacts?q=" + url_(email), fmt.Sprintf("/api/contacts/%d", ids[3])} {
		code, body := get("GET", p, auditSyncToken)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
		bodies[p] = body
	}
	if code, body := get("POST", "/api/check", auditSyncToken); code != http.StatusOK {
		t.Errorf("POST /api/check: %d", code)
	} else {
		bodies["/api/check"] = body
	}
	get("GET", "/sync/status", "wrong-"+auditSyncToken) // a wrong bearer token
	if code, _ := get("POST", "/sync", auditSyncToken); code != http.StatusAccepted {
		t.Errorf("POST /sync: %d", code)
	}
	// The page: a wrong then the right token, the session, logout.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, tok := range []string{"wrong-" + auditSyncToken, auditSyncToken} {
		resp, err := browser.PostForm(d.url+"/login", map[string][]string{"token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := browser.Get(d.url + "/api/session")
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		CSRF string `json:"csrf"`
	}
	decodeJSON(t, resp, &sess)
	for _, p := range []string{"/api/overview", "/api/contacts?q=" + url_(email)} {
		if resp, err := browser.Get(d.url + p); err == nil {
			resp.Body.Close()
		}
	}
	req, _ := http.NewRequest("POST", d.url+"/logout", nil)
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	if resp, err := browser.Do(req); err != nil || resp.StatusCode >= 300 {
		t.Errorf("logout: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	d.waitIdle()
	d.stop()
	logs = append(logs, "shopsync serve", d.logs())

	// The audit.
	var emails []string
	for _, id := range ids {
		if c, _ := sim.Customer(id); c.Email != nil {
			emails = append(emails, *c.Email)
		}
	}
	if c, _ := sim.Customer(ids[6]); c.Email != nil { // deleted: gone from CustomerIDs
		emails = append(emails, *c.Email)
	}
	lines := 0
	for i := 0; i < len(logs); i += 2 {
		for _, line := range strings.Split(logs[i+1], "\n") {
			if line == "" {
				continue
			}
			lines++
			for _, s := range secrets {
				if strings.Contains(line, s) {
					t.Errorf("%s logs a secret: %s", logs[i], line)
				}
			}
			for _, e := range emails {
				if strings.Contains(strings.ToLower(line), strings.ToLower(e)) {
					t.Errorf("%s logs a customer's email: %s", logs[i], line)
				}
			}
		}
	}
	for _, p := range []string{"/metrics", "/sync/status", "/readyz", "/healthz", "/api/overview", "/api/check"} {
		for _, s := range secrets {
			if strings.Contains(bodies[p], s) {
				t.Errorf("%s holds a secret", p)
			}
		}
	}
	for _, e := range emails { // the connection check counts customers, never shows one
		if strings.Contains(strings.ToLower(bodies["/api/check"]), strings.ToLower(e)) {
			t.Errorf("/api/check holds a customer's email")
		}
	}
	if lines < 10 {
		t.Errorf("only %d log lines: is debug logging on?", lines)
	}
	t.Logf("audited %d log lines of %d processes", lines, len(logs)/2)
}

func url_(s string) string { return url.QueryEscape(s) }

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// waitIdle waits until no run is going, so that the last run's logs are
// in.
func (d *daemon) waitIdle() {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var st statusBody
		d.call("GET", "/sync/status", &st)
		if !st.Running {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
