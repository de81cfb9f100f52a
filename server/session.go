package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"time"
)

// The page's sessions: signing in with the sync token sets an HttpOnly,
// SameSite=Strict cookie naming a random session, kept in memory (a
// restart signs everyone out). POSTs from the page also carry the
// session's CSRF token in X-CSRF-Token, and a browser's Origin, when
// sent, must be this server's.
const (
	sessionCookie = "shopsync_session"
	sessionTTL    = 12 * time.Hour
	csrfHeader    = "X-CSRF-Token"
)

type session struct {
	csrf    string
	expires time.Time
}

type sessions struct {
	mu   gosync.Mutex
	byID map[string]*session
}

func newSessions() *sessions {
	return &sessions{byID: map[string]*session{}}
}

func randomHex() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (ss *sessions) create() (id string, s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for k, v := range ss.byID {
		if now.After(v.expires) {
			delete(ss.byID, k)
		}
	}
	id, s = randomHex(), &session{csrf: randomHex(), expires: now.Add(sessionTTL)}
	ss.byID[id] = s
	return id, s
}

func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[c.Value]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) delete(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.byID, c.Value)
		ss.mu.Unlock()
	}
}

// tokenOK compares a presented token with the sync token as SHA-256
// digests in constant time: neither content nor length leaks by timing.
func (s *Server) tokenOK(got string) bool {
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], s.token[:]) == 1
}

// sameOrigin reports whether the request's Origin, when a browser sent
// one, is this server. Cross-site requests always carry it.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// csrfOK checks an unsafe request from the page.
func csrfOK(r *http.Request, sess *session) bool {
	if !sameOrigin(r) {
		return false
	}
	if sess == nil {
		return true // open mode, no sessions: Origin is the guard
	}
	got := r.Header.Get(csrfHeader)
	return subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

func secureCookie(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// handleLogin signs in with the sync token from the page's form and
// redirects to the page (303), with ?login=failed when it is wrong.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-site sign-in refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	// A token pasted with a space or a line break around it is taken as
	// the token: copying from a terminal or a password manager adds them.
	raw := r.PostFormValue("token")
	token := strings.TrimSpace(raw)
	if s.cfg.SyncToken == "" || token == "" || !(s.tokenOK(token) || s.tokenOK(raw)) {
		if wait := s.failed.fail(authSignIn); wait > 0 {
			signInLimited(w, wait)
			return
		}
		http.Redirect(w, r, "/?login=failed", http.StatusSeeOther)
		return
	}
	id, _ := s.sessions.create()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureCookie(r)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.sessions.delete(r)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureCookie(r)})
	w.WriteHeader(http.StatusNoContent)
}

// handleSession tells the page whether it is signed in, with the CSRF
// token for its POSTs.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SyncToken == "" {
		writeJSON(w, http.StatusOK, map[string]any{"authenticated": true, "csrf": s.openCSRF})
		return
	}
	sess := s.sessions.get(r)
	if sess == nil {
		writeError(w, http.StatusUnauthorized, "sign in with the sync token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"authenticated": true, "csrf": sess.csrf})
}

// signInLimited answers the sign-in form when failures are over the
// limit: 429 with Retry-After, and a line for the person at the browser.
func signInLimited(w http.ResponseWriter, wait time.Duration) {
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", retryAfter(wait))
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, "<!doctype html>\n<title>shopsync: too many failed sign-ins</title>\n"+
		"<p>Too many failed sign-ins. Try again in %s seconds: <a href=\"/\">sign in</a>.</p>\n", retryAfter(wait))
}
