package shopify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync/shopify"
)

const hookAddr = "https://sync.example.com/webhooks"

// fakeSub is a subscription held by fakeHooks.
type fakeSub struct {
	id             int64
	topic, address string // REST-style topic
	viaGraphQL     bool
}

// fakeHooks fakes the Admin API's webhook endpoints as documented (see
// webhooks.go for sources): REST GET/POST webhooks.json and GraphQL
// webhookSubscriptions / webhookSubscriptionCreate. Like the REST API
// described in SHOPIFY.md §6, its REST side refuses, and does not list,
// the GraphQL-only topics.
type fakeHooks struct {
	t        *testing.T
	token    string
	version  string
	pageSize int // REST and GraphQL page size

	mu            gosync.Mutex
	subs          []fakeSub
	nextID        int64
	calls         []string          // "GET webhooks.json", "POST webhooks.json", "graphql list", "graphql create"
	restRefuses   map[string]bool   // topics REST answers 422 on "topic"
	userErrors    map[string]string // GraphQL enum → userError message
	throttleNext  int               // GraphQL answers THROTTLED this many times first
	graphqlErrors string            // a top-level GraphQL error for every query
	wantURI       bool              // GraphQL input uses uri instead of callbackUrl
}

func newFakeHooks(t *testing.T) *fakeHooks {
	return &fakeHooks{t: t, token: "shpat_static_secret", version: "2024-04", pageSize: 250, nextID: 1000,
		restRefuses: map[string]bool{}, userErrors: map[string]string{}}
}

func restOnlyHidden(topic string) bool {
	return topic == "customer.tags_added" || topic == "customer.tags_removed" || topic == "customers/purchasing_summary"
}

func (f *fakeHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := r.Header.Get("X-Shopify-Access-Token"); got != f.token {
		f.t.Errorf("%s %s: token %q, want %q", r.Method, r.URL.Path, got, f.token)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	prefix := "/admin/api/" + f.version + "/"
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Shopify-API-Version", f.version)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+"webhooks.json":
		f.calls = append(f.calls, "GET webhooks.json")
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "1/40")
		f.restList(w, r)
	case r.Method == http.MethodPost && r.URL.Path == prefix+"webhooks.json":
		f.calls = append(f.calls, "POST webhooks.json")
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", "1/40")
		f.restCreate(w, body)
	case r.Method == http.MethodPost && r.URL.Path == prefix+"graphql.json":
		// No call-limit header: GraphQL reports cost in extensions.
		f.graphql(w, body)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":"Not Found"}`)
	}
}

func (f *fakeHooks) restList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start := 0
	if pi := q.Get("page_info"); pi != "" {
		if len(q) > 2 || (len(q) == 2 && q.Get("limit") == "") {
			f.t.Errorf("page_info request carries more than limit: %s", r.URL.RawQuery)
		}
		start, _ = strconv.Atoi(pi)
	} else if q.Get("limit") != "250" {
		f.t.Errorf("first page limit %q, want 250", q.Get("limit"))
	}
	var listed []map[string]any
	for _, s := range f.subs {
		if !restOnlyHidden(s.topic) {
			listed = append(listed, map[string]any{"id": s.id, "topic": s.topic, "address": s.address,
				"format": "json", "api_version": "2025-07", "fields": []string{}, "metafield_namespaces": []string{}})
		}
	}
	end := min(start+f.pageSize, len(listed))
	if end < len(listed) {
		w.Header().Set("Link", fmt.Sprintf(`<https://acme.myshopify.com/admin/api/%s/webhooks.json?limit=250&page_info=%d>; rel="next"`, f.version, end))
	}
	json.NewEncoder(w).Encode(map[string]any{"webhooks": listed[start:end]})
}

func (f *fakeHooks) restCreate(w http.ResponseWriter, body []byte) {
	var req map[string]map[string]any
	if err := json.Unmarshal(body, &req); err != nil || len(req) != 1 || len(req["webhook"]) != 3 {
		f.t.Errorf("REST create body %s: want exactly {\"webhook\":{topic,address,format}}", body)
	}
	in := req["webhook"]
	topic, _ := in["topic"].(string)
	address, _ := in["address"].(string)
	if in["format"] != "json" {
		f.t.Errorf("REST create format %v, want json", in["format"])
	}
	if restOnlyHidden(topic) || f.restRefuses[topic] {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"errors":{"topic":["Invalid topic specified: %s"]}}`, topic)
		return
	}
	if f.taken(topic, address) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"errors":{"address":["for this topic has already been taken"]}}`)
		return
	}
	s := f.add(topic, address, false)
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"webhook": map[string]any{"id": s.id, "topic": topic, "address": address,
		"format": "json", "api_version": "2025-07", "created_at": "2026-07-01T10:00:00-04:00"}})
}

