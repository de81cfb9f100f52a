package shopifytest

import (
	"math/rand/v2"
	"strconv"
	"time"
)

type city struct {
	city, province, provinceCode, country, countryCode, zip, address1 string
}

var (
	firstNames = []string{"Bob", "Alice", "Léon", "Noël", "Zoë 🎉", "Chloé", "José", "Mia", "Liam", "Ava", "Ólafur", "Émile", "Søren", "Anaïs"}
	lastNames  = []string{"Norman", "Biller", "Dupont", "Müller", "García", "O'Connor", "Smith", "Nguyễn", "Kowalski", "Ångström"}
	cjkNames   = [][2]string{{"太郎", "山田"}, {"小明", "王"}, {"민준", "김"}, {"花子", "佐藤"}, {"伟", "李"}, {"서연", "박"}}
	cities     = []city{
		{"Ottawa", "Ontario", "ON", "Canada", "CA", "K2P 2L8", "151 O'Connor Street"},
		{"Paris", "", "", "France", "FR", "75002", "12 Rue de la Paix"},
		{"東京", "東京都", "JP-13", "Japan", "JP", "100-0001", "千代田1-1"},
		{"New York", "New York", "NY", "United States", "US", "10001", "350 5th Ave"},
		{"Berlin", "", "", "Germany", "DE", "10117", "Unter den Linden 5"},
		{"서울", "", "", "South Korea", "KR", "04524", "세종대로 110"},
		{"Montréal", "Quebec", "QC", "Canada", "CA", "H2Y 1C6", "275 Rue Notre-Dame Est"},
	}
	zones = []*time.Location{
		time.FixedZone("EST", -5*3600), time.FixedZone("EDT", -4*3600), time.FixedZone("JST", 9*3600),
		time.FixedZone("UTC", 0), time.FixedZone("CEST", 2*3600), time.FixedZone("IST", 5*3600+1800),
	}
	tagSets     = []string{"", "", "", "VIP", "VIP, Léon, Noël", "wholesale", "newsletter, 常連", "🎉 party, retail"}
	notes       = []string{"This customer loves ice cream", "Prefers 電話 contact", "Zoë's friend 🎉", "Called twice.\nPrefers email.", ""}
	emailStates = []string{"subscribed", "not_subscribed", "pending", "unsubscribed", "redacted", "invalid"}
	smsStates   = []string{"subscribed", "not_subscribed", "pending", "unsubscribed", "redacted"}
	optInLevels = []string{"single_opt_in", "confirmed_opt_in", "unknown", ""} // "" is null
	states      = []string{"disabled", "invited", "enabled", "declined"}
	currencies  = []string{"USD", "USD", "USD", "USD", "EUR", "EUR", "CAD", "JPY"}
	collectedBy = []string{"OTHER", "SHOPIFY"}

	// firstID is above 2^53: float64 cannot hold these ids exactly.
	firstID  = int64(706405506930370000)
	timeBase = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Generate returns n deterministic customers for seed (the same seed
// gives the same customers), ids ascending above 2^53 with random gaps:
// about 10% CJK names, accented and emoji names, about 8% null emails, a
// few emails equal to the previous customer's but for case, null and
// E.164 phones, every consent state, decimal-string money. All times lie
// between 2019 and 2025, before the simulator clock. It does not touch
// the server's customers.
func (s *Server) Generate(n int, seed int64) []Customer {
	return generate(n, seed)
}

// custMem and addrMem hold what a generated customer's pointers point
// at, so that a customer costs a few allocations, not thirty: generating
// a million stays within seconds. Every customer has its own.
type custMem struct {
	s     [10]string
	n     int
	order int64
	email EmailConsent
	sms   SMSConsent
}

func (m *custMem) str(v string) *string {
	m.s[m.n] = v
	m.n++
	return &m.s[m.n-1]
}

type addrMem struct {
	a [1]Address
	s [13]string
	n int
}

func (m *addrMem) str(v string) *string {
	m.s[m.n] = v
	m.n++
	return &m.s[m.n-1]
}

func (m *addrMem) strp(v *string) *string {
	if v == nil {
		return nil
	}
	return m.str(*v)
}

func generate(n int, seed int64) []Customer {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5109_5109))
	out := make([]Customer, max(n, 0))
	id := firstID + r.Int64N(100)
	var buf []byte
	for i := range out {
		id += 1 + r.Int64N(5000)
		c := &out[i]
		m := new(custMem)
		c.ID = id
		switch k := r.IntN(100); {
		case k < 10:
			name := cjkNames[r.IntN(len(cjkNames))]
			c.FirstName, c.LastName = m.str(name[0]), m.str(name[1])
		case k < 12: // no name at all
		default:
			c.FirstName, c.LastName = m.str(firstNames[r.IntN(len(firstNames))]), m.str(lastNames[r.IntN(len(lastNames))])
		}
		switch {
		case r.IntN(12) == 0: // about 8%: no email
		case i > 0 && r.IntN(50) == 0 && out[i-1].Email != nil && (*out[i-1].Email)[0] == 'c':
			// The previous customer's address but for case.
			buf = append(append(buf[:0], "Cust"...), (*out[i-1].Email)[4:]...)
			buf = append(buf[:len(buf)-len("example.com")], "Example.COM"...)
			c.Email = m.str(string(buf))
		default:
			buf = append(strconv.AppendInt(append(buf[:0], "cust"...), int64(i), 10), "@example.com"...)
			c.Email = m.str(string(buf))
		}
		if r.IntN(3) > 0 {
			buf = append(buf[:0], "+1613"...)
			c.Phone = m.str(string(appendPad(buf, r.IntN(10_000_000), 7)))
		}
		loc := zones[r.IntN(len(zones))]
		created := timeBase.Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		updated := created.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
		c.created, c.updated = created, updated
		c.CreatedAt, c.UpdatedAt = shopifyTime(created.In(loc)), shopifyTime(updated.In(loc))
		c.OrdersCount = r.Int64N(51)
		c.TotalSpent = "0.00"
		if c.OrdersCount > 0 {
			m.order = 820982911946154000 + r.Int64N(1_000_000_000)
			c.LastOrderID = &m.order
			c.LastOrderName = m.str(string(strconv.AppendInt(append(buf[:0], '#'), int64(1001+r.IntN(90000)), 10)))
			switch r.IntN(25) {
			case 0:
				c.TotalSpent = "123456.78"
			case 1: // a refunded customer
			default:
				buf = append(strconv.AppendInt(buf[:0], int64(r.IntN(5000)), 10), '.')
				c.TotalSpent = string(appendPad(buf, r.IntN(100), 2))
			}
		}
		c.Currency = currencies[r.IntN(len(currencies))]
		c.State = states[r.IntN(len(states))]
		c.VerifiedEmail = c.Email != nil && r.IntN(4) > 0
		c.TaxExempt = r.IntN(20) == 0
		c.Tags = tagSets[r.IntN(len(tagSets))]
		if r.IntN(3) == 0 {
			c.Note = m.str(notes[r.IntN(len(notes))])
		}
		if r.IntN(6) > 0 {
			m.email.State = emailStates[r.IntN(len(emailStates))]
			m.email.OptInLevel = optIn(r, m)
			if r.IntN(4) > 0 {
				m.email.ConsentUpdatedAt = m.str(c.CreatedAt)
			}
			c.EmailMarketingConsent = &m.email
		}
		if c.Phone != nil || r.IntN(2) == 0 {
			m.sms.State = smsStates[r.IntN(len(smsStates))]
			m.sms.OptInLevel = optIn(r, m)
			if r.IntN(5) > 0 {
				m.sms.ConsentUpdatedAt = m.str(c.UpdatedAt)
			}
			m.sms.ConsentCollectedFrom = collectedBy[r.IntN(2)]
			c.SMSMarketingConsent = &m.sms
		}
		c.Addresses = []Address{}
		if r.IntN(5) > 0 { // about 20% have no address and so no default_address
			am := new(addrMem)
			am.a[0] = address(r, c, int64(i), am)
			c.Addresses = am.a[:]
			c.DefaultAddress = &am.a[0]
		}
		c.TaxExemptions = []string{}
		c.AdminGraphQLAPIID = string(strconv.AppendInt(append(buf[:0], "gid://shopify/Customer/"...), c.ID, 10))
	}
	return out
}

