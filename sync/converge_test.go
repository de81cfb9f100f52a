package sync_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/testutil"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
	ssync "github.com/shopsync/shopsync/sync"
	"github.com/shopsync/shopsync/webhook"
)

// The convergence property (issue 14): whatever webhooks did before —
// lost, duplicated, reordered, late, slim or trimmed — a completed full
// import leaves every contact equal to what the Admin API returns, and a
// sweep right after it changes nothing.

var (
	convergeHistories = flag.Int("converge.histories", 0,
		"histories TestConvergence runs (default 150, or $SHOPSYNC_CONVERGE)")
	convergeSeed = flag.Uint64("converge.seed", 0, "run only the history of this seed, as a failure printed it")
)

const (
	convergeShop   = "converge.myshopify.com"
	convergeSecret = "converge-secret"
	defaultHistory = 150
)

func TestConvergence(t *testing.T) {
	if *convergeSeed != 0 {
		runHistory(t, *convergeSeed, true)
		return
	}
	n := defaultHistory
	if v, err := strconv.Atoi(os.Getenv("SHOPSYNC_CONVERGE")); err == nil && v > 0 {
		n = v
	}
	if *convergeHistories > 0 {
		n = *convergeHistories
	}
	if testing.Short() {
		n = min(n, 20)
	}
	// Seeds are fixed, so that the default run is the same run every
	// time; SHOPSYNC_CONVERGE_BASE moves them.
	base := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("SHOPSYNC_CONVERGE_BASE"), 10, 64); err == nil {
		base = v
	}
	for i := range uint64(n) {
		seed := base + i
		if !t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runHistory(t, seed, false) }) {
			t.Logf("reproduce with: go test ./sync/ -run TestConvergence -converge.seed=%d -v", seed)
			return
		}
	}
}

// history is one random history's world: a simulated shop on a fake
// clock, and the real client, store, importer, sweeper, re-fetcher and
// webhook receiver of shopsync.
type history struct {
	t       *testing.T
	r       *rand.Rand
	verbose bool
	clock   *fakeClock

	sim      *shopifytest.Server
	captured *capture
	db       *store.DB
	client   *shopify.Client
	mapper   *mapping.Mapper
	im       *ssync.Importer
	sweeper  *ssync.Sweeper
	refetch  *ssync.Refetcher
	handler  *webhook.Handler

	delayed []shopifytest.Delivery // held back, to come late and out of order
	nextID  int64
	counts  map[string]int
}

// fakeClock is the shop's clock, and so shopsync's view of Shopify's: it
// moves only when the history says, more than a second a step, so that
// one step's events and the next step's reads fall in different seconds
// of the answers' Date.
type fakeClock struct {
	mu gosync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// capture is the webhook address the simulated shop delivers to: it
// keeps the deliveries, so that the history decides their faults.
type capture struct {
	mu gosync.Mutex
	ds []shopifytest.Delivery
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	triggered, _ := time.Parse(time.RFC3339Nano, r.Header.Get("X-Shopify-Triggered-At"))
	d := shopifytest.Delivery{
		Topic: r.Header.Get("X-Shopify-Topic"), WebhookID: r.Header.Get("X-Shopify-Webhook-Id"),
		EventID: r.Header.Get("X-Shopify-Event-Id"), ShopDomain: r.Header.Get("X-Shopify-Shop-Domain"),
		APIVersion: r.Header.Get("X-Shopify-Api-Version"), TriggeredAt: triggered, Body: body,
	}
	c.mu.Lock()
	c.ds = append(c.ds, d)
	c.mu.Unlock()
}

// take returns the deliveries captured since the last call, in an order
// that does not depend on the simulator's concurrent senders.
func (c *capture) take() []shopifytest.Delivery {
	c.mu.Lock()
	ds := c.ds
	c.ds = nil
	c.mu.Unlock()
	slices.SortStableFunc(ds, func(a, b shopifytest.Delivery) int {
		return cmp.Or(a.TriggeredAt.Compare(b.TriggeredAt), strings.Compare(a.Topic, b.Topic), bytes.Compare(a.Body, b.Body))
	})
	return ds
}

func runHistory(t *testing.T, seed uint64, verbose bool) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	gen := shopifytest.Gen2025_01
	if r.IntN(3) == 0 {
		gen = shopifytest.Gen2024_04
	}
	h := newHistory(t, r, seed, gen, true)
	h.verbose = verbose

	steps := 15 + h.r.IntN(30)
	for range steps {
		h.clock.advance(1100*time.Millisecond + time.Duration(h.r.IntN(900))*time.Millisecond)
		h.step(ctx)
	}
	// The end: what was held back comes (some of it never), the
	// re-fetches run, and a full import settles everything.
	h.clock.advance(1100 * time.Millisecond)
	h.deliver(ctx, h.take())
	for _, d := range h.delayed {
		if h.r.IntN(4) > 0 {
			h.send(ctx, d)
		}
	}
	h.delayed = nil
	h.drain(ctx)
	h.clock.advance(2 * time.Second)
	h.importAll(ctx)
	h.assertExact(ctx)
	h.assertSweepChangesNothing(ctx)
	if verbose {
		t.Logf("history: %d steps, %v", steps, h.counts)
	}
}

