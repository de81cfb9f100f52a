package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

const e2eShopDomain = "e2e-shop.myshopify.com"

// webhookShop starts a simulator that delivers signed webhooks on every
// change, like Shopify, and a daemon pointed at it, imported once and
// subscribed with `shopsync webhooks register`.
func webhookShop(t *testing.T, customers int, gen shopifytest.Generation) (*shopifytest.Server, map[string]string, *daemon) {
	t.Helper()
	sim, env := shopEnv(t, shopifytest.Options{Customers: customers, Seed: 51, ShopDomain: e2eShopDomain,
		WebhookSecret: e2eWebhookSecret, WebhookGeneration: gen})
	env = serveEnv(env)
	d := startDaemon(t, env)
	d.importAll()
	stdout, stderr, code := runCLI(t, env, "webhooks", "register", "--address", d.url+"/webhooks/shopify")
	if code != exitOK {
		t.Fatalf("webhooks register: exit %d\n%s%s", code, stdout, stderr)
	}
	if n := len(sim.Subscriptions()); n != 10 {
		t.Fatalf("%d subscriptions, want 10:\n%s", n, stdout)
	}
	return sim, env, d
}

// contact fetches a contact as generic JSON; nil on 404.
func (d *daemon) contact(id int64) map[string]any {
	d.t.Helper()
	var c map[string]any
	if code := d.call("GET", fmt.Sprintf("/contacts/%d", id), &c); code == http.StatusNotFound {
		return nil
	} else if code != http.StatusOK {
		d.t.Fatalf("contact %d: %d", id, code)
	}
	return c
}

func attr(c map[string]any, name string) any {
	if c == nil {
		return "<no contact>"
	}
	return c["attributes"].(map[string]any)[name]
}