func (f *fakeHooks) taken(topic, address string) bool {
	for _, s := range f.subs {
		if s.topic == topic && s.address == address {
			return true
		}
	}
	return false
}

func (f *fakeHooks) add(topic, address string, viaGraphQL bool) fakeSub {
	f.nextID++
	s := fakeSub{id: f.nextID, topic: topic, address: address, viaGraphQL: viaGraphQL}
	f.subs = append(f.subs, s)
	return s
}

func enumOf(topic string) string {
	return strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(topic))
}

func (f *fakeHooks) node(s fakeSub) map[string]any {
	n := map[string]any{"id": fmt.Sprintf("gid://shopify/WebhookSubscription/%d", s.id), "topic": enumOf(s.topic),
		"format": "JSON", "apiVersion": map[string]any{"handle": "2025-07"}}
	if f.wantURI {
		n["uri"] = s.address
	} else {
		n["endpoint"] = map[string]any{"__typename": "WebhookHttpEndpoint", "callbackUrl": s.address}
	}
	return n
}

func (f *fakeHooks) graphql(w http.ResponseWriter, body []byte) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("graphql body %s: %v", body, err)
	}
	field := "callbackUrl"
	if f.wantURI {
		field = "uri"
	}
	if !strings.Contains(req.Query, field) {
		f.t.Errorf("query does not select %s: %s", field, req.Query)
	}
	if f.throttleNext > 0 {
		f.throttleNext--
		fmt.Fprint(w, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],
"extensions":{"cost":{"requestedQueryCost":12,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":2,"restoreRate":100}}}}`)
		return
	}
	if f.graphqlErrors != "" {
		fmt.Fprintf(w, `{"errors":[{"message":%q,"extensions":{"code":"ACCESS_DENIED"}}]}`, f.graphqlErrors)
		return
	}
	switch {
	case strings.Contains(req.Query, "webhookSubscriptions("):
		f.calls = append(f.calls, "graphql list")
		start := 0
		if a, ok := req.Variables["after"].(string); ok {
			start, _ = strconv.Atoi(a)
		}
		end := min(start+f.pageSize, len(f.subs))
		var edges []map[string]any
		for _, s := range f.subs[start:end] {
			edges = append(edges, map[string]any{"node": f.node(s)})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"webhookSubscriptions": map[string]any{
			"edges": edges, "pageInfo": map[string]any{"hasNextPage": end < len(f.subs), "endCursor": strconv.Itoa(end)}}}})
	case strings.Contains(req.Query, "webhookSubscriptionCreate("):
		f.calls = append(f.calls, "graphql create")
		enum, _ := req.Variables["topic"].(string)
		in, _ := req.Variables["webhookSubscription"].(map[string]any)
		address, _ := in[field].(string)
		if len(in) != 2 || in["format"] != "JSON" || address == "" {
			f.t.Errorf("webhookSubscription input %v: want {%s, format: JSON}", in, field)
		}
		topic := ""
		for _, t := range append(shopify.SubscriptionTopics(), "customers/merge") {
			if enumOf(t) == enum {
				topic = t
			}
		}
		var payload map[string]any
		switch {
		case topic == "":
			// Shopify fails variable coercion for an unknown enum value.
			fmt.Fprintf(w, `{"errors":[{"message":"Variable $topic of type WebhookSubscriptionTopic! was provided invalid value","extensions":{"value":%q,"problems":[{"path":[],"explanation":"Expected one of ..."}]}}]}`, enum)
			return
		case f.userErrors[enum] != "":
			payload = map[string]any{"webhookSubscription": nil, "userErrors": []any{map[string]any{"field": []string{"webhookSubscription", field}, "message": f.userErrors[enum]}}}
		case f.taken(topic, address):
			payload = map[string]any{"webhookSubscription": nil, "userErrors": []any{map[string]any{"field": []string{field}, "message": "Address for this topic has already been taken"}}}
		default:
			payload = map[string]any{"webhookSubscription": f.node(f.add(topic, address, true)), "userErrors": []any{}}
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"webhookSubscriptionCreate": payload},
			"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": 10, "actualQueryCost": 10,
				"throttleStatus": map[string]any{"maximumAvailable": 1000, "currentlyAvailable": 990, "restoreRate": 100}}}})
	default:
		f.t.Errorf("unexpected graphql query %s", req.Query)
		fmt.Fprint(w, `{"errors":[{"message":"unexpected"}]}`)
	}
}

