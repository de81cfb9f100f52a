package shopsync

import "time"

// Part is one independently versioned part of a contact. Shopify changes
// each part through its own webhook topic, with its own clock, so a merge
// decides part by part whether incoming data is newer than what is stored
// (an older event never overwrites newer data):
//
//   - PartProfile: email, names, phone, state, Shopify's created and
//     updated times and the profile attributes (note, verified email, tax
//     exemption, currency, default address). Clock: the customer's
//     updated_at.
//   - PartEmailConsent, PartSMSConsent: the consent attributes. Clock: the
//     consent's consent_updated_at, else the payload's updated_at.
//   - PartPurchasing: order count, total spent, last order. Clock:
//     occurredAt of customers/purchasing_summary, else updated_at.
//   - PartTags: the tags. Clock: occurredAt of customer.tags_added and
//     customer.tags_removed (per tag), else updated_at.
type Part uint8

// The parts of a contact.
const (
	PartProfile Part = iota
	PartEmailConsent
	PartSMSConsent
	PartPurchasing
	PartTags

	// NumParts is the number of parts.
	NumParts
)

var partNames = [NumParts]string{"profile", "email_consent", "sms_consent", "purchasing", "tags"}

func (p Part) String() string {
	if p < NumParts {
		return partNames[p]
	}
	return "part(?)"
}

// PartSet is a set of parts.
type PartSet uint8

// AllParts is every part: what a full REST customer carries.
const AllParts PartSet = 1<<NumParts - 1

// Set returns a set of the given parts.
func Set(parts ...Part) PartSet {
	var s PartSet
	for _, p := range parts {
		s |= 1 << p
	}
	return s
}

// Has reports whether p is in s.
func (s PartSet) Has(p Part) bool { return s&(1<<p) != 0 }

// Stamp is the version of one part of a contact: Shopify's clock for the
// part, then a tie-break for equal clocks (X-Shopify-Triggered-At for a
// webhook, the fetch time for data read from the API). Stamps compare
// clock first.
type Stamp struct {
	Clock time.Time
	Tie   time.Time
}

// IsZero reports whether s is the zero stamp: no version known.
func (s Stamp) IsZero() bool { return s.Clock.IsZero() && s.Tie.IsZero() }

// Compare returns -1, 0 or +1 as s is older than, the same as, or newer
// than t.
func (s Stamp) Compare(t Stamp) int {
	if c := s.Clock.Compare(t.Clock); c != 0 {
		return c
	}
	return s.Tie.Compare(t.Tie)
}
