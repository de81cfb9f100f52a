// Package webhook receives Shopify's webhooks: it bounds the work an
// unverified sender can cause, verifies each delivery's HMAC over the raw
// body, checks the unsigned headers against what the body says, decodes
// the customer topics of both payload generations (2024-04 and the slimmer
// 2025-01+) and the compliance topics into changes (shopsync.Change), and
// answers 200 only once the change is durably committed, many concurrent
// deliveries sharing one commit.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// Verify reports whether header, a delivery's X-Shopify-Hmac-Sha256, is
// base64(HMAC-SHA256(secret, body)) for one of secrets (SHOPIFY.md §6:
// after a rotation Shopify may sign with the old secret for an hour, and
// hand-made webhooks are signed with the store's own key). Bad base64 and
// a wrong length fail. Every secret is tried, and each comparison is
// constant-time, so timing says nothing about which one matched or how
// much of the signature was right.
func Verify(body []byte, header string, secrets [][]byte) bool {
	want, err := base64.StdEncoding.DecodeString(header)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	ok := false
	for _, secret := range secrets {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), want) {
			ok = true
		}
	}
	return ok
}

// Sign returns the X-Shopify-Hmac-Sha256 header of body under secret.
func Sign(body []byte, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
