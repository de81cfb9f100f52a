// Package shopifytest is a faithful simulator of the Shopify Admin REST
// API's customer endpoints, for tests, benchmarks and the demo: cursor
// pagination with Link headers, since_id/ids/date/fields filters, count,
// get, the client-credentials token grant, the leaky bucket with its
// header and 429 + Retry-After, API version fall-forward, and fault knobs.
// Facts follow ../shared/SHOPIFY.md (§1–§5) and Shopify's docs.
//
// It imports nothing of shopsync: its Customer is its own Shopify-shaped
// type, so tests of shopsync's decoding are honest.
package shopifytest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Customer is a REST customer as Shopify encodes it (API 2024-04 and
// later): nullable fields are pointers, money a decimal string, ids int64.
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

// EmailConsent is email_marketing_consent.
type EmailConsent struct {
	State            string  `json:"state"`
	OptInLevel       *string `json:"opt_in_level"`
	ConsentUpdatedAt *string `json:"consent_updated_at"`
}

// SMSConsent is sms_marketing_consent.
type SMSConsent struct {
	State                string  `json:"state"`
	OptInLevel           *string `json:"opt_in_level"`
	ConsentUpdatedAt     *string `json:"consent_updated_at"`
	ConsentCollectedFrom string  `json:"consent_collected_from"`
}

// Address is a customer address.
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

func ptr[T any](v T) *T { return &v }

var (
	firstNames = []string{"Bob", "Alice", "Léon", "Noël", "Zoë 🎉", "Chloé", "José", "Mia", "Liam", "Ava", "Ólafur", "Émile"}
	lastNames  = []string{"Norman", "Biller", "Dupont", "Müller", "García", "O'Connor", "Smith", "Nguyễn", "Kowalski"}
	cjkNames   = [][2]string{{"太郎", "山田"}, {"小明", "王"}, {"민준", "김"}, {"花子", "佐藤"}, {"伟", "李"}}
	cities     = []struct{ city, province, country string }{
		{"Ottawa", "ON", "CA"}, {"Paris", "", "FR"}, {"東京", "", "JP"}, {"New York", "NY", "US"},
		{"Berlin", "", "DE"}, {"서울", "", "KR"}, {"Montréal", "QC", "CA"},
	}
	offsets      = []*time.Location{time.FixedZone("", -5*3600), time.FixedZone("", -4*3600), time.FixedZone("", 9*3600), time.FixedZone("", 0), time.FixedZone("", 2*3600)}
	tagSets      = []string{"", "", "VIP", "VIP, Léon, Noël", "wholesale", "newsletter, 常連"}
	emailStates  = []string{"subscribed", "not_subscribed", "pending", "unsubscribed", "redacted", "invalid"}
	smsStates    = []string{"subscribed", "not_subscribed", "pending", "unsubscribed", "redacted"}
	optInLevels  = []*string{ptr("single_opt_in"), ptr("confirmed_opt_in"), ptr("unknown"), nil}
	states       = []string{"disabled", "invited", "enabled", "declined"}
	currencies   = []string{"USD", "USD", "USD", "EUR", "CAD", "JPY"}
	firstCustoID = int64(706405506930370000) // above 2^53: float64 cannot hold these ids
)

// Time formats as Shopify writes them: RFC 3339 with the shop's offset.
func shopifyTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }

// Generate returns n deterministic customers for seed, ids ascending
// above 2^53: CJK, accented and emoji names, null emails and phones, a few
// emails differing only in case, every consent state, decimal strings.
func (s *Server) Generate(n int, seed int64) []Customer {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5109))
	out := make([]Customer, n)
	id := firstCustoID + r.Int64N(1000)
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		id += 1 + r.Int64N(5000)
		c := &out[i]
		c.ID = id
		if r.IntN(10) == 0 {
			n := cjkNames[r.IntN(len(cjkNames))]
			c.FirstName, c.LastName = ptr(n[0]), ptr(n[1])
		} else {
			c.FirstName, c.LastName = ptr(firstNames[r.IntN(len(firstNames))]), ptr(lastNames[r.IntN(len(lastNames))])
		}
		switch {
		case r.IntN(12) == 0: // about 8%: no email
		case i > 0 && r.IntN(50) == 0 && out[i-1].Email != nil: // same address as the previous, other case
			c.Email = ptr(fmt.Sprintf("Cust%d@Example.COM", i-1))
		default:
			c.Email = ptr(fmt.Sprintf("cust%d@example.com", i))
		}
		if r.IntN(3) > 0 {
			c.Phone = ptr(fmt.Sprintf("+1613%07d", r.IntN(10_000_000)))
		}
		loc := offsets[r.IntN(len(offsets))]
		c.created = base.Add(time.Duration(r.Int64N(int64(6 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		c.updated = c.created.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
		c.CreatedAt, c.UpdatedAt = shopifyTime(c.created.In(loc)), shopifyTime(c.updated.In(loc))
		c.OrdersCount = r.Int64N(51)
		if c.OrdersCount > 0 {
			c.LastOrderID = ptr(820982911946154000 + r.Int64N(1_000_000))
			c.LastOrderName = ptr(fmt.Sprintf("#%d", 1000+r.IntN(90000)))
		}
		switch r.IntN(20) {
		case 0:
			c.TotalSpent = "0.00"
		case 1:
			c.TotalSpent = "123456.78"
		default:
			c.TotalSpent = fmt.Sprintf("%d.%02d", r.IntN(5000), r.IntN(100))
		}
		c.Currency = currencies[r.IntN(len(currencies))]
		c.State = states[r.IntN(len(states))]
		c.VerifiedEmail = c.Email != nil && r.IntN(4) > 0
		c.TaxExempt = r.IntN(20) == 0
		c.Tags = tagSets[r.IntN(len(tagSets))]
		if r.IntN(3) == 0 {
			c.Note = ptr([]string{"This customer loves ice cream", "Prefers 電話 contact", "Zoë's friend 🎉"}[r.IntN(3)])
		}
		if r.IntN(6) > 0 {
			var at *string
			if r.IntN(4) > 0 {
				at = ptr(shopifyTime(c.updated.In(loc)))
			}
			c.EmailMarketingConsent = &EmailConsent{State: emailStates[r.IntN(len(emailStates))], OptInLevel: optInLevels[r.IntN(len(optInLevels))], ConsentUpdatedAt: at}
		}
		if c.Phone != nil || r.IntN(2) == 0 {
			c.SMSMarketingConsent = &SMSConsent{State: smsStates[r.IntN(len(smsStates))], OptInLevel: optInLevels[r.IntN(len(optInLevels))],
				ConsentUpdatedAt: ptr(shopifyTime(c.updated.In(loc))), ConsentCollectedFrom: []string{"OTHER", "SHOPIFY"}[r.IntN(2)]}
		}
		c.Addresses = []Address{}
		if r.IntN(5) > 0 {
			city := cities[r.IntN(len(cities))]
			a := Address{ID: 12321 + int64(i), CustomerID: c.ID, FirstName: c.FirstName, LastName: c.LastName,
				Address1: ptr("151 O'Connor Street"), City: ptr(city.city), Country: ptr(city.country),
				CountryCode: ptr(city.country), CountryName: ptr(city.country), Zip: ptr("K2P 2L8"), Default: true}
			if city.province != "" {
				a.Province, a.ProvinceCode = ptr(city.province), ptr(city.province)
			}
			c.Addresses = []Address{a}
			c.DefaultAddress = &a
		}
		c.TaxExemptions = []string{}
		c.AdminGraphQLAPIID = fmt.Sprintf("gid://shopify/Customer/%d", c.ID)
	}
	return out
}
