package shopify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
)

const simToken = "shpat_bulk_test"

func simClient(t *testing.T, opts shopifytest.Options, version string) (*shopifytest.Server, *shopify.Client) {
	t.Helper()
	opts.Token = simToken
	sim := shopifytest.NewServer(opts)
	t.Cleanup(sim.Close)
	c, err := shopify.NewClient(shopify.Config{Shop: "bulk-test", AccessToken: simToken, APIVersion: version,
		APIBaseURL: sim.URL, RequestTimeout: 5 * time.Second, MaxRetries: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// waitBulk polls the operation until it is finished. The simulator's jobs
// complete at once unless BulkRate is set.
func waitBulk(t *testing.T, c *shopify.Client, id string) *shopify.BulkOperation {
	t.Helper()
	for range 2000 {
		op, _, err := c.BulkOperation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if op.Status.Finished() {
			return op
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("bulk operation %s never finished", id)
	return nil
}

// readBulk downloads and decodes a whole result file.
func readBulk(t *testing.T, c *shopify.Client, op *shopify.BulkOperation) []shopify.Customer {
	t.Helper()
	f := c.OpenBulkFile(context.Background(), op.URL, 0, op.FileSize)
	defer f.Close()
	dec := shopify.NewBulkDecoder(f, 0)
	var out []shopify.Customer
	for {
		var cu shopify.Customer
		if _, err := dec.Next(&cu); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, cu)
	}
}

// TestBulkCustomersEqualREST runs the customers bulk query against the
// simulator in the API versions whose shapes differ (node vs
// bulkOperation, userErrors without or with code, customersCount without
// or with limit) and checks each decoded customer equals the REST
// listing's, field by field.
func TestBulkCustomersEqualREST(t *testing.T) {
	for _, version := range []string{"2024-04", "2025-07", "2026-01"} {
		t.Run(version, func(t *testing.T) {
			sim, c := simClient(t, shopifytest.Options{Customers: 600, Seed: 7,
				Scopes: []string{"read_customers", "read_orders", "read_all_orders"}}, version)
			ctx := context.Background()
			n, cost, err := c.CountCustomersExact(ctx)
			if err != nil || n.N != 600 || !n.Exact {
				t.Fatalf("count %+v, %v", n, err)
			}
			if cost.RestoreRate != 100 {
				t.Errorf("restore rate %v, want Standard's 100", cost.RestoreRate)
			}
			scopes, err := c.AccessScopes(ctx)
			if err != nil || !shopify.LastOrderScopes(scopes) {
				t.Fatalf("scopes %v, %v", scopes, err)
			}
			op, err := c.RunBulkQuery(ctx, shopify.CustomerBulkQuery(true))
			if err != nil {
				t.Fatal(err)
			}
			op = waitBulk(t, c, op.ID)
			if op.Status != shopify.BulkCompleted || op.URL == "" || op.ObjectCount != 600 || op.FileSize <= 0 {
				t.Fatalf("operation %+v", op)
			}
			got := readBulk(t, c, op)

			var want []shopify.Customer
			page, err := c.ListCustomers(ctx, 0, 250)
			for {
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, page.Customers...)
				if !page.HasNext() {
					break
				}
				page, err = c.NextPage(ctx, page)
			}
			if len(got) != len(want) {
				t.Fatalf("%d bulk customers, %d REST", len(got), len(want))
			}
			utc := cmp.Transformer("utc", func(tm time.Time) time.Time { return tm.UTC() })
			for i := range want {
				w := want[i]
				// The bulk query reads only the default address fields the
				// mapper uses.
				// REST leaves default_address out for a customer without
				// one, GraphQL says null: the mapper reads both as null.
				if !w.DefaultAddress.Set {
					w.DefaultAddress = shopify.Null[shopify.Address]()
				}
				if w.DefaultAddress.Valid() {
					a := w.DefaultAddress.V
					w.DefaultAddress.V = shopify.Address{City: a.City, Company: a.Company,
						CountryCode: a.CountryCode, ProvinceCode: a.ProvinceCode, Zip: a.Zip}
				}
				if d := cmp.Diff(got[i], w, utc); d != "" {
					t.Fatalf("customer %d (-bulk +rest):\n%s", w.ID, d)
				}
			}
			if st := sim.BulkStats(); st.TokenLeaks != 0 || st.Submitted != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestBulkBusyNamesRunningOperation(t *testing.T) {
	sim, c := simClient(t, shopifytest.Options{Customers: 10}, "2025-07")
	foreign := sim.StartForeignBulk(time.Hour, false)
	_, err := c.RunBulkQuery(context.Background(), shopify.CustomerBulkQuery(false))
	var busy *shopify.BulkBusyError
	if !errors.As(err, &busy) || len(busy.Running) != 1 || busy.Running[0] != foreign {
		t.Fatalf("err %v, want a BulkBusyError naming %s", err, foreign)
	}
	cur, err := c.CurrentBulkOperation(context.Background())
	if err != nil || cur.ID != foreign || cur.Status != shopify.BulkRunning {
		t.Fatalf("current %+v, %v", cur, err)
	}
	// From 2026-01, five run at once.
	_, c26 := simClient(t, shopifytest.Options{Customers: 10}, "2026-01")
	if _, err := c26.RunBulkQuery(context.Background(), shopify.CustomerBulkQuery(false)); err != nil {
		t.Fatal(err)
	}
}

func TestBulkCancel(t *testing.T) {
	_, c := simClient(t, shopifytest.Options{Customers: 100, BulkRate: 1}, "2025-07")
	ctx := context.Background()
	op, err := c.RunBulkQuery(ctx, shopify.CustomerBulkQuery(false))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.CancelBulkOperation(ctx, op.ID)
	if err != nil || got.Status != shopify.BulkCanceling {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
	// A CANCELING job still blocks a new one before 2026-01.
	var busy *shopify.BulkBusyError
	if _, err := c.RunBulkQuery(ctx, shopify.CustomerBulkQuery(false)); !errors.As(err, &busy) {
		t.Fatalf("submit while canceling: %v", err)
	}
	if op := waitBulk(t, c, op.ID); op.Status != shopify.BulkCanceled {
		t.Fatalf("status %s", op.Status)
	}
}

func TestBulkLastOrderNeedsReadOrders(t *testing.T) {
	_, c := simClient(t, shopifytest.Options{Customers: 10}, "2025-07")
	op, err := c.RunBulkQuery(context.Background(), shopify.CustomerBulkQuery(true))
	if err != nil {
		t.Fatal(err)
	}
	if op = waitBulk(t, c, op.ID); op.Status != shopify.BulkFailed || op.ErrorCode != "ACCESS_DENIED" {
		t.Fatalf("operation %+v, want FAILED ACCESS_DENIED", op)
	}
}

// TestBulkFileResumes cuts two transfers in the middle and makes the
// server ignore Range: the reader delivers the whole file once, in order.
func TestBulkFileResumes(t *testing.T) {
	for _, ignoreRange := range []bool{false, true} {
		t.Run(map[bool]string{false: "range", true: "no_range"}[ignoreRange], func(t *testing.T) {
			sim, c := simClient(t, shopifytest.Options{Customers: 500, Seed: 3}, "2025-07")
			ctx := context.Background()
			op, err := c.RunBulkQuery(ctx, shopify.CustomerBulkQuery(false))
			if err != nil {
				t.Fatal(err)
			}
			op = waitBulk(t, c, op.ID)
			whole := readAll(t, c.OpenBulkFile(ctx, op.URL, 0, op.FileSize))
			sim.CutBulkDownloads(2)
			sim.IgnoreRange(ignoreRange)
			f := c.OpenBulkFile(ctx, op.URL, 0, op.FileSize)
			got := readAll(t, f)
			if got != whole {
				t.Fatalf("resumed read differs: %d bytes, want %d", len(got), len(whole))
			}
			if st := f.Stats(); st.Resumed != 2 || (ignoreRange && st.Skipped == 0) {
				t.Errorf("stats %+v", st)
			}
			// From the middle.
			mid := int64(len(whole) / 3)
			if got := readAll(t, c.OpenBulkFile(ctx, op.URL, mid, op.FileSize)); got != whole[mid:] {
				t.Fatalf("read from %d differs", mid)
			}
		})
	}
}

func TestBulkExpiredURL(t *testing.T) {
	sim, c := simClient(t, shopifytest.Options{Customers: 20}, "2025-07")
	ctx := context.Background()
	op, err := c.RunBulkQuery(ctx, shopify.CustomerBulkQuery(false))
	if err != nil {
		t.Fatal(err)
	}
	op = waitBulk(t, c, op.ID)
	sim.ExpireBulk()
	_, err = io.ReadAll(c.OpenBulkFile(ctx, op.URL, 0, op.FileSize))
	var urlErr *shopify.BulkURLError
	if !errors.As(err, &urlErr) {
		t.Fatalf("read of an expired URL: %v", err)
	}
	if op := waitBulk(t, c, op.ID); op.Status != shopify.BulkExpired || op.URL != "" {
		t.Fatalf("operation %+v", op)
	}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeBulkLine(t *testing.T) {
	line := `{"id":"gid:\/\/shopify\/Customer\/706405506930370084","email":"bob@biller.com","firstName":"Bob",` +
		`"lastName":null,"phone":null,"note":"a\/b \u003c3","state":"ENABLED","tags":["VIP","Léon"],"verifiedEmail":true,` +
		`"taxExempt":false,"createdAt":"2021-12-31T19:00:00Z","updatedAt":"2022-01-01T00:00:00Z","numberOfOrders":"12",` +
		`"amountSpent":{"amount":"100.5","currencyCode":"USD"},` +
		`"emailMarketingConsent":{"marketingState":"NOT_SUBSCRIBED","marketingOptInLevel":null,"consentUpdatedAt":null},` +
		`"smsMarketingConsent":{"marketingState":"SUBSCRIBED","marketingOptInLevel":"SINGLE_OPT_IN","consentUpdatedAt":"2024-04-02T14:23:53Z","consentCollectedFrom":"OTHER"},` +
		`"defaultAddress":null,"lastOrder":{"id":"gid:\/\/shopify\/Order\/820982911946154508","name":"#9999"}}`
	c, err := shopify.DecodeBulkLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := shopify.Customer{ID: 706405506930370084, Email: shopify.Some("bob@biller.com"), FirstName: shopify.Some("Bob"),
		LastName: shopify.Null[string](), Phone: shopify.Null[string](), Note: shopify.Some("a/b <3"), State: shopify.Some("enabled"),
		Tags: shopify.Some("VIP, Léon"), VerifiedEmail: shopify.Some(true), TaxExempt: shopify.Some(false),
		CreatedAt: shopify.Some(time.Date(2021, 12, 31, 19, 0, 0, 0, time.UTC)), UpdatedAt: shopify.Some(time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)),
		OrdersCount: shopify.Some[int64](12), TotalSpent: shopify.Some[shopify.Decimal]("100.50"), Currency: shopify.Some("USD"),
		EmailMarketingConsent: shopify.Some(shopify.EmailConsent{State: shopify.Some("not_subscribed"), OptInLevel: shopify.Null[string](),
			ConsentUpdatedAt: shopify.Null[time.Time]()}),
		SMSMarketingConsent: shopify.Some(shopify.SMSConsent{State: shopify.Some("subscribed"), OptInLevel: shopify.Some("single_opt_in"),
			ConsentUpdatedAt: shopify.Some(time.Date(2024, 4, 2, 14, 23, 53, 0, time.UTC)), ConsentCollectedFrom: shopify.Some("OTHER")}),
		DefaultAddress: shopify.Null[shopify.Address](), LastOrderID: shopify.Some[int64](820982911946154508), LastOrderName: shopify.Some("#9999"),
		AdminGraphQLAPIID: shopify.Some("gid://shopify/Customer/706405506930370084")}
	if d := cmp.Diff(c, want); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
	for _, bad := range []string{
		`{"id":"gid://shopify/Customer/1","__parentId":"gid://shopify/Customer/2"}`,
		`{"id":"gid://shopify/Order/1"}`,
		`{"email":"x@y.z"}`,
		`{"id":"gid://shopify/Customer/1","numberOfOrders":"-1"}`,
		`{"id":"gid://shopify/Customer/1"`,
	} {
		if _, err := shopify.DecodeBulkLine([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// FuzzDecodeBulkLine holds the decoder to never panic and to decode the
// id of any line it accepts.
func FuzzDecodeBulkLine(f *testing.F) {
	f.Add(`{"id":"gid://shopify/Customer/1","tags":["a"],"amountSpent":{"amount":"1.5","currencyCode":"EUR"}}`)
	f.Add(`{"id":"gid:\/\/shopify\/Customer\/9","state":"DISABLED","defaultAddress":{"countryCodeV2":"FR"}}`)
	f.Add(`{"id":"gid://shopify/Customer/2","lastOrder":null,"numberOfOrders":"0"}`)
	f.Fuzz(func(t *testing.T, line string) {
		c, err := shopify.DecodeBulkLine([]byte(line))
		if err == nil && c.ID <= 0 {
			t.Fatalf("accepted %q without an id", line)
		}
		if err == nil && !strings.Contains(line, "Customer") {
			t.Fatalf("accepted %q", line)
		}
	})
}
