package problem

// Rejection says what a refused webhook delivery's reason (the webhook
// receiver's: signature, shop, headers, payload, content_type, too_large,
// read, method) means, and what to do about it. serious is false for
// reasons that are usually someone else's noise (a scanner's GET).
func Rejection(reason string) (what, fix string, serious bool) {
	switch reason {
	case "signature":
		return "with a bad signature",
			"Shopify signs them with a key shopsync does not have. An app's webhooks are signed with its client secret: set shopify.client_secret (or add it to shopify.webhook_secrets). " +
				"Webhooks made by hand in Settings > Notifications > Webhooks are signed with the key shown there (\"Your webhooks will be signed with …\"): add it to shopify.webhook_secrets. Then restart shopsync.", true
	case "shop":
		return "from another shop",
			"The deliveries come from a shop other than shopify.shop. Check shopify.shop, or remove the other shop's subscription to this address.", true
	case "headers":
		return "without Shopify's headers",
			"Something other than Shopify posts to the webhook address, or a reverse proxy drops the X-Shopify-* headers: let the proxy pass every header.", true
	case "payload", "content_type":
		return "that were not the topic's JSON",
			"The body is not what Shopify sends for the topic. If it comes from Shopify, a proxy may be rewriting bodies: let it pass them untouched.", true
	case "too_large":
		return "that were too large", "Deliveries over 1 MiB are refused; Shopify's customer payloads are far smaller, so these are not from Shopify.", false
	case "read":
		return "cut short", "The connection dropped while the delivery was sent: check the reverse proxy's timeouts and body limits.", true
	case "method":
		return "that were not a POST", "Something visited the webhook address with a browser or a scanner: harmless.", false
	}
	return reason, "See shopsync's log for the refused deliveries.", true
}
