package shopify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// decodeCustomers decodes the body of a customers.json listing, giving
// what encoding/json gives (FuzzDecodeCustomers holds it to that), faster
// (BenchmarkDecodePage; the figures are in BENCHMARKS.md).
//
// It reads the body token by token with jsontext (the tokenizer of
// github.com/go-json-experiment/json, the proposed encoding/json/v2) and
// fills each field from a switch on its key: no reflection, no second
// scan of a value's bytes, and no allocation but the strings kept. It
// follows encoding/json where the two could differ: a key matches its
// field exactly or, failing that, without case as encoding/json folds it;
// the last of duplicate keys wins; invalid UTF-8 becomes U+FFFD (through
// decodeValue); null leaves a plain field alone.
//
// limit, the page size asked for, sizes the result: growing it
// customer by customer cost more than half of a page's allocations.
func decodeCustomers(body []byte, limit int) ([]Customer, error) {
	d := &decoder{Decoder: jsontext.NewDecoder(bytes.NewBuffer(body),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))}
	l := listingPage{customers: make([]Customer, 0, min(max(limit, 0), 250))}
	if err := d.readObject(&l, "listing"); err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("invalid data after the top-level value")
		}
		return nil, d.errorf("%v", err)
	}
	return l.customers, nil
}

// decoder is a jsontext.Decoder with the scratch space of escaped keys.
type decoder struct {
	*jsontext.Decoder
	name []byte
}

// object is a struct read member by member: field reads the value of the
// member with the key name, or returns errUnknownKey, the value unread, for
// a key the struct has not; keys are its JSON keys, to fold a key to.
type object interface {
	field(d *decoder, name []byte) error
	keys() [][]byte
}

// errUnknownKey is field's answer for a key its struct has not.
var errUnknownKey = errors.New("unknown key")

// readObject reads a JSON object into v. null leaves v alone, as
// encoding/json does for a struct; any other non-object fails.
func (d *decoder) readObject(v object, what string) error {
	switch k := d.PeekKind(); k {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '{':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
	default:
		if _, err := d.ReadValue(); err != nil { // a syntax error, or the value
			return err
		}
		return d.errorf("cannot decode %s as a %s", kindName(k), what)
	}
	for d.PeekKind() != '}' {
		raw, err := d.ReadValue() // the member's name, or the syntax error
		if err != nil {
			return err
		}
		name := d.unquote(raw)
		err = v.field(d, name)
		if err == errUnknownKey {
			// encoding/json's second try: the key without case.
			if key, ok := foldKey(name, v.keys()); ok {
				err = v.field(d, key)
			}
		}
		if err == errUnknownKey {
			err = d.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// unquote returns the content of the JSON string raw, valid until the
// next call. A key without escapes is returned in place.
func (d *decoder) unquote(raw jsontext.Value) []byte {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return s
	}
	// Invalid UTF-8 is replaced by U+FFFD, as encoding/json does; the
	// error saying so is not one for a key.
	d.name, _ = jsontext.AppendUnquote(d.name[:0], raw)
	return d.name
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("decode customers at byte %d: %s", d.InputOffset(), fmt.Sprintf(format, args...))
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case '[':
		return "an array"
	}
	return "a value"
}

// readOpt reads an Opt whose value is an object.
func readOpt[T any, P interface {
	*T
	object
}](d *decoder, o *Opt[T], what string) error {
	o.Set = true
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		o.Null, o.V = true, *new(T)
		return err
	}
	o.Null = false
	return d.readObject(P(&o.V), what)
}

// readScalar reads an Opt of a scalar type: the result UnmarshalJSON
// gives, without its scan of the bytes jsontext has just read.
func readScalar[T string | int64 | bool | time.Time | Decimal](d *decoder, o *Opt[T]) error {
	o.Set = true
	if d.PeekKind() == 'n' {
		_, err := d.ReadToken()
		o.Null, o.V = true, *new(T)
		return err
	}
	o.Null = false
	raw, err := d.ReadValue()
	if err != nil {
		return err
	}
	return decodeValue(raw, &o.V)
}

// foldKey returns the key of keys that name matches without case, as
// encoding/json matches a key no field has exactly: with bytes.EqualFold
// (encoding/json's foldName is "identical to bytes.EqualFold", fold.go),
// under which "K" (Kelvin) is k and "ſ" is s, but "İ" is not i.
func foldKey(name []byte, keys [][]byte) ([]byte, bool) {
	// The keys are lower-case ASCII: a name with no upper-case letter and
	// no other byte than ASCII matches one only exactly, which the caller
	// tried. Unknown keys (an address's id, customer_id, ...) end here.
	folds := false
	for _, c := range name {
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			folds = true
			break
		}
	}
	if !folds {
		return nil, false
	}
	for _, k := range keys {
		if bytes.EqualFold(name, k) {
			return k, true
		}
	}
	return nil, false
}

// jsonKeys returns the JSON keys of struct type t's fields, for foldKey.
func jsonKeys(t reflect.Type) [][]byte {
	keys := make([][]byte, t.NumField())
	for i := range keys {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if strings.ToLower(name) != name || strings.ContainsFunc(name, func(r rune) bool { return r >= utf8.RuneSelf }) {
			panic("shopify: JSON key " + name + " is not lower-case ASCII, as foldKey needs")
		}
		keys[i] = []byte(name)
	}
	return keys
}

