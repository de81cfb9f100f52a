package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/webhook"
)

// FuzzDecodeTopics complements FuzzDecode (fuzzed topic strings, which
// rarely hit a real topic): it picks one of webhook.Topics() (or an unknown
// one) by index, so every decoder sees every mutation, and checks that a
// decoded change carries exactly the customer id of the payload: the
// number's digits as sent (never through a float64), or a gid's number.
func FuzzDecodeTopics(f *testing.F) {
	samples := map[string]string{
		shopify.TopicCustomersCreate:      sampleCreate2024,
		shopify.TopicCustomersUpdate:      slimCreate(f),
		shopify.TopicCustomersEnable:      `{"id":9007199254740993,"state":"enabled"}`,
		shopify.TopicCustomersDisable:     `{"ID":9223372036854775807,"state":"disabled"}`,
		shopify.TopicCustomersDelete:      sampleDelete,
		shopify.TopicEmailConsentUpdate:   sampleEmailConsent,
		shopify.TopicSMSConsentUpdate:     sampleSMSConsent,
		shopify.TopicPurchasingSummary:    samplePurchasing,
		shopify.TopicTagsAdded:            sampleTags,
		shopify.TopicTagsRemoved:          `{"customerId":"gid://shopify/Customer/9007199254740993?x=1","tags":[]}`,
		shopify.TopicCustomersRedact:      sampleRedact,
		shopify.TopicShopRedact:           sampleShopRedact,
		shopify.TopicCustomersDataRequest: sampleDataRequest,
	}
	for i, topic := range webhook.Topics() {
		f.Add(uint8(i), []byte(samples[topic]))
	}
	for _, body := range []string{
		``, `null`, `{}`, `[]`, `"x"`, ` {"id":1} `, `{"id":1}{"id":2}`,
		`{"id":1.0}`, `{"id":1e2}`, `{"id":-5}`, `{"id":9223372036854775808}`, `{"id":"12"}`,
		`{"id":1,"id":2}`, `{"id":1,"Id":3}`, `{"customer_id":7,"email_marketing_consent":null}`,
		`{"customerId":"gid://shopify/Customer/00042"}`, `{"customerId":"gid://shopify/Order/42"}`,
		`{"customerId":"gid://shopify/Customer/1","numberOfOrders":"18446744073709551615"}`,
		`{"customerId":"gid://shopify/Customer/1","amountSpent":{"amount":"1e400"}}`,
		`{"customer":{"id":191167},"orders_requested":[1.5]}`,
		"{\"id\":1,\"first_name\":\"\xff\",\"tags\":\"\xc0\x80\"}",
		`{"id":1,"last_order_id":9007199254740993,"orders_count":1}`,
	} {
		f.Add(uint8(0), []byte(body))
		f.Add(uint8(7), []byte(body))
	}
	m := newMapper(f)
	f.Fuzz(func(t *testing.T, topicIndex uint8, body []byte) {
		topic := "orders/create"
		if i := int(topicIndex) % (len(webhook.Topics()) + 1); i < len(webhook.Topics()) {
			topic = webhook.Topics()[i]
		}
		meta := webhook.Meta{Topic: topic, WebhookID: "w", TriggeredAt: triggered}
		ch, err := webhook.Decode(m, meta, body)
		if err != nil {
			if !errors.Is(err, webhook.ErrPayload) {
				t.Fatalf("%s: error %v is not ErrPayload", topic, err)
			}
			return
		}
		if ch.Delivery == nil || *ch.Delivery != (shopsync.Delivery{WebhookID: "w", Topic: topic, TriggeredAt: triggered}) {
			t.Fatalf("%s: got delivery %+v", topic, ch.Delivery)
		}
		var want string // the id as the payload wrote it
		switch topic {
		case shopify.TopicCustomersCreate, shopify.TopicCustomersUpdate, shopify.TopicCustomersEnable,
			shopify.TopicCustomersDisable, shopify.TopicCustomersDelete, shopify.TopicSMSConsentUpdate:
			want = number(t, field(t, body, "id"))
		case shopify.TopicEmailConsentUpdate:
			want = number(t, field(t, body, "customer_id"))
		case shopify.TopicCustomersRedact, shopify.TopicCustomersDataRequest:
			want = number(t, field(t, field(t, body, "customer"), "id"))
		case shopify.TopicPurchasingSummary, shopify.TopicTagsAdded, shopify.TopicTagsRemoved:
			var gid string
			if err := json.Unmarshal(field(t, body, "customerId"), &gid); err != nil {
				t.Fatalf("%s: customerId %s decoded by Decode but not here: %v", topic, field(t, body, "customerId"), err)
			}
			rest, _ := strings.CutPrefix(gid, "gid://shopify/Customer/")
			rest, _, _ = strings.Cut(rest, "?")
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				t.Fatalf("%s: accepted customerId %q", topic, gid)
			}
			want = strconv.FormatInt(n, 10)
		default:
			if ch.ShopifyID != 0 {
				t.Fatalf("%s: got id %d from a topic without one", topic, ch.ShopifyID)
			}
			return
		}
		if ch.ShopifyID <= 0 || strconv.FormatInt(ch.ShopifyID, 10) != want {
			t.Fatalf("%s: got id %d, the payload says %s", topic, ch.ShopifyID, want)
		}
		if ch.Kind == shopsync.ChangeUpsert {
			if ch.Contact == nil || ch.Contact.ShopifyID != ch.ShopifyID {
				t.Fatalf("%s: upsert of %d with contact %+v", topic, ch.ShopifyID, ch.Contact)
			}
			if a, ok := ch.Contact.Attributes.Get("last_order_id"); ok && a.Value != nil && topic != shopify.TopicPurchasingSummary {
				if got, want := strconv.FormatInt(a.Value.(int64), 10), number(t, field(t, body, "last_order_id")); got != want {
					t.Fatalf("%s: last_order_id %s, the payload says %s", topic, got, want)
				}
			}
		}
	})
}

// field returns the raw value of the member name of the JSON object obj
// as encoding/json assigns struct fields: each key matching name, exactly
// or case-insensitively, is assigned in turn, so the last one wins. Only called on bodies Decode accepted.
func field(t *testing.T, obj []byte, name string) json.RawMessage {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(obj)))
	if _, err := d.Token(); err != nil { // {
		t.Fatal(err)
	}
	var last json.RawMessage
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(k.(string), name) {
			last = v
		}
	}
	return last
}

// number returns the literal of a JSON number, failing on anything else.
func number(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	s := string(bytes.TrimSpace(raw))
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		t.Fatalf("id %q accepted, not an integer literal", raw)
	}
	return s
}
