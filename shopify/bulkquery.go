package shopify

import "strings"

// CustomerBulkQuery returns the bulk query of every customer with the
// fields shopsync maps (the GraphQL names of Customer's REST fields; see
// BulkDecoder). Its root is the customers connection and nothing in it is a
// connection, so the result has one line per customer.
//
// No sortKey and no filter: peers saw a bulk query that pairs a sortKey
// with a filter leave out matching records (estuary/connectors
// source-shopify-native models.py, "Don't sort bulk queries"), and the
// guide warns that the file's order is not to be relied on; the importer
// copes with any order.
//
// The default address carries only what the mapper can use (city,
// company, country and province codes, zip): less protected customer data
// fetched, as the REST listing's fields parameter does.
//
// lastOrder is an Order: reading it needs the read_orders scope, and for
// orders older than 60 days read_all_orders (the Order object's access
// note, shopify.dev/docs/api/admin-graphql/latest/objects/Order); REST's
// customers.json gives last_order_id and last_order_name with
// read_customers alone. withLastOrder adds it; callers set it only when
// both scopes are granted (LastOrderScopes).
func CustomerBulkQuery(withLastOrder bool) string {
	var b strings.Builder
	b.WriteString(`{
  customers {
    edges {
      node {
        id
        email
        firstName
        lastName
        phone
        note
        state
        tags
        verifiedEmail
        taxExempt
        createdAt
        updatedAt
        numberOfOrders
        amountSpent { amount currencyCode }
        emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }
        smsMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt consentCollectedFrom }
        defaultAddress { city company countryCodeV2 provinceCode zip }
`)
	if withLastOrder {
		b.WriteString("        lastOrder { id name }\n")
	}
	b.WriteString("      }\n    }\n  }\n}")
	return b.String()
}

// LastOrderScopes reports whether scopes let a bulk query read a
// customer's last order as REST lists it: read_orders (or write_orders,
// which includes it) and read_all_orders.
func LastOrderScopes(scopes []string) bool {
	var orders, all bool
	for _, s := range scopes {
		switch s {
		case "read_orders", "write_orders":
			orders = true
		case "read_all_orders":
			all = true
		}
	}
	return orders && all
}
