package marketing

import (
	"fmt"
	"strings"
)

// Report counts the contacts an Eligibility read, kept and left out, by
// reason. Every contact read is in exactly one count: Read = Included +
// LeftOut().
type Report struct {
	Channel         Channel `json:"channel"`
	Read            int64   `json:"read"`
	Included        int64   `json:"included"`
	NotSubscribed   int64   `json:"not_subscribed"`
	NoAddress       int64   `json:"no_address"`
	InvalidAddress  int64   `json:"invalid_address"`
	Duplicates      int64   `json:"duplicates"`
	Withheld        int64   `json:"withheld"`
	DisabledAccount int64   `json:"disabled_account"`
	Deleted         int64   `json:"deleted"`
}

func (r *Report) add(why Reason) {
	switch why {
	case Deleted:
		r.Deleted++
	case NoAddress:
		r.NoAddress++
	case InvalidAddress:
		r.InvalidAddress++
	case DisabledAccount:
		r.DisabledAccount++
	case NotSubscribed:
		r.NotSubscribed++
	case Duplicate:
		r.Duplicates++
	case Withheld:
		r.Withheld++
	}
}

// LeftOut returns the number of contacts left out.
func (r Report) LeftOut() int64 {
	return r.NotSubscribed + r.NoAddress + r.InvalidAddress + r.Duplicates + r.Withheld + r.DisabledAccount + r.Deleted
}

// String says what was kept and what was left out, and why, for the CLI
// and the page: "1200 included; left out: 312 not subscribed, 4
// duplicates, 9 without email".
func (r Report) String() string {
	what := "email"
	if r.Channel == SMS {
		what = "phone"
	}
	var parts []string
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(r.NotSubscribed, "not subscribed", "not subscribed")
	add(r.Duplicates, "duplicate", "duplicates")
	add(r.Withheld, "withheld (another contact with the address is not subscribed)",
		"withheld (another contact with the address is not subscribed)")
	add(r.NoAddress, "without "+what, "without "+what)
	add(r.InvalidAddress, "with an invalid "+what, "with an invalid "+what)
	add(r.DisabledAccount, "with a disabled account", "with a disabled account")
	add(r.Deleted, "deleted", "deleted")
	s := fmt.Sprintf("%d included", r.Included)
	if len(parts) > 0 {
		s += "; left out: " + strings.Join(parts, ", ")
	}
	return s
}
