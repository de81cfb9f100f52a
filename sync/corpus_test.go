package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/corpus"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
	"github.com/shopsync/shopsync/webhook"
)

// The corpus tests send payloads that Shopify and others wrote
// (testdata/shopify, with SOURCES.md) through the real paths: REST bodies
// through the client and the import or the re-fetch, webhook bodies
// through the signed receiver. EXPECT.md says what each must store.

const corpusShopDomain = "corpus-shop.myshopify.com"

// rawShop answers the Admin API with bodies as they are written: the
// listing, the count, and ids= look-ups, each with the Date of its clock.
type rawShop struct {
	mu      gosync.Mutex
	listing []byte // {"customers": [...]}
	date    time.Time
}

func (s *rawShop) set(listing []byte, date time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listing, s.date = listing, date
}

func (s *rawShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	listing, date := s.listing, s.date
	s.mu.Unlock()
	w.Header().Set("Date", date.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/customers/count.json"):
		var l struct {
			Customers []json.RawMessage `json:"customers"`
		}
		json.Unmarshal(listing, &l)
		fmt.Fprintf(w, `{"count":%d}`, len(l.Customers))
	case strings.HasSuffix(r.URL.Path, "/customers.json"):
		w.Write(listing)
	default:
		http.NotFound(w, r)
	}
}

// corpusWorld is the real client, store, import, re-fetch and receiver
// over a rawShop.
type corpusWorld struct {
	t       *testing.T
	shop    *rawShop
	db      *store.DB
	client  *shopify.Client
	mapper  *mapping.Mapper
	im      *ssync.Importer
	refetch *ssync.Refetcher
	handler *webhook.Handler
	now     time.Time // Shopify's clock, for the receiver
}

