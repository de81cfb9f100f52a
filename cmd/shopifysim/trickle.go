package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// trickler makes one random change to the simulated shop at a time,
// through the simulator's mutators, so that subscribers get the signed
// webhooks Shopify would send: a new customer, a profile edit, an email
// consent change, a tags change, an order, or a deletion. Its choices
// come from a seeded generator: the same seed and shop give the same
// changes.
type trickler struct {
	sim *shopifytest.Server
	r   *rand.Rand
	out io.Writer // one line per change; nil when quiet
	now func() time.Time
	n   int // changes made
}

func newTrickler(sim *shopifytest.Server, seed int64, out io.Writer) *trickler {
	return &trickler{sim: sim, r: rand.New(rand.NewPCG(uint64(seed), 0x7121_c1e5)), out: out, now: time.Now}
}

// run makes a change every interval until ctx is done.
func (t *trickler) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			line := t.step()
			if t.out != nil {
				fmt.Fprintln(t.out, line)
			}
		}
	}
}

// Names for new customers: accented, CJK (family name first in the
// display) and plain.
var (
	trickleFirst = []string{"Amélie", "Björn", "Zoë", "Ngọc", "Renée", "Jürgen", "Inés", "Mateo", "Grace", "Omar"}
	trickleLast  = []string{"Lefèvre", "Øster", "Núñez", "Trần", "Dvořák", "Weiß", "Smith", "Okafor"}
	trickleCJK   = [][2]string{{"花子", "山田"}, {"結衣", "鈴木"}, {"芳", "陈"}, {"지우", "이"}, {"健", "高橋"}}
	trickleNotes = []string{"Asked about gift wrapping", "Prefers SMS", "VIP since 2021 🎉", "住所変更あり", "Call before delivery"}
	trickleTags  = []string{"VIP", "wholesale", "newsletter", "常連", "returning", "bf-2025"}
)

// step makes one change and describes it.
func (t *trickler) step() string {
	t.n++
	ids := t.sim.CustomerIDs()
	k := t.r.IntN(100)
	if len(ids) == 0 {
		k = 0 // only creation makes sense in an empty shop
	}
	switch {
	case k < 20:
		return t.create(ids)
	case k < 40:
		return t.edit(t.pick(ids))
	case k < 55:
		return t.consent(t.pick(ids))
	case k < 70:
		return t.tags(t.pick(ids))
	case k < 92:
		return t.order(t.pick(ids))
	default:
		id := t.pick(ids)
		t.sim.Delete(id)
		return fmt.Sprintf("delete   %d", id)
	}
}

func (t *trickler) pick(ids []int64) int64 { return ids[t.r.IntN(len(ids))] }

// stamp is now as Shopify writes times, to the second.
func (t *trickler) stamp() string {
	return t.now().UTC().Truncate(time.Second).Format("2006-01-02T15:04:05-07:00")
}

func ptr[T any](v T) *T { return &v }

// create adds a customer with an id above every current one.
func (t *trickler) create(ids []int64) string {
	var id int64 = 706405506930370000
	if len(ids) > 0 {
		id = ids[len(ids)-1]
	}
	id += 1 + t.r.Int64N(5000)
	var first, last string
	if t.r.IntN(3) == 0 {
		n := trickleCJK[t.r.IntN(len(trickleCJK))]
		first, last = n[0], n[1]
	} else {
		first, last = trickleFirst[t.r.IntN(len(trickleFirst))], trickleLast[t.r.IntN(len(trickleLast))]
	}
	now := t.stamp()
	c := shopifytest.Customer{
		ID: id, Email: ptr(fmt.Sprintf("new%d@example.com", id)), FirstName: &first, LastName: &last,
		State: "enabled", CreatedAt: now, UpdatedAt: now, TotalSpent: "0.00", Currency: "USD",
		VerifiedEmail: true, Tags: "new",
		EmailMarketingConsent: &shopifytest.EmailConsent{State: "not_subscribed"},
	}
	if t.r.IntN(2) == 0 {
		c.EmailMarketingConsent = &shopifytest.EmailConsent{State: "subscribed", OptInLevel: ptr("single_opt_in"), ConsentUpdatedAt: ptr(now)}
	}
	t.sim.Upsert(c)
	return fmt.Sprintf("create   %d %s %s <%s>", id, first, last, *c.Email)
}

