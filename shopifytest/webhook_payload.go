package shopifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Generation is a webhook payload generation for the customer object of
// customers/create, update, enable and disable (SHOPIFY.md §6).
type Generation int

const (
	// Gen2025_01 is what Shopify sends today, for every subscription
	// since API 2025-01 (older ones fall forward): the REST customer
	// without orders_count, total_spent, last_order_id, last_order_name,
	// tags, email_marketing_consent and sms_marketing_consent. It is the
	// zero value.
	Gen2025_01 Generation = iota
	// Gen2024_04 is the full REST customer, as API 2024-04 sent it.
	Gen2024_04
)

// String names g by its first API version.
func (g Generation) String() string {
	switch g {
	case Gen2025_01:
		return "2025-01"
	case Gen2024_04:
		return "2024-04"
	}
	return "Generation(" + strconv.Itoa(int(g)) + ")"
}

// Customer webhook topics, by their REST names (SHOPIFY.md §6). The
// GraphQL enum name is the upper-cased name with "/" and "." as "_".
const (
	TopicCustomersCreate            = "customers/create"
	TopicCustomersUpdate            = "customers/update"
	TopicCustomersDelete            = "customers/delete"
	TopicCustomersEnable            = "customers/enable"
	TopicCustomersDisable           = "customers/disable"
	TopicCustomersMerge             = "customers/merge"
	TopicCustomersEmailConsent      = "customers_email_marketing_consent/update"
	TopicCustomersSMSConsent        = "customers_marketing_consent/update"
	TopicCustomersPurchasingSummary = "customers/purchasing_summary"
	TopicCustomerTagsAdded          = "customer.tags_added"
	TopicCustomerTagsRemoved        = "customer.tags_removed"
	TopicCustomersRedact            = "customers/redact"
	TopicShopRedact                 = "shop/redact"
	TopicCustomersDataRequest       = "customers/data_request"
)

// removedIn2025_01 are the customer keys webhooks stopped sending in
// 2025-01 (shopify.dev/changelog/new-customer-s-webhook-and-changes-to-
// existing-customer-s-webhooks-payload).
var removedIn2025_01 = []string{"orders_count", "total_spent", "last_order_id", "last_order_name",
	"tags", "email_marketing_consent", "sms_marketing_consent"}

// fields2025_01 is the fields filter that makes a Gen2025_01 customer.
var fields2025_01 = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range jsonKeys {
		m[k] = true
	}
	for _, k := range removedIn2025_01 {
		delete(m, k)
	}
	return m
}()

// CustomerPayload returns c as the customer object of a customers/create,
// update, enable or disable webhook of generation gen: in Gen2024_04
// byte for byte the REST customer of customers/{id}.json, in Gen2025_01
// the same without the seven keys removed in 2025-01. Ids are exact
// integers, money a decimal string.
func CustomerPayload(c Customer, gen Generation) ([]byte, error) {
	c = c.clone()
	c.normalize()
	return customerPayload(&c, gen)
}

