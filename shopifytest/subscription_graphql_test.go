package shopifytest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

// FuzzGraphQL feeds queries to the GraphQL endpoint: it must never panic
// and always answer 200 with JSON holding data or errors.
func FuzzGraphQL(f *testing.F) {
	for _, q := range []string{
		createMutation, listQuery,
		`mutation { webhookSubscriptionCreate(topic: CUSTOMERS_UPDATE, webhookSubscription: {callbackUrl: "https://a.example/x", format: JSON}) { userErrors { field message } webhookSubscription { id } } }`,
		`query q($after: String = null) { webhookSubscriptions(first: 3, after: $after, topics: [CUSTOMERS_UPDATE]) { ...c } } fragment c on WebhookSubscriptionConnection { nodes { id } }`,
		`{ webhookSubscription(id: "gid://shopify/WebhookSubscription/1") { id } }`,
		`{ __typename a: webhookSubscriptions(first: 1) { edges { cursor node { __typename endpoint { __typename } } } } }`,
		`mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") { deletedWebhookSubscriptionId } }`,
		`{ x(s: """block "quoted" string""", f: -1.5e3, u: "\u00e9\n") @skip(if: true) { y } }`,
		`{`, `}`, `"`, `query ($x: [Int!]!) { y }`, `{ a(b: [[[[1]]]]) }`, strings.Repeat("[", 200),
	} {
		f.Add(q, `{"topic":"CUSTOMERS_UPDATE","webhookSubscription":{"callbackUrl":"https://a.example/x"}}`)
	}
	sim := shopifytest.NewHandler(shopifytest.Options{Token: token})
	f.Fuzz(func(t *testing.T, query, vars string) {
		var v map[string]any
		if json.Unmarshal([]byte(vars), &v) != nil {
			v = nil
		}
		body, _ := json.Marshal(map[string]any{"query": query, "variables": v})
		req := httptest.NewRequest(http.MethodPost, "http://acme.myshopify.com/admin/api/2025-01/graphql.json", strings.NewReader(string(body)))
		req.Header.Set("X-Shopify-Access-Token", token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if query == "" {
			if w.Code != http.StatusBadRequest {
				t.Errorf("empty query: %d", w.Code)
			}
			return
		}
		var out map[string]json.RawMessage
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("%q: %d %s", query, w.Code, w.Body)
		}
		if (out["data"] == nil) == (out["errors"] == nil) {
			t.Errorf("%q: want data or errors: %s", query, w.Body)
		}
	})
}