// eventually retries check until it returns "" or 10 s pass.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestServeWebhookFlows changes customers in the simulated shop, which
// delivers 2025-01 webhooks to the real daemon, and checks the store
// follows: profile, consent, tags, purchasing summary, create (completed
// by a re-fetch), delete, redact.
func TestServeWebhookFlows(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sim, env, d := webhookShop(t, 300, shopifytest.Gen2025_01)
	ctx := context.Background()
	ids := sim.CustomerIDs()
	flush := func() {
		t.Helper()
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := sim.FlushWebhooks(fctx); err != nil {
			t.Fatal(err)
		}
	}

	// A slim customers/update changes the name and keeps what it does not
	// carry (tags, consent, order stats came from the import).
	a := ids[10]
	before := d.contact(a)
	sim.Update(a, func(c *shopifytest.Customer) { c.FirstName = ptrTo("Ünïcødé 名前") })
	flush()
	after := d.contact(a)
	if after["first_name"] != "Ünïcødé 名前" {
		t.Errorf("first_name %v", after["first_name"])
	}
	for _, k := range []string{"orders_count", "total_spent", "email_marketing_consent"} {
		if attr(after, k) != attr(before, k) {
			t.Errorf("%s: %v, was %v: a slim update erased it", k, attr(after, k), attr(before, k))
		}
	}
	if fmt.Sprint(after["tags"]) != fmt.Sprint(before["tags"]) {
		t.Errorf("tags %v, were %v", after["tags"], before["tags"])
	}

	// Consent, tags and the purchasing summary, each through its topic.
	b := ids[20]
	now := time.Now().UTC().Format(time.RFC3339)
	sim.Update(b, func(c *shopifytest.Customer) {
		c.EmailMarketingConsent = &shopifytest.EmailConsent{State: "unsubscribed", ConsentUpdatedAt: &now}
		c.Tags = "gold, 東京"
		c.OrdersCount = 42
		c.TotalSpent = "12345678901234.56"
	})
	flush()
	cb := d.contact(b)
	if attr(cb, "email_marketing_consent") != "unsubscribed" || attr(cb, "accepts_email_marketing") != false {
		t.Errorf("consent: %v %v", attr(cb, "email_marketing_consent"), attr(cb, "accepts_email_marketing"))
	}
	if fmt.Sprint(cb["tags"]) != "[gold 東京]" {
		t.Errorf("tags %v, want [gold 東京]", cb["tags"])
	}
	if attr(cb, "orders_count") != json.Number("42") || attr(cb, "total_spent") != "12345678901234.56" {
		t.Errorf("purchasing: %v %v", attr(cb, "orders_count"), attr(cb, "total_spent"))
	}

	// A new customer: the slim customers/create lacks order stats, tags
	// and consent; the daemon re-fetches it in full.
	nc := shopifytest.Customer{ID: ids[len(ids)-1] + 1000, Email: ptrTo("new.customer@example.com"),
		FirstName: ptrTo("Neu"), State: "enabled", TotalSpent: "19.99", OrdersCount: 1, Tags: "first",
		CreatedAt: now, UpdatedAt: now, Currency: "EUR"}
	sim.Upsert(nc)
	flush()
	eventually(t, "new customer completed by a re-fetch", func() string {
		c := d.contact(nc.ID)
		if c == nil || attr(c, "total_spent") != "19.99" || fmt.Sprint(c["tags"]) != "[first]" {
			return fmt.Sprintf("contact %v", c)
		}
		return ""
	})

	// customers/delete: confirmed by a re-fetch that no longer finds the
	// customer, then the contact leaves lookups.
	gone := ids[30]
	sim.Delete(gone)
	flush()
	eventually(t, "deleted customer leaves lookups", func() string {
		if c := d.contact(gone); c != nil {
			return fmt.Sprintf("still served: %v", c)
		}
		return ""
	})

	// customers/redact (sent by hand: compliance topics cannot be
	// subscribed): every byte of the customer leaves the file and WAL.
	r := ids[40]
	rc, _ := sim.Customer(r)
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	// Look for the values no other customer shares (the generator reuses
	// names: another García legitimately stays).
	shared := map[string]bool{}
	for _, other := range sim.CustomerIDs() {
		if other == r {
			continue
		}
		oc, _ := sim.Customer(other)
		for _, s := range []*string{oc.Email, oc.FirstName, oc.LastName, oc.Phone} {
			if s != nil {
				shared[*s] = true
			}
		}
	}
	secret := []string{}
	for _, s := range []*string{rc.Email, rc.FirstName, rc.LastName, rc.Phone} {
		if s != nil && len(*s) >= 4 && !shared[*s] {
			secret = append(secret, *s)
		}
	}
	if len(secret) == 0 {
		t.Fatal("customer to redact has no personal data to look for")
	}
	t.Logf("looking for %d values of the redacted customer", len(secret))
	status, err := sender.Send(ctx, d.url+"/webhooks/shopify", shopifytest.CustomersRedactDelivery(1, e2eShopDomain, rc, nil))
	if err != nil || status != http.StatusOK {
		t.Fatalf("redact: %d %v", status, err)
	}
	if c := d.contact(r); c != nil {
		t.Errorf("redacted customer still served")
	}
	for _, path := range []string{env["SHOPSYNC_STORE_PATH"], env["SHOPSYNC_STORE_PATH"] + "-wal"} {
		raw, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, s := range secret {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s still holds %q after customers/redact", path, s)
			}
		}
	}

	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var m bytes.Buffer
	m.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`shopsync_webhook_deliveries_total{outcome="applied",topic="customers/update"}`,
		`shopsync_webhook_deliveries_total{outcome="applied",topic="customer.tags_added"}`,
		`shopsync_webhook_deliveries_total{outcome="applied",topic="customers/redact"}`,
		`shopsync_webhook_duration_seconds_bucket`,
	} {
		if !strings.Contains(m.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if st := sim.WebhookStats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("simulator deliveries: %+v", st.WebhookCounts)
	}
	d.stop()
	for _, leak := range append(secret, e2eWebhookSecret, e2eSyncToken, e2eToken) {
		if strings.Contains(d.logs(), leak) {
			t.Errorf("the daemon's logs hold %q", leak)
		}
	}
}