// assertSweepChangesNothing runs a sweep and checks it found nothing to
// change and wrote no row.
func (h *history) assertSweepChangesNothing(ctx context.Context) {
	h.t.Helper()
	before := h.rows(ctx)
	h.clock.advance(2 * time.Second)
	run, err := h.sweeper.Sweep(ctx)
	if err != nil {
		h.t.Fatalf("sweep: %v", err)
	}
	if run.Created != 0 || run.Updated != 0 {
		h.t.Errorf("sweep: %d created, %d updated, want none", run.Created, run.Updated)
	}
	if diff := gocmp.Diff(h.rows(ctx), before); diff != "" {
		h.t.Errorf("sweep wrote rows (-after +before):\n%s", diff)
	}
}

// newHistory builds a history's world; trims subscribes some topics a
// second time, trimmed by include_fields.
func newHistory(t *testing.T, r *rand.Rand, seed uint64, gen shopifytest.Generation, trims bool) *history {
	h := &history{t: t, r: r, counts: map[string]int{}}
	h.clock = &fakeClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	h.sim = shopifytest.NewServer(shopifytest.Options{
		Customers: 4 + h.r.IntN(10), Seed: int64(seed), Token: token,
		WebhookSecret: convergeSecret, WebhookGeneration: gen, WebhookRetries: -1,
		ShopDomain: convergeShop, Now: h.clock.now,
	})
	t.Cleanup(h.sim.Close)
	h.captured = &capture{}
	hooks := httptest.NewServer(h.captured)
	t.Cleanup(hooks.Close)
	h.subscribe(hooks.URL, trims)

	logger := slog.New(slog.DiscardHandler)
	var err error
	h.client, err = shopify.NewClient(shopify.Config{Shop: convergeShop, AccessToken: token, APIVersion: "2024-04",
		APIBaseURL: h.sim.URL, RequestTimeout: 5 * time.Second, MaxRetries: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	h.mapper = defaultMapper(t)
	h.db = testutil.MustOpenDB(t)
	h.im = ssync.New(h.db, h.client, h.mapper, logger)
	h.sweeper = ssync.NewSweeper(h.db, h.client, h.mapper, 10*time.Minute, logger)
	h.refetch = ssync.NewRefetcher(h.db, h.client, h.mapper, 0, logger)
	committer := webhook.NewCommitter(h.db)
	t.Cleanup(committer.Close)
	h.handler = webhook.NewHandler(webhook.Config{Shop: convergeShop, Secrets: []string{convergeSecret},
		Mapper: h.mapper, Committer: committer, Logger: logger, Now: h.clock.now, ShopifyNow: h.clock.now})
	ids := h.sim.CustomerIDs()
	h.nextID = ids[len(ids)-1] + 1
	return h
}

// TestSweepAfterWebhooksChangesNothing is issue 14's sixth defect: in
// make demo every sweep "updated" contacts that webhooks had already
// brought up to date. After the webhooks of a change are applied (2025-01
// payloads and their topics, or 2024-04 ones, none lost) and the contacts
// they left incomplete re-fetched, a sweep finds nothing to change and
// writes nothing.
func TestSweepAfterWebhooksChangesNothing(t *testing.T) {
	ctx := context.Background()
	for _, gen := range []shopifytest.Generation{shopifytest.Gen2025_01, shopifytest.Gen2024_04} {
		t.Run(gen.String(), func(t *testing.T) {
			for seed := uint64(1); seed <= 10; seed++ {
				h := newHistory(t, rand.New(rand.NewPCG(seed, 99)), seed, gen, false)
				h.importAll(ctx)
				for range 30 {
					h.clock.advance(1500 * time.Millisecond)
					ids := h.sim.CustomerIDs()
					id := ids[h.r.IntN(len(ids))]
					switch h.r.IntN(5) {
					case 0:
						h.change("profile", id, h.editProfile)
					case 1:
						h.change("consent", id, h.editConsent)
					case 2:
						h.change("tags", id, h.editTags)
					case 3:
						h.change("order", id, h.order)
					default:
						h.create()
					}
					for _, d := range h.take() {
						h.send(ctx, d)
					}
					// The re-fetches, sync.refetch_delay later.
					h.clock.advance(1500 * time.Millisecond)
					h.drain(ctx)
				}
				h.assertExact(ctx)
				h.assertSweepChangesNothing(ctx)
				if t.Failed() {
					t.Fatalf("seed %d", seed)
				}
			}
		})
	}
}

// subscribe subscribes every customer topic shopsync uses, some of them
// twice, and some trimmed by include_fields as a merchant could set them.
func (h *history) subscribe(base string, trimmed bool) {
	topics := append(shopify.SubscriptionTopics(), shopifytest.TopicCustomersMerge)
	trims := [][]string{
		{"id", "email_marketing_consent", "updated_at"}, // Shopify's "Modify payloads" example
		{"admin_graphql_api_id", "note", "updated_at"},
		{"id", "email", "first_name", "last_name"},
	}
	for i, topic := range topics {
		if _, err := h.sim.Subscribe(topic, base+"/hooks/"+strconv.Itoa(i), nil); err != nil {
			h.t.Fatal(err)
		}
		if trimmed && topic == shopifytest.TopicCustomersUpdate && h.r.IntN(2) == 0 {
			fields := trims[h.r.IntN(len(trims))]
			if _, err := h.sim.Subscribe(topic, base+"/trimmed", fields); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

func (h *history) logf(format string, args ...any) {
	if h.verbose {
		h.t.Logf(format, args...)
	}
}

// step does one random thing: a change in the shop (its webhooks then
// come, or not), the delivery of held-back webhooks, an import, a sweep,
// or the re-fetches.
func (h *history) step(ctx context.Context) {
	ids := h.sim.CustomerIDs()
	pick := func() int64 { return ids[h.r.IntN(len(ids))] }
	op := h.r.IntN(100)
	switch {
	case op < 20 && len(ids) > 0:
		id := pick()
		h.change("profile", id, func(c *shopifytest.Customer) { h.editProfile(c) })
	case op < 35 && len(ids) > 0:
		id := pick()
		h.change("consent", id, func(c *shopifytest.Customer) { h.editConsent(c) })
	case op < 45 && len(ids) > 0:
		id := pick()
		h.change("tags", id, func(c *shopifytest.Customer) { h.editTags(c) })
	case op < 55 && len(ids) > 0:
		id := pick()
		h.change("order", id, func(c *shopifytest.Customer) { h.order(c) })
	case op < 62:
		h.create()
	case op < 67 && len(ids) > 1:
		id := pick()
		h.counts["delete"]++
		h.logf("delete %d", id)
		h.sim.Delete(id)
	case op < 71 && len(ids) > 2:
		a, b := pick(), pick()
		if a != b {
			h.counts["merge"]++
			h.logf("merge %d into %d", b, a)
			h.sim.Merge(a, b)
		}
	case op < 78:
		h.counts["import"]++
		h.importAll(ctx)
	case op < 82:
		h.counts["sweep"]++
		if _, err := h.sweeper.Sweep(ctx); err != nil && !errors.Is(err, ssync.ErrNoMark) {
			h.t.Fatalf("sweep: %v", err)
		}
	case op < 88:
		h.drain(ctx)
	default:
		// Some of what was held back arrives now, out of order.
		h.r.Shuffle(len(h.delayed), func(i, j int) { h.delayed[i], h.delayed[j] = h.delayed[j], h.delayed[i] })
		n := h.r.IntN(len(h.delayed) + 1)
		for _, d := range h.delayed[:n] {
			h.send(ctx, d)
		}
		h.delayed = h.delayed[n:]
	}
	h.deliver(ctx, h.take())
}

func (h *history) change(kind string, id int64, fn func(*shopifytest.Customer)) {
	h.counts[kind]++
	h.logf("%s %d", kind, id)
	h.sim.Update(id, fn)
}

// take waits for the simulated shop to hand over the deliveries its
// changes caused.
func (h *history) take() []shopifytest.Delivery {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.sim.FlushWebhooks(ctx); err != nil {
		h.t.Fatal(err)
	}
	return h.captured.take()
}

// deliver sends each delivery now, twice, later, or never.
func (h *history) deliver(ctx context.Context, ds []shopifytest.Delivery) {
	for _, d := range ds {
		switch p := h.r.IntN(100); {
		case p < 12:
			h.counts["dropped"]++
		case p < 30:
			h.delayed = append(h.delayed, d)
		case p < 40:
			h.send(ctx, d)
			h.delayed = append(h.delayed, d) // and again, late
		default:
			h.send(ctx, d)
		}
	}
}

// send hands one delivery to the real receiver, as Shopify sends it.
func (h *history) send(ctx context.Context, d shopifytest.Delivery) {
	req, err := d.Request(ctx, "http://shopsync/webhooks/shopify", convergeSecret)
	if err != nil {
		h.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		h.t.Fatalf("%s delivery answered %d: %s\n%s", d.Topic, rec.Code, rec.Body, d.Body)
	}
	h.counts["delivered"]++
}

func (h *history) drain(ctx context.Context) {
	if _, err := h.refetch.Drain(ctx); err != nil {
		h.t.Fatalf("re-fetch: %v", err)
	}
}

func (h *history) importAll(ctx context.Context) {
	run, err := h.im.Run(ctx, shopsync.TriggerCLI)
	if err != nil {
		h.t.Fatalf("import: %v", err)
	}
	h.logf("import: %d fetched, %d created, %d updated, %d deleted", run.Fetched, run.Created, run.Updated, run.Deleted)
}

var (
	firstNames = []string{"Ada", "Grace", "Zoë", "太郎", "Nguyễn", "Søren"}
	lastNames  = []string{"Lovelace", "Hopper", "山田", "O'Brien", "Łukasiewicz"}
	tagPool    = []string{"VIP", "wholesale", "Léon", "東京", "newsletter", "🌸"}
	states     = []string{"subscribed", "not_subscribed", "unsubscribed", "pending"}
)

func (h *history) pickOf(s []string) *string { v := s[h.r.IntN(len(s))]; return &v }

func (h *history) editProfile(c *shopifytest.Customer) {
	switch h.r.IntN(5) {
	case 0:
		c.FirstName = h.pickOf(firstNames)
	case 1:
		c.LastName = h.pickOf(lastNames)
	case 2:
		email := fmt.Sprintf("c%d.%d@example.com", c.ID%1000, h.r.IntN(1000))
		c.Email = &email
	case 3:
		note := fmt.Sprintf("note %d", h.r.IntN(1000))
		if h.r.IntN(4) == 0 {
			c.Note = nil
		} else {
			c.Note = &note
		}
	default:
		c.State = []string{"enabled", "disabled", "invited"}[h.r.IntN(3)]
	}
}

// editConsent changes a consent; its date is now, none, or years ago (a
// consent dated before the customer's last update, as on Shopify's own
// example customer).
func (h *history) editConsent(c *shopifytest.Customer) {
	var at *string
	switch h.r.IntN(3) {
	case 0:
		s := h.clock.now().UTC().Truncate(time.Second).Format(time.RFC3339)
		at = &s
	case 1:
		s := h.clock.now().AddDate(-1-h.r.IntN(20), 0, -h.r.IntN(300)).UTC().Truncate(time.Second).Format(time.RFC3339)
		at = &s
	}
	level := h.pickOf([]string{"single_opt_in", "confirmed_opt_in", "unknown"})
	if h.r.IntN(2) == 0 {
		c.EmailMarketingConsent = &shopifytest.EmailConsent{State: *h.pickOf(states), OptInLevel: level, ConsentUpdatedAt: at}
	} else {
		c.SMSMarketingConsent = &shopifytest.SMSConsent{State: *h.pickOf(states), OptInLevel: level, ConsentUpdatedAt: at,
			ConsentCollectedFrom: *h.pickOf([]string{"OTHER", "SHOPIFY"})}
	}
}

func (h *history) editTags(c *shopifytest.Customer) {
	var tags []string
	for t := range strings.SplitSeq(c.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	tag := *h.pickOf(tagPool)
	if i := slices.Index(tags, tag); i >= 0 {
		tags = slices.Delete(tags, i, i+1)
	} else {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	c.Tags = strings.Join(tags, ", ")
}

func (h *history) order(c *shopifytest.Customer) {
	c.OrdersCount++
	cents := h.r.IntN(100000)
	total := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	if c.TotalSpent != "" {
		var a, b, x, y int
		fmt.Sscanf(c.TotalSpent, "%d.%d", &a, &x)
		fmt.Sscanf(total, "%d.%d", &b, &y)
		sum := (a+b)*100 + x + y
		total = fmt.Sprintf("%d.%02d", sum/100, sum%100)
	}
	c.TotalSpent = total
	id := int64(820982911946154508) + int64(h.r.IntN(1_000_000))
	name := fmt.Sprintf("#%d", 1000+h.r.IntN(9000))
	c.LastOrderID, c.LastOrderName = &id, &name
	if h.r.IntN(5) == 0 {
		c.Currency = *h.pickOf([]string{"USD", "EUR", "JPY"})
	}
}

func (h *history) create() {
	h.counts["create"]++
	now := h.clock.now().UTC().Truncate(time.Second).Format(time.RFC3339)
	c := shopifytest.Customer{ID: h.nextID, Email: ptr(fmt.Sprintf("new%d@example.com", h.nextID%1000)),
		FirstName: h.pickOf(firstNames), State: "enabled", Currency: "USD", TotalSpent: "0.00",
		CreatedAt: now, UpdatedAt: now}
	if h.r.IntN(2) == 0 {
		c.Tags = *h.pickOf(tagPool)
	}
	h.logf("create %d", c.ID)
	h.nextID += 1 + int64(h.r.IntN(5))
	h.sim.Upsert(c)
}

// assertExact compares every contact with what the Admin API returns now,
// field by field, read through the client and the mapper as an import
// reads it; tags as a set.
func (h *history) assertExact(ctx context.Context) {
	h.t.Helper()
	ids := h.sim.CustomerIDs()
	var got []int64
	if err := h.db.ExportContacts(ctx, func(c *shopsync.Contact) error {
		got = append(got, c.ShopifyID)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	if diff := gocmp.Diff(got, ids); diff != "" {
		h.t.Fatalf("active contacts are not the shop's customers (-store +shop):\n%s", diff)
	}
	for chunk := range slices.Chunk(ids, 250) {
		page, err := h.client.CustomersByID(ctx, chunk)
		if err != nil {
			h.t.Fatal(err)
		}
		for i := range page.Customers {
			want, err := h.mapper.Contact(&page.Customers[i])
			if err != nil {
				h.t.Fatal(err)
			}
			stored, err := h.db.Contact(ctx, want.ShopifyID)
			if err != nil {
				h.t.Fatalf("contact %d: %v", want.ShopifyID, err)
			}
			if diff := gocmp.Diff(comparable(stored), comparable(&want)); diff != "" {
				h.t.Errorf("contact %d differs from the shop's customer (-store +shop):\n%s", want.ShopifyID, diff)
			}
		}
	}
}

// comparable is a contact's content: fields, tags as a set, attributes by
// name.
func comparable(c *shopsync.Contact) map[string]string {
	s := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	tm := func(p *time.Time) string {
		if p == nil {
			return "<null>"
		}
		return shopsync.FormatTime(*p)
	}
	tags := slices.Clone(c.Tags)
	slices.Sort(tags)
	out := map[string]string{
		"email": s(c.Email), "first_name": s(c.FirstName), "last_name": s(c.LastName), "phone": s(c.Phone),
		"state": s(c.State), "tags": strings.Join(tags, "|"),
		"created_at": tm(c.ShopifyCreatedAt), "updated_at": tm(c.ShopifyUpdatedAt),
	}
	for _, a := range c.Attributes {
		v, ok := a.Text()
		if !ok {
			v = "<null>"
		}
		out["attr."+a.Name] = string(a.Type) + ":" + v
	}
	return out
}

// rows returns every contact row's time and source of change.
func (h *history) rows(ctx context.Context) map[int64]string {
	out := map[int64]string{}
	var ids []int64
	if err := h.db.ExportContacts(ctx, func(c *shopsync.Contact) error {
		ids = append(ids, c.ShopifyID)
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	for _, id := range ids {
		row, attrs, err := h.db.ContactChanges(ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		out[id] = fmt.Sprintf("%s %s %d", row.At, row.By, len(attrs))
	}
	return out
}

// TestMergeLeavesNoDuplicate: after Shopify merges two customers, the
// merged-away one does not live on as a duplicate contact (a common
// complaint about other CRM syncs): customers/merge queues both to be
// read again, the read no longer finds it, and the merge is on both
// contacts' history. Shopify's sample merge (status failed) changes
// nothing.
func TestMergeLeavesNoDuplicate(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t, rand.New(rand.NewPCG(5, 5)), 5, shopifytest.Gen2025_01, false)
	h.importAll(ctx)
	ids := h.sim.CustomerIDs()
	kept, merged := ids[0], ids[1]
	h.clock.advance(2 * time.Second)
	if !h.sim.Merge(kept, merged) {
		t.Fatal("simulator did not merge")
	}
	for _, d := range h.take() {
		h.send(ctx, d)
	}
	if _, err := h.db.Contact(ctx, merged); err != nil {
		t.Fatalf("before the re-fetch: %v (the merge is confirmed by a read)", err)
	}
	h.clock.advance(2 * time.Second)
	h.drain(ctx)
	if _, err := h.db.Contact(ctx, merged); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("merged-away customer: got %v, want it gone", err)
	}
	h.assertExact(ctx)
	for _, id := range []int64{kept, merged} {
		ms, err := h.db.Merges(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].KeptID != kept || ms[0].MergedID != merged {
			t.Errorf("merges of %d: %+v, want %d into %d", id, ms, merged, kept)
		}
	}
}