func address(r *rand.Rand, c *Customer, i int64, m *addrMem) Address {
	ct := cities[r.IntN(len(cities))]
	a := Address{ID: 9_120_000_000_000 + i, CustomerID: c.ID, FirstName: m.strp(c.FirstName), LastName: m.strp(c.LastName),
		Address1: m.str(ct.address1), City: m.str(ct.city), Country: m.str(ct.country), Zip: m.str(ct.zip),
		CountryCode: m.str(ct.countryCode), CountryName: m.str(ct.country), Default: true}
	if ct.province != "" {
		a.Province, a.ProvinceCode = m.str(ct.province), m.str(ct.provinceCode)
	}
	if r.IntN(4) == 0 {
		a.Address2 = m.str("Suite " + strconv.Itoa(1+r.IntN(900)))
	}
	if r.IntN(3) == 0 {
		a.Phone = m.strp(c.Phone)
	}
	if c.FirstName != nil && c.LastName != nil {
		a.Name = m.str(*c.FirstName + " " + *c.LastName)
	} else {
		a.Name = m.str("")
	}
	return a
}

func optIn(r *rand.Rand, m *custMem) *string {
	if l := optInLevels[r.IntN(len(optInLevels))]; l != "" {
		return m.str(l)
	}
	return nil
}

// appendPad appends n, zero-padded to width digits.
func appendPad(b []byte, n, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
