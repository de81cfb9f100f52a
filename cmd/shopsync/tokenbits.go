package main

import (
	"math"
	"strings"
)

// minTokenBits is the least randomness a sync token needs when the daemon
// listens beyond loopback: 2^128 guesses are out of reach at any rate the
// network allows.
const minTokenBits = 128

// tokenBits estimates a token's randomness from its length and the
// smallest usual alphabet that holds all its characters: 4 bits a
// character for hex, 6 for base64 (standard or URL-safe; trailing '='
// padding counts nothing), log2(94) for other printable ASCII. It assumes
// the characters were drawn at random, as `openssl rand -hex 32` draws
// them. A token of fewer than 8 distinct characters ("0000…", "abab…")
// was not drawn at random and counts 0.
func tokenBits(tok string) float64 {
	tok = strings.TrimRight(tok, "=")
	distinct := map[rune]bool{}
	hex, b64 := true, true
	n := 0
	for _, r := range tok {
		n++
		distinct[r] = true
		isHex := r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
		isB64 := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("+/-_", r)
		hex = hex && isHex
		b64 = b64 && isB64
	}
	if len(distinct) < 8 {
		return 0
	}
	switch {
	case hex:
		return float64(n) * 4
	case b64:
		return float64(n) * 6
	default:
		return float64(n) * math.Log2(94)
	}
}
