package webhook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/webhook"
)

// Payload samples, verbatim from SHOPIFY.md §6.
const (
	sampleCreate2024 = `{"id":706405506930370084,"email":"bob@biller.com","created_at":"2021-12-31T19:00:00-05:00",
 "updated_at":"2021-12-31T19:00:00-05:00","first_name":"Bob","last_name":"Biller","orders_count":1,
 "state":"disabled","total_spent":"100.00","last_order_id":820982911946154508,
 "note":"This customer loves ice cream","verified_email":true,"multipass_identifier":null,
 "tax_exempt":false,"tags":"","last_order_name":"#9999","currency":"USD","phone":null,"addresses":[],
 "tax_exemptions":[],"email_marketing_consent":null,"sms_marketing_consent":null,
 "admin_graphql_api_id":"gid://shopify/Customer/706405506930370084",
 "default_address":{"id":12321,"customer_id":706405506930370084,"first_name":"Bob","last_name":"Biller",
 "company":null,"address1":"151 O'Connor Street","address2":null,"city":"Ottawa","province":"ON",
 "country":"CA","zip":"K2P 2L8","phone":"555-555-5555","name":"Bob Biller","province_code":"ON",
 "country_code":"CA","country_name":"CA","default":false}}`
	samplePurchasing   = `{"customerId":"gid://shopify/Customer/1","numberOfOrders":1,"amountSpent":{"amount":"100.00","currencyCode":"USD"},"lastOrderId":"gid://shopify/Order/1","occurredAt":"2005-05-05T05:00:00.000Z"}`
	sampleEmailConsent = `{"customer_id":706405506930370084,"email_address":"bob@biller.com","email_marketing_consent":{"state":"not_subscribed","opt_in_level":null,"consent_updated_at":null}}`
	sampleSMSConsent   = `{"id":706405506930370084,"phone":null,"sms_marketing_consent":{"state":null,"opt_in_level":null,"consent_updated_at":null,"consent_collected_from":"other"}}`
	sampleTags         = `{"customerId":"gid://shopify/Customer/1","tags":["tag1","tag2"],"occurredAt":"2005-05-05T05:00:00.000Z"}`
	sampleDelete       = `{"id":706405506930370084,"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/706405506930370084"}`
	sampleRedact       = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"orders_to_redact":[299938,280263,220458]}`
	// Not in SHOPIFY.md; the shape of shopify.dev's compliance webhook docs.
	sampleDataRequest = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com","orders_requested":[299938,280263,220458],"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`
	sampleShopRedact  = `{"shop_id":954889,"shop_domain":"{shop}.myshopify.com"}`
)

const bigID = int64(706405506930370084) // past 2^53: float64 would change it

