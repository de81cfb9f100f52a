package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
)

const topicUnknown = "unknown"

// Topics returns the topics shopsync acts on.
func Topics() []string {
	return []string{
		shopify.TopicCustomersCreate, shopify.TopicCustomersUpdate, shopify.TopicCustomersEnable, shopify.TopicCustomersDisable,
		shopify.TopicCustomersDelete, shopify.TopicCustomersMerge, shopify.TopicEmailConsentUpdate, shopify.TopicSMSConsentUpdate,
		shopify.TopicPurchasingSummary, shopify.TopicTagsAdded, shopify.TopicTagsRemoved, shopify.TopicCustomersRedact, shopify.TopicShopRedact,
		shopify.TopicCustomersDataRequest,
	}
}

// Meta is what a delivery's headers, and the receiver, say about it. The
// headers are not signed: Decode trusts none of them beyond what the body
// confirms.
type Meta struct {
	Topic       string
	WebhookID   string
	EventID     string    // X-Shopify-Event-Id; "" when not sent
	TriggeredAt time.Time // X-Shopify-Triggered-At, clamped to the time of receipt; that time when absent
	// Shop is the configured shop's myshopify.com domain: a compliance
	// body's shop_domain must name it.
	Shop string
}

// ErrPayload wraps every decoding error: the body is not the topic's JSON.
var ErrPayload = errors.New("bad payload")

func payloadErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPayload, fmt.Sprintf(format, args...))
}

