package shopify

// DecodeCustomers is decodeCustomers, for the differential fuzz test.
var DecodeCustomers = decodeCustomers

// CustomerFields is the listing's fields parameter.
var CustomerFields = customerFields
