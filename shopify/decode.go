package shopify

import (
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// UnmarshalJSONFrom implements json v2's UnmarshalerFrom, which the
// customer listing decodes with (see decodeCustomers): it reads the value
// straight from the stream, with no second scan of its bytes. It gives
// the result UnmarshalJSON gives.
func (o *Opt[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	o.Set = true
	if dec.PeekKind() == 'n' {
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		o.Null = true
		var zero T
		o.V = zero
		return nil
	}
	o.Null = false
	switch any(&o.V).(type) {
	case *string, *int64, *bool, *time.Time, *Decimal:
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		return decodeValue(raw, &o.V)
	}
	return jsonv2.UnmarshalDecode(dec, &o.V)
}

// listingOptions make json v2 decode a listing as encoding/json would
// (FuzzDecodeCustomers holds it to that): key names matched without case,
// the last of duplicate keys kept, invalid UTF-8 replaced by U+FFFD.
var listingOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true), // "first-name" is not first_name
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// decodeCustomers decodes the body of a customers.json listing. json v2
// (github.com/go-json-experiment/json, the proposed encoding/json/v2)
// reads each value once, straight into Customer, and calls
// Opt.UnmarshalJSONFrom without rescanning: a page decodes in well under
// half the time encoding/json takes (BenchmarkDecodePage).
//
// limit, the page size asked for, sizes the result: growing it
// customer by customer cost more than half of a page's allocations.
func decodeCustomers(body []byte, limit int) ([]Customer, error) {
	var res struct {
		Customers []Customer `json:"customers"`
	}
	res.Customers = make([]Customer, 0, min(max(limit, 0), 250))
	if err := jsonv2.Unmarshal(body, &res, listingOptions); err != nil {
		return nil, err
	}
	return res.Customers, nil
}