// TestServeWebhookAbuse: duplicates and out-of-order deliveries have one
// effect; bad signatures, another shop, missing headers, bad JSON and
// oversize bodies get 4xx and store nothing.
func TestServeWebhookAbuse(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sim, _, d := webhookShop(t, 50, shopifytest.Gen2024_04)
	ctx := context.Background()
	url := d.url + "/webhooks/shopify"
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	id := sim.CustomerIDs()[5]
	c, _ := sim.Customer(id)
	base := time.Now().Add(time.Minute).UTC()

	update := func(note string, at time.Time) shopifytest.Delivery {
		cc := c
		cc.Note = ptrTo(note)
		cc.UpdatedAt = at.Format(time.RFC3339)
		dl, err := shopifytest.CustomerDelivery("customers/update", cc, shopifytest.Gen2024_04)
		if err != nil {
			t.Fatal(err)
		}
		dl.TriggeredAt = at
		return dl
	}
	// Newer first, then older: the older is stale.
	newer, older := update("newer", base.Add(2*time.Second)), update("older", base.Add(time.Second))
	for _, dl := range []shopifytest.Delivery{newer, older} {
		if status, err := sender.Send(ctx, url, dl); err != nil || status != http.StatusOK {
			t.Fatalf("send: %d %v", status, err)
		}
	}
	if got := attr(d.contact(id), "note"); got != "newer" {
		t.Errorf("after out-of-order delivery note is %v, want newer", got)
	}
	// The same delivery three times: one effect, three 200s.
	again := update("replayed", base.Add(3*time.Second))
	statuses, err := sender.Replay(ctx, url, again, 3)
	if err != nil || fmt.Sprint(statuses) != "[200 200 200]" {
		t.Fatalf("replay: %v %v", statuses, err)
	}

	// Rejections store nothing: the note stays "replayed".
	bad := update("forged", base.Add(time.Hour))
	for _, cor := range []shopifytest.Corruption{shopifytest.FlipBodyByte, shopifytest.WrongSecret,
		shopifytest.NoSignature, shopifytest.BadBase64Signature, shopifytest.ShortSignature, shopifytest.EmptySignature} {
		if status, err := sender.SendCorrupt(ctx, url, bad, cor); err != nil || status != http.StatusUnauthorized {
			t.Errorf("%s: %d %v, want 401", cor, status, err)
		}
	}
	other := bad
	other.ShopDomain = "someone-else.myshopify.com"
	if status, _ := sender.Send(ctx, url, other); status != http.StatusForbidden {
		t.Errorf("another shop: %d, want 403", status)
	}
	noID := bad
	noID.Header = http.Header{shopifytest.HeaderWebhookID: nil}
	if status, _ := sender.Send(ctx, url, noID); status != http.StatusBadRequest {
		t.Errorf("no webhook id: %d, want 400", status)
	}
	notJSON := bad
	notJSON.Body = []byte(`{"id": 1, "note": `)
	if status, _ := sender.Send(ctx, url, notJSON); status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d, want 400", status)
	}
	huge := bad
	huge.Body = append([]byte(`{"id":1,"note":"`), bytes.Repeat([]byte("x"), 2<<20)...)
	huge.Body = append(huge.Body, `"}`...)
	if status, _ := sender.Send(ctx, url, huge); status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d, want 413", status)
	}
	if got := attr(d.contact(id), "note"); got != "replayed" {
		t.Errorf("note %v after rejected deliveries, want replayed", got)
	}
	// An unknown topic is answered 200 and changes nothing.
	unknown := bad
	unknown.Topic = "orders/create"
	if status, _ := sender.Send(ctx, url, unknown); status != http.StatusOK {
		t.Errorf("unknown topic: %d, want 200", status)
	}
	if got := attr(d.contact(id), "note"); got != "replayed" {
		t.Errorf("note %v after an unknown topic, want replayed", got)
	}
	d.stop()
}

