package shopifytest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func ptr[T any](v T) *T { return &v }

// bigCustomer has ids above 2^53 that float64 would round.
func bigCustomer() shopifytest.Customer {
	return shopifytest.Customer{
		ID: 9007199254740993, Email: ptr("bob@biller.com"), Phone: ptr("+16135550123"),
		CreatedAt: "2021-12-31T19:00:00-05:00", UpdatedAt: "2024-04-02T09:23:53-05:00",
		FirstName: ptr("Léon"), LastName: ptr("Noël 🎉"), OrdersCount: 3, State: "enabled", TotalSpent: "123456.78",
		LastOrderID: ptr(int64(820982911946154509)), LastOrderName: ptr("#9999"), Tags: "VIP, Léon, 常連",
		Currency: "EUR", VerifiedEmail: true,
		EmailMarketingConsent: &shopifytest.EmailConsent{State: "subscribed", OptInLevel: ptr("confirmed_opt_in"),
			ConsentUpdatedAt: ptr("2024-04-02T09:23:53-05:00")},
		SMSMarketingConsent: &shopifytest.SMSConsent{State: "not_subscribed", OptInLevel: ptr("single_opt_in"),
			ConsentCollectedFrom: "SHOPIFY"},
		DefaultAddress: &shopifytest.Address{ID: 9120000000000001, City: ptr("Ottawa"), Default: true},
		Addresses:      []shopifytest.Address{{ID: 9120000000000001, City: ptr("Ottawa"), Default: true}},
	}
}

// keys returns a JSON object's keys, sorted.
func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return slices.Sorted(maps.Keys(m))
}

var removed = []string{"email_marketing_consent", "last_order_id", "last_order_name", "orders_count",
	"sms_marketing_consent", "tags", "total_spent"}

func TestCustomerPayloadGenerations(t *testing.T) {
	t.Parallel()
	sim := newSim(t, shopifytest.Options{})
	c := bigCustomer()
	sim.Upsert(c)
	rest := fetch(t, fmt.Sprintf("%s/admin/api/2024-04/customers/%d.json", sim.URL, c.ID), token)
	var wrapped struct {
		Customer json.RawMessage `json:"customer"`
	}
	rest.decode(t, &wrapped)
	restKeys := keys(t, wrapped.Customer)

	full, err := shopifytest.CustomerPayload(c, shopifytest.Gen2024_04)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(full, wrapped.Customer) {
		t.Errorf("2024-04 payload differs from the REST customer:\n got %s\nwant %s", full, wrapped.Customer)
	}
	cut, err := shopifytest.CustomerPayload(c, shopifytest.Gen2025_01)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.DeleteFunc(slices.Clone(restKeys), func(k string) bool { return slices.Contains(removed, k) })
	if got := keys(t, cut); !slices.Equal(got, want) {
		t.Errorf("2025-01 keys:\n got %v\nwant %v", got, want)
	}
	for _, k := range removed {
		if !slices.Contains(restKeys, k) {
			t.Errorf("REST customer lacks %s", k)
		}
	}

	// Big ids survive byte for byte in both generations and every topic.
	for _, b := range [][]byte{full, cut} {
		if !bytes.Contains(b, []byte(`"id":9007199254740993`)) || !bytes.Contains(b, []byte(`"id":9120000000000001`)) {
			t.Errorf("ids not exact in %s", b)
		}
	}
	if !bytes.Contains(full, []byte(`"last_order_id":820982911946154509`)) || !bytes.Contains(full, []byte(`"total_spent":"123456.78"`)) {
		t.Errorf("order id or money not exact in %s", full)
	}

	// The topics built from the customer object follow the generation.
	for _, topic := range []string{"customers/create", "customers/update", "customers/enable", "customers/disable"} {
		for _, gen := range []shopifytest.Generation{shopifytest.Gen2024_04, shopifytest.Gen2025_01} {
			d, err := shopifytest.CustomerDelivery(topic, c, gen)
			if err != nil || d.Topic != topic {
				t.Fatalf("%s %s: %v", topic, gen, err)
			}
			wantBody := map[shopifytest.Generation][]byte{shopifytest.Gen2024_04: full, shopifytest.Gen2025_01: cut}[gen]
			if !bytes.Equal(d.Body, wantBody) {
				t.Errorf("%s %s: body differs from CustomerPayload", topic, gen)
			}
		}
	}
	if _, err := shopifytest.CustomerDelivery("customers/redact", c, shopifytest.Gen2025_01); err == nil {
		t.Error("customers/redact from a customer alone: no error")
	}
}