var (
	listingKeys      = [][]byte{[]byte("customers")}
	customerKeys     = jsonKeys(reflect.TypeFor[Customer]())
	emailConsentKeys = jsonKeys(reflect.TypeFor[EmailConsent]())
	smsConsentKeys   = jsonKeys(reflect.TypeFor[SMSConsent]())
	addressKeys      = jsonKeys(reflect.TypeFor[Address]())
)

// listingPage is the top level of a listing: {"customers": [...]}.
type listingPage struct{ customers []Customer }

func (l *listingPage) keys() [][]byte { return listingKeys }

func (l *listingPage) field(d *decoder, name []byte) error {
	if string(name) != "customers" {
		return errUnknownKey
	}
	switch k := d.PeekKind(); k {
	case 'n':
		l.customers = nil
		_, err := d.ReadToken()
		return err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return err
		}
	default:
		if _, err := d.ReadValue(); err != nil {
			return err
		}
		return d.errorf("cannot decode %s as a list of customers", kindName(k))
	}
	// Like encoding/json, decode into the elements already there, as a
	// repeated "customers" key would find them, and keep the length read.
	n := 0
	for d.PeekKind() != ']' {
		if n < cap(l.customers) {
			l.customers = l.customers[:n+1]
		} else {
			l.customers = append(l.customers, Customer{})
		}
		if err := d.readObject(&l.customers[n], "customer"); err != nil {
			return err
		}
		n++
	}
	l.customers = l.customers[:n]
	_, err := d.ReadToken()
	return err
}

func (*Customer) keys() [][]byte { return customerKeys }

func (c *Customer) field(d *decoder, name []byte) error {
	switch string(name) {
	case "id":
		raw, err := d.ReadValue()
		if err != nil {
			return err
		}
		return decodeValue(raw, &c.ID)
	case "email":
		return readScalar(d, &c.Email)
	case "first_name":
		return readScalar(d, &c.FirstName)
	case "last_name":
		return readScalar(d, &c.LastName)
	case "phone":
		return readScalar(d, &c.Phone)
	case "note":
		return readScalar(d, &c.Note)
	case "state":
		return readScalar(d, &c.State)
	case "orders_count":
		return readScalar(d, &c.OrdersCount)
	case "total_spent":
		return readScalar(d, &c.TotalSpent)
	case "currency":
		return readScalar(d, &c.Currency)
	case "tags":
		return readScalar(d, &c.Tags)
	case "verified_email":
		return readScalar(d, &c.VerifiedEmail)
	case "tax_exempt":
		return readScalar(d, &c.TaxExempt)
	case "last_order_id":
		return readScalar(d, &c.LastOrderID)
	case "last_order_name":
		return readScalar(d, &c.LastOrderName)
	case "email_marketing_consent":
		return readOpt(d, &c.EmailMarketingConsent, "email_marketing_consent")
	case "sms_marketing_consent":
		return readOpt(d, &c.SMSMarketingConsent, "sms_marketing_consent")
	case "default_address":
		return readOpt(d, &c.DefaultAddress, "default_address")
	case "created_at":
		return readScalar(d, &c.CreatedAt)
	case "updated_at":
		return readScalar(d, &c.UpdatedAt)
	case "admin_graphql_api_id":
		return readScalar(d, &c.AdminGraphQLAPIID)
	}
	return errUnknownKey
}

func (*EmailConsent) keys() [][]byte { return emailConsentKeys }

func (e *EmailConsent) field(d *decoder, name []byte) error {
	switch string(name) {
	case "state":
		return readScalar(d, &e.State)
	case "opt_in_level":
		return readScalar(d, &e.OptInLevel)
	case "consent_updated_at":
		return readScalar(d, &e.ConsentUpdatedAt)
	}
	return errUnknownKey
}

func (*SMSConsent) keys() [][]byte { return smsConsentKeys }

func (s *SMSConsent) field(d *decoder, name []byte) error {
	switch string(name) {
	case "state":
		return readScalar(d, &s.State)
	case "opt_in_level":
		return readScalar(d, &s.OptInLevel)
	case "consent_updated_at":
		return readScalar(d, &s.ConsentUpdatedAt)
	case "consent_collected_from":
		return readScalar(d, &s.ConsentCollectedFrom)
	}
	return errUnknownKey
}

func (*Address) keys() [][]byte { return addressKeys }

func (a *Address) field(d *decoder, name []byte) error {
	switch string(name) {
	case "address1":
		return readScalar(d, &a.Address1)
	case "address2":
		return readScalar(d, &a.Address2)
	case "city":
		return readScalar(d, &a.City)
	case "province":
		return readScalar(d, &a.Province)
	case "province_code":
		return readScalar(d, &a.ProvinceCode)
	case "country":
		return readScalar(d, &a.Country)
	case "country_code":
		return readScalar(d, &a.CountryCode)
	case "zip":
		return readScalar(d, &a.Zip)
	case "phone":
		return readScalar(d, &a.Phone)
	case "company":
		return readScalar(d, &a.Company)
	case "name":
		return readScalar(d, &a.Name)
	}
	return errUnknownKey
}