// slimCreate is the 2024-04 sample as a 2025-01 customers/create sends it:
// without order stats, tags and consent.
func slimCreate(t testing.TB) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sampleCreate2024), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"orders_count", "total_spent", "last_order_id", "last_order_name", "tags",
		"email_marketing_consent", "sms_marketing_consent"} {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withKeys returns the JSON object body with the top-level keys of the
// object fields (its members, without braces) set.
func withKeys(t testing.TB, body, fields string) string {
	var m, set map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte("{"+fields+"}"), &set); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var triggered = time.Date(2026, 7, 1, 10, 0, 0, 123456000, time.UTC)

func newMapper(t testing.TB) *mapping.Mapper {
	t.Helper()
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sampleShop is the shop_domain of Shopify's compliance samples.
const sampleShop = "{shop}.myshopify.com"

func meta(topic string) webhook.Meta {
	return webhook.Meta{Topic: topic, WebhookID: "wh-1", TriggeredAt: triggered, Shop: sampleShop}
}

func decode(t *testing.T, m *mapping.Mapper, topic, body string) shopsync.Change {
	t.Helper()
	ch, err := webhook.Decode(m, meta(topic), []byte(body))
	if err != nil {
		t.Fatalf("Decode(%s): %v", topic, err)
	}
	want := shopsync.Delivery{WebhookID: "wh-1", Topic: topic, TriggeredAt: triggered}
	if ch.Delivery == nil || *ch.Delivery != want {
		t.Errorf("%s: got delivery %+v, want %+v", topic, ch.Delivery, want)
	}
	if !ch.Seen.Equal(triggered) || ch.Read || ch.Source != topic {
		t.Errorf("%s: got seen %v read %v source %q, want %v false %q", topic, ch.Seen, ch.Read, ch.Source, triggered, topic)
	}
	return ch
}

func attr(t *testing.T, c *shopsync.Contact, name string) any {
	t.Helper()
	a, ok := c.Attributes.Get(name)
	if !ok {
		t.Errorf("attribute %s absent", name)
		return nil
	}
	return a.Value
}

func clocks(c *shopsync.Contact) map[shopsync.Part]shopsync.Clock {
	out := map[shopsync.Part]shopsync.Clock{}
	for p := range shopsync.NumParts {
		if !c.Clocks[p].IsZero() {
			out[p] = c.Clocks[p]
		}
	}
	return out
}

func updatedClock(t time.Time) shopsync.Clock {
	return shopsync.Clock{Time: t, Kind: shopsync.ClockUpdatedAt}
}

func TestDecodeCustomerFull(t *testing.T) {
	m := newMapper(t)
	updated := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, topic := range []string{shopify.TopicCustomersCreate, shopify.TopicCustomersUpdate,
		shopify.TopicCustomersEnable, shopify.TopicCustomersDisable} {
		t.Run(topic, func(t *testing.T) {
			ch := decode(t, m, topic, sampleCreate2024)
			if ch.Kind != shopsync.ChangeUpsert || ch.ShopifyID != bigID || ch.Contact == nil || ch.Contact.ShopifyID != bigID {
				t.Fatalf("got kind %d id %d, want upsert of %d", ch.Kind, ch.ShopifyID, bigID)
			}
			if ch.Need != m.Parts() {
				t.Errorf("got need %b, want the mapper's parts %b", ch.Need, m.Parts())
			}
			c := ch.Contact
			if c.Parts != shopsync.AllParts || c.Full != shopsync.AllParts || c.Fields != shopsync.AllFields {
				t.Errorf("got parts %b full %b fields %b, want all", c.Parts, c.Full, c.Fields)
			}
			// Consent is null, so every part is versioned by updated_at.
			wantClocks := map[shopsync.Part]shopsync.Clock{}
			for p := range shopsync.NumParts {
				wantClocks[p] = updatedClock(updated)
			}
			if diff := cmp.Diff(clocks(c), wantClocks); diff != "" {
				t.Errorf("clocks (-got +want):\n%s", diff)
			}
			if *c.Email != "bob@biller.com" || c.Phone != nil || len(c.Tags) != 0 {
				t.Errorf("got email %v phone %v tags %v", c.Email, c.Phone, c.Tags)
			}
			if got := attr(t, c, "last_order_id"); got != int64(820982911946154508) {
				t.Errorf("got last_order_id %v, want 820982911946154508 exactly", got)
			}
			if got := attr(t, c, "total_spent"); got != "100.00" {
				t.Errorf("got total_spent %v, want 100.00", got)
			}
			if got := attr(t, c, "email_marketing_consent"); got != nil {
				t.Errorf("got email_marketing_consent %v, want null", got)
			}
			if got := attr(t, c, "accepts_sms_marketing"); got != false {
				t.Errorf("got accepts_sms_marketing %v, want false", got)
			}
		})
	}
}

func TestDecodeCustomerSlim(t *testing.T) {
	m := newMapper(t)
	ch := decode(t, m, shopify.TopicCustomersCreate, slimCreate(t))
	c := ch.Contact
	if ch.Kind != shopsync.ChangeUpsert || ch.ShopifyID != bigID {
		t.Fatalf("got kind %d id %d", ch.Kind, ch.ShopifyID)
	}
	// The profile whole, and the currency of the purchasing part.
	if c.Parts != shopsync.Set(shopsync.PartProfile, shopsync.PartPurchasing) || c.Full != shopsync.Set(shopsync.PartProfile) {
		t.Errorf("got parts %b full %b, want the profile whole and purchasing in part", c.Parts, c.Full)
	}
	if got := attr(t, c, "currency"); got != "USD" {
		t.Errorf("got currency %v, want USD", got)
	}
	if c.Fields.Has(shopsync.FieldTags) {
		t.Error("absent tags marked as carried")
	}
	for _, name := range []string{"orders_count", "total_spent", "last_order_id", "email_marketing_consent", "accepts_sms_marketing"} {
		if _, ok := c.Attributes.Get(name); ok {
			t.Errorf("attribute %s set from a payload without its key", name)
		}
	}
	u := updatedClock(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))
	want := map[shopsync.Part]shopsync.Clock{shopsync.PartProfile: u, shopsync.PartPurchasing: u}
	if diff := cmp.Diff(clocks(c), want); diff != "" {
		t.Errorf("clocks (-got +want):\n%s", diff)
	}
	if ch.Need == 0 || ch.Need&^c.Parts == 0 {
		t.Errorf("got need %b, want parts the slim payload lacks", ch.Need)
	}
}

func TestDecodeConsent(t *testing.T) {
	m := newMapper(t)

	ch := decode(t, m, shopify.TopicEmailConsentUpdate, sampleEmailConsent)
	c := ch.Contact
	if ch.Kind != shopsync.ChangeUpsert || ch.ShopifyID != bigID || c.Parts != shopsync.Set(shopsync.PartEmailConsent) || c.Fields != 0 {
		t.Fatalf("email: got kind %d id %d parts %b fields %b", ch.Kind, ch.ShopifyID, c.Parts, c.Fields)
	}
	// consent_updated_at null: no clock of its own; X-Shopify-Triggered-At
	// (the change's Seen) orders it.
	if diff := cmp.Diff(clocks(c), map[shopsync.Part]shopsync.Clock{}); diff != "" {
		t.Errorf("email clocks (-got +want):\n%s", diff)
	}
	if c.Full != shopsync.Set(shopsync.PartEmailConsent) {
		t.Errorf("email: got full %b, want the email consent whole", c.Full)
	}
	if attr(t, c, "email_marketing_consent") != "not_subscribed" || attr(t, c, "accepts_email_marketing") != false ||
		attr(t, c, "email_marketing_opt_in_level") != nil || attr(t, c, "email_marketing_consent_updated_at") != nil {
		t.Errorf("email: got attributes %+v", c.Attributes)
	}
	if c.Email != nil {
		t.Errorf("email_address taken as the profile email: %q", *c.Email)
	}

	// With consent_updated_at: that is the clock.
	withClock := strings.Replace(sampleEmailConsent, `"consent_updated_at":null`, `"consent_updated_at":"2026-06-30T08:00:00-04:00"`, 1)
	withClock = strings.Replace(withClock, `"not_subscribed"`, `"subscribed"`, 1)
	c = decode(t, m, shopify.TopicEmailConsentUpdate, withClock).Contact
	at := time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)
	want := shopsync.Clock{Time: at, Kind: shopsync.ClockConsentUpdatedAt}
	if diff := cmp.Diff(clocks(c), map[shopsync.Part]shopsync.Clock{shopsync.PartEmailConsent: want}); diff != "" {
		t.Errorf("email with clock (-got +want):\n%s", diff)
	}
	if attr(t, c, "accepts_email_marketing") != true {
		t.Error("subscribed: accepts_email_marketing not true")
	}

	ch = decode(t, m, shopify.TopicSMSConsentUpdate, sampleSMSConsent)
	c = ch.Contact
	if ch.Kind != shopsync.ChangeUpsert || ch.ShopifyID != bigID || c.Parts != shopsync.Set(shopsync.PartSMSConsent) || c.Fields != 0 {
		t.Fatalf("sms: got kind %d id %d parts %b fields %b", ch.Kind, ch.ShopifyID, c.Parts, c.Fields)
	}
	if diff := cmp.Diff(clocks(c), map[shopsync.Part]shopsync.Clock{}); diff != "" {
		t.Errorf("sms clocks (-got +want):\n%s", diff)
	}
	if attr(t, c, "sms_marketing_consent") != nil || attr(t, c, "accepts_sms_marketing") != false {
		t.Errorf("sms: got attributes %+v", c.Attributes)
	}
	if c.Phone != nil || c.Fields.Has(shopsync.FieldPhone) {
		t.Error("sms consent payload's phone taken as the profile phone")
	}
}

