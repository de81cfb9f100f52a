// Package marketing decides which contacts may receive marketing on a
// channel (email or SMS), collapses contacts that share an address to
// one, and reports what it left out and why.
//
// A contact may receive marketing on a channel when it is not deleted,
// has an address for the channel (an email with an @; a phone with an
// E.164 form), and its consent for the channel is subscribed: Shopify's
// email_marketing_consent or sms_marketing_consent state (SHOPIFY.md §4),
// ignoring case. Optionally (Rule.ExcludeDisabledAccounts) its account
// state must not be disabled; off by default, because Shopify's disabled
// means "has no customer account", the state of every guest customer,
// not "blocked".
//
// Contacts sharing an address (the same email in any case; the same
// phone in E.164) count once, by this rule: the address receives
// marketing only if every contact holding it may receive it, and then as
// the most recently updated of them in Shopify (ties: the lowest id); the
// others are duplicates. When one of them may not (say, an old record
// unsubscribed), the address is withheld, and the others are counted as
// withheld: an address someone unsubscribed is never mailed through
// another record of it.
//
// Eligibility applies the rule in one pass over contacts ordered by
// address (Rule.OrderBy), keeping one contact at a time: memory does not
// grow with the store.
package marketing

import (
	"fmt"
	"strings"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/phone"
	"github.com/shopsync/shopsync/sqlfunc"
)

// Channel is a marketing channel.
type Channel string

// The channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// ParseChannel reads a channel name: email or sms.
func ParseChannel(s string) (Channel, error) {
	switch c := Channel(strings.ToLower(s)); c {
	case Email, SMS:
		return c, nil
	}
	return "", fmt.Errorf("unknown marketing channel %q: use email or sms", s)
}

// Reason is why a contact is left out of a channel's audience; "" when
// it is not.
type Reason string

// The reasons, in the order they are checked.
const (
	Deleted         Reason = "deleted"          // gone from Shopify
	NoAddress       Reason = "no_address"       // no email, or no phone
	InvalidAddress  Reason = "invalid_address"  // an email without @, a phone without an E.164 form
	DisabledAccount Reason = "disabled_account" // account state disabled, with ExcludeDisabledAccounts
	NotSubscribed   Reason = "not_subscribed"   // consent not subscribed, or none
	Duplicate       Reason = "duplicate"        // another contact speaks for the address
	Withheld        Reason = "withheld"         // another contact with the address may not receive it
)

// Rule is who may receive marketing on one channel.
type Rule struct {
	// Channel is email or sms. Required.
	Channel Channel

	// DefaultCountry reads phone numbers without a country code
	// (mapping.default_country); "" refuses them.
	DefaultCountry string

	// ExcludeDisabledAccounts also leaves out contacts whose account
	// state is disabled. See the package comment before turning it on.
	ExcludeDisabledAccounts bool
}

// ConsentAttribute returns the attribute holding the channel's consent,
// which the mapping must keep (it does by default).
func (r Rule) ConsentAttribute() string {
	if r.Channel == SMS {
		return "sms_marketing_consent"
	}
	return "email_marketing_consent"
}

// Validate checks the rule against attrs, the attributes the mapping
// keeps.
func (r Rule) Validate(attrs []string) error {
	if _, err := ParseChannel(string(r.Channel)); err != nil {
		return err
	}
	if r.DefaultCountry != "" {
		if _, ok := phone.Lookup(r.DefaultCountry); !ok {
			return fmt.Errorf("marketing: unknown default country %q", r.DefaultCountry)
		}
	}
	for _, a := range attrs {
		if a == r.ConsentAttribute() {
			return nil
		}
	}
	return fmt.Errorf("marketing on %s needs attribute %s: add it to mapping.attributes", r.Channel, r.ConsentAttribute())
}

// Key returns the contact's address for the channel, normalised (the
// email trimmed and lower-cased, as the store's email_norm; the phone in
// E.164), or why it has none: NoAddress or InvalidAddress.
func (r Rule) Key(c *shopsync.Contact) (string, Reason) {
	if r.Channel == SMS {
		if c.Phone == nil || strings.TrimSpace(*c.Phone) == "" {
			return "", NoAddress
		}
		p, ok := phone.E164(*c.Phone, r.DefaultCountry)
		if !ok {
			return "", InvalidAddress
		}
		return p, ""
	}
	if c.Email == nil {
		return "", NoAddress
	}
	e := strings.ToLower(strings.TrimSpace(*c.Email))
	switch {
	case e == "":
		return "", NoAddress
	case !validEmail(e):
		return "", InvalidAddress
	}
	return e, ""
}

// validEmail reports whether e has an @ with something before and after
// it, and no space: the test the SQL's LIKE '_%@_%' makes.
func validEmail(e string) bool {
	if strings.Contains(e, " ") {
		return false
	}
	for i := 1; i < len(e)-1; i++ {
		if e[i] == '@' {
			return true
		}
	}
	return false
}

// Check returns why contact c may not receive marketing on the channel,
// or "" when it may: the rule for one contact, before duplicates.
func (r Rule) Check(c *shopsync.Contact) Reason {
	if c.DeletedAt != nil {
		return Deleted
	}
	if _, why := r.Key(c); why != "" {
		return why
	}
	if r.ExcludeDisabledAccounts && c.State != nil && strings.ToLower(*c.State) == "disabled" {
		return DisabledAccount
	}
	a, ok := c.Attributes.Get(r.ConsentAttribute())
	if s, isText := a.Value.(string); !ok || !isText || strings.ToLower(s) != "subscribed" {
		return NotSubscribed
	}
	return ""
}

// KeySQL returns the SQL expression of the channel's normalised address
// on a contacts row: email_norm, or e164(phone, ?) (sqlfunc), NULL when
// there is none.
func (r Rule) KeySQL() (expr string, args []any) {
	if r.Channel == SMS {
		return sqlfunc.E164 + "(phone, ?)", []any{r.DefaultCountry}
	}
	return "email_norm", nil
}

// Predicate returns the rule for one row as a SQL condition on the
// contacts table: what Check allows, before duplicates. A count with it
// is the audience's upper bound; Eligibility gives the exact audience.
func (r Rule) Predicate() (where string, args []any) {
	var b strings.Builder
	b.WriteString("deleted_at IS NULL")
	if r.Channel == SMS {
		b.WriteString(" AND " + sqlfunc.E164 + "(phone, ?) IS NOT NULL")
		args = append(args, r.DefaultCountry)
	} else {
		b.WriteString(` AND email_norm LIKE '_%@_%' AND instr(email_norm, ' ') = 0`)
	}
	if r.ExcludeDisabledAccounts {
		b.WriteString(` AND lower(coalesce(state, '')) != 'disabled'`)
	}
	b.WriteString(" AND lower(attributes ->> '" + r.ConsentAttribute() + "') = 'subscribed'")
	return b.String(), args
}

// OrderBy returns the ORDER BY terms Eligibility needs: by address, so
// that contacts sharing one are adjacent, then the one that speaks for
// it first: most recently updated in Shopify, then lowest id.
func (r Rule) OrderBy() (orderBy string, args []any) {
	key, args := r.KeySQL()
	return key + ", shopify_updated_at DESC NULLS LAST, shopify_id", args
}
