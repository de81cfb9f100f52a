package shopify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"
)

// recorder is a host that must never see a credential: it records every
// request's headers and body.
type recorder struct {
	mu   gosync.Mutex
	seen []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.seen = append(rec.seen, r.Method+" "+r.URL.String()+" token="+r.Header.Get(headerAccessToken)+" body="+string(b))
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"count":1,"access_token":"stolen","expires_in":3600}`))
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// hostsTransport routes https requests for each host name to a TLS test
// server, as DNS would route them to the real ones: the client runs as in
// production, with no api_base_url, against https://acme.myshopify.com.
func hostsTransport(routes map[string]*httptest.Server) http.RoundTripper {
	return &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test servers' certificates name 127.0.0.1
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			srv := routes[host]
			if srv == nil {
				return nil, errors.New("no route to " + host)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}
}

// TestRedirectsKeepCredentials: the shop answers a redirect to another
// host, for an API call (302) and for the token grant (307, which re-posts
// the body). Neither the access token nor the client secret may reach
// that host: the call fails with a RedirectError.
func TestRedirectsKeepCredentials(t *testing.T) {
	evil := &recorder{}
	evilSrv := httptest.NewTLSServer(evil)
	defer evilSrv.Close()
	shop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/admin/oauth/access_token" && r.URL.Query().Get("moved") == "":
			http.Redirect(w, r, "https://evil.example/admin/oauth/access_token", http.StatusTemporaryRedirect)
		case strings.HasSuffix(r.URL.Path, "/customers/count.json"):
			http.Redirect(w, r, "https://evil.example"+r.URL.Path, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer shop.Close()
	base := hostsTransport(map[string]*httptest.Server{"acme.myshopify.com": shop, "evil.example": evilSrv})
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"access token", Config{Shop: "acme", AccessToken: "shpat_SECRET_token", APIVersion: "2024-04"}},
		{"client credentials", Config{Shop: "acme", ClientID: "id", ClientSecret: "shpss_SECRET_client", APIVersion: "2024-04"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.RequestTimeout, tc.cfg.MaxRetries = 5*time.Second, 1
			c, err := newClient(tc.cfg, logger, base)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CountCustomers(ctx)
			var rerr *RedirectError
			if !errors.As(err, &rerr) || rerr.To != "https://evil.example" {
				t.Errorf("count: %v, want a RedirectError to https://evil.example", err)
			} else if !strings.Contains(err.Error(), "refused") {
				t.Errorf("error %q does not say the redirect was refused", err)
			}
			if seen := evil.requests(); len(seen) > 0 {
				t.Fatalf("the other host received %d requests: %q", len(seen), seen)
			}
		})
	}
}

// TestRedirectsWithinTheShop: a redirect that stays on the shop's origin
// is still followed; one to http on the same host is not.
func TestRedirectsWithinTheShop(t *testing.T) {
	var sawToken gosync.Map
	shop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawToken.Store(r.URL.Path, r.Header.Get(headerAccessToken))
		switch r.URL.Path {
		case "/admin/api/2024-04/customers/count.json":
			http.Redirect(w, r, "/admin/api/2024-04/moved/count.json", http.StatusMovedPermanently)
		case "/admin/api/2024-04/moved/count.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"count":7}`))
		}
	}))
	defer shop.Close()
	base := hostsTransport(map[string]*httptest.Server{"acme.myshopify.com": shop})
	c, err := newClient(Config{Shop: "acme", AccessToken: "shpat_x", APIVersion: "2024-04", RequestTimeout: 5 * time.Second},
		slog.New(slog.DiscardHandler), base)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.CountCustomers(context.Background()); err != nil || n != 7 {
		t.Errorf("count after a same-origin redirect: %d %v, want 7", n, err)
	}
	if tok, _ := sawToken.Load("/admin/api/2024-04/moved/count.json"); tok != "shpat_x" {
		t.Errorf("token on the redirected request %q", tok)
	}

	downgrade := credentialRedirects("https://acme.myshopify.com")
	req, _ := http.NewRequest("GET", "http://acme.myshopify.com/admin", nil)
	if err := downgrade(req, []*http.Request{{}}); err == nil {
		t.Error("a redirect from https to http on the same host was allowed")
	}
}
