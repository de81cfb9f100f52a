package shopifytest

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
)

// customerChanged queues the webhooks a change of customer causes: old is
// nil for a creation, cur nil for a deletion. Stored customers are never
// mutated, so it runs without the customer lock.
//
//   - creation: customers/create; then customer.tags_added with every tag,
//     the two consent topics when the customer has consent, and
//     customers/purchasing_summary when it has orders (a simulator
//     choice: Shopify's behaviour on creation is undocumented);
//   - change (any difference in the REST JSON): customers/update; also
//     customers/enable or customers/disable when state becomes enabled or
//     disabled, customer.tags_added/removed with the tags that came or
//     went, a consent topic when that consent changed, and
//     customers/purchasing_summary when orders_count, total_spent or
//     last_order_id changed;
//   - deletion: customers/delete.
//
// Options.WebhookGeneration shapes only the customer object of
// create/update/enable/disable; the other topics fire in both
// generations. All deliveries of one change share an event id and
// trigger time.
func (s *Server) customerChanged(old, cur *Customer) {
	if s.opts.WebhookSecret == "" {
		return
	}
	topics := s.hooks.topics()
	if topics == nil {
		return
	}
	at := s.now()
	gen := s.opts.WebhookGeneration
	var ds []Delivery
	add := func(topic string, c *Customer) {
		if topics[topic] {
			if b, err := customerTopicBody(topic, c, gen); err == nil {
				ds = append(ds, Delivery{Topic: topic, Body: b})
			}
		}
	}
	tags := func(topic string, id int64, list []string) {
		if topics[topic] && len(list) > 0 {
			ds = append(ds, Delivery{Topic: topic, Body: tagsBody(id, list, at)})
		}
	}
	purchasing := func(c *Customer) {
		if topics[TopicCustomersPurchasingSummary] {
			ds = append(ds, Delivery{Topic: TopicCustomersPurchasingSummary, Body: purchasingSummaryBody(c, at)})
		}
	}
	switch {
	case cur == nil:
		add(TopicCustomersDelete, old)
	case old == nil:
		add(TopicCustomersCreate, cur)
		tags(TopicCustomerTagsAdded, cur.ID, splitTags(cur.Tags))
		if cur.EmailMarketingConsent != nil {
			add(TopicCustomersEmailConsent, cur)
		}
		if cur.SMSMarketingConsent != nil {
			add(TopicCustomersSMSConsent, cur)
		}
		if cur.OrdersCount > 0 {
			purchasing(cur)
		}
	default:
		if sameJSON(old, cur) {
			return
		}
		add(TopicCustomersUpdate, cur)
		if cur.State != old.State {
			switch cur.State {
			case "enabled":
				add(TopicCustomersEnable, cur)
			case "disabled":
				add(TopicCustomersDisable, cur)
			}
		}
		before, after := splitTags(old.Tags), splitTags(cur.Tags)
		tags(TopicCustomerTagsAdded, cur.ID, missingFrom(after, before))
		tags(TopicCustomerTagsRemoved, cur.ID, missingFrom(before, after))
		if !sameJSON(old.EmailMarketingConsent, cur.EmailMarketingConsent) {
			add(TopicCustomersEmailConsent, cur)
		}
		if !sameJSON(old.SMSMarketingConsent, cur.SMSMarketingConsent) {
			add(TopicCustomersSMSConsent, cur)
		}
		if old.OrdersCount != cur.OrdersCount || old.TotalSpent != cur.TotalSpent || !sameJSON(old.LastOrderID, cur.LastOrderID) {
			purchasing(cur)
		}
	}
	s.enqueue(s.stamped(ds, at))
}

// stamped gives deliveries of one event their shared event id, trigger
// time, shop and payload version.
func (s *Server) stamped(ds []Delivery, at time.Time) []Delivery {
	event := newUUID()
	for i := range ds {
		ds[i].EventID, ds[i].TriggeredAt = event, at
		ds[i].ShopDomain, ds[i].APIVersion = s.shopDomain(), s.webhookAPIVersion()
	}
	return ds
}

// shopDomain is Options.ShopDomain or DefaultShopDomain.
func (s *Server) shopDomain() string {
	if s.opts.ShopDomain != "" {
		return s.opts.ShopDomain
	}
	return DefaultShopDomain
}

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// missingFrom returns the tags of a that b lacks, in a's order.
func missingFrom(a, b []string) []string {
	var out []string
	for _, t := range a {
		if !slices.Contains(b, t) {
			out = append(out, t)
		}
	}
	return out
}
