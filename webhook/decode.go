package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
)

// The topics shopsync acts on (SHOPIFY.md §6).
const (
	TopicCustomersCreate      = "customers/create"
	TopicCustomersUpdate      = "customers/update"
	TopicCustomersEnable      = "customers/enable"
	TopicCustomersDisable     = "customers/disable"
	TopicCustomersDelete      = "customers/delete"
	TopicEmailConsentUpdate   = "customers_email_marketing_consent/update"
	TopicSMSConsentUpdate     = "customers_marketing_consent/update"
	TopicPurchasingSummary    = "customers/purchasing_summary"
	TopicTagsAdded            = "customer.tags_added"
	TopicTagsRemoved          = "customer.tags_removed"
	TopicCustomersRedact      = "customers/redact"
	TopicShopRedact           = "shop/redact"
	TopicCustomersDataRequest = "customers/data_request"
	topicUnknown              = "unknown"
)

// Topics lists the topics shopsync acts on.
var Topics = []string{
	TopicCustomersCreate, TopicCustomersUpdate, TopicCustomersEnable, TopicCustomersDisable,
	TopicCustomersDelete, TopicEmailConsentUpdate, TopicSMSConsentUpdate, TopicPurchasingSummary,
	TopicTagsAdded, TopicTagsRemoved, TopicCustomersRedact, TopicShopRedact, TopicCustomersDataRequest,
}

// Meta is what a delivery's headers say about it.
type Meta struct {
	Topic       string
	WebhookID   string
	TriggeredAt time.Time // X-Shopify-Triggered-At; the receive time when absent
}

// ErrPayload wraps every decoding error: the body is not the topic's JSON.
var ErrPayload = errors.New("bad payload")

func payloadErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPayload, fmt.Sprintf(format, args...))
}

