package shopifytest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

const whSecret = "whsec_client_secret"

// subscribeREST subscribes address to topic over REST.
func subscribeREST(t *testing.T, sim *shopifytest.Server, topic, address string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"webhook": map[string]string{"topic": topic, "address": address, "format": "json"}})
	if r := send(t, http.MethodPost, sim.URL+"/admin/api/2024-04/webhooks.json", string(b)); r.status != http.StatusCreated {
		t.Fatalf("subscribe %s: %d %s", topic, r.status, r.body)
	}
}

// subscribeGraphQL subscribes address to a topic enum over GraphQL.
func subscribeGraphQL(t *testing.T, sim *shopifytest.Server, topic, address string) {
	t.Helper()
	r, _ := graphql(t, sim, createMutation, map[string]any{"topic": topic, "webhookSubscription": map[string]any{"callbackUrl": address}})
	if !strings.Contains(string(r.body), `"userErrors":[]`) {
		t.Fatalf("subscribe %s: %s", topic, r.body)
	}
}

func flush(t *testing.T, sim *shopifytest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sim.FlushWebhooks(ctx); err != nil {
		t.Fatalf("FlushWebhooks: %v", err)
	}
}

func topics(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.topic())
	}
	slices.Sort(out)
	return out
}

func TestAutoDelivery(t *testing.T) {
	t.Parallel()
	for _, gen := range []shopifytest.Generation{shopifytest.Gen2025_01, shopifytest.Gen2024_04} {
		t.Run(gen.String(), func(t *testing.T) {
			t.Parallel()
			sim := newSim(t, shopifytest.Options{WebhookSecret: whSecret, WebhookGeneration: gen,
				ShopDomain: "acme.myshopify.com", WebhookAPIVersion: "2025-07"})
			rc := newReceiver(t, whSecret, nil)
			c := bigCustomer()
			sim.Upsert(c) // no subscription yet: nothing to send
			for _, topic := range []string{"customers/create", "customers/update", "customers/delete", "customers/enable",
				"customers/disable", "customers_email_marketing_consent/update", "customers_marketing_consent/update"} {
				subscribeREST(t, sim, topic, rc.URL)
			}
			for _, topic := range []string{"CUSTOMER_TAGS_ADDED", "CUSTOMER_TAGS_REMOVED", "CUSTOMERS_PURCHASING_SUMMARY"} {
				subscribeGraphQL(t, sim, topic, rc.URL)
			}
			flush(t, sim)
			if n := len(rc.deliveries()); n != 0 {
				t.Fatalf("%d deliveries before any change", n)
			}

			// Creation.
			c.ID++
			sim.Upsert(c)
			flush(t, sim)
			got := rc.deliveries()
			want := []string{"customer.tags_added", "customers/create", "customers/purchasing_summary",
				"customers_email_marketing_consent/update", "customers_marketing_consent/update"}
			if !slices.Equal(topics(got), want) {
				t.Fatalf("on create: %v, want %v", topics(got), want)
			}
			ids := map[string]bool{}
			for _, r := range got {
				h := r.header
				if !r.valid || h.Get("X-Shopify-Shop-Domain") != "acme.myshopify.com" || h.Get("X-Shopify-API-Version") != "2025-07" ||
					h.Get("X-Shopify-Event-Id") != got[0].header.Get("X-Shopify-Event-Id") || !uuidRE.MatchString(h.Get("X-Shopify-Event-Id")) ||
					!triggeredAtRE.MatchString(h.Get("X-Shopify-Triggered-At")) || h.Get("Content-Type") != "application/json" {
					t.Errorf("%s: valid %v, headers %v", r.topic(), r.valid, h)
				}
				ids[h.Get("X-Shopify-Webhook-Id")] = true
			}
			if len(ids) != len(got) {
				t.Errorf("%d webhook ids for %d deliveries", len(ids), len(got))
			}
			create := rc.byTopic("customers/create")[0]
			fields, _ := shopifytest.CustomerPayload(c, gen)
			if string(create.body) != string(fields) {
				t.Errorf("create body:\n got %s\nwant %s", create.body, fields)
			}
			if id := create.decode(t)["id"]; id != json.Number("9007199254740994") {
				t.Errorf("create id %v, want 9007199254740994 exactly", id)
			}
			hasTags := strings.Contains(string(create.body), `"tags":`)
			if hasTags != (gen == shopifytest.Gen2024_04) {
				t.Errorf("generation %s: tags in create payload %v", gen, hasTags)
			}
			if !strings.Contains(string(rc.byTopic("customer.tags_added")[0].body), `"tags":["VIP","Léon","常連"]`) {
				t.Errorf("tags_added: %s", rc.byTopic("customer.tags_added")[0].body)
			}

			// An identical upsert sends nothing; a change sends its topics.
			sim.Upsert(c)
			sim.Update(c.ID, func(c *shopifytest.Customer) {
				c.Tags = "VIP, nouveau"
				c.State = "disabled"
				c.EmailMarketingConsent.State = "unsubscribed"
			})
			flush(t, sim)
			got = rc.deliveries()[len(got):]
			want = []string{"customer.tags_added", "customer.tags_removed", "customers/disable", "customers/update",
				"customers_email_marketing_consent/update"}
			if !slices.Equal(topics(got), want) {
				t.Fatalf("on update: %v, want %v", topics(got), want)
			}
			for _, r := range got {
				if r.topic() == "customer.tags_removed" && !strings.Contains(string(r.body), `"tags":["Léon","常連"]`) ||
					r.topic() == "customer.tags_added" && !strings.Contains(string(r.body), `"tags":["nouveau"]`) ||
					r.topic() == "customers_email_marketing_consent/update" && !strings.Contains(string(r.body), `"state":"unsubscribed"`) {
					t.Errorf("%s: %s", r.topic(), r.body)
				}
			}

			// Deletion.
			before := len(rc.deliveries())
			sim.Delete(c.ID)
			flush(t, sim)
			got = rc.deliveries()[before:]
			if len(got) != 1 || got[0].topic() != "customers/delete" ||
				string(got[0].body) != `{"id":9007199254740994,"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/9007199254740994"}` {
				t.Errorf("on delete: %v", got)
			}
			st := sim.WebhookStats()
			if st.Sent != int64(len(rc.deliveries())) || st.Failed != 0 || st.ByTopic["customers/update"].Sent != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestAutoDeliveryRetries(t *testing.T) {
	t.Parallel()
	sim := newSim(t, shopifytest.Options{Customers: 3, WebhookSecret: whSecret, WebhookBackoff: time.Millisecond})
	rc := newReceiver(t, whSecret, func(n int, r received) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	subscribeREST(t, sim, "customers/update", rc.URL)
	id := sim.CustomerIDs()[1]
	sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptr("retry me") })
	flush(t, sim)
	got := rc.deliveries()
	if len(got) != 2 || got[0].header.Get("X-Shopify-Webhook-Id") != got[1].header.Get("X-Shopify-Webhook-Id") ||
		string(got[0].body) != string(got[1].body) || got[0].header.Get("X-Shopify-Triggered-At") != got[1].header.Get("X-Shopify-Triggered-At") {
		t.Fatalf("want the same delivery twice, got %d: %v", len(got), got)
	}
	st := sim.WebhookStats()
	if want := (shopifytest.WebhookCounts{Sent: 1, Failed: 1, Retried: 1}); st.ByTopic["customers/update"] != want || st.WebhookCounts != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if subs := sim.Subscriptions(); len(subs) != 1 || subs[0].Failures != 0 {
		t.Errorf("subscriptions %+v: want one, its failures reset", subs)
	}
}

func TestAutoDeliveryDeletesFailingSubscription(t *testing.T) {
	t.Parallel()
	sim := newSim(t, shopifytest.Options{Customers: 3, WebhookSecret: whSecret, WebhookBackoff: time.Millisecond})
	dead := newReceiver(t, whSecret, func(int, received) int { return http.StatusServiceUnavailable })
	healthy := newReceiver(t, whSecret, nil)
	subscribeGraphQL(t, sim, "CUSTOMERS_UPDATE", dead.URL)
	subscribeREST(t, sim, "customers/update", healthy.URL)
	sim.Update(sim.CustomerIDs()[0], func(c *shopifytest.Customer) { c.Note = ptr("one") })
	flush(t, sim)
	if n := len(dead.deliveries()); n != 8 {
		t.Errorf("dead endpoint got %d attempts, want 8", n)
	}
	subs := sim.Subscriptions()
	if len(subs) != 1 || subs[0].Address != healthy.URL {
		t.Fatalf("subscriptions %+v: want only the healthy one", subs)
	}
	st := sim.WebhookStats()
	if st.SubscriptionsRemoved != 1 || st.Failed != 8 || st.Retried != 7 || st.Dropped != 1 || st.Sent != 1 {
		t.Errorf("stats %+v", st)
	}
	// Later changes go only to the healthy subscription.
	sim.Update(sim.CustomerIDs()[0], func(c *shopifytest.Customer) { c.Note = ptr("two") })
	flush(t, sim)
	if len(dead.deliveries()) != 8 || len(healthy.deliveries()) != 2 {
		t.Errorf("dead %d, healthy %d deliveries", len(dead.deliveries()), len(healthy.deliveries()))
	}
}

// goroutines counts the goroutines running simulator delivery code.
func goroutines() (int, string) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "shopifytest.(*Server).dispatch") || strings.Contains(g, "shopifytest.(*Server).startDelivery") ||
			strings.Contains(g, "shopifytest.(*Server).attempt") {
			n++
		}
	}
	return n, string(buf)
}

