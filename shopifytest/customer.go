// Package shopifytest is a faithful simulator of the Shopify Admin API as
// shopsync uses it, for tests, benchmarks and the demo: the REST customer
// endpoints (cursor pagination with Link headers, since_id/ids/date/fields
// filters, count, get), the client-credentials token grant, the leaky
// bucket with its header and 429 + Retry-After, API version
// fall-forward, GraphQL bulk operations and their result files, webhook
// subscriptions over REST and GraphQL, signed webhook deliveries of the
// customer and compliance topics (both payload generations), customer
// merges, and fault knobs. Facts follow SHOPIFY.md and Shopify's docs.
//
// It imports nothing of shopsync: its Customer is its own Shopify-shaped
// type, so tests of shopsync's decoding are honest.
package shopifytest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Customer is a REST customer as Shopify encodes it (API 2024-04 and
// later): nullable fields are pointers, money a decimal string, ids int64.
// DefaultAddress is omitted from the JSON when nil, as Shopify does for a
// customer without an address.
type Customer struct {
	ID                    int64         `json:"id"`
	Email                 *string       `json:"email"`
	CreatedAt             string        `json:"created_at"`
	UpdatedAt             string        `json:"updated_at"`
	FirstName             *string       `json:"first_name"`
	LastName              *string       `json:"last_name"`
	OrdersCount           int64         `json:"orders_count"`
	State                 string        `json:"state"`
	TotalSpent            string        `json:"total_spent"`
	LastOrderID           *int64        `json:"last_order_id"`
	Note                  *string       `json:"note"`
	VerifiedEmail         bool          `json:"verified_email"`
	MultipassIdentifier   *string       `json:"multipass_identifier"`
	TaxExempt             bool          `json:"tax_exempt"`
	Tags                  string        `json:"tags"`
	LastOrderName         *string       `json:"last_order_name"`
	Currency              string        `json:"currency"`
	Phone                 *string       `json:"phone"`
	Addresses             []Address     `json:"addresses"`
	TaxExemptions         []string      `json:"tax_exemptions"`
	EmailMarketingConsent *EmailConsent `json:"email_marketing_consent"`
	SMSMarketingConsent   *SMSConsent   `json:"sms_marketing_consent"`
	AdminGraphQLAPIID     string        `json:"admin_graphql_api_id"`
	DefaultAddress        *Address      `json:"default_address,omitempty"`
	created               time.Time     // parsed CreatedAt, for date filters
	updated               time.Time     // parsed UpdatedAt, for date filters
}

// EmailConsent is email_marketing_consent: State is one of subscribed,
// not_subscribed, pending, unsubscribed, redacted, invalid.
type EmailConsent struct {
	State            string  `json:"state"`
	OptInLevel       *string `json:"opt_in_level"`
	ConsentUpdatedAt *string `json:"consent_updated_at"`
}

// SMSConsent is sms_marketing_consent: the email states but invalid, and
// ConsentCollectedFrom OTHER or SHOPIFY (upper case in REST).
type SMSConsent struct {
	State                string  `json:"state"`
	OptInLevel           *string `json:"opt_in_level"`
	ConsentUpdatedAt     *string `json:"consent_updated_at"`
	ConsentCollectedFrom string  `json:"consent_collected_from"`
}

// Address is a customer address, in addresses and as default_address.
type Address struct {
	ID           int64   `json:"id"`
	CustomerID   int64   `json:"customer_id"`
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Company      *string `json:"company"`
	Address1     *string `json:"address1"`
	Address2     *string `json:"address2"`
	City         *string `json:"city"`
	Province     *string `json:"province"`
	Country      *string `json:"country"`
	Zip          *string `json:"zip"`
	Phone        *string `json:"phone"`
	Name         *string `json:"name"`
	ProvinceCode *string `json:"province_code"`
	CountryCode  *string `json:"country_code"`
	CountryName  *string `json:"country_name"`
	Default      bool    `json:"default"`
}

// cp copies what p points to, so a clone shares no memory with its source.
func cp[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (a Address) clone() Address {
	a.FirstName, a.LastName, a.Company = cp(a.FirstName), cp(a.LastName), cp(a.Company)
	a.Address1, a.Address2, a.City = cp(a.Address1), cp(a.Address2), cp(a.City)
	a.Province, a.Country, a.Zip, a.Phone = cp(a.Province), cp(a.Country), cp(a.Zip), cp(a.Phone)
	a.Name, a.ProvinceCode, a.CountryCode, a.CountryName = cp(a.Name), cp(a.ProvinceCode), cp(a.CountryCode), cp(a.CountryName)
	return a
}

// clone returns a deep copy of c: the simulator never shares memory with
// its callers, so stored customers can be encoded without a lock.
func (c Customer) clone() Customer {
	c.Email, c.FirstName, c.LastName, c.Note = cp(c.Email), cp(c.FirstName), cp(c.LastName), cp(c.Note)
	c.Phone, c.LastOrderID, c.LastOrderName, c.MultipassIdentifier = cp(c.Phone), cp(c.LastOrderID), cp(c.LastOrderName), cp(c.MultipassIdentifier)
	if c.Addresses != nil {
		addrs := make([]Address, len(c.Addresses))
		for i, a := range c.Addresses {
			addrs[i] = a.clone()
		}
		c.Addresses = addrs
	}
	if c.DefaultAddress != nil {
		a := c.DefaultAddress.clone()
		c.DefaultAddress = &a
	}
	if c.TaxExemptions != nil {
		c.TaxExemptions = append([]string{}, c.TaxExemptions...)
	}
	if e := c.EmailMarketingConsent; e != nil {
		c.EmailMarketingConsent = &EmailConsent{State: e.State, OptInLevel: cp(e.OptInLevel), ConsentUpdatedAt: cp(e.ConsentUpdatedAt)}
	}
	if s := c.SMSMarketingConsent; s != nil {
		c.SMSMarketingConsent = &SMSConsent{State: s.State, OptInLevel: cp(s.OptInLevel),
			ConsentUpdatedAt: cp(s.ConsentUpdatedAt), ConsentCollectedFrom: s.ConsentCollectedFrom}
	}
	return c
}

// normalize makes a customer from outside look like Shopify would send
// it: empty arrays rather than null, the GraphQL id and the addresses'
// customer_id matching the id, and the parsed times the filters use.
func (c *Customer) normalize() {
	if c.Addresses == nil {
		c.Addresses = []Address{}
	}
	if c.TaxExemptions == nil {
		c.TaxExemptions = []string{}
	}
	c.AdminGraphQLAPIID = "gid://shopify/Customer/" + strconv.FormatInt(c.ID, 10)
	for i := range c.Addresses {
		c.Addresses[i].CustomerID = c.ID
	}
	if c.DefaultAddress != nil {
		c.DefaultAddress.CustomerID = c.ID
	}
	c.created, _ = time.Parse(time.RFC3339, c.CreatedAt)
	c.updated, _ = time.Parse(time.RFC3339, c.UpdatedAt)
}

// shopifyTime formats t as Shopify writes times: RFC 3339 with the
// offset, "+00:00" rather than "Z".
// Equal to t.Format("2006-01-02T15:04:05-07:00"), several times faster.
func shopifyTime(t time.Time) string {
	var b [25]byte
	return string(appendTime(b[:0], t))
}

func appendTime(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	_, off := t.Zone()
	b = appendPad(b, y, 4)
	b = appendPad(append(b, '-'), int(mo), 2)
	b = appendPad(append(b, '-'), d, 2)
	b = appendPad(append(b, 'T'), h, 2)
	b = appendPad(append(b, ':'), mi, 2)
	b = appendPad(append(b, ':'), sec, 2)
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = appendPad(append(b, sign), off/3600, 2)
	return appendPad(append(b, ':'), off%3600/60, 2)
}

// jsonKeys are Customer's JSON keys in the order Shopify sends them.
var jsonKeys = func() []string {
	t := reflect.TypeFor[Customer]()
	var keys []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("json"); tag != "" {
			keys = append(keys, strings.Split(tag, ",")[0])
		}
	}
	return keys
}()

// appendCustomer appends c's JSON to buf; fields, when not nil, keeps only
// those keys, as the fields query parameter does.
func appendCustomer(buf *bytes.Buffer, c *Customer, fields map[string]bool) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if fields == nil {
		buf.Write(b)
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	buf.WriteByte('{')
	first := true
	for _, k := range jsonKeys {
		v, ok := all[k]
		if !ok || !fields[k] {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.WriteString(strconv.Quote(k))
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return nil
}

// parseFields reads the fields parameter: nil when absent or empty.
func parseFields(s string) map[string]bool {
	var m map[string]bool
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			if m == nil {
				m = map[string]bool{}
			}
			m[f] = true
		}
	}
	return m
}
