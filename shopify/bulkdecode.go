package shopify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// BulkDecoder reads the JSONL result of CustomerBulkQuery, one GraphQL
// Customer a line, into the REST Customer shape, so that the mapper, the
// store and every test treat a customer the same whichever API read it:
//
//   - ids: gid://shopify/Customer/123 → 123 (AdminGraphQLAPIID keeps the gid);
//   - enums: GraphQL's upper case → REST's lower case (SUBSCRIBED →
//     subscribed, SINGLE_OPT_IN → single_opt_in, ENABLED → enabled);
//     consentCollectedFrom stays upper case, as REST sends it (SHOPIFY.md §4);
//   - numberOfOrders (UnsignedInt64, a JSON string) → orders_count;
//   - amountSpent {amount, currencyCode} → total_spent and currency. GraphQL's
//     Decimal drops trailing zeros ("0.0", "12.5"), REST writes two
//     decimals ("0.00", "12.50"): amounts get at least two decimals, so the
//     stored text is the same whichever engine read it;
//   - tags (a list) → REST's "a, b" string;
//   - defaultAddress {…, countryCodeV2} → default_address {…, country_code};
//   - lastOrder {id, name} → last_order_id, last_order_name;
//   - times: GraphQL's UTC "Z" and REST's offsets are the same instants.
//
// A field the query did not select is left unset (unknown), as a key
// missing from a REST payload. A line with __parentId (a nested
// connection's row) is an error: the customers query has none.
//
// Like decodeCustomers it reads token by token with jsontext, a switch
// per object, one pass; strings without escapes are copied as they are.
type BulkDecoder struct {
	d       decoder
	base    int64 // the stream's offset in the file
	scratch []byte
}

// NewBulkDecoder returns a decoder of the JSONL stream r, whose first byte
// is at byte offset base of the file (a download resumed in the middle).
func NewBulkDecoder(r io.Reader, base int64) *BulkDecoder {
	return &BulkDecoder{d: decoder{Decoder: jsontext.NewDecoder(r,
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))}, base: base}
}

