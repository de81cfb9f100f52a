package server

import (
	"net"
	"net/http"
	"strings"
)

// webhookPath is the webhook receiver's path. It is the one route the Host
// check leaves alone: Shopify reaches it through a reverse proxy under the
// public host name, and every delivery is HMAC-verified, so a request that
// DNS rebinding brings there can do nothing a forged delivery cannot.
const webhookPath = "/webhooks/shopify"

// hostGuard decides which Host headers the server answers, against DNS
// rebinding: a page on rebind.attacker.example whose name an attacker
// points at 127.0.0.1 reaches a loopback listener from the victim's
// browser as same-origin, but its requests still name the attacker's
// host. Loopback addresses and localhost are always answered, on any port
// (an SSH tunnel or port forward changes the port, and the name is what
// rebinding cannot fake); other names only when listed.
type hostGuard struct {
	open  bool                // no check at all: a sync token and no list
	names map[string]struct{} // the listed names, lower-case
}

func newHostGuard(syncToken string, allowed []string) hostGuard {
	g := hostGuard{open: syncToken != "" && len(allowed) == 0, names: map[string]struct{}{}}
	for _, h := range allowed {
		g.names[normalizeHostname(h)] = struct{}{}
	}
	return g
}

// allows reports whether a request whose Host header is host is answered.
func (g hostGuard) allows(host string) bool {
	if g.open {
		return true
	}
	name := hostname(host)
	if isLoopbackName(name) {
		return true
	}
	_, ok := g.names[name]
	return ok && name != ""
}

// hostname is the name in a Host header, without its port or the brackets
// of an IPv6 literal, lower-case and without a trailing dot.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return normalizeHostname(host)
}

func normalizeHostname(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// isLoopbackName reports whether name is localhost or a loopback IP
// address (127.0.0.0/8, ::1, and IPv4-mapped forms).
func isLoopbackName(name string) bool {
	if name == "localhost" {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// misdirected answers a request for a host this server does not serve.
func misdirected(w http.ResponseWriter, r *http.Request) {
	where := "http://127.0.0.1/ or http://localhost/"
	if _, port, err := net.SplitHostPort(r.Host); err == nil && isPort(port) {
		where = "http://127.0.0.1:" + port + "/ or http://localhost:" + port + "/"
	}
	writeError(w, http.StatusMisdirectedRequest, "this shopsync answers only to loopback addresses and localhost ("+where+
		"); to serve it under another name, set http.sync_token and list the name in http.allowed_hosts")
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