// set changes the fake's state under its lock.
func (f *fakeHooks) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeHooks) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeHooks) client(t *testing.T) *shopify.Client {
	t.Helper()
	_, cfg := fakeAPI(t, f.ServeHTTP)
	cfg.APIVersion = f.version
	return newClient(t, cfg, nil)
}

func TestEnsureSubscriptionsIsIdempotent(t *testing.T) {
	f := newFakeHooks(t)
	c := f.client(t)
	ctx := context.Background()
	topics := append(shopify.SubscriptionTopics(), shopify.ComplianceTopics()...)

	res, err := c.EnsureSubscriptions(ctx, hookAddr, topics)
	if err != nil {
		t.Fatal(err)
	}
	if got := [4]int{res.Count(shopify.TopicCreated), res.Count(shopify.TopicExisting), res.Count(shopify.TopicSkipped), res.Count(shopify.TopicFailed)}; got != [4]int{10, 0, 3, 0} {
		t.Fatalf("created, existing, skipped, failed = %v, want [10 0 3 0]", got)
	}
	via := map[string]string{}
	for _, r := range res.Topics {
		via[r.Topic] = r.Subscription.Via
		if r.Status == shopify.TopicSkipped && !strings.Contains(r.Note, hookAddr) {
			t.Errorf("%s: note %q does not give the address to configure", r.Topic, r.Note)
		}
		if r.Status == shopify.TopicCreated && (r.Subscription.ID == 0 || r.Subscription.Address != hookAddr || r.Subscription.Topic != r.Topic) {
			t.Errorf("%s: created %+v", r.Topic, r.Subscription)
		}
	}
	for _, topic := range []string{"customer.tags_added", "customer.tags_removed", "customers/purchasing_summary"} {
		if via[topic] != shopify.ViaGraphQL {
			t.Errorf("%s created via %q, want graphql", topic, via[topic])
		}
	}
	if via["customers/update"] != shopify.ViaREST {
		t.Errorf("customers/update created via %q, want rest", via["customers/update"])
	}
	want := []string{"GET webhooks.json", "graphql list"}
	for range 7 {
		want = append(want, "POST webhooks.json")
	}
	want = append(want, "graphql create", "graphql create", "graphql create")
	if diff := cmp.Diff(f.takeCalls(), want); diff != "" {
		t.Errorf("first run requests (-got +want):\n%s", diff)
	}

	// Second run, as at every daemon start: lists, creates nothing.
	res, err = c.EnsureSubscriptions(ctx, hookAddr, topics)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(shopify.TopicExisting) != 10 || res.Count(shopify.TopicSkipped) != 3 {
		t.Errorf("second run: %d existing, %d skipped; want 10, 3", res.Count(shopify.TopicExisting), res.Count(shopify.TopicSkipped))
	}
	if diff := cmp.Diff(f.takeCalls(), []string{"GET webhooks.json", "graphql list"}); diff != "" {
		t.Errorf("second run requests (-got +want):\n%s", diff)
	}
	f.set(func() {
		if len(f.subs) != 10 {
			t.Errorf("the shop holds %d subscriptions, want 10", len(f.subs))
		}
	})
}

func TestCreateSubscriptionDuplicates(t *testing.T) {
	f := newFakeHooks(t)
	c := f.client(t)
	ctx := context.Background()
	for _, topic := range []string{"customers/update", "customer.tags_added"} {
		if _, err := c.CreateSubscription(ctx, topic, hookAddr); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		_, err := c.CreateSubscription(ctx, topic, hookAddr)
		if !errors.Is(err, shopify.ErrSubscriptionExists) {
			t.Errorf("%s again: got %v, want ErrSubscriptionExists", topic, err)
		}
	}
	res, err := c.EnsureSubscriptions(ctx, hookAddr, []string{"customers/update", "customers/create"})
	if err != nil || res.Count(shopify.TopicExisting) != 1 || res.Count(shopify.TopicCreated) != 1 {
		t.Errorf("ensure: %+v, %v", res, err)
	}
}

