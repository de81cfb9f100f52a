package webhook_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/webhook"
)

// hmacVectors are the known vectors of SHOPIFY.md §6.
var hmacVectors = []struct {
	secret, body, header string
}{
	{"test_secret_key", `{"foo": "bar"}`, "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="},
	{"7008c5f4da4718b9b45d26d3fcbbb157", `{"foo":"bar"}`, "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY="},
	{"hush", `"my secret message"`, "hMTq0K2x7oyOjoBwGYeTj5oxfnaVYXzbanUG9aajpKI="},
	{"some-secret", `Bf`, "3X6clrsy+C8mmzR/MeTh6b/EcLr46WLZaU+24GrPXOM="},
}

func secrets(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = []byte(s[i])
	}
	return out
}

func TestVerifyKnownVectors(t *testing.T) {
	for _, v := range hmacVectors {
		t.Run(v.secret, func(t *testing.T) {
			if !webhook.Verify([]byte(v.body), v.header, secrets(v.secret)) {
				t.Errorf("Verify(%q) = false, want true", v.body)
			}
			if got := webhook.Sign([]byte(v.body), []byte(v.secret)); got != v.header {
				t.Errorf("Sign(%q) = %s, want %s", v.body, got, v.header)
			}
			// One byte more, another secret: no.
			if webhook.Verify([]byte(v.body+" "), v.header, secrets(v.secret)) {
				t.Error("Verify accepted a changed body")
			}
			if webhook.Verify([]byte(v.body), v.header, secrets(v.secret+"x")) {
				t.Error("Verify accepted another secret")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v := hmacVectors[0]
	raw, err := base64.StdEncoding.DecodeString(v.header)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[sha256.Size-1] ^= 1
	tests := []struct {
		name    string
		header  string
		secrets [][]byte
	}{
		{"empty header", "", secrets(v.secret)},
		{"bad base64", "!!!not base64!!!", secrets(v.secret)},
		{"unpadded", strings.TrimRight(v.header, "="), secrets(v.secret)},
		{"url alphabet", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g-", secrets(v.secret)},
		{"short", base64.StdEncoding.EncodeToString(raw[:sha256.Size-1]), secrets(v.secret)},
		{"long", base64.StdEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)), secrets(v.secret)},
		{"last bit flipped", base64.StdEncoding.EncodeToString(flipped), secrets(v.secret)},
		{"hex not base64", "076ded5cdebad60674a8859146b82dcc113d5d20e8e72694bbac1f9a1bb76bb8", secrets(v.secret)},
		{"no secrets", v.header, nil},
		{"empty secret", v.header, secrets("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if webhook.Verify([]byte(v.body), tt.header, tt.secrets) {
				t.Errorf("Verify(%q) = true, want false", tt.header)
			}
		})
	}
}

func TestVerifyRotation(t *testing.T) {
	body := []byte(`{"id":706405506930370084}`)
	oldSig := webhook.Sign(body, []byte("old"))
	newSig := webhook.Sign(body, []byte("new"))
	both := secrets("new", "old")
	for name, sig := range map[string]string{"old": oldSig, "new": newSig} {
		if !webhook.Verify(body, sig, both) {
			t.Errorf("signed with %s: rejected by [new old]", name)
		}
	}
	if webhook.Verify(body, oldSig, secrets("new")) {
		t.Error("old signature accepted once the old secret is dropped")
	}
	// The empty body is signed like any other.
	if !webhook.Verify(nil, webhook.Sign(nil, []byte("k")), secrets("x", "k")) {
		t.Error("empty body: signature rejected")
	}
}

func FuzzVerify(f *testing.F) {
	for _, v := range hmacVectors {
		f.Add(v.secret, []byte(v.body), v.header)
	}
	f.Add("", []byte{}, "")
	f.Add("k", []byte("\x00\xff"), "====")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		ok := webhook.Verify(body, header, secrets(secret))
		if ok && header != webhook.Sign(body, []byte(secret)) {
			// Only the canonical encoding of the right MAC may pass.
			raw, err := base64.StdEncoding.DecodeString(header)
			if err != nil || base64.StdEncoding.EncodeToString(raw) != webhook.Sign(body, []byte(secret)) {
				t.Fatalf("Verify accepted %q for body %q", header, body)
			}
		}
		if !webhook.Verify(body, webhook.Sign(body, []byte(secret)), secrets(secret)) {
			t.Fatalf("Verify rejected Sign's own header for body %q", body)
		}
	})
}