func TestTopicPayloads(t *testing.T) {
	t.Parallel()
	c := bigCustomer()
	bare := shopifytest.Customer{ID: 706405506930370084, TotalSpent: "0.00", Currency: "USD",
		UpdatedAt: "2005-05-05T01:00:00-04:00"}
	at := time.Date(2005, 5, 5, 1, 0, 0, 0, time.FixedZone("EDT", -4*3600))
	build := func(topic string, c shopifytest.Customer) shopifytest.Delivery {
		d, err := shopifytest.CustomerDelivery(topic, c, shopifytest.Gen2025_01)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tags := func(topic string, tags []string) shopifytest.Delivery {
		d, err := shopifytest.TagsDelivery(topic, c.ID, tags, at)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tt := range []struct {
		name  string
		d     shopifytest.Delivery
		topic string
		want  string
	}{
		{"delete", build("customers/delete", c), "customers/delete",
			`{"id":9007199254740993,"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/9007199254740993"}`},
		{"email consent", build("customers_email_marketing_consent/update", c), "customers_email_marketing_consent/update",
			`{"customer_id":9007199254740993,"email_address":"bob@biller.com","email_marketing_consent":{"state":"subscribed","opt_in_level":"confirmed_opt_in","consent_updated_at":"2024-04-02T09:23:53-05:00"}}`},
		{"email consent none", build("customers_email_marketing_consent/update", bare), "customers_email_marketing_consent/update",
			`{"customer_id":706405506930370084,"email_address":null,"email_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null}}`},
		{"sms consent lower case", build("customers_marketing_consent/update", c), "customers_marketing_consent/update",
			`{"id":9007199254740993,"phone":"+16135550123","sms_marketing_consent":{"state":"not_subscribed","opt_in_level":"single_opt_in","consent_updated_at":null,"consent_collected_from":"shopify"}}`},
		{"sms consent none (docs sample)", build("customers_marketing_consent/update", bare), "customers_marketing_consent/update",
			`{"id":706405506930370084,"phone":null,"sms_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null,"consent_collected_from":"other"}}`},
		{"purchasing summary", shopifytest.PurchasingSummaryDelivery(c, at), "customers/purchasing_summary",
			`{"customerId":"gid://shopify/Customer/9007199254740993","numberOfOrders":3,"amountSpent":{"amount":"123456.78","currencyCode":"EUR"},"lastOrderId":"gid://shopify/Order/820982911946154509","occurredAt":"2005-05-05T05:00:00.000Z"}`},
		{"purchasing summary, no order, from the customer", build("customers/purchasing_summary", bare), "customers/purchasing_summary",
			`{"customerId":"gid://shopify/Customer/706405506930370084","numberOfOrders":0,"amountSpent":{"amount":"0.00","currencyCode":"USD"},"lastOrderId":null,"occurredAt":"2005-05-05T05:00:00.000Z"}`},
		{"tags added", tags("customer.tags_added", []string{"VIP", "常連"}), "customer.tags_added",
			`{"customerId":"gid://shopify/Customer/9007199254740993","tags":["VIP","常連"],"occurredAt":"2005-05-05T05:00:00.000Z"}`},
		{"tags removed", tags("customer.tags_removed", nil), "customer.tags_removed",
			`{"customerId":"gid://shopify/Customer/9007199254740993","tags":[],"occurredAt":"2005-05-05T05:00:00.000Z"}`},
		{"customers/redact", shopifytest.CustomersRedactDelivery(954889, "acme.myshopify.com", c, []int64{299938, 9007199254740995}),
			"customers/redact",
			`{"shop_id":954889,"shop_domain":"acme.myshopify.com","customer":{"id":9007199254740993,"email":"bob@biller.com","phone":"+16135550123"},"orders_to_redact":[299938,9007199254740995]}`},
		{"shop/redact", shopifytest.ShopRedactDelivery(954889, "acme.myshopify.com"), "shop/redact",
			`{"shop_id":954889,"shop_domain":"acme.myshopify.com"}`},
		{"customers/data_request", shopifytest.DataRequestDelivery(954889, "acme.myshopify.com", bare, nil, 9999),
			"customers/data_request",
			`{"shop_id":954889,"shop_domain":"acme.myshopify.com","orders_requested":[],"customer":{"id":706405506930370084,"email":null,"phone":null},"data_request":{"id":9999}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.d.Topic != tt.topic || string(tt.d.Body) != tt.want {
				t.Errorf("got %s %s\nwant %s %s", tt.d.Topic, tt.d.Body, tt.topic, tt.want)
			}
		})
	}
	if _, err := shopifytest.TagsDelivery("customers/update", 1, nil, at); err == nil {
		t.Error("TagsDelivery took a non-tags topic")
	}
}
