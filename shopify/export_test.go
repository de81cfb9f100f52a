package shopify

// DecodeCustomers is decodeCustomers, for the differential fuzz test.
func DecodeCustomers(body []byte) ([]Customer, error) { return decodeCustomers(body, 250) }

// CustomerFields is the listing's fields parameter.
var CustomerFields = customerFields
