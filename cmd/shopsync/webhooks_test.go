package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
)

// fakeWebhookAPI is a minimal Admin API holding webhook subscriptions:
// REST webhooks.json and GraphQL graphql.json. The shopify package's tests
// check the request shapes; this one serves the command.
type fakeWebhookAPI struct {
	mu     gosync.Mutex
	subs   map[string]int64 // topic+" "+address → id
	refuse string           // a GraphQL enum answered with a userError
}

func (f *fakeWebhookAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Shopify-Access-Token") != e2eToken {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	type hook struct {
		ID         int64  `json:"id"`
		Topic      string `json:"topic"`
		Address    string `json:"address"`
		Format     string `json:"format"`
		APIVersion string `json:"api_version"`
	}
	add := func(topic, address string) (int64, bool) {
		key := topic + " " + address
		if _, ok := f.subs[key]; ok {
			return 0, false
		}
		id := int64(len(f.subs) + 1)
		f.subs[key] = id
		return id, true
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/webhooks.json"):
		hooks := []hook{}
		for key, id := range f.subs {
			topic, address, _ := strings.Cut(key, " ")
			if topic != strings.ToUpper(topic) { // GraphQL-made topics are kept as enums: REST does not list them
				hooks = append(hooks, hook{id, topic, address, "json", "2025-07"})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"webhooks": hooks})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/webhooks.json"):
		var req struct{ Webhook hook }
		json.NewDecoder(r.Body).Decode(&req)
		id, ok := add(req.Webhook.Topic, req.Webhook.Address)
		if !ok {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"errors":{"address":["for this topic has already been taken"]}}`)
			return
		}
		req.Webhook.ID, req.Webhook.APIVersion = id, "2025-07"
		json.NewEncoder(w).Encode(map[string]any{"webhook": req.Webhook})
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql.json"):
		var req struct {
			Query     string
			Variables struct {
				Topic               string
				WebhookSubscription struct{ CallbackURL string }
			}
		}
		json.NewDecoder(r.Body).Decode(&req)
		if strings.Contains(req.Query, "webhookSubscriptions(") {
			edges := []any{}
			for key, id := range f.subs {
				topic, address, _ := strings.Cut(key, " ")
				enum := strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(topic))
				edges = append(edges, map[string]any{"node": map[string]any{"id": fmt.Sprint("gid://shopify/WebhookSubscription/", id),
					"topic": enum, "format": "JSON", "apiVersion": map[string]string{"handle": "2025-07"},
					"endpoint": map[string]string{"__typename": "WebhookHttpEndpoint", "callbackUrl": address}}})
			}
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"webhookSubscriptions": map[string]any{
				"edges": edges, "pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}}}})
			return
		}
		topic := req.Variables.Topic
		userErrors := []any{}
		var sub any
		if req.Variables.Topic == f.refuse {
			userErrors = append(userErrors, map[string]any{"field": []string{"topic"}, "message": "Topic is not available"})
		} else if id, ok := add(topic, req.Variables.WebhookSubscription.CallbackURL); !ok {
			userErrors = append(userErrors, map[string]any{"field": []string{"callbackUrl"}, "message": "Address for this topic has already been taken"})
		} else {
			sub = map[string]any{"id": fmt.Sprint("gid://shopify/WebhookSubscription/", id), "topic": req.Variables.Topic, "format": "JSON"}
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"webhookSubscriptionCreate": map[string]any{
			"webhookSubscription": sub, "userErrors": userErrors}}})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// runWebhooks runs `shopsync webhooks args...` against api.
func runWebhooks(t *testing.T, api http.Handler, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"SHOPSYNC_SHOPIFY_SHOP":         "e2e-shop",
		"SHOPSYNC_SHOPIFY_ACCESS_TOKEN": e2eToken,
		"SHOPSYNC_SHOPIFY_API_BASE_URL": srv.URL,
		"SHOPSYNC_SHOPIFY_MAX_RETRIES":  "1",
		"SHOPSYNC_LOG_LEVEL":            "debug",
	}
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: envOf(vars)}
	cmd := e.webhooksCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errb.WriteString("shopsync: " + err.Error() + "\n")
	}
	if strings.Contains(out.String()+errb.String(), e2eToken) {
		t.Error("the access token was printed")
	}
	return out.String(), errb.String(), exitCode(err)
}

func TestWebhooksRegisterAndList(t *testing.T) {
	api := &fakeWebhookAPI{subs: map[string]int64{}}
	const addr = "http://127.0.0.1:9/webhooks"
	stdout, stderr, code := runWebhooks(t, api, "register", "--address", addr)
	if code != exitOK {
		t.Fatalf("register exit %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{"customers/update", "created (rest)", "customer.tags_added", "created (graphql)",
		"shop/redact", "skipped: compliance topic", "to " + addr} {
		if !strings.Contains(stdout, want) {
			t.Errorf("register output lacks %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stdout, "\n"); n != 13 {
		t.Errorf("%d lines, want 13 (10 topics, 3 compliance):\n%s", n, stdout)
	}

	stdout, _, code = runWebhooks(t, api, "register", "--address", addr)
	if code != exitOK || strings.Count(stdout, "already subscribed") != 10 {
		t.Errorf("second register: exit %d\n%s", code, stdout)
	}

	stdout, _, code = runWebhooks(t, api, "list")
	if code != exitOK || !strings.HasPrefix(stdout, "TOPIC") || strings.Count(stdout, addr) != 10 || !strings.Contains(stdout, "2025-07") {
		t.Errorf("list: exit %d\n%s", code, stdout)
	}
}

func TestWebhooksRegisterFailures(t *testing.T) {
	api := &fakeWebhookAPI{subs: map[string]int64{}, refuse: "CUSTOMER_TAGS_REMOVED"}
	stdout, _, code := runWebhooks(t, api, "register", "--address", "https://sync.example.com/webhooks?key=SECRET")
	if code != exitFailure || !strings.Contains(stdout, "customer.tags_removed") || !strings.Contains(stdout, "failed: ") {
		t.Errorf("exit %d, want %d, with the failed topic:\n%s", code, exitFailure, stdout)
	}
	if strings.Contains(stdout, "SECRET") {
		t.Errorf("the address's query was printed:\n%s", stdout)
	}
	for _, args := range [][]string{
		{"register"},
		{"register", "--address", "http://sync.example.com/webhooks"},
		{"register", "--address", "https://user:pw@sync.example.com/webhooks"},
	} {
		if _, stderr, code := runWebhooks(t, api, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}
