package shopsync_test

import (
	"testing"
	"time"

	"github.com/shopsync/shopsync"
)

// TestStampSupersedes holds the ordering rules of the merge model:
// reads are the truth as of their Date, events are ordered by their own
// clock when it is of the same kind, else by their trigger time, and
// clocks of different kinds are never compared.
func TestStampSupersedes(t *testing.T) {
	at := func(sec int) time.Time { return time.Date(2024, 4, 2, 0, 0, sec, 0, time.UTC) }
	clock := func(kind shopsync.ClockKind, sec int) shopsync.Clock {
		return shopsync.Clock{Time: at(sec), Kind: kind}
	}
	updated := func(sec int) shopsync.Clock { return clock(shopsync.ClockUpdatedAt, sec) }
	consent := func(sec int) shopsync.Clock { return clock(shopsync.ClockConsentUpdatedAt, sec) }
	read := func(seen int) shopsync.Stamp { return shopsync.Stamp{Seen: at(seen), Read: true} }
	event := func(c shopsync.Clock, seen int) shopsync.Stamp { return shopsync.Stamp{Clock: c, Seen: at(seen)} }
	tests := []struct {
		name     string
		in, old  shopsync.Stamp
		replaces bool
	}{
		{"anything replaces nothing", event(shopsync.Clock{}, 0), shopsync.Stamp{}, true},
		{"a later read replaces a read", read(20), read(10), true},
		{"a read of the same second replaces a read", read(10), read(10), true},
		{"an earlier read does not", read(5), read(10), false},
		{"a read replaces an event triggered before it, whatever the clocks", shopsync.Stamp{Clock: updated(1), Seen: at(20), Read: true}, event(updated(15), 10), true},
		{"a read does not replace an event of its second", read(10), event(updated(10), 10), false},
		{"a read does not replace a later event", read(10), event(updated(5), 11), false},
		{"an event after a read replaces it", event(shopsync.Clock{}, 11), read(10), true},
		{"an event of the read's second replaces it", event(shopsync.Clock{}, 10), read(10), true},
		{"an event before the read does not", event(shopsync.Clock{}, 9), read(10), false},
		{"same kind: the newer clock wins, whatever the trigger times", event(updated(20), 5), event(updated(10), 50), true},
		{"same kind: an old body sent again loses", event(updated(10), 99), event(updated(20), 30), false},
		{"occurredAt orders events too", event(clock(shopsync.ClockOccurredAt, 10), 99), event(clock(shopsync.ClockOccurredAt, 20), 30), false},
		// consent_updated_at is the merchant's to set (an import of
		// consents given years ago): a later change may carry an older
		// date, and trigger times decide.
		{"consent dates order nothing", event(consent(10), 99), event(consent(20), 30), true},
		{"consent dates order nothing, earlier trigger", event(consent(20), 29), event(consent(10), 30), false},
		{"same kind, same clock: the later trigger wins", event(updated(10), 12), event(updated(10), 11), true},
		{"same kind, same clock, earlier trigger: stale", event(updated(10), 11), event(updated(10), 12), false},
		// Customer 207119551 of Shopify's docs: consent dated 2004,
		// updated 2024. The two clocks say nothing of each other.
		{"kinds differ: trigger times decide", event(consent(1), 40), event(updated(30), 31), true},
		{"kinds differ, earlier trigger: stale", event(updated(30), 20), event(consent(1), 25), false},
		{"no clock: trigger times decide", event(shopsync.Clock{}, 40), event(consent(30), 31), true},
	}
	for _, tt := range tests {
		if got := tt.in.Supersedes(tt.old); got != tt.replaces {
			t.Errorf("%s: %+v.Supersedes(%+v) = %v, want %v", tt.name, tt.in, tt.old, got, tt.replaces)
		}
	}
}
