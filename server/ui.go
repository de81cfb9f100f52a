package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// The status page: plain HTML, CSS and JavaScript embedded in the binary,
// so it works offline and needs no build chain.
//
//go:embed ui
var uiFS embed.FS

// contentSecurityPolicy allows nothing but this server's own files: no
// inline script, no third party, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // no-referrer makes Chromium send "Origin: null" on form posts
	h.Set("X-Frame-Options", "DENY")
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	b, err := uiFS.ReadFile("ui/index.html")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

func (s *Server) assets() http.Handler {
	sub, _ := fs.Sub(uiFS, "ui") // cannot fail: ui is embedded
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
