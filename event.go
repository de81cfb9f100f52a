package shopsync

import (
	"encoding/json"
	"strconv"
	"time"
)

// The change feed (issue 19): every effective change to a contact is an
// event, committed with the change, numbered in the order of commits. The
// store keeps them for outbound.retention; GET /changes and the outbound
// endpoints read them.

// EventType says what happened to a contact.
type EventType uint8

// The event types. Their names (String) are what the feed and the
// configuration's outbound.endpoints[].events use.
const (
	// EventCreated: the contact is new to the store, or back after it was
	// deleted (only a read of Shopify brings one back).
	EventCreated EventType = iota + 1
	// EventUpdated: some field or attribute changed; ChangeEvent.Fields
	// lists them.
	EventUpdated
	// EventDeleted: Shopify no longer has the customer. The contact, as of
	// the event, carries deleted_at.
	EventDeleted
	// EventRedacted: the customer's data was erased (customers/redact, or
	// every customer for shop/redact). The event carries the id alone, and
	// every earlier event of the contact has been erased (Erased).
	EventRedacted
	// EventSegmentJoined and EventSegmentLeft: the contact entered or left
	// the saved segment ChangeEvent.Segment. The store appends them from
	// its segment hook (store.DB.SetSegmentHook), in the transaction of the
	// change that moved the contact.
	EventSegmentJoined
	EventSegmentLeft

	numEventTypes
)

var eventTypeNames = [numEventTypes]string{"", "contact.created", "contact.updated", "contact.deleted",
	"contact.redacted", "segment.joined", "segment.left"}

func (t EventType) String() string {
	if t > 0 && t < numEventTypes {
		return eventTypeNames[t]
	}
	return "event(" + strconv.Itoa(int(t)) + ")"
}

// EventTypes returns every event type, in order.
func EventTypes() []EventType {
	out := make([]EventType, 0, numEventTypes-1)
	for t := EventCreated; t < numEventTypes; t++ {
		out = append(out, t)
	}
	return out
}

// ParseEventType returns the event type called name ("contact.updated").
func ParseEventType(name string) (EventType, bool) {
	for t := EventCreated; t < numEventTypes; t++ {
		if eventTypeNames[t] == name {
			return t, true
		}
	}
	return 0, false
}

// SegmentChange is a contact entering (Joined) or leaving a saved
// segment, as a segment hook reports it.
type SegmentChange struct {
	Segment string
	Joined  bool
}

// ChangeEvent is one event of the change feed.
type ChangeEvent struct {
	Seq       int64 // its place in the feed: every event commits after those with a lower Seq
	Type      EventType
	ContactID int64
	Source    string    // what made the change: SourceImport, a webhook topic, SourceReconcile, SourceRefetch
	At        time.Time // when the store committed it (shopsync's clock)

	// Fields are the fields and attributes whose value an EventUpdated
	// changed: "email", "first_name", "last_name", "phone", "state",
	// "tags", "shopify_created_at", "shopify_updated_at", and attribute
	// names. Nil for the other types.
	Fields  []string
	Segment string // EventSegmentJoined, EventSegmentLeft: the segment's name

	// Erased says that the contact's data was erased after the event
	// (customers/redact): Contact and Fields are gone.
	Erased bool

	// Contact is the contact as of the event, as the store projects it
	// (store.DB.SetProjection; by default the JSON of GET /contacts/{id}).
	// Nil for EventRedacted and erased events.
	Contact json.RawMessage
	// State is the contact as of the event, for filters (an endpoint's
	// segment); nil when Contact is. It is not part of the JSON.
	State *Contact
}

// AppendJSON appends the event as one JSON object, the form of the feed
// and of outbound deliveries:
//
//	{"seq":42,"type":"contact.updated","contact_id":706405506930370084,
//	 "source":"customers/update","at":"2026-12-06T10:00:00.123456789Z",
//	 "fields":["email","orders_count"],"contact":{...}}
//
// "fields" is there for contact.updated, "segment" for segment events,
// "erased" when true; "contact" is always there, null when there is none.
func (e *ChangeEvent) AppendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"type":"`...)
	b = append(b, e.Type.String()...)
	b = append(b, `","contact_id":`...)
	b = strconv.AppendInt(b, e.ContactID, 10)
	b = append(b, `,"source":`...)
	b = appendString(b, e.Source)
	b = append(b, `,"at":"`...)
	b = e.At.UTC().AppendFormat(b, TimeFormat)
	b = append(b, '"')
	if e.Type == EventUpdated {
		b = append(b, `,"fields":`...)
		if e.Fields == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, f := range e.Fields {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, f)
			}
			b = append(b, ']')
		}
	}
	if e.Type == EventSegmentJoined || e.Type == EventSegmentLeft {
		b = append(b, `,"segment":`...)
		b = appendString(b, e.Segment)
	}
	if e.Erased {
		b = append(b, `,"erased":true`...)
	}
	b = append(b, `,"contact":`...)
	if len(e.Contact) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Contact...)
	}
	return append(b, '}')
}

// MarshalJSON is AppendJSON.
func (e *ChangeEvent) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