func TestDecodePurchasingSummary(t *testing.T) {
	m := newMapper(t)
	occurred := shopsync.Clock{Time: time.Date(2005, 5, 5, 5, 0, 0, 0, time.UTC), Kind: shopsync.ClockOccurredAt}
	tests := []struct {
		name      string
		body      string
		id        int64
		orders    any
		lastOrder any
		clock     shopsync.Clock
	}{
		{"sample", samplePurchasing, 1, int64(1), int64(1), occurred},
		{"orders as string", strings.Replace(samplePurchasing, `"numberOfOrders":1`, `"numberOfOrders":"12"`, 1), 1, int64(12), int64(1), occurred},
		{"last order null", strings.Replace(samplePurchasing, `"gid://shopify/Order/1"`, `null`, 1), 1, int64(1), nil, occurred},
		{"big ids", `{"customerId":"gid://shopify/Customer/706405506930370084","numberOfOrders":"9007199254740993",` +
			`"amountSpent":{"amount":"100.00","currencyCode":"USD"},"lastOrderId":"gid://shopify/Order/820982911946154508",` +
			`"occurredAt":"2005-05-05T05:00:00.000Z"}`, bigID, int64(9007199254740993), int64(820982911946154508), occurred},
		{"no occurredAt", strings.Replace(samplePurchasing, `,"occurredAt":"2005-05-05T05:00:00.000Z"`, ``, 1), 1, int64(1), int64(1), shopsync.Clock{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := decode(t, m, shopify.TopicPurchasingSummary, tt.body)
			c := ch.Contact
			if ch.Kind != shopsync.ChangeUpsert || ch.ShopifyID != tt.id || c.ShopifyID != tt.id {
				t.Fatalf("got kind %d id %d, want upsert of %d", ch.Kind, ch.ShopifyID, tt.id)
			}
			if c.Parts != shopsync.Set(shopsync.PartPurchasing) || c.Full != c.Parts || c.Fields != 0 {
				t.Errorf("got parts %b full %b fields %b, want purchasing only, whole", c.Parts, c.Full, c.Fields)
			}
			want := map[shopsync.Part]shopsync.Clock{}
			if !tt.clock.IsZero() {
				want[shopsync.PartPurchasing] = tt.clock
			}
			if diff := cmp.Diff(clocks(c), want); diff != "" {
				t.Errorf("clocks (-got +want):\n%s", diff)
			}
			if got := attr(t, c, "orders_count"); got != tt.orders {
				t.Errorf("got orders_count %v, want %v", got, tt.orders)
			}
			if got := attr(t, c, "last_order_id"); got != tt.lastOrder {
				t.Errorf("got last_order_id %v, want %v", got, tt.lastOrder)
			}
			if got := attr(t, c, "total_spent"); got != "100.00" {
				t.Errorf("got total_spent %v, want 100.00", got)
			}
			if got := attr(t, c, "currency"); got != "USD" {
				t.Errorf("got currency %v, want the amount's currencyCode USD", got)
			}
			// The name of the last order: not in the payload. Kept while
			// the id stays; no last order, no name.
			name, ok := c.Attributes.Get("last_order_name")
			switch {
			case !ok:
				t.Error("last_order_name absent: a stale name would stay beside a new last order")
			case tt.lastOrder == nil && (name.Value != nil || name.KeepIf != ""):
				t.Errorf("no last order: got name %+v, want null", name)
			case tt.lastOrder != nil && (name.Value != nil || name.KeepIf != "last_order_id"):
				t.Errorf("got name %+v, want kept only while last_order_id stays", name)
			}
		})
	}
}