// Next decodes the next line into c (which it resets first) and returns
// the file offset just past it. At the clean end of the stream it returns
// io.EOF; a line cut short is io.ErrUnexpectedEOF.
func (b *BulkDecoder) Next(c *Customer) (int64, error) {
	*c = Customer{}
	d := &b.d
	switch k := d.PeekKind(); k {
	case 0:
		_, err := d.ReadToken()
		if err == io.EOF {
			return b.base + d.InputOffset(), io.EOF
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return b.base + d.InputOffset(), err
	case '{':
	default:
		if _, err := d.ReadValue(); err != nil {
			return b.base + d.InputOffset(), err
		}
		return b.base + d.InputOffset(), fmt.Errorf("bulk line ending at byte %d: %s, want an object", b.base+d.InputOffset(), kindName(k))
	}
	bc := bulkCustomer{c: c, b: b}
	if err := d.readObject(&bc, "customer"); err != nil {
		return b.base + d.InputOffset(), b.wrap(err)
	}
	end := b.base + d.InputOffset()
	if c.ID == 0 {
		return end, fmt.Errorf("bulk line ending at byte %d: no customer id", end)
	}
	return end, nil
}

func (b *BulkDecoder) wrap(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	return fmt.Errorf("decode bulk line at byte %d: %w", b.base+b.d.InputOffset(), err)
}

// gid reads a JSON string holding gid://shopify/{kind}/{id} and returns the
// id and the gid. Shopify's files escape the slashes ("gid:\/\/shopify\/…",
// as a file quoted in Shopify/shopify-api-ruby#729 shows).
func (b *BulkDecoder) gid(raw jsontext.Value, kind string) (int64, string, error) {
	s, ok := plainString(raw)
	if !ok {
		var err error
		if b.scratch, err = jsontext.AppendUnquote(b.scratch[:0], raw); err != nil {
			return 0, "", err
		}
		s = string(b.scratch)
	}
	rest, ok := strings.CutPrefix(s, "gid://shopify/"+kind+"/")
	if !ok {
		return 0, "", fmt.Errorf("id %q is not a gid://shopify/%s/", s, kind)
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 {
		return 0, "", fmt.Errorf("id %q: not a positive 64-bit number", s)
	}
	return n, s, nil
}

// bulkCustomer is a line's top-level object.
type bulkCustomer struct {
	c *Customer
	b *BulkDecoder
}

// keys: GraphQL keys are matched exactly (no encoding/json folding: the
// keys are the query's own).
func (*bulkCustomer) keys() [][]byte { return nil }

func (bc *bulkCustomer) field(d *decoder, name []byte) error {
	c := bc.c
	switch string(name) {
	case "id":
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		id, gid, err := bc.b.gid(raw, "Customer")
		if err != nil {
			return err
		}
		c.ID, c.AdminGraphQLAPIID = id, Some(gid)
		return nil
	case "__parentId":
		return errors.New("a nested object (__parentId): the customers bulk query has no nested connection")
	case "email":
		return readScalar(d, &c.Email)
	case "firstName":
		return readScalar(d, &c.FirstName)
	case "lastName":
		return readScalar(d, &c.LastName)
	case "phone":
		return readScalar(d, &c.Phone)
	case "note":
		return readScalar(d, &c.Note)
	case "state":
		return readEnum(d, &c.State)
	case "verifiedEmail":
		return readScalar(d, &c.VerifiedEmail)
	case "taxExempt":
		return readScalar(d, &c.TaxExempt)
	case "createdAt":
		return readScalar(d, &c.CreatedAt)
	case "updatedAt":
		return readScalar(d, &c.UpdatedAt)
	case "numberOfOrders":
		return readUint(d, &c.OrdersCount)
	case "tags":
		return readTags(d, &c.Tags)
	case "amountSpent":
		if d.PeekKind() == 'n' {
			c.TotalSpent, c.Currency = Null[Decimal](), Null[string]()
			_, err := d.ReadToken()
			return err
		}
		return d.readObject(&bulkMoney{c: c}, "amountSpent")
	case "emailMarketingConsent":
		return readGQL(d, &c.EmailMarketingConsent, func(v *EmailConsent) object { return (*bulkEmailConsent)(v) })
	case "smsMarketingConsent":
		return readGQL(d, &c.SMSMarketingConsent, func(v *SMSConsent) object { return (*bulkSMSConsent)(v) })
	case "defaultAddress":
		return readGQL(d, &c.DefaultAddress, func(v *Address) object { return (*bulkAddress)(v) })
	case "lastOrder":
		if d.PeekKind() == 'n' {
			c.LastOrderID, c.LastOrderName = Null[int64](), Null[string]()
			_, err := d.ReadToken()
			return err
		}
		return d.readObject(&bulkOrder{c: c, b: bc.b}, "lastOrder")
	}
	return errUnknownKey
}

// readGQL reads a nullable object through the GraphQL view of its REST
// struct.
func readGQL[T any](d *decoder, o *Opt[T], view func(*T) object) error {
	o.Set = true
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		o.Null, o.V = true, *new(T)
		return err
	}
	o.Null = false
	return d.readObject(view(&o.V), "object")
}

// readEnum reads a GraphQL enum value (or null) as REST's lower case.
func readEnum(d *decoder, o *Opt[string]) error {
	o.Set = true
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		o.Null, o.V = true, ""
		return err
	}
	o.Null = false
	raw, err := d.ReadValue()
	if err != nil {
		return err
	}
	var s string
	if err := decodeValue(raw, &s); err != nil {
		return err
	}
	o.V = lowerEnum(s)
	return nil
}

// lowerEnum lower-cases an enum value; the usual ones without allocating.
func lowerEnum(s string) string {
	switch s {
	case "SUBSCRIBED":
		return "subscribed"
	case "NOT_SUBSCRIBED":
		return "not_subscribed"
	case "PENDING":
		return "pending"
	case "UNSUBSCRIBED":
		return "unsubscribed"
	case "REDACTED":
		return "redacted"
	case "INVALID":
		return "invalid"
	case "SINGLE_OPT_IN":
		return "single_opt_in"
	case "CONFIRMED_OPT_IN":
		return "confirmed_opt_in"
	case "UNKNOWN":
		return "unknown"
	case "DISABLED":
		return "disabled"
	case "INVITED":
		return "invited"
	case "ENABLED":
		return "enabled"
	case "DECLINED":
		return "declined"
	}
	return strings.ToLower(s)
}

// readUint reads an UnsignedInt64: a JSON string of digits, or a number.
func readUint(d *decoder, o *Opt[int64]) error {
	o.Set = true
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		o.Null, o.V = true, 0
		return err
	}
	o.Null = false
	raw, err := d.ReadValue()
	if err != nil {
		return err
	}
	s := raw
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("unsigned int64 %s", raw)
	}
	o.V = n
	return nil
}

// readTags reads GraphQL's list of tags as REST's comma-separated string.
func readTags(d *decoder, o *Opt[string]) error {
	o.Set = true
	switch k := d.PeekKind(); k {
	case 'n':
		_, err := d.ReadToken()
		o.Null, o.V = true, ""
		return err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
	default:
		if _, err := d.ReadValue(); err != nil {
			return err
		}
		return d.errorf("cannot decode %s as a list of tags", kindName(k))
	}
	o.Null = false
	var parts []string
	for d.PeekKind() != ']' {
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		var t string
		if err := decodeValue(raw, &t); err != nil {
			return err
		}
		parts = append(parts, t)
	}
	o.V = strings.Join(parts, ", ")
	_, err := d.ReadToken()
	return err
}

