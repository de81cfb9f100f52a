package shopifytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

func TestUnauthorized(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 3, BucketSize: 40, LeakRate: 2})
	for _, tok := range []string{"", "shpat_wrong", strings.ToUpper(token)} {
		r := fetch(t, s.URL+"/admin/api/2024-04/customers.json", tok)
		if r.status != http.StatusUnauthorized ||
			string(r.body) != `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` {
			t.Errorf("token %q: status %d %s, want 401 with Shopify's body", tok, r.status, r.body)
		}
		if h := r.header.Get("X-Shopify-Shop-Api-Call-Limit"); h != "" {
			t.Errorf("401 carries a call limit %q", h)
		}
	}
	if st := s.Stats(); st.Unauthorized != 3 || st.Requests != 0 || st.MaxUsed != 0 {
		t.Errorf("stats %+v: want 3 unauthorized, and 401s outside Requests and the bucket", st)
	}
}

// grant asks for a client-credentials token with a form-encoded body.
func grant(t *testing.T, s *shopifytest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/admin/oauth/access_token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestClientCredentialsGrant(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 3, ClientID: "cid", ClientSecret: "csecret", TokenTTL: time.Hour})
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"csecret"}}
	for _, tt := range []struct {
		name, key, value, wantErr string
	}{
		{"wrong secret", "client_secret", "nope", "invalid_client"},
		{"wrong id", "client_id", "other", "invalid_client"},
		{"wrong grant", "grant_type", "authorization_code", "unsupported_grant_type"},
	} {
		form := url.Values{}
		for k, v := range good {
			form[k] = v
		}
		form.Set(tt.key, tt.value)
		if status, body := grant(t, s, form); status != http.StatusBadRequest || body["error"] != tt.wantErr {
			t.Errorf("%s: status %d %v, want 400 %s", tt.name, status, body, tt.wantErr)
		}
	}

	status, body := grant(t, s, good)
	tok, _ := body["access_token"].(string)
	if status != http.StatusOK || !strings.HasPrefix(tok, "shpat_") || body["scope"] != "read_customers" || body["expires_in"] != 3600.0 {
		t.Fatalf("grant: status %d %v", status, body)
	}
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", tok); r.status != http.StatusOK {
		t.Fatalf("granted token: status %d", r.status)
	}
	s.ExpireTokens()
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", tok); r.status != http.StatusUnauthorized {
		t.Errorf("expired token: status %d, want 401", r.status)
	}
	if st := s.Stats(); st.TokenGrants != 1 || st.Unauthorized != 1 {
		t.Errorf("stats %+v", st)
	}

	// Shopify's own Node library posts JSON: that works too.
	resp, err := http.Post(s.URL+"/admin/oauth/access_token", "application/json",
		strings.NewReader(`{"client_id":"cid","client_secret":"csecret","grant_type":"client_credentials"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("JSON grant: status %d", resp.StatusCode)
	}
}

func TestGrantDisabledWithoutCredentials(t *testing.T) {
	s := newSim(t, shopifytest.Options{Customers: 1})
	status, body := grant(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {""}, "client_secret": {""}})
	if status != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Errorf("status %d %v, want 400 invalid_client", status, body)
	}
}

func TestGrantedTokenExpiresAfterTTL(t *testing.T) {
	t.Parallel()
	s := newSim(t, shopifytest.Options{Customers: 1, ClientID: "cid", ClientSecret: "cs", TokenTTL: 150 * time.Millisecond})
	_, body := grant(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"cs"}})
	tok := body["access_token"].(string)
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", tok); r.status != http.StatusOK {
		t.Fatalf("fresh token: status %d", r.status)
	}
	time.Sleep(200 * time.Millisecond)
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", tok); r.status != http.StatusUnauthorized {
		t.Errorf("token past its TTL: status %d, want 401", r.status)
	}
	if r := fetch(t, s.URL+"/admin/api/2024-04/customers/count.json", token); r.status != http.StatusOK {
		t.Errorf("static token: status %d", r.status)
	}
}

// TestAccessScopes: the granted scopes, for a valid token only.
func TestAccessScopes(t *testing.T) {
	for _, tc := range []struct {
		scopes []string
		want   string
	}{
		{nil, `{"access_scopes":[{"handle":"read_customers"}]}`},
		{[]string{"read_orders"}, `{"access_scopes":[{"handle":"read_orders"}]}`},
		{[]string{}, `{"access_scopes":[]}`},
	} {
		sim := shopifytest.NewServer(shopifytest.Options{Token: "shpat_ok", Scopes: tc.scopes})
		get := func(token string) (int, string) {
			req, _ := http.NewRequest("GET", sim.URL+"/admin/oauth/access_scopes.json", nil)
			req.Header.Set("X-Shopify-Access-Token", token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("shpat_ok"); code != 200 || body != tc.want {
			t.Errorf("scopes %v: %d %s, want %s", tc.scopes, code, body, tc.want)
		}
		if code, _ := get("wrong"); code != 401 {
			t.Errorf("wrong token: %d, want 401", code)
		}
		sim.Close()
	}
}