func TestDecodeTags(t *testing.T) {
	m := newMapper(t)
	for _, tt := range []struct {
		topic string
		kind  shopsync.ChangeKind
	}{{shopify.TopicTagsAdded, shopsync.ChangeTagsAdded}, {shopify.TopicTagsRemoved, shopsync.ChangeTagsRemoved}} {
		ch := decode(t, m, tt.topic, sampleTags)
		occurred := shopsync.Clock{Time: time.Date(2005, 5, 5, 5, 0, 0, 0, time.UTC), Kind: shopsync.ClockOccurredAt}
		if ch.Kind != tt.kind || ch.ShopifyID != 1 || ch.Clock != occurred {
			t.Errorf("%s: got kind %d id %d clock %v", tt.topic, ch.Kind, ch.ShopifyID, ch.Clock)
		}
		if diff := cmp.Diff(ch.Tags, []string{"tag1", "tag2"}); diff != "" {
			t.Errorf("%s: tags (-got +want):\n%s", tt.topic, diff)
		}
		if ch.Need != m.Parts() {
			t.Errorf("%s: got need %b, want %b", tt.topic, ch.Need, m.Parts())
		}
	}
	noClock := decode(t, m, shopify.TopicTagsAdded, `{"customerId":"gid://shopify/Customer/706405506930370084","tags":["x"]}`)
	if noClock.ShopifyID != bigID || !noClock.Clock.IsZero() {
		t.Errorf("without occurredAt: got id %d clock %v, want %d and none", noClock.ShopifyID, noClock.Clock, bigID)
	}
}