// Not parallel: it counts every goroutine of the process.
func TestWebhookCloseStopsDelivery(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	base := runtime.NumGoroutine()

	slow := newReceiver(t, whSecret, nil)
	slow.hold = 3 * time.Second
	failing := newReceiver(t, whSecret, func(int, received) int { return http.StatusBadGateway })
	sim := shopifytest.NewServer(shopifytest.Options{Token: token, Customers: 20, WebhookSecret: whSecret,
		WebhookBackoff: time.Minute})
	subscribeREST(t, sim, "customers/update", slow.URL)
	subscribeREST(t, sim, "customers/delete", failing.URL)
	sim.Delete(sim.CustomerIDs()[15])
	for _, id := range sim.CustomerIDs()[:10] {
		sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptr("x") })
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(failing.deliveries()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n, _ := goroutines(); n == 0 {
		t.Fatal("no delivery goroutine before Close")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := sim.FlushWebhooks(ctx); err == nil {
		t.Error("FlushWebhooks returned with deliveries in flight and a retry a minute away")
	}

	start := time.Now()
	sim.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s with deliveries in flight", d)
	}
	if err := sim.FlushWebhooks(context.Background()); err != nil {
		t.Errorf("FlushWebhooks after Close: %v", err)
	}
	sim.Upsert(sim.Generate(1, 1)[0]) // after Close: queues nothing, starts nothing
	http.DefaultClient.CloseIdleConnections()

	deadline = time.Now().Add(5 * time.Second)
	for {
		n, stacks := goroutines()
		if n == 0 && runtime.NumGoroutine() <= base+4 { // + the two receivers' listeners and conns
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d delivery goroutines, %d in all (base %d) after Close:\n%s", n, runtime.NumGoroutine(), base, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