// TestServeShutdownMidBurst sends a burst of deliveries from 32 senders
// and stops the daemon with SIGTERM in the middle: after a restart, every
// delivery that was answered 200 is in the store.
func TestServeShutdownMidBurst(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2000, Seed: 52})
	env = serveEnv(env)
	d := startProcess(t, env) // SIGTERM through the signal handling of main
	d.importAll()

	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	ids := sim.CustomerIDs()
	deliveries := burstDeliveries(t, sim, sender)
	var (
		acked   = make([]bool, len(deliveries))
		nAcked  atomic.Int64
		next    atomic.Int64
		wg      gosync.WaitGroup
		stopped = make(chan struct{})
		once    gosync.Once
	)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(deliveries) {
					return
				}
				status, err := sender.Send(context.Background(), d.url+"/webhooks/shopify", deliveries[i])
				if err == nil && status == http.StatusOK {
					acked[i] = true
					if nAcked.Add(1) == 300 {
						once.Do(func() { d.cmd.Process.Signal(syscall.SIGTERM); close(stopped) })
					}
				}
			}
		})
	}
	wg.Wait()
	<-stopped
	if err := <-d.exited; err != nil {
		t.Fatalf("daemon exit: %v\n%s", err, d.logs())
	}
	d.exited <- nil
	n := nAcked.Load()
	t.Logf("acknowledged %d of %d deliveries before the daemon stopped", n, len(deliveries))
	db, err := store.Open(context.Background(), env["SHOPSYNC_STORE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lost := 0
	for i, ok := range acked {
		if !ok {
			continue
		}
		c, err := db.Contact(context.Background(), ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if note, _ := c.Attributes.Get("note"); note.Value != fmt.Sprintf("burst %d", i) {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged deliveries lost", lost, n)
	}
}

// burstDeliveries prepares one 2025-01 customers/update per simulator
// customer, in id order, setting its note to "burst <index>" one minute
// ahead: newer than anything stored, so each acknowledged one must show.
func burstDeliveries(t *testing.T, sim *shopifytest.Server, sender *shopifytest.WebhookSender) []shopifytest.Delivery {
	t.Helper()
	ids := sim.CustomerIDs()
	at := time.Now().Add(time.Minute).UTC()
	deliveries := make([]shopifytest.Delivery, len(ids))
	for i, id := range ids {
		c, _ := sim.Customer(id)
		c.Note = ptrTo(fmt.Sprintf("burst %d", i))
		c.UpdatedAt = at.Format(time.RFC3339)
		dl, err := shopifytest.CustomerDelivery("customers/update", c, shopifytest.Gen2025_01)
		if err != nil {
			t.Fatal(err)
		}
		dl.TriggeredAt = at
		deliveries[i] = sender.Prepare(dl)
	}
	return deliveries
}

func ptrTo[T any](v T) *T { return &v }

// TestServeReassertsSubscriptions: with webhooks.address set, serve
// subscribes at start, and after a scheduled run puts back a subscription
// Shopify deleted (it does after 8 failed deliveries).
func TestServeReassertsSubscriptions(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sim, env := shopEnv(t, shopifytest.Options{Customers: 20, Seed: 53, ShopDomain: e2eShopDomain,
		WebhookSecret: e2eWebhookSecret})
	env = serveEnv(env)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["SHOPSYNC_HTTP_LISTEN"] = addr
	env["SHOPSYNC_WEBHOOKS_ADDRESS"] = "http://" + addr + "/webhooks/shopify"
	env["SHOPSYNC_SYNC_SCHEDULE"] = "@every 1s"
	d := startDaemon(t, env)
	eventually(t, "subscriptions at start", func() string {
		if n := len(sim.Subscriptions()); n != 10 {
			return fmt.Sprintf("%d subscriptions", n)
		}
		return ""
	})
	victim := sim.Subscriptions()[0]
	if !sim.DeleteSubscription(victim.ID) {
		t.Fatal("delete subscription")
	}
	eventually(t, "subscription re-asserted after a scheduled run", func() string {
		for _, s := range sim.Subscriptions() {
			if s.Topic == victim.Topic {
				return ""
			}
		}
		return victim.Topic + " missing"
	})
	d.stop()
}