func TestDecodeDeleteAndCompliance(t *testing.T) {
	m := newMapper(t)
	// A deletion is confirmed by reading the customer again.
	ch := decode(t, m, shopify.TopicCustomersDelete, sampleDelete)
	if ch.Kind != shopsync.ChangeRefetch || ch.ShopifyID != bigID || ch.Contact != nil {
		t.Errorf("delete: got kind %d id %d, want a re-fetch of %d", ch.Kind, ch.ShopifyID, bigID)
	}
	ch = decode(t, m, shopify.TopicCustomersDelete, `{"id":9007199254740993}`)
	if ch.ShopifyID != 9007199254740993 {
		t.Errorf("delete: got id %d, want 9007199254740993", ch.ShopifyID)
	}

	ch = decode(t, m, shopify.TopicCustomersRedact, sampleRedact)
	if ch.Kind != shopsync.ChangeRedactCustomer || ch.ShopifyID != 191167 || ch.Contact != nil {
		t.Errorf("redact: got kind %d id %d", ch.Kind, ch.ShopifyID)
	}
	ch = decode(t, m, shopify.TopicCustomersDataRequest, sampleDataRequest)
	if ch.Kind != shopsync.ChangeDataRequest || ch.ShopifyID != 191167 {
		t.Errorf("data request: got kind %d id %d", ch.Kind, ch.ShopifyID)
	}
	if diff := cmp.Diff(ch.DataRequest, &shopsync.DataRequest{ID: 9999, OrdersRequested: []int64{299938, 280263, 220458}}); diff != "" {
		t.Errorf("data request (-got +want):\n%s", diff)
	}
	ch = decode(t, m, shopify.TopicShopRedact, sampleShopRedact)
	if ch.Kind != shopsync.ChangeRedactShop {
		t.Errorf("shop redact: got kind %d", ch.Kind)
	}
	ch = decode(t, m, "orders/create", `{"id":1,"email":"x@example.com"}`)
	if ch.Kind != shopsync.ChangeIgnore || ch.ShopifyID != 0 || ch.Contact != nil {
		t.Errorf("unknown topic: got kind %d id %d", ch.Kind, ch.ShopifyID)
	}
}

