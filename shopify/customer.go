package shopify

import "time"

// Customer is the REST Admin API customer resource (API 2024-04 and later,
// SHOPIFY.md §4) and the body of the customers/create and customers/update
// webhooks. Every field but the id is an Opt, so that a decoder can tell a
// key missing from a payload (2025-01 webhooks drop order stats, tags and
// consent) from an explicit null (empty, or protected data withheld).
//
// go-shopify's own Customer type is not used: it collapses null into "",
// types marketing_opt_in_level as a bool, and one malformed field fails the
// whole page. Ids are int64, money a Decimal: never float64.
type Customer struct {
	ID                    int64             `json:"id"`
	Email                 Opt[string]       `json:"email,omitzero"`
	FirstName             Opt[string]       `json:"first_name,omitzero"`
	LastName              Opt[string]       `json:"last_name,omitzero"`
	Phone                 Opt[string]       `json:"phone,omitzero"`
	Note                  Opt[string]       `json:"note,omitzero"`
	State                 Opt[string]       `json:"state,omitzero"`
	OrdersCount           Opt[int64]        `json:"orders_count,omitzero"`
	TotalSpent            Opt[Decimal]      `json:"total_spent,omitzero"`
	Currency              Opt[string]       `json:"currency,omitzero"`
	Tags                  Opt[string]       `json:"tags,omitzero"`
	VerifiedEmail         Opt[bool]         `json:"verified_email,omitzero"`
	TaxExempt             Opt[bool]         `json:"tax_exempt,omitzero"`
	LastOrderID           Opt[int64]        `json:"last_order_id,omitzero"`
	LastOrderName         Opt[string]       `json:"last_order_name,omitzero"`
	EmailMarketingConsent Opt[EmailConsent] `json:"email_marketing_consent,omitzero"`
	SMSMarketingConsent   Opt[SMSConsent]   `json:"sms_marketing_consent,omitzero"`
	DefaultAddress        Opt[Address]      `json:"default_address,omitzero"`
	CreatedAt             Opt[time.Time]    `json:"created_at,omitzero"`
	UpdatedAt             Opt[time.Time]    `json:"updated_at,omitzero"`
	AdminGraphQLAPIID     Opt[string]       `json:"admin_graphql_api_id,omitzero"`
}

// EmailConsent is a customer's email_marketing_consent. State is one of
// subscribed, not_subscribed, pending, unsubscribed, redacted, invalid.
type EmailConsent struct {
	State            Opt[string]    `json:"state,omitzero"`
	OptInLevel       Opt[string]    `json:"opt_in_level,omitzero"`
	ConsentUpdatedAt Opt[time.Time] `json:"consent_updated_at,omitzero"`
}

// SMSConsent is a customer's sms_marketing_consent. ConsentCollectedFrom
// is upper-case in REST (OTHER, SHOPIFY) and lower-case in webhooks.
type SMSConsent struct {
	State                Opt[string]    `json:"state,omitzero"`
	OptInLevel           Opt[string]    `json:"opt_in_level,omitzero"`
	ConsentUpdatedAt     Opt[time.Time] `json:"consent_updated_at,omitzero"`
	ConsentCollectedFrom Opt[string]    `json:"consent_collected_from,omitzero"`
}

// Address is a customer address (default_address or an addresses entry).
type Address struct {
	Address1     Opt[string] `json:"address1,omitzero"`
	Address2     Opt[string] `json:"address2,omitzero"`
	City         Opt[string] `json:"city,omitzero"`
	Province     Opt[string] `json:"province,omitzero"`
	ProvinceCode Opt[string] `json:"province_code,omitzero"`
	Country      Opt[string] `json:"country,omitzero"`
	CountryCode  Opt[string] `json:"country_code,omitzero"`
	Zip          Opt[string] `json:"zip,omitzero"`
	Phone        Opt[string] `json:"phone,omitzero"`
	Company      Opt[string] `json:"company,omitzero"`
	Name         Opt[string] `json:"name,omitzero"`
}

// nullAbsent makes every key the customer's payload lacked an explicit
// null, for an answer to a request that asked for every key: there the
// absence of a key means that Shopify has no value for it (a customer
// without an address has no default_address), not that it is unknown.
func (c *Customer) nullAbsent() {
	nullIfAbsent(&c.Email)
	nullIfAbsent(&c.FirstName)
	nullIfAbsent(&c.LastName)
	nullIfAbsent(&c.Phone)
	nullIfAbsent(&c.Note)
	nullIfAbsent(&c.State)
	nullIfAbsent(&c.OrdersCount)
	nullIfAbsent(&c.TotalSpent)
	nullIfAbsent(&c.Currency)
	nullIfAbsent(&c.Tags)
	nullIfAbsent(&c.VerifiedEmail)
	nullIfAbsent(&c.TaxExempt)
	nullIfAbsent(&c.LastOrderID)
	nullIfAbsent(&c.LastOrderName)
	nullIfAbsent(&c.EmailMarketingConsent)
	nullIfAbsent(&c.SMSMarketingConsent)
	nullIfAbsent(&c.DefaultAddress)
	nullIfAbsent(&c.CreatedAt)
	nullIfAbsent(&c.UpdatedAt)
	nullIfAbsent(&c.AdminGraphQLAPIID)
}

func nullIfAbsent[T any](o *Opt[T]) {
	if !o.Set {
		*o = Null[T]()
	}
}