func TestEnsureRaceCountsAsExisting(t *testing.T) {
	f := newFakeHooks(t)
	// Another process subscribes between our list and our create.
	var once gosync.Once
	_, cfg := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/webhooks.json") {
			once.Do(func() { f.mu.Lock(); f.add("customers/create", hookAddr, false); f.mu.Unlock() })
		}
		f.ServeHTTP(w, r)
	})
	c := newClient(t, cfg, nil)
	res, err := c.EnsureSubscriptions(context.Background(), hookAddr, []string{"customers/create"})
	if err != nil || len(res.Topics) != 1 || res.Topics[0].Status != shopify.TopicExisting {
		t.Fatalf("got %+v, %v; want customers/create existing", res, err)
	}
}

func TestCreateSubscriptionGraphQLErrors(t *testing.T) {
	f := newFakeHooks(t)
	f.set(func() { f.userErrors["CUSTOMER_TAGS_ADDED"] = "Address is invalid" })
	c := f.client(t)
	ctx := context.Background()

	_, err := c.CreateSubscription(ctx, "customer.tags_added", hookAddr)
	var ue shopify.UserErrors
	if !errors.As(err, &ue) || errors.Is(err, shopify.ErrSubscriptionExists) || ue[0].Message != "Address is invalid" {
		t.Errorf("userErrors: got %v", err)
	}

	f.set(func() { f.graphqlErrors = "Access denied for webhookSubscriptionCreate field." })
	_, err = c.CreateSubscription(ctx, "customers/purchasing_summary", hookAddr)
	var ge *shopify.GraphQLError
	if !errors.As(err, &ge) || ge.Codes[0] != "ACCESS_DENIED" {
		t.Errorf("top-level errors: got %v", err)
	}

	// In Ensure, a failed topic is reported and the others go on.
	f.set(func() { f.graphqlErrors = "" })
	res, err := c.EnsureSubscriptions(ctx, hookAddr, []string{"customer.tags_added", "customer.tags_removed"})
	if err == nil || res.Count(shopify.TopicFailed) != 1 || res.Count(shopify.TopicCreated) != 1 {
		t.Fatalf("got %+v, %v; want one failed, one created, and an error", res, err)
	}
	if !strings.Contains(err.Error(), "customer.tags_added") {
		t.Errorf("error %q does not name the topic", err)
	}

	// When the list fails, every topic fails with it and nothing is created.
	f.set(func() { f.graphqlErrors = "Access denied for webhookSubscriptions field." })
	f.takeCalls()
	res, err = c.EnsureSubscriptions(ctx, hookAddr, []string{"customers/create", "shop/redact"})
	if !errors.As(err, &ge) || res.Topics[0].Status != shopify.TopicFailed || res.Topics[1].Status != shopify.TopicSkipped {
		t.Errorf("failed list: got %+v, %v", res, err)
	}
	if calls := f.takeCalls(); len(calls) != 1 || calls[0] != "GET webhooks.json" {
		t.Errorf("requests %v, want only the REST list", calls)
	}
}

func TestGraphQLThrottledIsRetried(t *testing.T) {
	f := newFakeHooks(t)
	f.throttleNext = 2
	c := f.client(t)
	s, err := c.CreateSubscription(context.Background(), "customer.tags_removed", hookAddr)
	if err != nil || s.Via != shopify.ViaGraphQL {
		t.Fatalf("got %+v, %v", s, err)
	}
	if st := c.Stats(); st.Throttled != 2 {
		t.Errorf("throttled %d, want 2", st.Throttled)
	}
}

func TestRESTRefusedTopicFallsBackToGraphQL(t *testing.T) {
	f := newFakeHooks(t)
	f.restRefuses["customers/enable"] = true
	c := f.client(t)
	s, err := c.CreateSubscription(context.Background(), "customers/enable", hookAddr)
	if err != nil || s.Via != shopify.ViaGraphQL || s.Topic != "customers/enable" {
		t.Fatalf("got %+v, %v", s, err)
	}
	if diff := cmp.Diff(f.takeCalls(), []string{"POST webhooks.json", "graphql create"}); diff != "" {
		t.Errorf("requests (-got +want):\n%s", diff)
	}
}

