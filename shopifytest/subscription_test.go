package shopifytest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

// send makes a request with the access token and a JSON body.
func send(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Shopify-Access-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// restWebhook is how a client decodes a REST webhook.
type restWebhook struct {
	ID         int64    `json:"id"`
	Address    string   `json:"address"`
	Topic      string   `json:"topic"`
	Format     string   `json:"format"`
	APIVersion string   `json:"api_version"`
	CreatedAt  string   `json:"created_at"`
	Fields     []string `json:"fields"`
}

func TestRESTSubscriptions(t *testing.T) {
	t.Parallel()
	sim := newSim(t, shopifytest.Options{BucketSize: 40, LeakRate: 2, WebhookAPIVersion: "2025-07"})
	base := sim.URL + "/admin/api/2024-04/webhooks"
	create := func(topic, address string) response {
		b, _ := json.Marshal(map[string]any{"webhook": map[string]string{"topic": topic, "address": address, "format": "json"}})
		return send(t, http.MethodPost, base+".json", string(b))
	}

	r := create("customers/update", "https://app.example.com/webhooks")
	if r.status != http.StatusCreated || r.header.Get("X-Shopify-Shop-Api-Call-Limit") == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct{ Webhook restWebhook }
	r.decode(t, &created)
	wh := created.Webhook
	if wh.ID == 0 || wh.Topic != "customers/update" || wh.Address != "https://app.example.com/webhooks" ||
		wh.Format != "json" || wh.APIVersion != "2025-07" || !shopifyTimeRE.MatchString(wh.CreatedAt) || wh.Fields == nil {
		t.Errorf("created %+v (%s)", wh, r.body)
	}
	for _, k := range []string{"id", "address", "topic", "created_at", "updated_at", "format", "fields",
		"metafield_namespaces", "api_version", "private_metafield_namespaces"} {
		if !bytes.Contains(r.body, []byte(`"`+k+`":`)) {
			t.Errorf("created webhook lacks %s: %s", k, r.body)
		}
	}

	for _, tt := range []struct {
		name, topic, address string
		status               int
		body                 string
	}{
		{"duplicate", "customers/update", "https://app.example.com/webhooks", 422,
			`{"errors":{"address":["for this topic has already been taken"]}}`},
		{"same address, other topic", "customers/create", "https://app.example.com/webhooks", 201, ""},
		{"loopback http for tests", "customers/delete", "http://127.0.0.1:9/hook", 201, ""},
		{"plain http", "customers/delete", "http://app.example.com/hook", 422,
			`{"errors":{"address":["protocol http:// is not supported"]}}`},
		{"blank address", "customers/delete", "", 422, `{"errors":{"address":["can't be blank"]}}`},
		{"tags over REST", "customer.tags_added", "https://app.example.com/webhooks", 422, "Invalid topic specified: customer.tags_added."},
		{"purchasing summary over REST", "customers/purchasing_summary", "https://app.example.com/webhooks", 422, "Invalid topic specified"},
		{"compliance", "customers/redact", "https://app.example.com/webhooks", 422, "Invalid topic specified"},
		{"shop/redact", "shop/redact", "https://app.example.com/webhooks", 422, "Invalid topic specified"},
		{"data_request", "customers/data_request", "https://app.example.com/webhooks", 422, "Invalid topic specified"},
		{"no topic", "", "https://app.example.com/webhooks", 422, `{"errors":{"topic":["can't be blank"]}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := create(tt.topic, tt.address)
			if r.status != tt.status || !strings.Contains(string(r.body), tt.body) {
				t.Errorf("got %d %s, want %d %s", r.status, r.body, tt.status, tt.body)
			}
		})
	}
	if r := send(t, http.MethodPost, base+".json", `{"topic":"customers/update"}`); r.status != http.StatusBadRequest {
		t.Errorf("no webhook root: %d %s", r.status, r.body)
	}

	var list struct{ Webhooks []restWebhook }
	fetch(t, base+".json", token).decode(t, &list)
	if len(list.Webhooks) != 3 || len(sim.Subscriptions()) != 3 {
		t.Fatalf("list: %+v", list.Webhooks)
	}
	fetch(t, base+".json?topic=customers/create", token).decode(t, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Topic != "customers/create" {
		t.Errorf("filtered list: %+v", list.Webhooks)
	}
	if r := fetch(t, base+"/count.json", token); string(r.body) != `{"count":3}` {
		t.Errorf("count: %s", r.body)
	}
	one := fetch(t, base+"/"+itoa(wh.ID)+".json", token)
	if one.status != 200 || !strings.Contains(string(one.body), `"id":`+itoa(wh.ID)) {
		t.Errorf("get: %d %s", one.status, one.body)
	}

	if r := send(t, http.MethodDelete, base+"/"+itoa(wh.ID)+".json", ""); r.status != 200 || string(r.body) != "{}" {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := send(t, http.MethodDelete, base+"/"+itoa(wh.ID)+".json", ""); r.status != 404 {
		t.Errorf("delete again: %d", r.status)
	}
	if len(sim.Subscriptions()) != 2 || !sim.DeleteSubscription(sim.Subscriptions()[0].ID) || len(sim.Subscriptions()) != 1 {
		t.Error("DeleteSubscription")
	}
	if r := send(t, http.MethodPut, base+".json", "{}"); r.status != 404 {
		t.Errorf("PUT webhooks.json: %d", r.status)
	}
	// Same auth and faults as the customer endpoints.
	if r := fetch(t, base+".json", ""); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	sim.FailNext(1, 503)
	if r := create("customers/enable", "https://app.example.com/x"); r.status != 503 {
		t.Errorf("FailNext: %d", r.status)
	}
	if st := sim.Stats(); st.ByPath["webhooks.json"] == 0 || st.ByPath["webhooks/{id}.json"] != 3 {
		t.Errorf("ByPath %v", st.ByPath)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// graphql posts a GraphQL request and returns the decoded answer.
func graphql(t *testing.T, sim *shopifytest.Server, query string, vars map[string]any) (response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	r := send(t, http.MethodPost, sim.URL+"/admin/api/2025-01/graphql.json", string(b))
	var out map[string]any
	if r.status == 200 {
		r.decode(t, &out)
	}
	return r, out
}

const createMutation = `mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic format endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}`

// listQuery is shopify-app-js's TEMPLATE_GET_HANDLERS, with an alias.
const listQuery = `query shopifyApiReadWebhookSubscriptions {
  subs: webhookSubscriptions(first: 250, after: null) {
    edges { node { id topic includeFields metafieldNamespaces filter
      endpoint { __typename ... on WebhookHttpEndpoint { callbackUrl } ... on WebhookEventBridgeEndpoint { arn }
        ... on WebhookPubSubEndpoint { pubSubProject pubSubTopic } } } }
    pageInfo { endCursor hasNextPage }
  }
}`

func TestGraphQLSubscriptions(t *testing.T) {
	t.Parallel()
	sim := newSim(t, shopifytest.Options{BucketSize: 40, LeakRate: 2})
	input := func(url string) map[string]any {
		return map[string]any{"callbackUrl": url, "format": "JSON"}
	}

	r, _ := graphql(t, sim, createMutation, map[string]any{"topic": "CUSTOMER_TAGS_ADDED", "webhookSubscription": input("https://app.example.com/tags")})
	want := `{"data":{"webhookSubscriptionCreate":{"webhookSubscription":{"id":"gid://shopify/WebhookSubscription/`
	if r.status != 200 || !strings.HasPrefix(string(r.body), want) || r.header.Get("X-Shopify-Shop-Api-Call-Limit") != "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"topic":"CUSTOMER_TAGS_ADDED","format":"JSON","endpoint":{"__typename":"WebhookHttpEndpoint","callbackUrl":"https://app.example.com/tags"}},"userErrors":[]}}`) ||
		!strings.Contains(string(r.body), `"extensions":{"cost":`) {
		t.Errorf("create answer: %s", r.body)
	}

	for _, tt := range []struct {
		name  string
		vars  map[string]any
		query string
		want  string
	}{
		{"duplicate", map[string]any{"topic": "CUSTOMER_TAGS_ADDED", "webhookSubscription": input("https://app.example.com/tags")}, createMutation,
			`{"data":{"webhookSubscriptionCreate":{"webhookSubscription":null,"userErrors":[{"field":["webhookSubscription","callbackUrl"],"message":"Address for this topic has already been taken"}]}}`},
		{"blank url", map[string]any{"topic": "CUSTOMERS_UPDATE", "webhookSubscription": input("")}, createMutation,
			`"userErrors":[{"field":["webhookSubscription","callbackUrl"],"message":"Address can't be blank"}]`},
		{"compliance topic", map[string]any{"topic": "CUSTOMERS_REDACT", "webhookSubscription": input("https://app.example.com/x")}, createMutation,
			`{"errors":[{"message":"Variable $topic of type WebhookSubscriptionTopic! was provided invalid value"`},
		{"REST name as topic", map[string]any{"topic": "customers/update", "webhookSubscription": input("https://app.example.com/x")}, createMutation,
			`was provided invalid value`},
		{"inline arguments (shopify-app-js style)", nil,
			`mutation { webhookSubscriptionCreate(topic: CUSTOMERS_PURCHASING_SUMMARY, webhookSubscription: {callbackUrl: "https://app.example.com/p"}) { userErrors { field message } } }`,
			`{"data":{"webhookSubscriptionCreate":{"userErrors":[]}}`},
		{"inline bad enum", nil,
			`mutation { webhookSubscriptionCreate(topic: SHOP_REDACT, webhookSubscription: {callbackUrl: "https://app.example.com/p"}) { userErrors { message } } }`,
			`"Argument 'topic' on Field 'webhookSubscriptionCreate' has an invalid value (SHOP_REDACT). Expected type 'WebhookSubscriptionTopic!'."`},
		{"uri input", map[string]any{"topic": "CUSTOMERS_CREATE", "webhookSubscription": map[string]any{"uri": "https://app.example.com/u"}},
			`mutation c($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) { webhookSubscription { uri legacyResourceId apiVersion { handle } } } }`,
			`{"data":{"webhookSubscriptionCreate":{"webhookSubscription":{"uri":"https://app.example.com/u","legacyResourceId":"`},
		{"unknown field", nil, `{ webhookSubscriptions(first: 5) { edges { node { id colour } } } }`,
			`{"errors":[{"message":"Field 'colour' doesn't exist on type 'WebhookSubscription'","locations":[{"line":1,"column":54}]}]`},
		{"missing argument", nil, `mutation { webhookSubscriptionCreate(topic: CUSTOMERS_CREATE) { userErrors { message } } }`,
			`"Field 'webhookSubscriptionCreate' is missing required arguments: webhookSubscription"`},
		{"syntax error", nil, `{ webhookSubscriptions(first: 5 { id } }`, `{"errors":[{"message":"Parse error on \"{\" at [1, 33]"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := graphql(t, sim, tt.query, tt.vars)
			if r.status != 200 || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("got %d %s\nwant %s", r.status, r.body, tt.want)
			}
		})
	}
	if n := len(sim.Subscriptions()); n != 3 {
		t.Fatalf("%d subscriptions after the table, want 3 (invalid requests create none)", n)
	}

	// A REST subscription shows in GraphQL and GraphQL ones in REST.
	send(t, http.MethodPost, sim.URL+"/admin/api/2025-01/webhooks.json",
		`{"webhook":{"topic":"customers/delete","address":"https://app.example.com/d","format":"json"}}`)
	_, out := graphql(t, sim, listQuery, nil)
	data := out["data"].(map[string]any)["subs"].(map[string]any)
	edges := data["edges"].([]any)
	if len(edges) != 4 || data["pageInfo"].(map[string]any)["hasNextPage"] != false {
		t.Fatalf("list: %v", out)
	}
	node := edges[3].(map[string]any)["node"].(map[string]any)
	if node["topic"] != "CUSTOMERS_DELETE" || node["endpoint"].(map[string]any)["callbackUrl"] != "https://app.example.com/d" ||
		len(node) != 6 {
		t.Errorf("REST-made node: %v", node)
	}
	var rest struct{ Webhooks []restWebhook }
	fetch(t, sim.URL+"/admin/api/2025-01/webhooks.json", token).decode(t, &rest)
	if len(rest.Webhooks) != 4 || rest.Webhooks[0].Topic != "customer.tags_added" || rest.Webhooks[1].Topic != "customers/purchasing_summary" {
		t.Errorf("REST list: %+v", rest.Webhooks)
	}

	// Paging with first/after, fragments, and delete by GraphQL id.
	const page = `query p($after: String) { webhookSubscriptions(first: 3, after: $after) { ...conn } }
fragment conn on WebhookSubscriptionConnection { nodes { id } pageInfo { hasNextPage endCursor } }`
	_, out = graphql(t, sim, page, nil)
	conn := out["data"].(map[string]any)["webhookSubscriptions"].(map[string]any)
	info := conn["pageInfo"].(map[string]any)
	if len(conn["nodes"].([]any)) != 3 || info["hasNextPage"] != true {
		t.Fatalf("page 1: %v", out)
	}
	_, out = graphql(t, sim, page, map[string]any{"after": info["endCursor"]})
	conn = out["data"].(map[string]any)["webhookSubscriptions"].(map[string]any)
	nodes := conn["nodes"].([]any)
	if len(nodes) != 1 || conn["pageInfo"].(map[string]any)["hasNextPage"] != false {
		t.Fatalf("page 2: %v", out)
	}
	gid := nodes[0].(map[string]any)["id"].(string)
	const del = `mutation d($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } } }`
	if r, _ := graphql(t, sim, del, map[string]any{"id": gid}); !strings.Contains(string(r.body), `"deletedWebhookSubscriptionId":"`+gid+`","userErrors":[]`) {
		t.Errorf("delete: %s", r.body)
	}
	if r, _ := graphql(t, sim, del, map[string]any{"id": gid}); !strings.Contains(string(r.body), `"message":"Webhook subscription does not exist"`) {
		t.Errorf("delete again: %s", r.body)
	}
	if len(sim.Subscriptions()) != 3 {
		t.Errorf("%d subscriptions, want 3", len(sim.Subscriptions()))
	}

	// Auth, method and faults as for REST.
	if r := fetch(t, sim.URL+"/admin/api/2025-01/graphql.json", token); r.status != 404 {
		t.Errorf("GET graphql.json: %d", r.status)
	}
	sim.FailNext(1, 502)
	if r, _ := graphql(t, sim, listQuery, nil); r.status != 502 {
		t.Errorf("FailNext: %d", r.status)
	}
	if r := send(t, http.MethodPost, sim.URL+"/admin/api/2025-01/graphql.json", "not json"); r.status != 400 {
		t.Errorf("bad body: %d %s", r.status, r.body)
	}
}
