package shopifytest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// received is one delivery as a receiver saw it.
type received struct {
	header http.Header
	body   []byte
	valid  bool // the signature verified
	at     time.Time
}

func (r received) topic() string { return r.header.Get(shopifytest.HeaderTopic) }

// decode unmarshals the body with numbers kept exact.
func (r received) decode(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// receiver is a webhook endpoint that verifies signatures as an app must
// (constant-time, over the raw body, 401 when wrong) and records every
// delivery. answer picks the status of the n-th valid delivery (from 0);
// nil answers 200.
type receiver struct {
	URL    string
	secret string
	answer func(n int, r received) int

	mu       sync.Mutex
	got      []received
	valid    int
	inFlight int
	maxIn    int
	hold     time.Duration
}

func newReceiver(t *testing.T, secret string, answer func(n int, r received) int) *receiver {
	t.Helper()
	rc := &receiver{secret: secret, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/webhooks"
	return rc
}

// verify checks a signature like a careful app: base64 of exactly 32
// bytes, compared in constant time.
func verify(secret string, body []byte, header string) bool {
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{header: r.Header.Clone(), body: body, at: time.Now(),
		valid: r.Method == http.MethodPost && verify(rc.secret, body, r.Header.Get(shopifytest.HeaderHmac))}
	rc.mu.Lock()
	rc.got = append(rc.got, rec)
	rc.inFlight++
	rc.maxIn = max(rc.maxIn, rc.inFlight)
	n := rc.valid
	if rec.valid {
		rc.valid++
	}
	hold := rc.hold
	rc.mu.Unlock()
	select {
	case <-time.After(hold):
	case <-r.Context().Done():
	}
	status := http.StatusOK
	switch {
	case !rec.valid:
		status = http.StatusUnauthorized
	case rc.answer != nil:
		status = rc.answer(n, rec)
	}
	rc.mu.Lock()
	rc.inFlight--
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// deliveries returns what arrived so far.
func (rc *receiver) deliveries() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// byTopic returns the deliveries of topic.
func (rc *receiver) byTopic(topic string) []received {
	var out []received
	for _, r := range rc.deliveries() {
		if r.topic() == topic {
			out = append(out, r)
		}
	}
	return out
}