// bulkMoney is amountSpent: a MoneyV2.
type bulkMoney struct{ c *Customer }

func (*bulkMoney) keys() [][]byte { return nil }

func (m *bulkMoney) field(d *decoder, name []byte) error {
	switch string(name) {
	case "amount":
		if err := readScalar(d, &m.c.TotalSpent); err != nil {
			return err
		}
		if m.c.TotalSpent.Valid() {
			m.c.TotalSpent.V = twoDecimals(m.c.TotalSpent.V)
		}
		return nil
	case "currencyCode":
		return readScalar(d, &m.c.Currency)
	}
	return errUnknownKey
}

// twoDecimals writes a decimal with at least two digits after the point,
// as REST writes money: GraphQL's "0.0" and "12.5" are REST's "0.00" and
// "12.50"; "1.234" stays.
func twoDecimals(v Decimal) Decimal {
	s := string(v)
	dot := strings.IndexByte(s, '.')
	switch {
	case dot < 0:
		return Decimal(s + ".00")
	case len(s)-dot-1 == 1:
		return Decimal(s + "0")
	}
	return v
}

// bulkEmailConsent is emailMarketingConsent: a
// CustomerEmailMarketingConsentState.
type bulkEmailConsent EmailConsent

func (*bulkEmailConsent) keys() [][]byte { return nil }

func (e *bulkEmailConsent) field(d *decoder, name []byte) error {
	switch string(name) {
	case "marketingState":
		return readEnum(d, &e.State)
	case "marketingOptInLevel":
		return readEnum(d, &e.OptInLevel)
	case "consentUpdatedAt":
		return readScalar(d, &e.ConsentUpdatedAt)
	}
	return errUnknownKey
}

// bulkSMSConsent is smsMarketingConsent: a CustomerSmsMarketingConsentState.
type bulkSMSConsent SMSConsent

func (*bulkSMSConsent) keys() [][]byte { return nil }

func (s *bulkSMSConsent) field(d *decoder, name []byte) error {
	switch string(name) {
	case "marketingState":
		return readEnum(d, &s.State)
	case "marketingOptInLevel":
		return readEnum(d, &s.OptInLevel)
	case "consentUpdatedAt":
		return readScalar(d, &s.ConsentUpdatedAt)
	case "consentCollectedFrom":
		return readScalar(d, &s.ConsentCollectedFrom)
	}
	return errUnknownKey
}

// bulkAddress is defaultAddress: a MailingAddress.
type bulkAddress Address

func (*bulkAddress) keys() [][]byte { return nil }

func (a *bulkAddress) field(d *decoder, name []byte) error {
	switch string(name) {
	case "address1":
		return readScalar(d, &a.Address1)
	case "address2":
		return readScalar(d, &a.Address2)
	case "city":
		return readScalar(d, &a.City)
	case "company":
		return readScalar(d, &a.Company)
	case "country":
		return readScalar(d, &a.Country)
	case "countryCodeV2":
		return readScalar(d, &a.CountryCode)
	case "province":
		return readScalar(d, &a.Province)
	case "provinceCode":
		return readScalar(d, &a.ProvinceCode)
	case "zip":
		return readScalar(d, &a.Zip)
	case "phone":
		return readScalar(d, &a.Phone)
	case "name":
		return readScalar(d, &a.Name)
	}
	return errUnknownKey
}

// bulkOrder is lastOrder: an Order's id and name.
type bulkOrder struct {
	c *Customer
	b *BulkDecoder
}

func (*bulkOrder) keys() [][]byte { return nil }

func (o *bulkOrder) field(d *decoder, name []byte) error {
	switch string(name) {
	case "id":
		if d.PeekKind() == 'n' {
			o.c.LastOrderID = Null[int64]()
			_, err := d.ReadToken()
			return err
		}
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		id, _, err := o.b.gid(raw, "Order")
		if err != nil {
			return err
		}
		o.c.LastOrderID = Some(id)
		return nil
	case "name":
		return readScalar(d, &o.c.LastOrderName)
	}
	return errUnknownKey
}

// DecodeBulkLine decodes one line of a customers bulk result, for tests.
func DecodeBulkLine(line []byte) (Customer, error) {
	var c Customer
	_, err := NewBulkDecoder(bytes.NewReader(line), 0).Next(&c)
	return c, err
}
