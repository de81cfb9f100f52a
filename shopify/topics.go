package shopify

// Webhook topics, by their REST names (SHOPIFY.md §6; the GraphQL enum
// value is GraphQLTopic of the name). Every part of shopsync names a topic
// by these constants; the simulator (shopifytest) keeps its own, as
// Shopify's side of the wire.
const (
	TopicCustomersCreate      = "customers/create"
	TopicCustomersUpdate      = "customers/update"
	TopicCustomersEnable      = "customers/enable"
	TopicCustomersDisable     = "customers/disable"
	TopicCustomersDelete      = "customers/delete"
	TopicCustomersMerge       = "customers/merge" // needs the read_customer_merge scope
	TopicEmailConsentUpdate   = "customers_email_marketing_consent/update"
	TopicSMSConsentUpdate     = "customers_marketing_consent/update"
	TopicPurchasingSummary    = "customers/purchasing_summary"
	TopicTagsAdded            = "customer.tags_added"
	TopicTagsRemoved          = "customer.tags_removed"
	TopicCustomersRedact      = "customers/redact"
	TopicShopRedact           = "shop/redact"
	TopicCustomersDataRequest = "customers/data_request"
)

// SubscriptionTopics returns the topics shopsync subscribes to, REST style.
// Since API 2025-01 customers/create and customers/update no longer carry
// tags, consent or order stats: the last five topics carry them.
func SubscriptionTopics() []string {
	return []string{
		TopicCustomersCreate,
		TopicCustomersUpdate,
		TopicCustomersEnable,
		TopicCustomersDisable,
		TopicCustomersDelete,
		TopicEmailConsentUpdate,
		TopicSMSConsentUpdate,
		TopicPurchasingSummary,
		TopicTagsAdded,
		TopicTagsRemoved,
	}
}

// ComplianceTopics returns the mandatory privacy topics. Shopify accepts
// them only from the app's configuration (Dev Dashboard or Partner
// Dashboard, or shopify.app.toml), never through the API.
func ComplianceTopics() []string {
	return []string{TopicCustomersDataRequest, TopicCustomersRedact, TopicShopRedact}
}

// graphQLOnly are topics the REST API does not take (SHOPIFY.md §6).
func graphQLOnly(topic string) bool {
	switch topic {
	case TopicTagsAdded, TopicTagsRemoved, TopicPurchasingSummary:
		return true
	}
	return false
}

func compliance(topic string) bool {
	switch topic {
	case TopicCustomersDataRequest, TopicCustomersRedact, TopicShopRedact:
		return true
	}
	return false
}
