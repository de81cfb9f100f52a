package shopify

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxRedirects is how many redirects a request follows, as net/http's
// default policy.
const maxRedirects = 10

// RedirectError is a redirect refused because it leads away from the shop
// (or the configured base URL): following it would send the access token
// header, or re-post the client secret, to another host.
type RedirectError struct {
	To      string   // the origin redirected to, scheme://host
	Allowed []string // the origins credentials go to
}

func (e *RedirectError) Error() string {
	return "redirected to " + e.To + ": refused, credentials are sent only to " + strings.Join(e.Allowed, " or ") +
		" (check shopify.shop and shopify.api_base_url)"
}

// origin is u's scheme://host, lower-case, with the port when u has one.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// credentialRedirects is an http.Client's CheckRedirect that follows a
// redirect only within origins: same scheme (no downgrade to http), same
// host, same port.
func credentialRedirects(origins ...string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errors.New("stopped after 10 redirects")
		}
		if o := origin(req.URL); !slices.Contains(origins, o) {
			return &RedirectError{To: o, Allowed: origins}
		}
		return nil
	}
}
