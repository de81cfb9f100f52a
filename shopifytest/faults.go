package shopifytest

import (
	"net/http"
)

// FailNext makes the next n /admin/api requests that pass authentication
// and the bucket answer status (e.g. 500, 502, 503) with a Shopify-like
// JSON body {"errors":"<status text>"}. FailNext(0, 0) cancels.
func (s *Server) FailNext(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failStatus = max(n, 0), status
}

// TruncateNext makes the next n successful customer list responses a 200
// whose JSON body is cut in half (Content-Length says the cut length, so
// only the JSON is broken). TruncateNext(0) cancels.
func (s *Server) TruncateNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncN = max(n, 0)
}

// DropNext makes the simulator close the connection of the next n
// /admin/api requests without a response: it hijacks the connection,
// writes only the status line and closes it, so the client reads
// "unexpected EOF". DropNext(0) cancels.
//
// The status line is there because Go's http.Transport silently replays
// a GET once when a reused keep-alive connection closes before the first
// byte of the answer: a bare close would never reach the client's own
// retry logic.
func (s *Server) DropNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropN = max(n, 0)
}

// OnRequest sets a hook called with each /admin/api request before it is
// served (before authentication and faults, so a hook may call FailNext
// for the request it sees). The hook may call any Server method. nil
// removes it.
func (s *Server) OnRequest(fn func(r *http.Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// take consumes one from a fault counter, reporting whether it was set.
func (s *Server) take(n *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *n > 0 {
		*n--
		return true
	}
	return false
}

// failure consumes one FailNext, returning its status.
func (s *Server) failure() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		return s.failStatus, true
	}
	return 0, false
}

// drop closes the request's connection after the status line.
func drop(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort the stream
	}
	buf.WriteString("HTTP/1.1 200 OK\r\n")
	buf.Flush()
	conn.Close()
}
