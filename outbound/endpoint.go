package outbound

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopsync/shopsync"
)

// Endpoint is one configured receiver of the change feed.
type Endpoint struct {
	// Name identifies the endpoint in the store (its cursor), the status,
	// the metrics and the CLI: lower-case letters, digits, - and _.
	// Required.
	Name string
	// URL receives the deliveries: https, or http to a loopback address.
	// Required.
	URL string
	// Secret keys the deliveries' signature. Required; never logged.
	Secret string
	// Events are the event types it receives; empty: all of them.
	Events []shopsync.EventType
	// Segment, when set, limits the contact events it receives to contacts
	// in that saved segment as of the event (Config.InSegment decides), and
	// its segment events to that segment's. contact.redacted and erased
	// events go to every endpoint: an erasure must reach everyone.
	Segment string
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether name can name an endpoint.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// segmentRE is a saved segment's name as the configuration may give it:
// printable, no control characters, at most 100 bytes.
var segmentRE = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,100}$`)

// ValidSegmentName reports whether name can name a saved segment.
func ValidSegmentName(name string) bool {
	return segmentRE.MatchString(name) && strings.TrimSpace(name) == name
}

// CheckURL checks an endpoint's URL: absolute, https, or http only to a
// loopback address (a receiver on the same machine); no user or password
// in it (the secret signs the deliveries); no fragment.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("want an absolute URL such as https://crm.example.com/hooks/shopsync")
	}
	if u.User != nil {
		return errors.New("holds a user or password: remove it; the endpoint's secret signs every delivery")
	}
	if u.Fragment != "" {
		return errors.New("has a #fragment, which is never sent: remove it")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if host := u.Hostname(); host == "localhost" || isLoopback(host) {
			return nil
		}
		return errors.New("http is allowed only to a loopback address (127.0.0.1, ::1, localhost): use https")
	}
	return fmt.Errorf("scheme %q: want https", u.Scheme)
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ShowURL is the URL as the status and logs show it: scheme, host and
// path, without the query, which may hold a key.
func ShowURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		shown += "?…"
	}
	return shown
}

// fingerprint is a digest of what the endpoint receives and where: a
// paused endpoint whose fingerprint changes resumes (its URL, secret,
// events or segment were changed). It holds no secret: a SHA-256 of the
// whole, of which the secret is one part of at least 128 bits.
func (e *Endpoint) fingerprint() string {
	h := sha256.New()
	types := make([]string, len(e.Events))
	for i, t := range e.Events {
		types[i] = t.String()
	}
	slices.Sort(types)
	for _, part := range []string{"shopsync outbound endpoint v1", e.URL, e.Secret, strings.Join(types, ","), e.Segment} {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// wants reports whether the endpoint receives ev.
func (e *Endpoint) wants(ev *shopsync.ChangeEvent, inSegment func(string, *shopsync.Contact, time.Time) bool) bool {
	if len(e.Events) > 0 && !slices.Contains(e.Events, ev.Type) {
		return false
	}
	if e.Segment == "" || ev.Type == shopsync.EventRedacted || ev.Erased {
		return true
	}
	if ev.Type == shopsync.EventSegmentJoined || ev.Type == shopsync.EventSegmentLeft {
		return ev.Segment == e.Segment
	}
	return inSegment != nil && ev.State != nil && inSegment(e.Segment, ev.State, ev.At)
}
