package marketing

import (
	"errors"
	"fmt"

	"github.com/shopsync/shopsync"
)

// ErrOrder is returned by Eligibility.Add for contacts out of the order
// Rule.OrderBy gives: duplicates would go unseen.
var ErrOrder = errors.New("contacts out of address order")

// Eligibility applies a Rule to a stream of contacts and passes on one
// contact per address that may receive marketing. Feed it every contact
// of the audience (not only those Predicate allows, so that it can see an
// unsubscribed duplicate and count what it leaves out) in the order of
// Rule.OrderBy, then call Flush.
//
// It holds one contact at a time, the first of the current address,
// until the address's last contact has been read: memory stays the same
// over a million contacts. It keeps that contact's pointer, so the caller
// must not reuse the Contact it passed to Add.
type Eligibility struct {
	rule   Rule
	emit   func(*shopsync.Contact) error
	report Report

	// The current address and its contacts.
	key      string
	first    *shopsync.Contact // the first of the audience that may receive it: speaks for the address
	last     *shopsync.Contact // the last read, for the order check
	eligible int64             // contacts that may receive it
	blocked  bool              // one may not
	open     bool
}

// NewEligibility returns an Eligibility for rule that calls emit with
// each contact kept, in address order.
func NewEligibility(rule Rule, emit func(*shopsync.Contact) error) *Eligibility {
	return &Eligibility{rule: rule, emit: emit, report: Report{Channel: rule.Channel}}
}

// Add reads the next contact of the audience. It returns emit's error,
// or ErrOrder.
func (e *Eligibility) Add(c *shopsync.Contact) error { return e.add(c, true) }

// AddHolder reads, in the same order as Add, a contact outside the
// audience (not in the segment exported) that holds one of its
// addresses. It is never sent and not counted, but an address is
// withheld when such a holder is not subscribed, as when a contact of the
// audience is not: a customer who unsubscribed under one record is not
// reached through another, whatever the segment.
func (e *Eligibility) AddHolder(c *shopsync.Contact) error { return e.add(c, false) }

func (e *Eligibility) add(c *shopsync.Contact, member bool) error {
	if member {
		e.report.Read++
	}
	if c.DeletedAt != nil {
		if member {
			e.report.add(Deleted)
		}
		return nil
	}
	key, why := e.rule.Key(c)
	if why != "" {
		if member {
			e.report.add(why)
		}
		return nil
	}
	if !e.open || key != e.key {
		if e.open && key < e.key {
			return fmt.Errorf("%w: %s after %s", ErrOrder, describe(c), describe(e.last))
		}
		if err := e.close(); err != nil {
			return err
		}
		e.key, e.open = key, true
	} else if !before(e.last, c) {
		return fmt.Errorf("%w: %s after %s, for the same address", ErrOrder, describe(c), describe(e.last))
	}
	e.last = c
	why = e.rule.Check(c)
	switch {
	case !member:
		e.blocked = e.blocked || why == NotSubscribed
	case why != "":
		e.report.add(why)
		e.blocked = true
	default:
		e.eligible++
		if e.first == nil {
			e.first = c
		}
	}
	return nil
}

// Flush ends the stream: it decides the last address. Call it once,
// after the last Add.
func (e *Eligibility) Flush() error { return e.close() }

// close decides the current address.
func (e *Eligibility) close() error {
	if !e.open {
		return nil
	}
	first, eligible, blocked := e.first, e.eligible, e.blocked
	e.first, e.last, e.eligible, e.blocked, e.open = nil, nil, 0, false, false
	if first == nil {
		return nil // no contact of the audience may receive it
	}
	if blocked {
		e.report.Withheld += eligible
		return nil
	}
	e.report.Duplicates += eligible - 1
	e.report.Included++
	return e.emit(first)
}

// Report returns the counts so far; complete after Flush.
func (e *Eligibility) Report() Report { return e.report }

// before reports whether a comes before b among the contacts of one
// address: more recently updated in Shopify (no time last), then lower
// id.
func before(a, b *shopsync.Contact) bool {
	switch at, bt := a.ShopifyUpdatedAt, b.ShopifyUpdatedAt; {
	case at != nil && bt == nil:
		return true
	case at == nil && bt != nil:
		return false
	case at != nil && !at.Equal(*bt):
		return at.After(*bt)
	}
	return a.ShopifyID < b.ShopifyID
}

func describe(c *shopsync.Contact) string { return fmt.Sprintf("contact %d", c.ShopifyID) }
