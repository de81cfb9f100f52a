package outbound_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shopsync/shopsync/outbound"
)

func signed(secret, body string, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(outbound.HeaderTimestamp, ts)
	h.Set(outbound.HeaderSignature, outbound.Sign([]byte(secret), ts, []byte(body)))
	return h
}

func TestSignKnownAnswer(t *testing.T) {
	// printf '%s' '1733480000.{"delivery_id":"crm-0-1-1","events":[]}' |
	//   openssl dgst -sha256 -hmac 'whsec_test' -binary | base64
	got := outbound.Sign([]byte("whsec_test"), "1733480000", []byte(`{"delivery_id":"crm-0-1-1","events":[]}`))
	if want := "COG8u1/aYxdLD3SAkw3orCfcmjAkl+baSWXwpOr4O7k="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := `{"delivery_id":"crm-0-1-2","events":[{"seq":1},{"seq":2}]}`
	for _, tt := range []struct {
		name   string
		header func() http.Header
		body   string
		want   error
	}{
		{"good", func() http.Header { return signed("s3cret", body, now) }, body, nil},
		{"within tolerance", func() http.Header { return signed("s3cret", body, now.Add(-4*time.Minute)) }, body, nil},
		{"wrong secret", func() http.Header { return signed("other", body, now) }, body, outbound.ErrBadSignature},
		{"body changed", func() http.Header { return signed("s3cret", body, now) }, body + " ", outbound.ErrBadSignature},
		{"timestamp changed", func() http.Header {
			h := signed("s3cret", body, now.Add(-time.Hour))
			h.Set(outbound.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10)) // a replay made to look fresh
			return h
		}, body, outbound.ErrBadSignature},
		{"replayed later", func() http.Header { return signed("s3cret", body, now.Add(-6*time.Minute)) }, body, outbound.ErrStale},
		{"from the future", func() http.Header { return signed("s3cret", body, now.Add(6*time.Minute)) }, body, outbound.ErrStale},
		{"no signature", func() http.Header {
			h := signed("s3cret", body, now)
			h.Del(outbound.HeaderSignature)
			return h
		}, body, outbound.ErrNoSignature},
		{"no timestamp", func() http.Header {
			h := signed("s3cret", body, now)
			h.Del(outbound.HeaderTimestamp)
			return h
		}, body, outbound.ErrNoSignature},
		{"not base64", func() http.Header {
			h := signed("s3cret", body, now)
			h.Set(outbound.HeaderSignature, "%%%")
			return h
		}, body, outbound.ErrBadSignature},
		{"signed, not a time", func() http.Header {
			h := http.Header{}
			h.Set(outbound.HeaderTimestamp, "soon")
			h.Set(outbound.HeaderSignature, outbound.Sign([]byte("s3cret"), "soon", []byte(body)))
			return h
		}, body, outbound.ErrBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := outbound.Verify([]byte("s3cret"), tt.header(), []byte(tt.body), now, 5*time.Minute)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzVerify: any headers and body are refused or accepted, never a panic,
// and only what Sign made is accepted.
func FuzzVerify(f *testing.F) {
	f.Add("1800000000", "COG8u1/aYxdLD3SAkw3orCfcmjAkl+baSWXwpOr4O7k=", []byte(`{"events":[]}`))
	f.Add("", "", []byte{})
	f.Add("-9223372036854775808", "====", []byte{0xff})
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(outbound.HeaderTimestamp, ts)
		h.Set(outbound.HeaderSignature, sig)
		err := outbound.Verify([]byte("s3cret"), h, body, time.Unix(1_800_000_000, 0), 5*time.Minute)
		if err == nil && sig != outbound.Sign([]byte("s3cret"), h.Get(outbound.HeaderTimestamp), body) {
			t.Errorf("accepted a signature Sign did not make: %q %q", ts, sig)
		}
	})
}