// edit changes the note or the first name.
func (t *trickler) edit(id int64) string {
	var what string
	t.sim.Update(id, func(c *shopifytest.Customer) {
		if t.r.IntN(2) == 0 {
			i := t.r.IntN(len(trickleNotes))
			if c.Note != nil && *c.Note == trickleNotes[i] {
				i = (i + 1) % len(trickleNotes) // always a change
			}
			c.Note = ptr(trickleNotes[i])
			what = "note " + strconv.Quote(*c.Note)
			return
		}
		first := trickleFirst[t.r.IntN(len(trickleFirst))]
		if c.FirstName != nil && *c.FirstName == first {
			first += "-Marie"
		}
		c.FirstName = &first
		what = "first_name " + first
	})
	return fmt.Sprintf("update   %d %s", id, what)
}

// consent flips email marketing consent: subscribed becomes
// unsubscribed, anything else subscribed.
func (t *trickler) consent(id int64) string {
	var state string
	t.sim.Update(id, func(c *shopifytest.Customer) {
		state = "subscribed"
		if c.EmailMarketingConsent != nil && c.EmailMarketingConsent.State == "subscribed" {
			state = "unsubscribed"
		}
		c.EmailMarketingConsent = &shopifytest.EmailConsent{State: state, OptInLevel: ptr("single_opt_in"), ConsentUpdatedAt: ptr(t.stamp())}
	})
	return fmt.Sprintf("consent  %d email %s", id, state)
}

// tags adds a tag the customer lacks or removes one it has.
func (t *trickler) tags(id int64) string {
	var what string
	t.sim.Update(id, func(c *shopifytest.Customer) {
		var tags []string
		for tag := range strings.SplitSeq(c.Tags, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				tags = append(tags, tag)
			}
		}
		if len(tags) > 0 && t.r.IntN(2) == 0 {
			i := t.r.IntN(len(tags))
			what = "removed " + tags[i]
			tags = slices.Delete(tags, i, i+1)
		} else {
			tag := trickleTags[t.r.IntN(len(trickleTags))]
			if slices.Contains(tags, tag) {
				tag += "-" + strconv.Itoa(t.n)
			}
			tags = append(tags, tag)
			what = "added " + tag
		}
		c.Tags = strings.Join(tags, ", ")
	})
	return fmt.Sprintf("tags     %d %s", id, what)
}

// order records a purchase: orders_count+1, total_spent increased by
// the amount exactly (decimal strings, never float64), a new last order.
func (t *trickler) order(id int64) string {
	amount := fmt.Sprintf("%d.%02d", 5+t.r.IntN(300), t.r.IntN(100))
	var total string
	t.sim.Update(id, func(c *shopifytest.Customer) {
		c.OrdersCount++
		total = addDecimal(c.TotalSpent, amount)
		c.TotalSpent = total
		c.LastOrderID = ptr(int64(820982911946154000) + t.r.Int64N(1_000_000_000))
		c.LastOrderName = ptr("#" + strconv.Itoa(100001+t.r.IntN(900000)))
	})
	return fmt.Sprintf("order    %d +%s total_spent %s", id, amount, total)
}

// addDecimal adds two non-negative decimal strings with at most two
// fractional digits ("12.5", "0.00", "123456.78") and returns the sum
// with two. An unparsable a counts as 0.
func addDecimal(a, b string) string {
	sum := new(big.Int).Add(cents(a), cents(b))
	s := sum.String()
	for len(s) < 3 {
		s = "0" + s
	}
	return s[:len(s)-2] + "." + s[len(s)-2:]
}

// cents parses a decimal string into hundredths.
func cents(s string) *big.Int {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" {
		whole = "0"
	}
	frac = (frac + "00")[:2]
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok || n.Sign() < 0 {
		return new(big.Int)
	}
	return n
}
