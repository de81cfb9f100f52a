package mapping

import (
	"strings"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// Spec describes one custom attribute a customer can be mapped to.
type Spec struct {
	Name        string
	Type        shopsync.AttrType
	Part        shopsync.Part // the clock that versions it
	Default     bool          // mapped unless mapping.attributes says otherwise
	Description string        // for docs and `config check`

	present func(*shopify.Customer) bool // the payload carried its source
	value   func(*shopify.Customer) shopsync.Attribute
}

// Catalog returns every attribute shopsync can map, sorted by name.
func Catalog() []Spec { return append([]Spec(nil), catalog...) }

// DefaultAttributes returns the names of the attributes mapped by default.
func DefaultAttributes() []string {
	var out []string
	for _, s := range catalog {
		if s.Default {
			out = append(out, s.Name)
		}
	}
	return out
}

func specByName(name string) (Spec, bool) {
	for _, s := range catalog {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

func names(specs []Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

// utc returns the time in UTC, or nil when absent, null, or outside the
// years 0000–9999 once in UTC (such as "0000-01-01T00:00:00+01:00"): RFC
// 3339 cannot write those, so the contact could not be encoded as JSON nor
// its stored text parsed back.
func utc(o shopify.Opt[time.Time]) *time.Time {
	t, ok := utcTime(o)
	if !ok {
		return nil
	}
	return &t
}

// utcTime is utc without the pointer, for a time only read.
func utcTime(o shopify.Opt[time.Time]) (time.Time, bool) {
	if !o.Valid() {
		return time.Time{}, false
	}
	t := o.V.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// hasAddress reports whether the payload speaks about the default
// address. Its absence is unknown, as for every key: a payload trimmed by
// include_fields may carry updated_at and no address. Where absence means
// "no address" the decoder of the payload says so with an explicit null
// (the client, for the keys it asked the Admin API for; the webhook
// receiver, from the addresses list).
func hasAddress(c *shopify.Customer) bool { return c.DefaultAddress.Set }

func addr(c *shopify.Customer, field func(*shopify.Address) shopify.Opt[string]) *string {
	if !c.DefaultAddress.Valid() {
		return nil
	}
	return field(&c.DefaultAddress.V).Ptr()
}

// emailConsent returns the customer's email consent; nil when it has
// none. A consent webhook speaks of a customer without consent as an
// object of nulls where the REST customer has null (SHOPIFY.md §6): both
// mean no consent, and map alike.
func emailConsent(c *shopify.Customer) *shopify.EmailConsent {
	if !c.EmailMarketingConsent.Valid() || !c.EmailMarketingConsent.V.State.Valid() {
		return nil
	}
	return &c.EmailMarketingConsent.V
}

// smsConsent is emailConsent for SMS. The webhook's object of nulls still
// says consent_collected_from "other" (Shopify's sample): without a state
// there is no consent to have been collected.
func smsConsent(c *shopify.Customer) *shopify.SMSConsent {
	if !c.SMSMarketingConsent.Valid() || !c.SMSMarketingConsent.V.State.Valid() {
		return nil
	}
	return &c.SMSMarketingConsent.V
}

func hasEmailConsent(c *shopify.Customer) bool { return c.EmailMarketingConsent.Set }
func hasSMSConsent(c *shopify.Customer) bool   { return c.SMSMarketingConsent.Set }

// enum returns a Shopify enum value (a consent state, an opt-in level, an
// account state) in lower case, as REST writes them, nil when absent or
// null. The GraphQL bulk reader lower-cases GraphQL's upper case
// (shopify.BulkDecoder); REST payloads are taken as sent. Lower-casing
// them here too stores one spelling whichever API read the customer, so
// that its content hash, a segment's comparison and the CRM's export see
// the same value.
func enum(o shopify.Opt[string]) *string {
	if !o.Valid() {
		return nil
	}
	s := strings.ToLower(o.V)
	return &s
}

// subscribed is the only consent state that allows marketing (SHOPIFY.md §4).
func subscribed(state shopify.Opt[string]) *bool {
	ok := state.Valid() && strings.EqualFold(state.V, "subscribed")
	return &ok
}

var catalog = []Spec{
	{
		Name: "accepts_email_marketing", Type: shopsync.TypeBoolean, Default: true,
		Part:        shopsync.PartEmailConsent,
		Description: "true only when the email consent state is subscribed",
		present:     hasEmailConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			f := false
			if ec := emailConsent(c); ec != nil {
				return shopsync.BoolAttr("accepts_email_marketing", subscribed(ec.State))
			}
			return shopsync.BoolAttr("accepts_email_marketing", &f)
		},
	},
	{
		Name: "accepts_sms_marketing", Type: shopsync.TypeBoolean, Default: true,
		Part:        shopsync.PartSMSConsent,
		Description: "true only when the SMS consent state is subscribed",
		present:     hasSMSConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			f := false
			if sc := smsConsent(c); sc != nil {
				return shopsync.BoolAttr("accepts_sms_marketing", subscribed(sc.State))
			}
			return shopsync.BoolAttr("accepts_sms_marketing", &f)
		},
	},
	{
		Name: "currency", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartPurchasing,
		Description: "ISO 4217 currency of total_spent",
		present:     func(c *shopify.Customer) bool { return c.Currency.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.StringAttr("currency", c.Currency.Ptr())
		},
	},
	addressSpec("default_address_city", true, "city of the default address",
		func(a *shopify.Address) shopify.Opt[string] { return a.City }),
	addressSpec("default_address_company", false, "company of the default address",
		func(a *shopify.Address) shopify.Opt[string] { return a.Company }),
	addressSpec("default_address_country_code", true, "ISO country code of the default address",
		func(a *shopify.Address) shopify.Opt[string] { return a.CountryCode }),
	addressSpec("default_address_province_code", false, "province or state code of the default address",
		func(a *shopify.Address) shopify.Opt[string] { return a.ProvinceCode }),
	addressSpec("default_address_zip", false, "postal code of the default address",
		func(a *shopify.Address) shopify.Opt[string] { return a.Zip }),
	{
		Name: "email_marketing_consent", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartEmailConsent,
		Description: "email consent state, lower-case: subscribed, not_subscribed, pending, unsubscribed, redacted, invalid; null when none",
		present:     hasEmailConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if ec := emailConsent(c); ec != nil {
				v = enum(ec.State)
			}
			return shopsync.StringAttr("email_marketing_consent", v)
		},
	},
	{
		Name: "email_marketing_consent_updated_at", Type: shopsync.TypeTimestamp, Default: true,
		Part:        shopsync.PartEmailConsent,
		Description: "when the email consent last changed",
		present:     hasEmailConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *time.Time
			if ec := emailConsent(c); ec != nil {
				v = utc(ec.ConsentUpdatedAt)
			}
			return shopsync.TimeAttr("email_marketing_consent_updated_at", v)
		},
	},
	{
		Name: "email_marketing_opt_in_level", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartEmailConsent,
		Description: "single_opt_in, confirmed_opt_in, unknown, or null",
		present:     hasEmailConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if ec := emailConsent(c); ec != nil {
				v = enum(ec.OptInLevel)
			}
			return shopsync.StringAttr("email_marketing_opt_in_level", v)
		},
	},
	{
		Name: "last_order_id", Type: shopsync.TypeInteger, Default: true,
		Part:        shopsync.PartPurchasing,
		Description: "id of the customer's last order",
		present:     func(c *shopify.Customer) bool { return c.LastOrderID.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.IntAttr("last_order_id", c.LastOrderID.Ptr())
		},
	},
	{
		Name: "last_order_name", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartPurchasing,
		Description: "name of the customer's last order, such as #1001",
		present:     func(c *shopify.Customer) bool { return c.LastOrderName.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.StringAttr("last_order_name", c.LastOrderName.Ptr())
		},
	},
	{
		Name: "note", Type: shopsync.TypeString, Default: true,
		Description: "the merchant's note on the customer",
		present:     func(c *shopify.Customer) bool { return c.Note.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.StringAttr("note", c.Note.Ptr())
		},
	},
	{
		Name: "orders_count", Type: shopsync.TypeInteger, Default: true,
		Part:        shopsync.PartPurchasing,
		Description: "number of orders",
		present:     func(c *shopify.Customer) bool { return c.OrdersCount.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.IntAttr("orders_count", c.OrdersCount.Ptr())
		},
	},
	{
		Name: "sms_marketing_consent", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartSMSConsent,
		Description: "SMS consent state, lower-case: subscribed, not_subscribed, pending, unsubscribed, redacted; null when none",
		present:     hasSMSConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if sc := smsConsent(c); sc != nil {
				v = enum(sc.State)
			}
			return shopsync.StringAttr("sms_marketing_consent", v)
		},
	},
	{
		Name: "sms_marketing_consent_collected_from", Type: shopsync.TypeString,
		Part:        shopsync.PartSMSConsent,
		Description: "where SMS consent was collected, lower-case: other, shopify",
		present:     hasSMSConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if sc := smsConsent(c); sc != nil && sc.ConsentCollectedFrom.Valid() {
				s := strings.ToLower(sc.ConsentCollectedFrom.V)
				v = &s
			}
			return shopsync.StringAttr("sms_marketing_consent_collected_from", v)
		},
	},
	{
		Name: "sms_marketing_consent_updated_at", Type: shopsync.TypeTimestamp, Default: true,
		Part:        shopsync.PartSMSConsent,
		Description: "when the SMS consent last changed",
		present:     hasSMSConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *time.Time
			if sc := smsConsent(c); sc != nil {
				v = utc(sc.ConsentUpdatedAt)
			}
			return shopsync.TimeAttr("sms_marketing_consent_updated_at", v)
		},
	},
	{
		Name: "sms_marketing_opt_in_level", Type: shopsync.TypeString, Default: true,
		Part:        shopsync.PartSMSConsent,
		Description: "single_opt_in, confirmed_opt_in, unknown, or null",
		present:     hasSMSConsent,
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if sc := smsConsent(c); sc != nil {
				v = enum(sc.OptInLevel)
			}
			return shopsync.StringAttr("sms_marketing_opt_in_level", v)
		},
	},
	{
		Name: "tax_exempt", Type: shopsync.TypeBoolean,
		Description: "whether the customer is exempt from taxes",
		present:     func(c *shopify.Customer) bool { return c.TaxExempt.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.BoolAttr("tax_exempt", c.TaxExempt.Ptr())
		},
	},
	{
		Name: "total_spent", Type: shopsync.TypeDecimal, Default: true,
		Part:        shopsync.PartPurchasing,
		Description: "total spent, the exact decimal string Shopify gave",
		present:     func(c *shopify.Customer) bool { return c.TotalSpent.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			var v *string
			if c.TotalSpent.Valid() {
				s := string(c.TotalSpent.V)
				v = &s
			}
			return shopsync.DecimalAttr("total_spent", v)
		},
	},
	{
		Name: "verified_email", Type: shopsync.TypeBoolean, Default: true,
		Description: "whether the customer verified their email",
		present:     func(c *shopify.Customer) bool { return c.VerifiedEmail.Set },
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.BoolAttr("verified_email", c.VerifiedEmail.Ptr())
		},
	},
}

func addressSpec(name string, def bool, desc string, field func(*shopify.Address) shopify.Opt[string]) Spec {
	return Spec{
		Name: name, Type: shopsync.TypeString, Default: def, Description: desc,
		present: hasAddress,
		value: func(c *shopify.Customer) shopsync.Attribute {
			return shopsync.StringAttr(name, addr(c, field))
		},
	}
}