// Decode turns a verified delivery into the store change it asks for. A
// topic shopsync does not use becomes shopsync.ChangeIgnore: it is recorded
// and counted, and changes nothing.
//
// The signature covers the body, not the topic header, so a genuine body
// could be sent again under another topic. Each topic's body must have
// that topic's shape (checkShape), and a compliance body must name the
// configured shop. The rest is made harmless downstream: a deletion only
// queues a read that confirms it, and an old body loses against newer data
// by the part's own clock.
//
// Keys absent from a payload are unknown and change nothing (mapping
// leaves them out). A part without a clock of its own in the payload (a
// 2025-01 consent update with consent_updated_at null) is ordered by
// X-Shopify-Triggered-At.
func Decode(m *mapping.Mapper, meta Meta, body []byte) (shopsync.Change, error) {
	ch := shopsync.Change{
		Source: meta.Topic,
		Seen:   meta.TriggeredAt,
		Delivery: &shopsync.Delivery{
			WebhookID: meta.WebhookID, Topic: meta.Topic, TriggeredAt: meta.TriggeredAt,
		},
	}
	if meta.EventID != "" {
		// Shopify sends one event to each subscription of its topic, with
		// the same event id; with include_fields their bodies may differ,
		// and only the same body is the same delivery.
		sum := sha256.Sum256(body)
		ch.Delivery.EventKey = meta.EventID + " " + hex.EncodeToString(sum[:12])
	}
	if topicFamily(meta.Topic) == familyOther {
		// Topics shopsync does not use are recorded, if they are JSON.
		if !json.Valid(body) {
			return ch, payloadErr("not JSON")
		}
		ch.Kind = shopsync.ChangeIgnore
		return ch, nil
	}
	keys, err := topLevel(body)
	if err != nil {
		return ch, err
	}
	if err := checkShape(meta, keys); err != nil {
		return ch, err
	}
	switch meta.Topic {
	case shopify.TopicCustomersCreate, shopify.TopicCustomersUpdate, shopify.TopicCustomersEnable, shopify.TopicCustomersDisable:
		var p struct {
			shopify.Customer
			Addresses shopify.Opt[[]webhookAddress] `json:"addresses"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		c := p.Customer
		if err := customerID(&c); err != nil {
			return ch, err
		}
		// The whole addresses list tells what the default address is when
		// the payload leaves default_address out: the one marked default,
		// or none.
		if !c.DefaultAddress.Set && p.Addresses.Set {
			c.DefaultAddress = shopify.Null[shopify.Address]()
			for _, a := range p.Addresses.V {
				if a.Default {
					c.DefaultAddress = shopify.Some(a.Address)
				}
			}
		}
		return upsert(m, ch, &c)
	case shopify.TopicEmailConsentUpdate:
		var p struct {
			CustomerID int64                             `json:"customer_id"`
			Consent    shopify.Opt[shopify.EmailConsent] `json:"email_marketing_consent"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		return upsert(m, ch, &shopify.Customer{ID: p.CustomerID, EmailMarketingConsent: p.Consent})
	case shopify.TopicSMSConsentUpdate:
		var p struct {
			ID      int64                           `json:"id"`
			Consent shopify.Opt[shopify.SMSConsent] `json:"sms_marketing_consent"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		return upsert(m, ch, &shopify.Customer{ID: p.ID, SMSMarketingConsent: p.Consent})
	case shopify.TopicPurchasingSummary:
		return purchasingSummary(m, ch, body)
	case shopify.TopicTagsAdded, shopify.TopicTagsRemoved:
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
		ch.Kind, ch.ShopifyID, ch.Tags, ch.Need = shopsync.ChangeTagsAdded, id, p.Tags, m.Parts()
		if meta.Topic == shopify.TopicTagsRemoved {
			ch.Kind = shopsync.ChangeTagsRemoved
		}
		ch.Clock = occurredAt(p.OccurredAt)
		return ch, nil
	case shopify.TopicCustomersDelete:
		var c shopify.Customer
		if err := unmarshal(body, &c); err != nil {
			return ch, err
		}
		if err := customerID(&c); err != nil {
			return ch, err
		}
		// Confirmed by a read before it takes effect: a signed update body
		// sent again as customers/delete must not delete a live customer.
		ch.Kind, ch.ShopifyID = shopsync.ChangeRefetch, c.ID
		return ch, nil
	case shopify.TopicCustomersMerge:
		var p struct {
			KeptID    string `json:"admin_graphql_api_customer_kept_id"`
			DeletedID string `json:"admin_graphql_api_customer_deleted_id"`
			Status    string `json:"status"`
		}
		if err := unmarshal(body, &p); err != nil {
			return ch, err
		}
		// A merge that failed left both customers as they were (the
		// reference sample is one, with status "failed").
		if strings.EqualFold(p.Status, "failed") {
			ch.Kind = shopsync.ChangeIgnore
			return ch, nil
		}
		kept, err := customerGID(p.KeptID)
		if err != nil {
			return ch, err
		}
		merged, err := customerGID(p.DeletedID)
		if err != nil {
			return ch, err
		}
		// Reading both customers again tells what became of them.
		ch.Kind, ch.ShopifyID = shopsync.ChangeMerge, kept
		ch.Merge = &shopsync.Merge{KeptID: kept, MergedID: merged}
		return ch, nil
	case shopify.TopicCustomersRedact, shopify.TopicCustomersDataRequest:
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
		ch.Kind = shopsync.ChangeRedactCustomer
		if meta.Topic == shopify.TopicCustomersDataRequest {
			ch.Kind = shopsync.ChangeDataRequest
			ch.DataRequest = &shopsync.DataRequest{ID: p.DataRequest.ID, OrdersRequested: p.OrdersRequested}
		}
		return ch, nil
	case shopify.TopicShopRedact:
		ch.Kind = shopsync.ChangeRedactShop
		return ch, nil
	}
	ch.Kind = shopsync.ChangeIgnore
	return ch, nil
}

// webhookAddress is an entry of a customer payload's addresses.
type webhookAddress struct {
	shopify.Address
	Default bool `json:"default"`
}

// topLevel checks that body is one JSON object and returns its members.
// Numbers stay raw text, never float64.
func topLevel(body []byte) (map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, payloadErr("not a JSON object")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		return nil, payloadErr("%v", err)
	}
	return keys, nil
}

// A family of topics whose bodies share a shape, and the keys only bodies
// of that family carry: a body with another family's keys was not written
// for the topic it came under.
type family int

const (
	familyCustomer     family = iota // the REST customer object, whole or trimmed
	familyEmailConsent               // customers_email_marketing_consent/update
	familyEvent                      // GraphQL-style events: purchasing summary, tags
	familyMerge                      // customers/merge
	familyCompliance                 // customers/redact, customers/data_request, shop/redact
	familyOther                      // topics shopsync does not use
)

var familyKeys = map[family][]string{
	familyEmailConsent: {"customer_id", "email_address"},
	familyEvent:        {"customerId", "occurredAt", "numberOfOrders", "amountSpent", "lastOrderId"},
	familyMerge:        {"admin_graphql_api_customer_kept_id", "admin_graphql_api_customer_deleted_id", "admin_graphql_api_job_id"},
	familyCompliance:   {"shop_id", "shop_domain", "orders_to_redact", "orders_requested", "data_request"},
}

func topicFamily(topic string) family {
	switch topic {
	case shopify.TopicCustomersCreate, shopify.TopicCustomersUpdate, shopify.TopicCustomersEnable, shopify.TopicCustomersDisable,
		shopify.TopicCustomersDelete, shopify.TopicSMSConsentUpdate:
		return familyCustomer
	case shopify.TopicEmailConsentUpdate:
		return familyEmailConsent
	case shopify.TopicPurchasingSummary, shopify.TopicTagsAdded, shopify.TopicTagsRemoved:
		return familyEvent
	case shopify.TopicCustomersMerge:
		return familyMerge
	case shopify.TopicCustomersRedact, shopify.TopicCustomersDataRequest, shopify.TopicShopRedact:
		return familyCompliance
	}
	return familyOther
}

// checkShape checks that a body has its topic's shape: the keys the topic
// needs, none that only another family's bodies carry, and, for the
// privacy topics, exactly their own distinguishing keys and the
// configured shop.
func checkShape(meta Meta, keys map[string]json.RawMessage) error {
	fam := topicFamily(meta.Topic)
	if fam == familyOther {
		return nil
	}
	for f, ks := range familyKeys {
		if f == fam {
			continue
		}
		for _, k := range ks {
			if _, ok := keys[k]; ok {
				return payloadErr("key %q does not belong in a %s body", k, meta.Topic)
			}
		}
	}
	need := func(ks ...string) error {
		for _, k := range ks {
			if v, ok := keys[k]; !ok || string(v) == "null" {
				return payloadErr("a %s body needs %q", meta.Topic, k)
			}
		}
		return nil
	}
	refuse := func(ks ...string) error {
		for _, k := range ks {
			if _, ok := keys[k]; ok {
				return payloadErr("key %q does not belong in a %s body", k, meta.Topic)
			}
		}
		return nil
	}
	var err error
	switch meta.Topic {
	case shopify.TopicEmailConsentUpdate:
		err = need("customer_id", "email_marketing_consent")
	case shopify.TopicSMSConsentUpdate:
		err = need("id", "sms_marketing_consent")
	case shopify.TopicPurchasingSummary:
		err = need("customerId")
		if err == nil {
			err = refuse("tags")
		}
	case shopify.TopicTagsAdded, shopify.TopicTagsRemoved:
		err = errors.Join(need("customerId", "tags"),
			refuse("numberOfOrders", "amountSpent", "lastOrderId"))
	case shopify.TopicCustomersMerge:
		err = need("admin_graphql_api_customer_kept_id", "admin_graphql_api_customer_deleted_id")
	case shopify.TopicCustomersRedact:
		err = errors.Join(need("shop_id", "shop_domain", "customer", "orders_to_redact"),
			refuse("orders_requested", "data_request"))
	case shopify.TopicCustomersDataRequest:
		err = errors.Join(need("shop_id", "shop_domain", "customer", "data_request"),
			refuse("orders_to_redact"))
	case shopify.TopicShopRedact:
		err = errors.Join(need("shop_id", "shop_domain"),
			refuse("customer", "orders_to_redact", "orders_requested", "data_request"))
	}
	if err != nil {
		return err
	}
	if fam == familyCompliance {
		var shop string
		if json.Unmarshal(keys["shop_domain"], &shop) != nil || !strings.EqualFold(shop, meta.Shop) {
			return payloadErr("%s for another shop", meta.Topic)
		}
	}
	return nil
}

// unmarshal decodes a JSON object; numbers stay exact (ids are int64,
// money a decimal string: never float64).
func unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return payloadErr("%v", err)
	}
	return nil
}

// customerID fills in a customer payload's id from admin_graphql_api_id
// when id is absent (a payload trimmed by include_fields may carry only
// the GraphQL id); both present must agree.
func customerID(c *shopify.Customer) error {
	if !c.AdminGraphQLAPIID.Valid() {
		if c.ID <= 0 {
			return payloadErr("no customer id")
		}
		return nil
	}
	gid, err := customerGID(c.AdminGraphQLAPIID.V)
	if err != nil {
		return err
	}
	if c.ID != 0 && c.ID != gid {
		return payloadErr("id %d and admin_graphql_api_id %q disagree", c.ID, c.AdminGraphQLAPIID.V)
	}
	c.ID = gid
	return nil
}

// upsert maps a customer payload to a change.
func upsert(m *mapping.Mapper, ch shopsync.Change, c *shopify.Customer) (shopsync.Change, error) {
	if c.ID <= 0 {
		return ch, payloadErr("no customer id")
	}
	k, err := m.Contact(c)
	if err != nil {
		return ch, payloadErr("%v", err)
	}
	ch.Kind, ch.ShopifyID, ch.Contact, ch.Need = shopsync.ChangeUpsert, c.ID, &k, m.Parts()
	return ch, nil
}

// purchasingSummary decodes customers/purchasing_summary, a GraphQL-style
// payload: gid ids, numberOfOrders as a number or (UnsignedInt64) a
// string, amountSpent as a MoneyV2 with a decimal string and the currency
// it is in. It names the last order by id only: the stored name stays
// while the id does, and is unknown (null, until the contact is read
// again) once it changes.
func purchasingSummary(m *mapping.Mapper, ch shopsync.Change, body []byte) (shopsync.Change, error) {
	var p struct {
		CustomerID     string          `json:"customerId"`
		NumberOfOrders json.RawMessage `json:"numberOfOrders"`
		AmountSpent    *struct {
			Amount       shopify.Decimal     `json:"amount"`
			CurrencyCode shopify.Opt[string] `json:"currencyCode"`
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
		c.Currency = p.AmountSpent.CurrencyCode
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
		c.LastOrderName = shopify.Null[string]() // no last order: no name
	}
	ch, err = upsert(m, ch, &c)
	if err != nil {
		return ch, err
	}
	k := ch.Contact
	if p.LastOrderID.Valid() {
		markKeepIf(m, k, "last_order_name", "last_order_id")
	}
	if k.Parts.Has(shopsync.PartPurchasing) {
		k.Clocks[shopsync.PartPurchasing] = occurredAt(p.OccurredAt)
	}
	return ch, nil
}

// markKeepIf adds attribute name, when the mapper keeps it, as not
// carried: the stored value stays while attribute keepIf keeps its value.
// The payload then speaks for name's whole part.
func markKeepIf(m *mapping.Mapper, k *shopsync.Contact, name, keepIf string) {
	spec, ok := m.Spec(name)
	if !ok {
		return
	}
	if _, ok := k.Attributes.Get(keepIf); !ok {
		return
	}
	k.Attributes = append(k.Attributes, shopsync.Attribute{Name: name, Type: spec.Type, Part: spec.Part, KeepIf: keepIf})
	k.Attributes.Sort()
	if m.Complete(k, spec.Part) {
		k.Full |= shopsync.Set(spec.Part)
	}
}

// occurredAt is the clock of an event payload's occurredAt, if it has one.
func occurredAt(t *time.Time) shopsync.Clock {
	if t == nil || t.IsZero() {
		return shopsync.Clock{}
	}
	return shopsync.Clock{Time: t.UTC(), Kind: shopsync.ClockOccurredAt}
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