func newCorpusWorld(t *testing.T) *corpusWorld {
	t.Helper()
	w := &corpusWorld{t: t, shop: &rawShop{}}
	srv := httptest.NewServer(w.shop)
	t.Cleanup(srv.Close)
	logger := slog.New(slog.DiscardHandler)
	var err error
	w.client, err = shopify.NewClient(shopify.Config{Shop: corpusShopDomain, AccessToken: token, APIVersion: "2024-04",
		APIBaseURL: srv.URL, RequestTimeout: 5 * time.Second, MaxRetries: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	w.mapper = defaultMapper(t)
	w.db = testutil.MustOpenDB(t)
	w.im = ssync.New(w.db, w.client, w.mapper, logger)
	w.refetch = ssync.NewRefetcher(w.db, w.client, w.mapper, 0, logger)
	c := webhook.NewCommitter(w.db)
	t.Cleanup(c.Close)
	w.handler = webhook.NewHandler(webhook.Config{Shop: corpusShopDomain, Secrets: []string{convergeSecret},
		Mapper: w.mapper, Committer: c, Logger: logger, ShopifyNow: func() time.Time { return w.now }})
	return w
}

// listing returns the corpus file as a customers.json answer: a
// {"customer": …} body becomes a listing of one.
func listing(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus.Dir(), filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	var one struct {
		Customer json.RawMessage `json:"customer"`
	}
	if json.Unmarshal(b, &one) == nil && one.Customer != nil {
		return []byte(`{"customers":[` + string(one.Customer) + `]}`)
	}
	return b
}

func corpusFile(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus.Dir(), filepath.FromSlash(file)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importAt runs a full import of the shop answering body, read at date.
func (w *corpusWorld) importAt(body []byte, date time.Time) *shopsync.SyncRun {
	w.t.Helper()
	w.shop.set(body, date)
	run, err := w.im.Run(context.Background(), shopsync.TriggerCLI)
	if err != nil {
		w.t.Fatalf("import: %v", err)
	}
	return run
}

// deliver sends body as topic, triggered at triggered, through the
// signed receiver, and returns the status.
func (w *corpusWorld) deliver(topic string, body []byte, triggered time.Time, id string) int {
	w.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign(body, []byte(convergeSecret)))
	req.Header.Set("X-Shopify-Shop-Domain", corpusShopDomain)
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Triggered-At", triggered.UTC().Format(time.RFC3339Nano))
	if w.now.Before(triggered) {
		w.now = triggered
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	return rec.Code
}

func (w *corpusWorld) contact(id int64) *shopsync.Contact {
	w.t.Helper()
	c, err := w.db.Contact(context.Background(), id)
	if err != nil {
		w.t.Fatalf("contact %d: %v", id, err)
	}
	return c
}

// want is what a stored contact must hold: top-level fields by JSON name
// and attributes by name, each as its text ("<null>" for null); a field
// not listed is not checked.
type want map[string]string

func (w *corpusWorld) check(id int64, exp want) {
	w.t.Helper()
	got := comparable(w.contact(id))
	for k, v := range exp {
		if _, ok := got[k]; !ok {
			k = "attr." + k
		}
		g, ok := got[k]
		if !ok {
			w.t.Errorf("contact %d: %s absent, want %s", id, k, v)
			continue
		}
		if i := strings.IndexByte(g, ':'); strings.HasPrefix(k, "attr.") && i >= 0 {
			g = g[i+1:] // the value, without its type
		}
		if g != v {
			w.t.Errorf("contact %d: %s = %q, want %q", id, k, g, v)
		}
	}
}

var corpusDate = time.Date(2024, 4, 2, 15, 0, 0, 0, time.UTC)

// TestCorpusImport imports each whole REST customer of the corpus, as the
// listing answers it, and checks EXPECT.md's values.
func TestCorpusImport(t *testing.T) {
	tests := []struct {
		file string
		id   int64
		want want
	}{
		{"rest/customers_since_id_2024_04.json", 1073339472, want{
			"email": "steve.lastnameson@example.com", "phone": "+15142546011", "state": "disabled",
			"orders_count": "0", "total_spent": "0.00", "currency": "USD", "last_order_id": "<null>",
			"last_order_name": "<null>", "note": "<null>", "tags": "", "verified_email": "true",
			"email_marketing_consent": "not_subscribed", "email_marketing_opt_in_level": "single_opt_in",
			"email_marketing_consent_updated_at": "<null>", "sms_marketing_consent": "not_subscribed",
			"default_address_city": "Ottawa", "default_address_country_code": "CA",
			"created_at": "2024-04-02T14:16:09Z", "updated_at": "2024-04-02T14:16:09Z"}},
		{"rest/customer_207119551_get_2024_04.json", 207119551, want{
			"email": "bob.norman@mail.example.com", "phone": "+16136120707", "orders_count": "1",
			"total_spent": "199.65", "last_order_id": "450789469", "last_order_name": "#1001", "tags": "Léon|Noël",
			"email_marketing_consent": "not_subscribed", "email_marketing_opt_in_level": "<null>",
			"email_marketing_consent_updated_at": "2004-06-13T15:57:11Z", "accepts_email_marketing": "false",
			"sms_marketing_consent": "not_subscribed", "sms_marketing_consent_updated_at": "2024-04-02T14:20:49Z",
			"default_address_city": "Louisville", "default_address_country_code": "US",
			"created_at": "2024-04-02T14:20:49Z"}},
		{"rest/customer_207119551_put_email_consent_2024_04.json", 207119551, want{
			"email_marketing_consent": "subscribed", "email_marketing_opt_in_level": "confirmed_opt_in",
			"email_marketing_consent_updated_at": "2023-12-30T14:13:25Z", "accepts_email_marketing": "true",
			"updated_at": "2024-04-02T14:13:26Z"}},
		{"rest/customer_207119551_put_tags_2024_04.json", 207119551, want{
			"tags": "New Customer|Repeat Customer", "updated_at": "2024-04-02T14:25:37Z"}},
		{"rest/customer_207119551_put_email_note_2024_04.json", 207119551, want{
			"email": "changed@example.com", "note": "Customer is a great guy",
			"email_marketing_consent": "not_subscribed", "email_marketing_consent_updated_at": "<null>"}},
		{"rest/customer_1073339470_post_2024_04.json", 1073339470, want{
			"state": "enabled", "email_marketing_consent_updated_at": "<null>",
			"sms_marketing_consent_updated_at": "<null>", "default_address_city": "Ottawa"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			w := newCorpusWorld(t)
			run := w.importAt(listing(t, tt.file), corpusDate)
			if run.Created != 1 {
				t.Errorf("import: %+v, want 1 created", run)
			}
			w.check(tt.id, tt.want)
			// The same answer read again later changes nothing.
			if run := w.importAt(listing(t, tt.file), corpusDate.Add(time.Hour)); run.Unchanged != 1 {
				t.Errorf("second import: %+v, want 1 unchanged", run)
			}
		})
	}
}

// TestCorpusRefetch: shopify-api-js's ids= answer (1073339482 then
// 207119551, not in id order) through the re-fetch path.
func TestCorpusRefetch(t *testing.T) {
	ctx := context.Background()
	w := newCorpusWorld(t)
	// Both are known to the store only by a slim customers/create.
	for _, id := range []int64{1073339482, 207119551} {
		body := fmt.Sprintf(`{"id":%d,"email":null,"updated_at":"2024-04-02T09:00:00-05:00"}`, id)
		if code := w.deliver(shopify.TopicCustomersCreate, []byte(body), corpusDate, fmt.Sprint("create-", id)); code != http.StatusOK {
			t.Fatalf("create %d: %d", id, code)
		}
	}
	w.shop.set(corpusFile(t, "rest/customers_ids_2024_04.json"), corpusDate.Add(time.Minute))
	if n, err := w.refetch.Drain(ctx); err != nil || n != 2 {
		t.Fatalf("re-fetch: %d %v, want 2", n, err)
	}
	w.check(1073339482, want{"email": "steve.lastnameson@example.com", "default_address_city": "Ottawa",
		"sms_marketing_consent": "not_subscribed"})
	w.check(207119551, want{"email": "bob.norman@mail.example.com", "total_spent": "199.65",
		"last_order_name": "#1001", "tags": "Léon|Noël", "default_address_city": "Louisville"})
}

// TestCorpusConsentDatedBeforeUpdate is issue 14's first defect, with
// Shopify's own customer 1073339470 (shopify-api-js, REST 2024-04 test_18):
// imported with consent_updated_at null, then a consent webhook dated a
// month before the customer's updated_at. Before the fix the consent was
// compared with updated_at, recorded stale, and the next import, which read
// the same consent, counted the customer unchanged.
func TestCorpusConsentDatedBeforeUpdate(t *testing.T) {
	w := newCorpusWorld(t)
	const id = 1073339470
	rest := listing(t, "rest/customer_1073339470_post_2024_04.json")
	w.importAt(rest, corpusDate)
	consent := []byte(`{"customer_id":1073339470,"email_address":"steve.lastnameson@example.com",` +
		`"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2024-03-01T00:00:00-05:00"}}`)
	if code := w.deliver(shopify.TopicEmailConsentUpdate, consent, corpusDate.Add(time.Hour), "consent"); code != http.StatusOK {
		t.Fatalf("consent webhook: %d", code)
	}
	w.check(id, want{"email_marketing_consent": "subscribed", "accepts_email_marketing": "true",
		"email_marketing_consent_updated_at": "2024-03-01T05:00:00Z"})

	// The shop's record says the same, as a later import reads it: the
	// contact is as the Admin API returns it.
	changed := editListing(t, rest, func(c map[string]any) {
		c["email_marketing_consent"] = map[string]any{"state": "subscribed", "opt_in_level": "single_opt_in",
			"consent_updated_at": "2024-03-01T00:00:00-05:00"}
	})
	w.importAt(changed, corpusDate.Add(2*time.Hour))
	w.check(id, want{"email_marketing_consent": "subscribed", "email_marketing_consent_updated_at": "2024-03-01T05:00:00Z"})

	// And a read that says otherwise wins over the webhook, whatever the
	// dates: the Admin API is the truth as of its answer.
	w.importAt(rest, corpusDate.Add(3*time.Hour))
	w.check(id, want{"email_marketing_consent": "not_subscribed", "accepts_email_marketing": "false",
		"email_marketing_consent_updated_at": "<null>"})
}

// editListing changes the first customer of a listing; numbers stay as
// they were written.
func editListing(t *testing.T, listing []byte, edit func(map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(listing))
	dec.UseNumber()
	var l struct {
		Customers []map[string]any `json:"customers"`
	}
	if err := dec.Decode(&l); err != nil || len(l.Customers) == 0 {
		t.Fatalf("listing: %v", err)
	}
	edit(l.Customers[0])
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCorpusWebhooks sends Shopify's 2026-07 reference samples, and the
// corpus's partial customer objects, through the receiver onto a stored
// customer, and checks what each writes and what it leaves.
func TestCorpusWebhooks(t *testing.T) {
	const bob = 706405506930370084
	// Bob as the import stored him: the 2024-04 REST fields, with orders,
	// tags and consent that the 2025-01 payloads no longer carry.
	stored := `{"customers":[{"id":706405506930370084,"email":"bob@biller.com","first_name":"Bob","last_name":"Biller",` +
		`"phone":"+16136120707","state":"enabled","note":"stored note","verified_email":true,"tax_exempt":false,` +
		`"created_at":"2021-12-31T19:00:00-05:00","updated_at":"2021-12-31T19:00:00-05:00","orders_count":3,` +
		`"total_spent":"300.00","currency":"USD","last_order_id":820982911946154508,"last_order_name":"#9999",` +
		`"tags":"VIP, Léon","email_marketing_consent":{"state":"subscribed","opt_in_level":"confirmed_opt_in",` +
		`"consent_updated_at":"2021-06-01T00:00:00-04:00"},"sms_marketing_consent":{"state":"subscribed",` +
		`"opt_in_level":"single_opt_in","consent_updated_at":"2021-06-01T00:00:00-04:00","consent_collected_from":"OTHER"},` +
		`"default_address":{"city":"Montréal","country_code":"CA","province_code":"QC","zip":"H2X","company":null}}]}`
	later := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, topic, file string
		body              string // instead of file
		want              want
	}{
		{name: "customers/update 2026-07: the profile, and what it lacks kept", topic: shopify.TopicCustomersUpdate,
			file: "webhooks/customers_update/2026_07.json", want: want{
				"phone": "<null>", "state": "disabled", "note": "This customer loves ice cream",
				"default_address_city": "Ottawa", "default_address_country_code": "CA", "currency": "USD",
				"orders_count": "3", "total_spent": "300.00", "last_order_name": "#9999", "tags": "Léon|VIP",
				"email_marketing_consent": "subscribed", "sms_marketing_consent": "subscribed",
				"updated_at": "2022-01-01T00:00:00Z"}},
		{name: "customers/enable: the payload's state, not the topic's", topic: shopify.TopicCustomersEnable,
			file: "webhooks/customers_enable/2026_07.json", want: want{"state": "disabled"}},
		{name: "email consent: only the email consent", topic: shopify.TopicEmailConsentUpdate,
			file: "webhooks/customers_email_marketing_consent_update/2026_07.json", want: want{
				"email_marketing_consent": "not_subscribed", "accepts_email_marketing": "false",
				"email_marketing_opt_in_level": "<null>", "email_marketing_consent_updated_at": "<null>",
				"sms_marketing_consent": "subscribed", "phone": "+16136120707", "note": "stored note"}},
		{name: "SMS consent: no consent, and the phone kept", topic: shopify.TopicSMSConsentUpdate,
			file: "webhooks/customers_marketing_consent_update/2026_07.json", want: want{
				"sms_marketing_consent": "<null>", "accepts_sms_marketing": "false",
				"phone": "+16136120707", "email_marketing_consent": "subscribed"}},
		{name: "purchasing summary: currency, and the old order's name cleared", topic: shopify.TopicPurchasingSummary,
			body: `{"customerId":"gid://shopify/Customer/706405506930370084","numberOfOrders":"4",` +
				`"amountSpent":{"amount":"412.50","currencyCode":"EUR"},"lastOrderId":"gid://shopify/Order/820982911946154509",` +
				`"occurredAt":"2026-07-01T11:00:00.000Z"}`, want: want{
				"orders_count": "4", "total_spent": "412.50", "currency": "EUR",
				"last_order_id": "820982911946154509", "last_order_name": "<null>", "note": "stored note"}},
		{name: "purchasing summary: the same last order keeps its name", topic: shopify.TopicPurchasingSummary,
			body: `{"customerId":"gid://shopify/Customer/706405506930370084","numberOfOrders":3,` +
				`"amountSpent":{"amount":"290.00","currencyCode":"USD"},"lastOrderId":"gid://shopify/Order/820982911946154508",` +
				`"occurredAt":"2026-07-01T11:00:00.000Z"}`, want: want{
				"total_spent": "290.00", "last_order_id": "820982911946154508", "last_order_name": "#9999"}},
		{name: "purchasing summary: no last order, no name", topic: shopify.TopicPurchasingSummary,
			body: `{"customerId":"gid://shopify/Customer/706405506930370084","numberOfOrders":0,` +
				`"amountSpent":{"amount":"0.00","currencyCode":"USD"},"lastOrderId":null,"occurredAt":"2026-07-01T11:00:00.000Z"}`,
			want: want{"orders_count": "0", "last_order_id": "<null>", "last_order_name": "<null>"}},
		{name: "Modify payloads example (include_fields): the address kept", topic: shopify.TopicCustomersUpdate,
			body: `{"id":706405506930370084,"email_marketing_consent":{"state":"unsubscribed","opt_in_level":"single_opt_in",` +
				`"consent_updated_at":"2026-07-01T10:00:00-04:00"},"updated_at":"2026-07-01T10:00:00-04:00"}`,
			want: want{"email_marketing_consent": "unsubscribed", "default_address_city": "Montréal",
				"default_address_country_code": "CA", "phone": "+16136120707", "note": "stored note"}},
		{name: "a trimmed payload with only the GraphQL id", topic: shopify.TopicCustomersUpdate,
			body: `{"admin_graphql_api_id":"gid://shopify/Customer/706405506930370084","note":"by gid"}`,
			want: want{"note": "by gid", "email": "bob@biller.com"}},
		// Its consents are dated 2017, before the stored ones (2021): a
		// consent date is the merchant's to set and orders nothing; the
		// later customer object decides.
		{name: "go-shopify's customer, its absent currency kept", topic: shopify.TopicCustomersUpdate,
			body: strings.ReplaceAll(strings.ReplaceAll(string(goshopifyCustomer(t)), `"id": 1,`, `"id": 706405506930370084,`),
				`"updated_at": "2017-09-23T18:15:47-00:00"`, `"updated_at": "2026-07-01T10:00:00-00:00"`),
			want: want{"email": "test@example.com", "total_spent": "278.60", "currency": "USD",
				"email_marketing_consent": "not_subscribed", "accepts_email_marketing": "false",
				"email_marketing_consent_updated_at": "2017-09-23T18:15:47Z", "tags": "tag1|tag2",
				"default_address_city": "BRISBANE"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newCorpusWorld(t)
			w.importAt([]byte(stored), later.Add(-48*time.Hour))
			body := []byte(tt.body)
			if tt.file != "" {
				body = corpusFile(t, tt.file)
			}
			if code := w.deliver(tt.topic, body, later, fmt.Sprint("w", i)); code != http.StatusOK {
				t.Fatalf("delivery answered %d", code)
			}
			w.check(bob, tt.want)
		})
	}
}

// TestCorpusLegacyAcceptsMarketing: go-shopify's customer says
// accepts_marketing true and an email consent not_subscribed; only the
// consent counts.
func TestCorpusLegacyAcceptsMarketing(t *testing.T) {
	w := newCorpusWorld(t)
	if code := w.deliver(shopify.TopicCustomersCreate, goshopifyCustomer(t), corpusDate, "create"); code != http.StatusOK {
		t.Fatalf("delivery: %d", code)
	}
	w.check(1, want{"accepts_email_marketing": "false", "email_marketing_consent": "not_subscribed",
		"total_spent": "278.60", "tags": "tag1|tag2", "created_at": "2017-09-23T18:15:47Z"})
	if _, ok := w.contact(1).Attributes.Get("currency"); ok {
		t.Error("currency, absent from the payload, was set")
	}
}

// goshopifyCustomer is go-shopify's customer fixture, the customer object.
func goshopifyCustomer(t *testing.T) []byte {
	var one struct {
		Customer json.RawMessage `json:"customer"`
	}
	if err := json.Unmarshal(corpusFile(t, "rest/goshopify_customer.json"), &one); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, one.Customer, "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestCorpusPrivacyAndOthers: the compliance samples are refused when
// their shop_domain is Shopify's placeholder, not this shop, and applied
// when it is; the merge, WhatsApp and bulk-operation samples change no
// contact.
func TestCorpusPrivacyAndOthers(t *testing.T) {
	ctx := context.Background()
	w := newCorpusWorld(t)
	customer := `{"customers":[{"id":191167,"email":"john@example.com","phone":"555-625-1199","updated_at":"2024-01-01T00:00:00Z"}]}`
	w.importAt([]byte(customer), corpusDate)
	at := corpusDate.Add(time.Hour)
	for i, tt := range []struct{ topic, file string }{
		{shopify.TopicCustomersDataRequest, "webhooks/customers_data_request/2026_07.json"},
		{shopify.TopicCustomersRedact, "webhooks/customers_redact/2026_07.json"},
	} {
		if code := w.deliver(tt.topic, corpusFile(t, tt.file), at, fmt.Sprint("placeholder", i)); code != http.StatusBadRequest {
			t.Errorf("%s for {shop}.myshopify.com: got %d, want 400", tt.topic, code)
		}
	}
	if _, err := w.db.Contact(ctx, 191167); err != nil {
		t.Fatalf("refused redact erased the contact: %v", err)
	}
	ours := func(f string) []byte {
		return []byte(strings.ReplaceAll(string(corpusFile(t, f)), "{shop}.myshopify.com", corpusShopDomain))
	}
	if code := w.deliver(shopify.TopicCustomersDataRequest, ours("webhooks/customers_data_request/2026_07.json"), at, "dr"); code != http.StatusOK {
		t.Errorf("data request: %d", code)
	}
	if code := w.deliver(shopify.TopicCustomersRedact, ours("webhooks/customers_redact/2026_07.json"), at, "redact"); code != http.StatusOK {
		t.Errorf("redact: %d", code)
	}
	if _, err := w.db.Contact(ctx, 191167); err == nil {
		t.Error("redacted customer still stored")
	}
	for _, tt := range []struct{ topic, file string }{
		{shopify.TopicCustomersMerge, "webhooks/customers_merge/2026_07.json"},
		{"customers_whats_app_marketing_consent/update", "webhooks/customers_whats_app_marketing_consent_update/2026_07.json"},
		{"bulk_operations/finish", "webhooks/bulk_operations_finish/2026_07.json"},
	} {
		if code := w.deliver(tt.topic, corpusFile(t, tt.file), at, tt.topic); code != http.StatusOK {
			t.Errorf("%s: got %d, want 200", tt.topic, code)
		}
	}
	if n, err := w.db.RefetchPending(ctx); err != nil || n != 0 {
		t.Errorf("a failed merge queued %d re-fetches (%v), want none", n, err)
	}
	if active, deleted, _ := w.db.ContactCounts(ctx); active+deleted != 0 {
		t.Errorf("got %d contacts, want none", active+deleted)
	}
}