// customerPayload encodes a normalized customer.
func customerPayload(c *Customer, gen Generation) ([]byte, error) {
	var buf bytes.Buffer
	var fields map[string]bool
	switch gen {
	case Gen2024_04:
	case Gen2025_01:
		fields = fields2025_01
	default:
		return nil, fmt.Errorf("shopifytest: unknown payload generation %d", gen)
	}
	if err := appendCustomer(&buf, c, fields); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CustomerDelivery builds the delivery of topic about c, for the topics
// whose payload c alone determines:
//
//   - customers/create, update, enable, disable: the customer object of
//     generation gen (see CustomerPayload);
//   - customers/delete: {"id","tax_exemptions","admin_graphql_api_id"};
//   - customers_email_marketing_consent/update: {"customer_id",
//     "email_address","email_marketing_consent"};
//   - customers_marketing_consent/update (SMS): {"id","phone",
//     "sms_marketing_consent"}, consent_collected_from in lower case;
//   - customers/purchasing_summary: as PurchasingSummaryDelivery, at
//     c.UpdatedAt.
//
// Only Topic and Body are set: WebhookSender.Prepare fills the rest.
// Other topics need more than a customer: see TagsDelivery,
// CustomersRedactDelivery, ShopRedactDelivery and DataRequestDelivery.
func CustomerDelivery(topic string, c Customer, gen Generation) (Delivery, error) {
	c = c.clone()
	c.normalize()
	body, err := customerTopicBody(topic, &c, gen)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{Topic: topic, Body: body}, nil
}

// customerTopicBody encodes a normalized customer for topic.
func customerTopicBody(topic string, c *Customer, gen Generation) ([]byte, error) {
	switch topic {
	case TopicCustomersCreate, TopicCustomersUpdate, TopicCustomersEnable, TopicCustomersDisable:
		return customerPayload(c, gen)
	case TopicCustomersDelete:
		return json.Marshal(struct {
			ID                int64    `json:"id"`
			TaxExemptions     []string `json:"tax_exemptions"`
			AdminGraphQLAPIID string   `json:"admin_graphql_api_id"`
		}{c.ID, c.TaxExemptions, c.AdminGraphQLAPIID})
	case TopicCustomersEmailConsent:
		return emailConsentBody(c), nil
	case TopicCustomersSMSConsent:
		return smsConsentBody(c), nil
	case TopicCustomersPurchasingSummary:
		return purchasingSummaryBody(c, updatedAt(c)), nil
	}
	return nil, fmt.Errorf("shopifytest: topic %q is not built from a customer alone", topic)
}

// consentJSON is a consent object in a consent webhook, where a null
// state means the customer has none.
type consentJSON struct {
	State            *string `json:"state"`
	OptInLevel       *string `json:"opt_in_level"`
	ConsentUpdatedAt *string `json:"consent_updated_at"`
}

// emailConsentBody is customers_email_marketing_consent/update's payload.
// A customer without consent gets an object of nulls (unverified: the
// docs' sample always has one).
func emailConsentBody(c *Customer) []byte {
	var cj consentJSON
	if e := c.EmailMarketingConsent; e != nil {
		cj = consentJSON{&e.State, e.OptInLevel, e.ConsentUpdatedAt}
	}
	b, _ := json.Marshal(struct {
		CustomerID   int64       `json:"customer_id"`
		EmailAddress *string     `json:"email_address"`
		Consent      consentJSON `json:"email_marketing_consent"`
	}{c.ID, c.Email, cj})
	return b
}

// smsConsentBody is customers_marketing_consent/update's payload:
// consent_collected_from is lower case in webhooks, "other" when the
// customer has no SMS consent, as in the docs' sample.
func smsConsentBody(c *Customer) []byte {
	type smsJSON struct {
		consentJSON
		ConsentCollectedFrom string `json:"consent_collected_from"`
	}
	sj := smsJSON{ConsentCollectedFrom: "other"}
	if s := c.SMSMarketingConsent; s != nil {
		sj = smsJSON{consentJSON{&s.State, s.OptInLevel, s.ConsentUpdatedAt}, strings.ToLower(s.ConsentCollectedFrom)}
	}
	b, _ := json.Marshal(struct {
		ID      int64   `json:"id"`
		Phone   *string `json:"phone"`
		Consent smsJSON `json:"sms_marketing_consent"`
	}{c.ID, c.Phone, sj})
	return b
}

// occurredAt formats t as the GraphQL-style topics do:
// "2005-05-05T05:00:00.000Z".
func occurredAt(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// updatedAt is c's updated_at, or now when it does not parse.
func updatedAt(c *Customer) time.Time {
	if t, err := time.Parse(time.RFC3339, c.UpdatedAt); err == nil {
		return t
	}
	return time.Now()
}

// PurchasingSummaryDelivery builds customers/purchasing_summary about c
// at occurredAt: {"customerId":"gid://shopify/Customer/N",
// "numberOfOrders":N,"amountSpent":{"amount":"100.00","currencyCode":
// "USD"},"lastOrderId":"gid://shopify/Order/N" or null,"occurredAt":…}.
func PurchasingSummaryDelivery(c Customer, occurredAt time.Time) Delivery {
	return Delivery{Topic: TopicCustomersPurchasingSummary, Body: purchasingSummaryBody(&c, occurredAt)}
}

func purchasingSummaryBody(c *Customer, at time.Time) []byte {
	var lastOrder *string
	if c.LastOrderID != nil {
		s := "gid://shopify/Order/" + strconv.FormatInt(*c.LastOrderID, 10)
		lastOrder = &s
	}
	amount := c.TotalSpent
	if amount == "" {
		amount = "0.00"
	}
	type money struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	}
	b, _ := json.Marshal(struct {
		CustomerID     string  `json:"customerId"`
		NumberOfOrders int64   `json:"numberOfOrders"`
		AmountSpent    money   `json:"amountSpent"`
		LastOrderID    *string `json:"lastOrderId"`
		OccurredAt     string  `json:"occurredAt"`
	}{customerGID(c.ID), c.OrdersCount, money{amount, c.Currency}, lastOrder, occurredAt(at)})
	return b
}

func customerGID(id int64) string { return "gid://shopify/Customer/" + strconv.FormatInt(id, 10) }

// TagsDelivery builds customer.tags_added or customer.tags_removed:
// {"customerId":"gid://shopify/Customer/N","tags":[…],"occurredAt":…}.
func TagsDelivery(topic string, customerID int64, tags []string, at time.Time) (Delivery, error) {
	if topic != TopicCustomerTagsAdded && topic != TopicCustomerTagsRemoved {
		return Delivery{}, fmt.Errorf("shopifytest: %q is not a tags topic", topic)
	}
	return Delivery{Topic: topic, Body: tagsBody(customerID, tags, at)}, nil
}

func tagsBody(id int64, tags []string, at time.Time) []byte {
	if tags == nil {
		tags = []string{}
	}
	b, _ := json.Marshal(struct {
		CustomerID string   `json:"customerId"`
		Tags       []string `json:"tags"`
		OccurredAt string   `json:"occurredAt"`
	}{customerGID(id), tags, occurredAt(at)})
	return b
}

// splitTags splits a REST tags string, "a, b", into its tags.
func splitTags(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// complianceCustomer is the customer of the compliance topics.
type complianceCustomer struct {
	ID    int64   `json:"id"`
	Email *string `json:"email"`
	Phone *string `json:"phone"`
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// CustomersRedactDelivery builds customers/redact (shopify.dev/docs/apps/
// build/privacy-law-compliance): {"shop_id","shop_domain","customer":
// {"id","email","phone"},"orders_to_redact":[…]}.
func CustomersRedactDelivery(shopID int64, shopDomain string, c Customer, ordersToRedact []int64) Delivery {
	b, _ := json.Marshal(struct {
		ShopID         int64              `json:"shop_id"`
		ShopDomain     string             `json:"shop_domain"`
		Customer       complianceCustomer `json:"customer"`
		OrdersToRedact []int64            `json:"orders_to_redact"`
	}{shopID, shopDomain, complianceCustomer{c.ID, c.Email, c.Phone}, nonNil(ordersToRedact)})
	return Delivery{Topic: TopicCustomersRedact, ShopDomain: shopDomain, Body: b}
}

// ShopRedactDelivery builds shop/redact: {"shop_id","shop_domain"}.
func ShopRedactDelivery(shopID int64, shopDomain string) Delivery {
	b, _ := json.Marshal(struct {
		ShopID     int64  `json:"shop_id"`
		ShopDomain string `json:"shop_domain"`
	}{shopID, shopDomain})
	return Delivery{Topic: TopicShopRedact, ShopDomain: shopDomain, Body: b}
}

// DataRequestDelivery builds customers/data_request: {"shop_id",
// "shop_domain","orders_requested":[…],"customer":{"id","email","phone"},
// "data_request":{"id"}}.
func DataRequestDelivery(shopID int64, shopDomain string, c Customer, ordersRequested []int64, requestID int64) Delivery {
	type request struct {
		ID int64 `json:"id"`
	}
	b, _ := json.Marshal(struct {
		ShopID          int64              `json:"shop_id"`
		ShopDomain      string             `json:"shop_domain"`
		OrdersRequested []int64            `json:"orders_requested"`
		Customer        complianceCustomer `json:"customer"`
		DataRequest     request            `json:"data_request"`
	}{shopID, shopDomain, nonNil(ordersRequested), complianceCustomer{c.ID, c.Email, c.Phone}, request{requestID}})
	return Delivery{Topic: TopicCustomersDataRequest, ShopDomain: shopDomain, Body: b}
}