// Decode turns a verified delivery into the store change it asks for. A
// topic shopsync does not use becomes store.ChangeIgnore: it is recorded
// and counted, and changes nothing.
//
// Keys absent from a payload are unknown and change nothing (mapping
// leaves them out). A part without a clock of its own in the payload (a
// 2025-01 consent update with consent_updated_at null) is versioned by
// X-Shopify-Triggered-At.
func Decode(m *mapping.Mapper, meta Meta, body []byte) (store.Change, error) {
	ch := store.Change{
		Source: meta.Topic,
		Tie:    meta.TriggeredAt,
		Delivery: &store.Delivery{
			WebhookID: meta.WebhookID, Topic: meta.Topic, TriggeredAt: meta.TriggeredAt,
		},
	}
	switch meta.Topic {
	case TopicCustomersCreate, TopicCustomersUpdate, TopicCustomersEnable, TopicCustomersDisable:
		var c shopify.Customer
		if err := unmarshal(body, &c); err != nil {
			return ch, err
		}
		return upsert(m, ch, &c)
	case TopicEmailConsentUpdate:
		var p struct {
			CustomerID int64                             `json:"customer_id"`
			Consent    shopify.Opt[shopify.EmailConsent] `json:"email_marketing_consent"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		if !p.Consent.Set {
			return ch, payloadErr("no email_marketing_consent")
		}
		return upsert(m, ch, &shopify.Customer{ID: p.CustomerID, EmailMarketingConsent: p.Consent})
	case TopicSMSConsentUpdate:
		var p struct {
			ID      int64                           `json:"id"`
			Consent shopify.Opt[shopify.SMSConsent] `json:"sms_marketing_consent"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		if !p.Consent.Set {
			return ch, payloadErr("no sms_marketing_consent")
		}
		return upsert(m, ch, &shopify.Customer{ID: p.ID, SMSMarketingConsent: p.Consent})
	case TopicPurchasingSummary:
		return purchasingSummary(m, ch, body)
	case TopicTagsAdded, TopicTagsRemoved:
		var p struct {
			CustomerID string     `json:"customerId"`
			Tags       []string   `json:"tags"`
			OccurredAt *time.Time `json:"occurredAt"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		id, err := customerGID(p.CustomerID)
		if err != nil {
			return ch, err
		}
		ch.Kind, ch.ShopifyID, ch.Tags, ch.Need = store.ChangeTagsAdded, id, p.Tags, m.Parts()
		if meta.Topic == TopicTagsRemoved {
			ch.Kind = store.ChangeTagsRemoved
		}
		ch.Clock = clockOr(p.OccurredAt, meta.TriggeredAt)
		return ch, nil
	case TopicCustomersDelete:
		var p struct {
			ID int64 `json:"id"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		if p.ID <= 0 {
			return ch, payloadErr("no customer id")
		}
		ch.Kind, ch.ShopifyID, ch.Clock = store.ChangeDelete, p.ID, meta.TriggeredAt
		return ch, nil
	case TopicCustomersRedact, TopicCustomersDataRequest:
		var p struct {
			Customer struct {
				ID int64 `json:"id"`
			} `json:"customer"`
			OrdersRequested []int64 `json:"orders_requested"`
			DataRequest     struct {
				ID int64 `json:"id"`
			} `json:"data_request"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		if p.Customer.ID <= 0 {
			return ch, payloadErr("no customer.id")
		}
		ch.ShopifyID = p.Customer.ID
		ch.Kind = store.ChangeRedactCustomer
		if meta.Topic == TopicCustomersDataRequest {
			ch.Kind = store.ChangeDataRequest
			ch.DataRequest = &store.DataRequest{ID: p.DataRequest.ID, OrdersRequested: p.OrdersRequested}
		}
		return ch, nil
	case TopicShopRedact:
		ch.Kind = store.ChangeRedactShop
	default:
		ch.Kind = store.ChangeIgnore
	}
	// The topics above decode their body; these only need it to be JSON.
	if !json.Valid(body) {
		return ch, payloadErr("not JSON")
	}
	return ch, nil
}

// unmarshal decodes a JSON object; numbers stay exact (ids are int64,
// money a decimal string: never float64).
func unmarshal(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return payloadErr("not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return payloadErr("%v", err)
	}
	return nil
}

// upsert maps a customer payload to a change, giving each carried part
// without a clock of its own the delivery's.
func upsert(m *mapping.Mapper, ch store.Change, c *shopify.Customer) (store.Change, error) {
	if c.ID <= 0 {
		return ch, payloadErr("no customer id")
	}
	k, err := m.Contact(c)
	if err != nil {
		return ch, payloadErr("%v", err)
	}
	for p := range shopsync.NumParts {
		if k.Parts.Has(p) && k.Clocks[p].IsZero() {
			k.Clocks[p] = ch.Tie.UTC()
		}
	}
	ch.Kind, ch.ShopifyID, ch.Contact, ch.Need = store.ChangeUpsert, c.ID, &k, m.Parts()
	return ch, nil
}

// purchasingSummary decodes customers/purchasing_summary, a GraphQL-style
// payload: gid ids, numberOfOrders as a number or (UnsignedInt64) a
// string, amountSpent as a MoneyV2 with a decimal string.
func purchasingSummary(m *mapping.Mapper, ch store.Change, body []byte) (store.Change, error) {
	var p struct {
		CustomerID     string          `json:"customerId"`
		NumberOfOrders json.RawMessage `json:"numberOfOrders"`
		AmountSpent    *struct {
			Amount       shopify.Decimal `json:"amount"`
			CurrencyCode string          `json:"currencyCode"`
		} `json:"amountSpent"`
		LastOrderID shopify.Opt[string] `json:"lastOrderId"`
		OccurredAt  *time.Time          `json:"occurredAt"`
	}
	if err := unmarshal(body, &p); err != nil {
		return ch, err
	}
	id, err := customerGID(p.CustomerID)
	if err != nil {
		return ch, err
	}
	c := shopify.Customer{ID: id}
	if n := bytes.Trim(p.NumberOfOrders, `"`); len(n) > 0 && string(n) != "null" {
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v < 0 {
			return ch, payloadErr("numberOfOrders %s", p.NumberOfOrders)
		}
		c.OrdersCount = shopify.Some(v)
	}
	if p.AmountSpent != nil {
		c.TotalSpent = shopify.Some(p.AmountSpent.Amount)
	}
	switch {
	case p.LastOrderID.Valid():
		oid, err := parseGID(p.LastOrderID.V, "Order")
		if err != nil {
			return ch, err
		}
		c.LastOrderID = shopify.Some(oid)
	case p.LastOrderID.Set:
		c.LastOrderID = shopify.Null[int64]()
	}
	ch, err = upsert(m, ch, &c)
	if err != nil {
		return ch, err
	}
	if p.OccurredAt != nil && ch.Contact.Parts.Has(shopsync.PartPurchasing) {
		ch.Contact.Clocks[shopsync.PartPurchasing] = p.OccurredAt.UTC()
	}
	return ch, nil
}

func clockOr(t *time.Time, fallback time.Time) time.Time {
	if t != nil && !t.IsZero() {
		return t.UTC()
	}
	return fallback.UTC()
}

func customerGID(s string) (int64, error) { return parseGID(s, "Customer") }

// parseGID reads a GraphQL global id such as gid://shopify/Customer/123.
func parseGID(s, kind string) (int64, error) {
	prefix := "gid://shopify/" + kind + "/"
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, payloadErr("%q is not a %s id", s, kind)
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0, payloadErr("%q is not a %s id", s, kind)
	}
	return id, nil
}
