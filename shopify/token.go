package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"time"
)

// TokenSource hands out the Admin API access token for each request.
type TokenSource interface {
	// Token returns a valid token.
	Token(ctx context.Context) (string, error)
	// Invalidate reports that the API refused tok (401). It returns true
	// when a new token may succeed, so the request is worth one retry.
	Invalidate(tok string) bool
	// Kind names the kind of credentials, for status output.
	Kind() string
}

// StaticToken is a legacy custom app's permanent Admin API token.
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Invalidate implements TokenSource: a static token cannot be renewed.
func (StaticToken) Invalidate(string) bool { return false }

// Kind implements TokenSource.
func (StaticToken) Kind() string { return "static access token" }

// ClientCredentials gets and renews tokens with the client-credentials
// grant of an app made in the Dev Dashboard (SHOPIFY.md §1): POST
// {shop}/admin/oauth/access_token, form-encoded, answering access_token
// and expires_in (about 24 h). A token is renewed a while before it
// expires, and at once when the API refuses it. Safe for concurrent use.
type ClientCredentials struct {
	endpoint     string // .../admin/oauth/access_token
	clientID     string
	clientSecret string
	httpClient   *http.Client
	now          func() time.Time

	mu      gosync.Mutex
	token   string
	expires time.Time
}

// NewClientCredentials returns a token source for the app's client id and
// secret. baseURL is https://{shop} (or the simulator); httpClient should
// retry transient failures. Unless httpClient has its own CheckRedirect,
// the token request follows redirects only within baseURL's origin, so
// that a 307 cannot re-post the client secret to another host.
func NewClientCredentials(baseURL, clientID, clientSecret string, httpClient *http.Client) *ClientCredentials {
	endpoint := strings.TrimSuffix(baseURL, "/") + "/admin/oauth/access_token"
	if httpClient.CheckRedirect == nil {
		c := *httpClient // the caller's client stays as it was
		if u, err := url.Parse(endpoint); err == nil {
			c.CheckRedirect = credentialRedirects(origin(u))
		} else {
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		}
		httpClient = &c
	}
	return &ClientCredentials{
		endpoint:     endpoint,
		clientID:     clientID,
		clientSecret: clientSecret,
		httpClient:   httpClient,
		now:          time.Now,
	}
}

// Kind implements TokenSource.
func (*ClientCredentials) Kind() string { return "client credentials grant" }

// Token implements TokenSource.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != "" && cc.now().Before(cc.expires) {
		return cc.token, nil
	}
	tok, ttl, err := cc.fetch(ctx)
	if err != nil {
		return "", err
	}
	// Renew a tenth of the lifetime early (at most ten minutes), so that
	// a page in flight never meets an expired token.
	cc.token, cc.expires = tok, cc.now().Add(ttl-min(ttl/10, 10*time.Minute))
	return cc.token, nil
}

// Invalidate implements TokenSource: the next Token call fetches a new
// token, unless another request already replaced tok.
func (cc *ClientCredentials) Invalidate(tok string) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token == tok {
		cc.token = ""
	}
	return true
}

// TokenError is a refused client-credentials grant.
type TokenError struct {
	Status int
	Reason string // Shopify's error code, e.g. invalid_client; never a secret
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("client credentials grant refused (HTTP %d", e.Status)
	if e.Reason != "" {
		msg += ", " + e.Reason
	}
	return msg + "): check shopify.client_id and shopify.client_secret, and that the app is installed on the store"
}

func (cc *ClientCredentials) fetch(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {cc.clientID},
		"client_secret": {cc.clientSecret},
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.endpoint, strings.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := cc.httpClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	jerr := json.Unmarshal(buf, &out)
	if resp.StatusCode/100 != 2 {
		return "", 0, &TokenError{Status: resp.StatusCode, Reason: reasonCode(out.Error)}
	}
	if jerr != nil || out.AccessToken == "" {
		return "", 0, fmt.Errorf("token request: HTTP %d without an access_token", resp.StatusCode)
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour // no expires_in: renew hourly, and on a 401
	}
	return out.AccessToken, ttl, nil
}

// reasonCode keeps an OAuth error code only when it looks like one, so
// that nothing the server echoes ends up in logs.
func reasonCode(s string) string {
	if len(s) > 40 {
		return ""
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return ""
		}
	}
	return s
}
