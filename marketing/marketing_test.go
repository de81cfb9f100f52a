package marketing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/marketing"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// contact builds a contact: its id, email, phone, email and SMS consent,
// and updated_at t0 plus hours ("" and -1 for none).
func contact(id int64, email, phone, emailConsent, smsConsent string, hours int) *shopsync.Contact {
	c := &shopsync.Contact{ShopifyID: id, Tags: []string{}}
	if email != "" {
		c.Email = ptr(email)
	}
	if phone != "" {
		c.Phone = ptr(phone)
	}
	if hours >= 0 {
		c.ShopifyUpdatedAt = ptr(t0.Add(time.Duration(hours) * time.Hour))
	}
	if emailConsent != "" {
		c.Attributes = append(c.Attributes, shopsync.StringAttr("email_marketing_consent", ptr(emailConsent)))
	}
	if smsConsent != "" {
		c.Attributes = append(c.Attributes, shopsync.StringAttr("sms_marketing_consent", ptr(smsConsent)))
	}
	c.Attributes.Sort()
	return c
}

func TestCheck(t *testing.T) {
	email := marketing.Rule{Channel: marketing.Email}
	sms := marketing.Rule{Channel: marketing.SMS, DefaultCountry: "FR"}
	strict := marketing.Rule{Channel: marketing.Email, ExcludeDisabledAccounts: true}
	disabled := contact(1, "a@x.com", "", "subscribed", "", 1)
	disabled.State = ptr("disabled")
	gone := contact(1, "a@x.com", "", "subscribed", "", 1)
	gone.DeletedAt = ptr(t0)
	tests := []struct {
		name string
		rule marketing.Rule
		c    *shopsync.Contact
		want marketing.Reason
	}{
		{"subscribed", email, contact(1, "a@x.com", "", "subscribed", "", 1), ""},
		{"subscribed in capitals", email, contact(1, "a@x.com", "", "SUBSCRIBED", "", 1), ""},
		{"not subscribed", email, contact(1, "a@x.com", "", "not_subscribed", "", 1), marketing.NotSubscribed},
		{"pending", email, contact(1, "a@x.com", "", "pending", "", 1), marketing.NotSubscribed},
		{"no consent", email, contact(1, "a@x.com", "", "", "", 1), marketing.NotSubscribed},
		{"no email", email, contact(1, "", "", "subscribed", "", 1), marketing.NoAddress},
		{"blank email", email, contact(1, "  ", "", "subscribed", "", 1), marketing.NoAddress},
		{"email without @", email, contact(1, "a.x.com", "", "subscribed", "", 1), marketing.InvalidAddress},
		{"email ending in @", email, contact(1, "a@", "", "subscribed", "", 1), marketing.InvalidAddress},
		{"deleted", email, gone, marketing.Deleted},
		{"guest (disabled account) by default", email, disabled, ""},
		{"disabled account, excluded", strict, disabled, marketing.DisabledAccount},
		{"sms subscribed", sms, contact(1, "", "+33 6 12 34 56 78", "", "subscribed", 1), ""},
		{"sms national number", sms, contact(1, "", "06 12 34 56 78", "", "subscribed", 1), ""},
		{"sms email consent is not SMS consent", sms, contact(1, "", "+33612345678", "subscribed", "", 1), marketing.NotSubscribed},
		{"sms no phone", sms, contact(1, "a@x.com", "", "", "subscribed", 1), marketing.NoAddress},
		{"sms invalid phone", sms, contact(1, "", "call me", "", "subscribed", 1), marketing.InvalidAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.Check(tt.c); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// run feeds contacts to an Eligibility and returns the ids kept.
func run(t *testing.T, rule marketing.Rule, cs ...*shopsync.Contact) ([]int64, marketing.Report) {
	t.Helper()
	kept := []int64{}
	e := marketing.NewEligibility(rule, func(c *shopsync.Contact) error {
		kept = append(kept, c.ShopifyID)
		return nil
	})
	for _, c := range cs {
		if err := e.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	r := e.Report()
	if r.Read != int64(len(cs)) || r.Included+r.LeftOut() != r.Read {
		t.Errorf("report %+v does not account for %d contacts", r, len(cs))
	}
	return kept, r
}

func TestEligibility(t *testing.T) {
	gone := contact(90, "gone@x.com", "", "subscribed", "", 1)
	gone.DeletedAt = ptr(t0)
	// In Rule.OrderBy's order: contacts without an address first (NULL
	// sorts first), then by address, the most recently updated first.
	kept, report := run(t, marketing.Rule{Channel: marketing.Email},
		contact(80, "", "", "subscribed", "", 1),    // no email
		contact(81, "bad", "", "subscribed", "", 1), // invalid
		gone, // deleted
		contact(5, "a@x.com", "", "subscribed", "", 9),     // a@x.com: kept, the most recent
		contact(2, "A@X.com", "", "subscribed", "", 3),     // duplicate
		contact(3, "a@x.com ", "", "subscribed", "", 3),    // duplicate, same time, higher id
		contact(1, "b@x.com", "", "subscribed", "", 5),     // b@x.com: withheld
		contact(4, "b@x.com", "", "unsubscribed", "", 2),   // the old unsubscribed record blocks it
		contact(6, "c@x.com", "", "not_subscribed", "", 1), // c@x.com: not subscribed
		contact(7, "d@x.com", "", "subscribed", "", -1),    // d@x.com: no updated_at, alone: kept
		contact(8, "e@x.com", "", "subscribed", "", 1),     // e@x.com: kept
		contact(9, "e@x.com", "", "subscribed", "", -1),    // no updated_at sorts last: duplicate
	)
	if diff := cmp.Diff(kept, []int64{5, 7, 8}); diff != "" {
		t.Errorf("kept (-got +want):\n%s", diff)
	}
	want := marketing.Report{Channel: marketing.Email, Read: 12, Included: 3, NotSubscribed: 2, NoAddress: 1,
		InvalidAddress: 1, Duplicates: 3, Withheld: 1, Deleted: 1}
	if diff := cmp.Diff(report, want); diff != "" {
		t.Errorf("report (-got +want):\n%s", diff)
	}
	if got, want := report.String(), "3 included; left out: 2 not subscribed, 3 duplicates, "+
		"1 withheld (another contact with the address is not subscribed), 1 without email, "+
		"1 with an invalid email, 1 deleted"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEligibilitySMS(t *testing.T) {
	kept, report := run(t, marketing.Rule{Channel: marketing.SMS, DefaultCountry: "FR"},
		contact(1, "a@x.com", "", "subscribed", "", 1),           // no phone
		contact(5, "", "+1 613 555 0123", "", "subscribed", 1),   // +16135550123: kept
		contact(3, "", "06 12 34 56 78", "", "subscribed", 5),    // +33612345678: kept
		contact(2, "", "+33 6 12 34 56 78", "", "subscribed", 4), // the same number: duplicate
		contact(4, "", "+33612345679", "", "not_subscribed", 1),  // not subscribed
	)
	if diff := cmp.Diff(kept, []int64{5, 3}); diff != "" {
		t.Errorf("kept (-got +want):\n%s", diff)
	}
	if got, want := report.String(), "2 included; left out: 1 not subscribed, 1 duplicate, 1 without phone"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEligibilityOrder(t *testing.T) {
	e := marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error { return nil })
	if err := e.Add(contact(1, "b@x.com", "", "subscribed", "", 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(contact(2, "a@x.com", "", "subscribed", "", 1)); !errors.Is(err, marketing.ErrOrder) {
		t.Errorf("address going back: got %v, want ErrOrder", err)
	}
	e = marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error { return nil })
	if err := e.Add(contact(1, "a@x.com", "", "subscribed", "", 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(contact(2, "a@x.com", "", "subscribed", "", 2)); !errors.Is(err, marketing.ErrOrder) {
		t.Errorf("older before newer: got %v, want ErrOrder", err)
	}
}

func TestEmitError(t *testing.T) {
	boom := errors.New("boom")
	e := marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(*shopsync.Contact) error { return boom })
	if err := e.Add(contact(1, "a@x.com", "", "subscribed", "", 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(contact(2, "b@x.com", "", "subscribed", "", 1)); !errors.Is(err, boom) {
		t.Errorf("got %v, want emit's error", err)
	}
}

func TestRuleValidate(t *testing.T) {
	if err := (marketing.Rule{Channel: marketing.SMS}).Validate([]string{"email_marketing_consent"}); err == nil ||
		err.Error() != "marketing on sms needs attribute sms_marketing_consent: add it to mapping.attributes" {
		t.Errorf("got %v", err)
	}
	if err := (marketing.Rule{Channel: "fax"}).Validate(nil); err == nil {
		t.Error("channel fax accepted")
	}
	if err := (marketing.Rule{Channel: marketing.Email}).Validate([]string{"email_marketing_consent"}); err != nil {
		t.Error(err)
	}
}

// TestEligibilityHolders: contacts outside the audience that hold one of
// its addresses are never sent nor counted, but one that is not
// subscribed withholds the address, and a more recent subscribed one
// does not take the audience's place.
func TestEligibilityHolders(t *testing.T) {
	var kept []int64
	el := marketing.NewEligibility(marketing.Rule{Channel: marketing.Email}, func(c *shopsync.Contact) error {
		kept = append(kept, c.ShopifyID)
		return nil
	})
	for _, step := range []struct {
		c      *shopsync.Contact
		member bool
	}{
		{contact(1, "a@x.com", "", "subscribed", "", 9), false},   // a@x.com: a more recent holder...
		{contact(2, "a@x.com", "", "subscribed", "", 5), true},    // ...does not replace the member: 2 kept
		{contact(3, "b@x.com", "", "subscribed", "", 5), true},    // b@x.com: withheld...
		{contact(4, "b@x.com", "", "unsubscribed", "", 1), false}, // ...by an unsubscribed holder
		{contact(5, "c@x.com", "", "unsubscribed", "", 1), false}, // c@x.com: holders only: nothing
		{contact(6, "c@x.com", "", "subscribed", "", 0), false},
		{contact(7, "d@x.com", "", "pending", "", 3), true},     // d@x.com: the member is not subscribed
		{contact(8, "d@x.com", "", "subscribed", "", 2), false}, // and a subscribed holder does not stand in
	} {
		add := el.AddHolder
		if step.member {
			add = el.Add
		}
		if err := add(step.c); err != nil {
			t.Fatal(err)
		}
	}
	if err := el.Flush(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kept, []int64{2}); diff != "" {
		t.Errorf("kept (-got +want):\n%s", diff)
	}
	want := marketing.Report{Channel: marketing.Email, Read: 3, Included: 1, Withheld: 1, NotSubscribed: 1}
	if diff := cmp.Diff(el.Report(), want); diff != "" {
		t.Errorf("report (-got +want):\n%s", diff)
	}
}