func TestDecodeBadPayloads(t *testing.T) {
	m := newMapper(t)
	tests := []struct {
		name, topic, body string
	}{
		{"empty", shopify.TopicCustomersUpdate, ``},
		{"not JSON", shopify.TopicCustomersUpdate, `{"id":1`},
		{"trailing garbage", shopify.TopicCustomersUpdate, `{"id":1} x`},
		{"array", shopify.TopicCustomersUpdate, `[{"id":1}]`},
		{"no id", shopify.TopicCustomersUpdate, `{"email":"a@example.com"}`},
		{"id as string", shopify.TopicCustomersUpdate, `{"id":"706405506930370084"}`},
		{"id as float", shopify.TopicCustomersUpdate, `{"id":7.064055069303701e17}`},
		{"negative id", shopify.TopicCustomersCreate, `{"id":-5}`},
		{"wrong field type", shopify.TopicCustomersCreate, `{"id":1,"orders_count":"many"}`},
		{"bad time", shopify.TopicCustomersCreate, `{"id":1,"updated_at":"yesterday"}`},
		{"bad decimal", shopify.TopicCustomersCreate, `{"id":1,"total_spent":"1e5"}`},
		{"email consent without consent", shopify.TopicEmailConsentUpdate, `{"customer_id":1,"email_address":"a@b"}`},
		{"email consent without id", shopify.TopicEmailConsentUpdate, `{"email_marketing_consent":{"state":"subscribed"}}`},
		{"sms consent without consent", shopify.TopicSMSConsentUpdate, `{"id":1,"phone":null}`},
		{"purchasing plain id", shopify.TopicPurchasingSummary, `{"customerId":"1","numberOfOrders":1}`},
		{"purchasing order gid as customer", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Order/1"}`},
		{"purchasing orders text", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","numberOfOrders":"abc"}`},
		{"purchasing orders negative", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","numberOfOrders":-1}`},
		{"purchasing orders fraction", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","numberOfOrders":1.5}`},
		{"purchasing bad order gid", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","lastOrderId":"gid://shopify/Customer/1"}`},
		{"purchasing bad amount", shopify.TopicPurchasingSummary, `{"customerId":"gid://shopify/Customer/1","amountSpent":{"amount":"lots"}}`},
		{"tags without customer", shopify.TopicTagsAdded, `{"tags":["a"]}`},
		{"tags as string", shopify.TopicTagsRemoved, `{"customerId":"gid://shopify/Customer/1","tags":"a, b"}`},
		{"tags bad gid", shopify.TopicTagsAdded, `{"customerId":"gid://shopify/Customer/abc","tags":["a"]}`},
		{"delete without id", shopify.TopicCustomersDelete, `{"tax_exemptions":[]}`},
		{"redact without customer", shopify.TopicCustomersRedact, `{"shop_id":1,"customer":{}}`},
		{"data request without customer", shopify.TopicCustomersDataRequest, `{"shop_id":1}`},
		{"shop redact not JSON", shopify.TopicShopRedact, `shop`},
		{"merge without the merged id", shopify.TopicCustomersMerge, `{"admin_graphql_api_customer_kept_id":"gid://shopify/Customer/1"}`},
		{"merge with plain ids", shopify.TopicCustomersMerge, `{"admin_graphql_api_customer_kept_id":"1","admin_graphql_api_customer_deleted_id":"2"}`},
		{"id and gid disagree", shopify.TopicCustomersUpdate, `{"id":1,"admin_graphql_api_id":"gid://shopify/Customer/2"}`},
		{"unknown topic not JSON", "orders/create", `<xml/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.Decode(m, meta(tt.topic), []byte(tt.body))
			if !errors.Is(err, webhook.ErrPayload) {
				t.Errorf("Decode(%s, %q): got %v, want ErrPayload", tt.topic, tt.body, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []struct{ topic, body string }{
		{shopify.TopicCustomersCreate, sampleCreate2024},
		{shopify.TopicPurchasingSummary, samplePurchasing},
		{shopify.TopicEmailConsentUpdate, sampleEmailConsent},
		{shopify.TopicSMSConsentUpdate, sampleSMSConsent},
		{shopify.TopicTagsAdded, sampleTags},
		{shopify.TopicCustomersDelete, sampleDelete},
		{shopify.TopicCustomersRedact, sampleRedact},
		{shopify.TopicCustomersDataRequest, sampleDataRequest},
		{shopify.TopicShopRedact, sampleShopRedact},
	} {
		f.Add(s.topic, []byte(s.body))
	}
	m := newMapper(f)
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		ch, err := webhook.Decode(m, meta(topic), body)
		if err != nil {
			if !errors.Is(err, webhook.ErrPayload) {
				t.Fatalf("error %v is not ErrPayload", err)
			}
			return
		}
		switch ch.Kind {
		case shopsync.ChangeUpsert:
			if ch.Contact == nil || ch.ShopifyID <= 0 || ch.Contact.ShopifyID != ch.ShopifyID {
				t.Fatalf("upsert without a contact or id: %+v", ch)
			}
			k := ch.Contact
			if k.Full&^k.Parts != 0 {
				t.Fatalf("parts whole %b not all carried %b", k.Full, k.Parts)
			}
			for p := range shopsync.NumParts {
				if !k.Parts.Has(p) && !k.Clocks[p].IsZero() {
					t.Fatalf("a clock for part %s, not carried", p)
				}
			}
			for _, a := range k.Attributes {
				if a.KeepIf != "" && (a.Value != nil || a.Name != "last_order_name") {
					t.Fatalf("attribute %+v kept on a condition", a)
				}
			}
		case shopsync.ChangeMerge:
			if ch.Merge == nil || ch.Merge.KeptID <= 0 || ch.Merge.MergedID <= 0 {
				t.Fatalf("merge without both ids: %+v", ch)
			}
		case shopsync.ChangeTagsAdded, shopsync.ChangeTagsRemoved, shopsync.ChangeRefetch, shopsync.ChangeRedactCustomer, shopsync.ChangeDataRequest:
			if ch.ShopifyID <= 0 {
				t.Fatalf("kind %d without an id", ch.Kind)
			}
		}
	})
}
