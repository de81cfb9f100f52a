package main

import (
	"strings"
	"testing"
)

func TestTokenBits(t *testing.T) {
	tests := []struct {
		name  string
		token string
		ok    bool // at least minTokenBits
	}{
		{name: "openssl rand -hex 32", token: "3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f", ok: true},
		{name: "openssl rand -hex 16", token: "3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6b", ok: true},
		{name: "31 hex characters", token: "3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6", ok: false},
		{name: "upper-case hex", token: "3F9A1C0E7B2D4E6F8A0B1C2D3E4F5A6B", ok: true},
		{name: "openssl rand -base64 32", token: "q3Jx8m0b9N2vYt4Lk7Wc1Zs5Hd6Fg8Aa2Ee4Rr6Tt8U=", ok: true},
		{name: "22 base64url characters", token: "q3Jx8m0b9N2vYt4Lk7Wc1Z", ok: true},
		{name: "21 base64 characters", token: "q3Jx8m0b9N2vYt4Lk7Wc1", ok: false},
		{name: "padding does not count", token: "q3Jx8m0b9N2vYt4Lk7Wc1=", ok: false},
		{name: "printable ASCII, 20", token: "q3J!x8m0#b9N2v$Yt4Lk", ok: true},
		{name: "printable ASCII, 19", token: "q3J!x8m0#b9N2v$Yt4L", ok: false},
		{name: "one character repeated", token: strings.Repeat("0", 64), ok: false},
		{name: "two characters repeated", token: strings.Repeat("ab", 40), ok: false},
		{name: "a word", token: "password", ok: false},
		{name: "the e2e tests' token", token: "sync_e2e_SECRET_token", ok: false},
		{name: "empty", token: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenBits(tt.token); (got >= minTokenBits) != tt.ok {
				t.Errorf("tokenBits(%q) = %.1f, want >= %d: %v", tt.token, got, minTokenBits, tt.ok)
			}
		})
	}
}

func FuzzTokenBits(f *testing.F) {
	for _, s := range []string{"", "3f9a1c0e7b2d4e6f8a0b1c2d3e4f5a6b", "q3Jx8m0b9N2vYt4Lk7Wc1Z==", "é€漢字", "====="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := tokenBits(s)
		if b < 0 || b > float64(len(s))*7 {
			t.Errorf("tokenBits(%q) = %f: out of range", s, b)
		}
	})
}
