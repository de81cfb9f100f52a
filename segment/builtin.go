package segment

// Builtin is a segment shopsync offers ready-made.
type Builtin struct {
	Name        string // a stable identifier, for the API and the CLI
	Title       string // for the page
	Description string
	Expr        string // the segment, in the language
}

// Builtins returns the ready-made segments. They name only default
// attributes (orders_count, email_marketing_consent,
// sms_marketing_consent); under a mapping without one of them, the
// segments naming it do not compile and should be left out.
//
// A consent segment is not a marketing audience by itself: marketing
// also needs an address, and one contact per address (package marketing).
func Builtins() []Builtin {
	return []Builtin{
		{"all", "All contacts", "every contact in the store", `true`},
		{"email_subscribers", "Email subscribers", "email consent subscribed",
			`email_marketing_consent = "subscribed"`},
		{"sms_subscribers", "SMS subscribers", "SMS consent subscribed",
			`sms_marketing_consent = "subscribed"`},
		{"new_30d", "New in the last 30 days", "created in Shopify in the last 30 days",
			`created_at > now - 30d`},
		{"repeat_buyers", "Repeat buyers", "two orders or more",
			`orders_count >= 2`},
		{"one_time_buyers", "One-time buyers", "exactly one order: the second-purchase audience",
			`orders_count = 1`},
		{"never_ordered", "Never ordered", "no order, or no order count known",
			`orders_count = 0 or orders_count is null`},
		{"subscribers_never_ordered", "Subscribers who never ordered", "email subscribers without an order: the welcome series",
			`email_marketing_consent = "subscribed" and (orders_count = 0 or orders_count is null)`},
		{"email_unsubscribed", "Unsubscribed from email", "email consent unsubscribed: a suppression list for the CRM",
			`email_marketing_consent = "unsubscribed"`},
		{"vip", "VIP", `tagged VIP, in any case`,
			`has tag "VIP"`},
	}
}
