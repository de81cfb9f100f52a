package shopifytest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
)

// authorized reports whether token is Options.Token or a live granted
// token.
func (s *Server) authorized(token string) bool {
	if token == "" {
		return false
	}
	if s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[token]
	if ok && !s.now().Before(exp) {
		delete(s.tokens, token)
		return false
	}
	return ok
}

// ExpireTokens invalidates every token granted so far: requests with them
// get 401 until the client asks for a new one. Options.Token still works.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// tokenRequest is the client-credentials grant's body.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// handleToken serves POST /admin/oauth/access_token with the
// client-credentials grant. The body is form-encoded, as Shopify's docs
// show; a JSON body, which Shopify's own Node library sends, works too.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, errNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	var req tokenRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeOAuthError(w, "invalid_request", "The request body is not valid JSON.")
			return
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, "invalid_request", "The request body could not be parsed.")
			return
		}
		req = tokenRequest{GrantType: r.PostForm.Get("grant_type"), ClientID: r.PostForm.Get("client_id"),
			ClientSecret: r.PostForm.Get("client_secret")}
	default:
		writeOAuthError(w, "invalid_request", "Unsupported Content-Type: send application/x-www-form-urlencoded.")
		return
	}
	switch {
	case req.GrantType != "client_credentials":
		writeOAuthError(w, "unsupported_grant_type", "The grant type is not supported.")
		return
	case s.opts.ClientID == "" || s.opts.ClientSecret == "" ||
		subtle.ConstantTimeCompare([]byte(req.ClientID), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(s.opts.ClientSecret)) != 1:
		writeOAuthError(w, "invalid_client", "Client authentication failed: unknown client or wrong client secret.")
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := "shpat_" + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = s.now().Add(s.opts.TokenTTL)
	s.stats.TokenGrants++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		ExpiresIn   int64  `json:"expires_in"`
	}{token, strings.Join(s.scopes(), ","), int64(s.opts.TokenTTL.Seconds())})
}

// handleScopes serves GET /admin/oauth/access_scopes.json: the scopes
// granted to the app on the shop, for the authenticated token
// (shopify.dev/docs/api/admin-rest/latest/resources/accessscope). It is
// not versioned and not paced by the simulator's bucket.
func (s *Server) handleScopes(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusNotFound, errNotFound)
		return
	}
	if !s.authorized(r.Header.Get("X-Shopify-Access-Token")) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, errInvalidToken)
		return
	}
	s.mu.Lock()
	s.stats.Requests++
	s.stats.ByPath["oauth/access_scopes.json"]++
	s.mu.Unlock()
	type scope struct {
		Handle string `json:"handle"`
	}
	out := struct {
		AccessScopes []scope `json:"access_scopes"`
	}{AccessScopes: []scope{}}
	for _, h := range s.scopes() {
		out.AccessScopes = append(out.AccessScopes, scope{h})
	}
	writeJSON(w, http.StatusOK, out)
}

func writeOAuthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": strings.TrimSpace(desc)})
}