func TestListSubscriptionsMergesAndPaginates(t *testing.T) {
	for _, version := range []string{"2024-04", "2025-10"} {
		t.Run(version, func(t *testing.T) {
			f := newFakeHooks(t)
			f.version, f.wantURI, f.pageSize = version, version >= "2025-10", 2
			c := f.client(t)
			ctx := context.Background()
			for _, topic := range shopify.SubscriptionTopics() {
				if _, err := c.CreateSubscription(ctx, topic, hookAddr); err != nil {
					t.Fatal(err)
				}
			}
			f.takeCalls()
			got, err := c.ListSubscriptions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			calls := f.takeCalls()
			if n := strings.Count(strings.Join(calls, ","), "GET webhooks.json"); n != 4 {
				t.Errorf("%d REST pages, want 4 (7 subscriptions, 2 a page): %v", n, calls)
			}
			if n := strings.Count(strings.Join(calls, ","), "graphql list"); n != 5 {
				t.Errorf("%d GraphQL pages, want 5: %v", n, calls)
			}
			var topics []string
			for _, s := range got {
				topics = append(topics, s.Topic)
				wantVia := shopify.ViaREST
				if restOnlyHidden(s.Topic) {
					wantVia = shopify.ViaGraphQL
				}
				if s.Via != wantVia || s.Address != hookAddr || s.APIVersion != "2025-07" || s.Format != "json" ||
					s.GID != fmt.Sprintf("gid://shopify/WebhookSubscription/%d", s.ID) {
					t.Errorf("got %+v", s)
				}
			}
			want := shopify.SubscriptionTopics()
			sort.Strings(want)
			if diff := cmp.Diff(topics, want); diff != "" {
				t.Errorf("topics (-got +want):\n%s", diff)
			}
		})
	}
}

func TestGraphQLTopic(t *testing.T) {
	for topic, want := range map[string]string{
		"customers/create":                         "CUSTOMERS_CREATE",
		"customers/purchasing_summary":             "CUSTOMERS_PURCHASING_SUMMARY",
		"customer.tags_added":                      "CUSTOMER_TAGS_ADDED",
		"customer.tags_removed":                    "CUSTOMER_TAGS_REMOVED",
		"customers_email_marketing_consent/update": "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE",
		"customers_marketing_consent/update":       "CUSTOMERS_MARKETING_CONSENT_UPDATE",
	} {
		if got := shopify.GraphQLTopic(topic); got != want {
			t.Errorf("GraphQLTopic(%q) = %q, want %q", topic, got, want)
		}
	}
}

func TestValidateWebhookAddress(t *testing.T) {
	tests := []struct {
		name, address string
		ok            bool
	}{
		{"https", "https://sync.example.com/webhooks", true},
		{"https with port and query", "https://sync.example.com:8443/webhooks?shop=acme", true},
		{"http loopback", "http://127.0.0.1:9000/webhooks", true},
		{"http localhost", "http://localhost:9000/webhooks", true},
		{"http ipv6 loopback", "http://[::1]:9000/webhooks", true},
		{"http public", "http://sync.example.com/webhooks", false},
		{"relative", "/webhooks", false},
		{"no scheme", "sync.example.com/webhooks", false},
		{"ftp", "ftp://sync.example.com/webhooks", false},
		{"credentials", "https://user:secret@sync.example.com/webhooks", false},
		{"fragment", "https://sync.example.com/webhooks#x", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := shopify.ValidateWebhookAddress(tt.address)
			if (err == nil) != tt.ok {
				t.Errorf("got %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestEnsureRefusesBadInput(t *testing.T) {
	f := newFakeHooks(t)
	c := f.client(t)
	if _, err := c.EnsureSubscriptions(context.Background(), "http://sync.example.com/webhooks", shopify.SubscriptionTopics()); err == nil {
		t.Error("an http address was accepted")
	}
	res, err := c.EnsureSubscriptions(context.Background(), hookAddr, []string{"Customers Update"})
	if err == nil || res.Count(shopify.TopicFailed) != 1 {
		t.Errorf("a malformed topic: got %+v, %v", res, err)
	}
	// Only compliance topics: nothing to ask Shopify.
	res, err = c.EnsureSubscriptions(context.Background(), hookAddr, shopify.ComplianceTopics())
	if err != nil || res.Count(shopify.TopicSkipped) != 3 {
		t.Errorf("compliance only: got %+v, %v", res, err)
	}
	if calls := f.takeCalls(); len(calls) != 2 { // the list for the malformed topic
		t.Errorf("requests %v, want only one list", calls)
	}
}
