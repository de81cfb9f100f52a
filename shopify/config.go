package shopify

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config says which shop to talk to and how. Errors from Validate name the
// configuration key (shopify.<key>) so that they read well to an operator.
type Config struct {
	// Shop is required: the shop's permanent myshopify name, as "acme",
	// "acme.myshopify.com" or "https://acme.myshopify.com/". A custom
	// domain is refused: the Admin API answers only on myshopify.com.
	Shop string

	// AccessToken is a legacy custom app's Admin API token (shpat_...).
	// When empty, ClientID and ClientSecret are required and the client
	// gets tokens with the client-credentials grant.
	AccessToken  string
	ClientID     string
	ClientSecret string

	// APIVersion is the Admin API version, YYYY-MM. Required.
	APIVersion string

	// APIBaseURL, when set, replaces https://{shop}: a proxy, or the
	// simulator in tests and the demo.
	APIBaseURL string

	// RequestTimeout bounds each attempt, body included. Zero means 30s.
	RequestTimeout time.Duration

	// MaxRetries bounds retries of 5xx answers, timeouts and dropped
	// connections. 429s are always retried after their Retry-After, as
	// long as the context allows.
	MaxRetries int

	// LeakRate fixes the bucket's leak in requests per second, and the
	// pacer keeps to it. Zero learns it from the call-limit headers of
	// successive answers, starting from the plan's: a twentieth of the
	// bucket per second (40 → 2/s, 400 → 20/s).
	LeakRate float64
}

const defaultRequestTimeout = 30 * time.Second

// shopNameRE is a myshopify store name: letters, digits and hyphens.
var shopNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// NormalizeShop turns "acme", "acme.myshopify.com",
// "https://acme.myshopify.com/" or the store admin's address that
// merchants copy from the browser, "https://admin.shopify.com/store/acme"
// (any page of it), into "acme.myshopify.com". Anything else, a custom
// domain in particular, is an error that says why.
func NormalizeShop(shop string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(shop))
	if s == "" {
		return "", errors.New("required: your store's myshopify name, e.g. acme or acme.myshopify.com")
	}
	for _, p := range []string{"https://", "http://"} {
		s = strings.TrimPrefix(s, p)
	}
	host, path, _ := strings.Cut(s, "/")
	if host == "admin.shopify.com" {
		// The admin's address: admin.shopify.com/store/{name}/...
		rest, ok := strings.CutPrefix(path, "store/")
		name, _, _ := strings.Cut(rest, "/")
		if !ok || !shopNameRE.MatchString(name) {
			return "", fmt.Errorf("%q: want the store admin's address, https://admin.shopify.com/store/{name}, or the name alone", shop)
		}
		return name + ".myshopify.com", nil
	}
	// An old-style admin address, acme.myshopify.com/admin/..., names the
	// shop too; any other path is not an address of the shop.
	if path != "" && path != "admin" && !strings.HasPrefix(path, "admin/") {
		return "", fmt.Errorf("%q is not a myshopify name: use acme, acme.myshopify.com or https://admin.shopify.com/store/acme", shop)
	}
	name, found := strings.CutSuffix(host, ".myshopify.com")
	if !found && strings.Contains(host, ".") {
		return "", fmt.Errorf("%q is not a myshopify.com name: use the permanent name shown in Settings > Domains (acme.myshopify.com), not a custom domain", shop)
	}
	if !shopNameRE.MatchString(name) {
		return "", fmt.Errorf("%q is not a myshopify store name: want letters, digits and hyphens, e.g. acme or acme.myshopify.com", shop)
	}
	return name + ".myshopify.com", nil
}

// apiVersionRE is a stable Admin API version: Shopify releases quarterly.
var apiVersionRE = regexp.MustCompile(`^20[0-9]{2}-(01|04|07|10)$`)

// ValidAPIVersion reports whether v names a stable Admin API release.
// go-shopify silently drops a malformed version and calls the unversioned
// API, so the client checks it first.
func ValidAPIVersion(v string) bool { return apiVersionRE.MatchString(v) }

// Validate checks the configuration. Each error names its key and the
// fix, and never contains a secret.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, err := NormalizeShop(c.Shop); err != nil {
		bad("shopify.shop: %w", err)
	}
	switch {
	case c.AccessToken != "":
	case c.ClientID == "" && c.ClientSecret == "":
		bad("shopify.access_token: required, or shopify.client_id with shopify.client_secret: " +
			"an access token of a custom app made in the store admin, or the client id and secret of an app made in the Dev Dashboard")
	case c.ClientID == "":
		bad("shopify.client_id: required with shopify.client_secret (or set shopify.access_token instead)")
	case c.ClientSecret == "":
		bad("shopify.client_secret: required with shopify.client_id (or set shopify.access_token instead)")
	}
	if !ValidAPIVersion(c.APIVersion) {
		bad("shopify.api_version: %q: want YYYY-MM naming a quarterly release, e.g. 2024-04", c.APIVersion)
	}
	if c.APIBaseURL != "" {
		u, err := url.Parse(c.APIBaseURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "":
			bad("shopify.api_base_url: want an http(s) URL such as http://127.0.0.1:9000, or leave empty for https://{shop}")
		case u.Scheme == "http" && !loopbackHost(u.Hostname()):
			// The access token and the client secret would cross the
			// network in clear.
			bad("shopify.api_base_url: http is allowed only for a loopback address such as the simulator's; use https://%s", u.Host)
		}
	}
	if c.RequestTimeout < 0 {
		bad("shopify.request_timeout: %s: want a positive duration such as 30s", c.RequestTimeout)
	}
	if c.MaxRetries < 0 {
		bad("shopify.max_retries: %d: want 0 or more", c.MaxRetries)
	}
	if c.LeakRate < 0 {
		bad("shopify.leak_rate: want 0 (infer) or a positive rate")
	}
	return errors.Join(errs...)
}

// baseURL is where requests go: APIBaseURL, or https://{shop}.
func (c Config) baseURL() (*url.URL, error) {
	if c.APIBaseURL != "" {
		return url.Parse(strings.TrimSuffix(c.APIBaseURL, "/"))
	}
	shop, err := NormalizeShop(c.Shop)
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "https", Host: shop}, nil
}

// loopbackHost reports whether host (no port) is localhost or a loopback
// IP address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
