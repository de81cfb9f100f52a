package shopsync

import "time"

// Part is one independently versioned part of a contact. Shopify changes
// each part through its own webhook topic, with its own clock, so a merge
// decides part by part whether incoming data is newer than what is stored
// (an older event never overwrites newer data):
//
//   - PartProfile: email, names, phone, state, Shopify's created and
//     updated times and the profile attributes (note, verified email, tax
//     exemption, default address). Clock: the customer's updated_at.
//   - PartEmailConsent, PartSMSConsent: the consent attributes. Clock: the
//     consent's consent_updated_at, else the payload's updated_at.
//   - PartPurchasing: order count, total spent and its currency, last
//     order. Clock: occurredAt of customers/purchasing_summary, else
//     updated_at.
//   - PartTags: the tags. Clock: occurredAt of customer.tags_added and
//     customer.tags_removed (per tag), else updated_at.
//
// See Stamp for how versions compare.
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

// ClockKind names which of Shopify's clocks a Clock reads. Clocks are
// compared only with clocks of the same kind: a consent's
// consent_updated_at may lie years before the customer's updated_at
// (Shopify's example customer 207119551), and says nothing about it.
type ClockKind uint8

// The kinds of clock.
const (
	ClockNone             ClockKind = iota // the data carried no clock of the part's own
	ClockUpdatedAt                         // the customer's updated_at
	ClockConsentUpdatedAt                  // the consent's consent_updated_at
	ClockOccurredAt                        // occurredAt of an event payload (purchasing summary, tags)
)

// Clock is a time read from one of Shopify's clocks in a payload.
type Clock struct {
	Time time.Time
	Kind ClockKind
}

// IsZero reports whether the clock is unknown.
func (c Clock) IsZero() bool { return c.Kind == ClockNone || c.Time.IsZero() }

// Orders reports whether clocks of this kind order the changes they
// stamp: Shopify sets updated_at and occurredAt when a change happens, so
// they only move forward. consent_updated_at does not: the Admin API takes
// it as input (CustomerEmailMarketingConsentInput.consentUpdatedAt), so a
// merchant's import can record a consent given years ago after one given
// today. It is data, and orders nothing.
func (k ClockKind) Orders() bool { return k == ClockUpdatedAt || k == ClockOccurredAt }

// Stamp is the version of one part (or one field) of a contact: where its
// data came from and when it was true.
//
// Seen is in Shopify's clock domain: the X-Shopify-Triggered-At of a
// webhook (clamped to the time of receipt, plus a small skew, when a
// sender claims a later one), or, for data read from the Admin API, the
// Date of the response that carried it, whole seconds. Clock is the
// part's own clock in the payload, when it had one.
type Stamp struct {
	Clock Clock
	Seen  time.Time
	Read  bool // read from the Admin API: the whole truth as of Seen
}

// IsZero reports whether s is the zero stamp: no version known.
func (s Stamp) IsZero() bool { return s.Seen.IsZero() && s.Clock.IsZero() }

// Supersedes reports whether data stamped s replaces data stamped old.
// The rules, in order:
//
//   - Anything replaces nothing.
//   - A read is the truth as of its Seen: it replaces what an earlier or
//     equally old read stored, and what an event triggered strictly before
//     it stored. An event triggered in the same second as a read's Date
//     cannot be ordered against it and keeps its data; the next read
//     settles it.
//   - An event is compared by the part's own clock when both stamps have
//     one of the same kind that orders changes (ClockKind.Orders) and they
//     differ (so that a genuine old body sent again, under any header,
//     stays old), and otherwise by Seen; on equal terms the newer arrival
//     wins.
func (s Stamp) Supersedes(old Stamp) bool {
	if old.IsZero() {
		return true
	}
	if s.Read {
		if old.Read {
			return !s.Seen.Before(old.Seen)
		}
		return s.Seen.After(old.Seen)
	}
	if !s.Clock.IsZero() && !old.Clock.IsZero() && s.Clock.Kind == old.Clock.Kind && s.Clock.Kind.Orders() {
		if c := s.Clock.Time.Compare(old.Clock.Time); c != 0 {
			return c > 0
		}
	}
	return !s.Seen.Before(old.Seen)
}
