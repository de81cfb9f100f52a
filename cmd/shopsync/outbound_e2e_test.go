package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopsync/shopsync/outbound/outboundtest"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

// openFeed opens the store of env, with the change feed wired as the
// daemon and the CLI wire it for the configuration of env and of the
// file configFile ("": none), so that its events read as they deliver.
func openFeed(t *testing.T, env map[string]string, configFile string) *store.DB {
	t.Helper()
	cfg, err := LoadConfig(configFile, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), cfg.Store.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	aud, err := newAudience(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	wireFeed(db, aud, slog.New(slog.DiscardHandler))
	return db
}

// TestOutboundEndToEnd runs the real binary with an outbound endpoint
// whose receiver fails at random, answers slowly (sometimes past the
// timeout), and is down for a while, through an import, webhooks
// (updates, consent, tags, new customers, deletes), a redaction, a
// SIGKILL while a delivery is in flight, a restart and another import.
// At the end the receiver has every event at least once, none before one
// that precedes it, and, once deduplicated, exactly the store's history
// (an event of the redacted customer as it was before the erasure).
func TestOutboundEndToEnd(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 19))
	var rngMu gosync.Mutex
	chaos := func(int, *outboundtest.Delivery) (int, time.Duration) {
		rngMu.Lock()
		defer rngMu.Unlock()
		switch x := rng.IntN(100); {
		case x < 15:
			return http.StatusInternalServerError, 0
		case x < 20:
			return http.StatusServiceUnavailable, 0
		case x < 30:
			return 0, time.Duration(20+rng.IntN(200)) * time.Millisecond // slow, in time
		case x < 33:
			return 0, 1200 * time.Millisecond // accepted, past the sender's timeout: sent again
		}
		return 0, 0
	}
	const secret = "e2e0utb0und5ecret0123456789abcdef"
	recv, err := outboundtest.NewReceiver(secret, chaos)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()

	sim, env := shopEnv(t, shopifytest.Options{Customers: 200, Seed: 191, ShopDomain: e2eShopDomain,
		WebhookSecret: e2eWebhookSecret, WebhookGeneration: shopifytest.Gen2025_01})
	env = serveEnv(env)
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	secretFile := writeFile(t, "crm-secret", secret+"\n")
	env["SHOPSYNC_OUTBOUND_ENDPOINTS"] = fmt.Sprintf(`[{"name":"crm","url":%q,"secret_file":%q}]`, recv.URL(), secretFile)
	env["SHOPSYNC_OUTBOUND_BATCH_SIZE"] = "10"
	env["SHOPSYNC_OUTBOUND_TIMEOUT"] = "1s"
	env["SHOPSYNC_OUTBOUND_RETRY_MIN"] = "20ms"
	env["SHOPSYNC_OUTBOUND_RETRY_MAX"] = "300ms"
	d := startProcess(t, env)
	ctx := context.Background()
	flush := func() {
		t.Helper()
		fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := sim.FlushWebhooks(fctx); err != nil {
			t.Fatal(err)
		}
	}

	// An import, then webhooks of every kind.
	d.importAll()
	if _, stderr, code := runBinary(t, binary(t), env, "webhooks", "register", "--address", d.url+"/webhooks/shopify"); code != exitOK {
		t.Fatalf("webhooks register: %d %s", code, stderr)
	}
	ids := sim.CustomerIDs()
	now := time.Now().UTC().Format(time.RFC3339)
	for i, id := range ids[:40] {
		sim.Update(id, func(c *shopifytest.Customer) {
			switch i % 4 {
			case 0:
				c.FirstName = ptrTo(fmt.Sprintf("Renamed %d", i))
			case 1:
				c.EmailMarketingConsent = &shopifytest.EmailConsent{State: "unsubscribed", ConsentUpdatedAt: &now}
			case 2:
				c.Tags = "gold, 東京"
			case 3:
				c.OrdersCount++
				c.TotalSpent = "1234.56"
			}
		})
	}
	for i := range 5 {
		sim.Upsert(shopifytest.Customer{ID: ids[len(ids)-1] + int64(1000+i), Email: ptrTo(fmt.Sprintf("new%d@example.com", i)),
			FirstName: ptrTo("Neu"), State: "enabled", TotalSpent: "19.99", OrdersCount: 1, CreatedAt: now, UpdatedAt: now, Currency: "EUR"})
	}
	for _, id := range ids[50:55] {
		sim.Delete(id)
	}
	flush()

	// The receiver is down for a while; changes go on meanwhile.
	recv.Down()
	for _, id := range ids[60:70] {
		sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("while the CRM was down") })
	}
	flush()
	time.Sleep(700 * time.Millisecond)
	if err := recv.Up(); err != nil {
		t.Fatal(err)
	}

	// customers/redact.
	victim := ids[10]
	vc, _ := sim.Customer(victim)
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	if status, err := sender.Send(ctx, d.url+"/webhooks/shopify", shopifytest.CustomersRedactDelivery(1, e2eShopDomain, vc, nil)); err != nil || status != 200 {
		t.Fatalf("redact: %d %v", status, err)
	}

	// SIGKILL while a delivery is in flight: the receiver holds one.
	inFlight := make(chan struct{})
	var (
		once   gosync.Once
		killed int64 // the first event of the delivery in flight
	)
	recv.SetBehavior(func(_ int, dl *outboundtest.Delivery) (int, time.Duration) {
		once.Do(func() { killed = dl.Events[0].Seq; close(inFlight) })
		return 0, 10 * time.Second
	})
	for _, id := range ids[80:90] {
		sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("before the kill") })
	}
	select {
	case <-inFlight:
	case <-time.After(20 * time.Second):
		t.Fatalf("no delivery in flight:\n%s", d.logs())
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	if err := <-d.exited; !killedBySIGKILL(err) {
		t.Fatalf("daemon exit: %v, want SIGKILL", err)
	}
	d.exited <- nil
	recv.SetBehavior(chaos)

	// Restarted: an import brings what the webhooks could not (the
	// subscriptions point at the dead daemon's port).
	d2 := startProcess(t, env)
	for _, id := range ids[100:110] {
		sim.Update(id, func(c *shopifytest.Customer) { c.LastName = ptrTo("After-Restart") })
	}
	sim.Delete(ids[120])
	d2.importAll()

	var last int64
	eventually(t, "every event delivered", func() string {
		var st struct {
			Changes struct {
				Last int64 `json:"last"`
			} `json:"changes"`
			Outbound []struct {
				Cursor int64  `json:"cursor"`
				State  string `json:"state"`
			} `json:"outbound"`
		}
		if code := d2.call("GET", "/sync/status", &st); code != 200 || len(st.Outbound) != 1 {
			return fmt.Sprintf("status %d %+v", code, st)
		}
		last = st.Changes.Last
		if st.Outbound[0].Cursor != last || recv.LastSeq() != last {
			return fmt.Sprintf("cursor %d, received up to %d, feed at %d", st.Outbound[0].Cursor, recv.LastSeq(), last)
		}
		return ""
	})
	d2.stop()

	again := 0
	for _, dl := range recv.Accepted() {
		for _, ev := range dl.Events {
			if ev.Seq == killed {
				again++
			}
		}
	}
	if again < 2 {
		t.Errorf("event %d, in flight at the kill, was accepted %d times: want it sent again after the restart", killed, again)
	}
	if refused := recv.Refused(); len(refused) > 0 {
		t.Errorf("the receiver refused deliveries: %v", refused[:min(5, len(refused))])
	}
	if err := recv.CheckOrder(1); err != nil {
		t.Error(err)
	}
	db := openFeed(t, env, "")
	want, err := db.Changes(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	got := recv.Events()
	if len(got) != len(want) || int64(len(want)) != last {
		t.Fatalf("received %d events, the store has %d, the last %d", len(got), len(want), last)
	}
	types := map[string]int{}
	erased := 0
	for i, w := range want {
		line := string(w.AppendJSON(nil))
		types[w.Type.String()]++
		if !w.Erased {
			if string(got[i].JSON) != line {
				t.Errorf("event %d received as\n%s\nthe store has\n%s", w.Seq, got[i].JSON, line)
			}
			continue
		}
		// Erased since: the receiver got it whole, before the erasure.
		erased++
		var ev struct {
			Seq       int64  `json:"seq"`
			Type      string `json:"type"`
			ContactID int64  `json:"contact_id"`
			At        string `json:"at"`
		}
		if err := json.Unmarshal(got[i].JSON, &ev); err != nil || ev.Seq != w.Seq || ev.Type != w.Type.String() ||
			ev.ContactID != w.ContactID || ev.ContactID != victim {
			t.Errorf("erased event %d received as %s", w.Seq, got[i].JSON)
		}
	}
	t.Logf("%d events (%v), %d erased; %d deliveries accepted", len(want), types, erased, len(recv.Accepted()))
	for _, typ := range []string{"contact.created", "contact.updated", "contact.deleted", "contact.redacted"} {
		if types[typ] == 0 {
			t.Errorf("no %s event: the history did not exercise it", typ)
		}
	}
	if erased == 0 {
		t.Error("no erased event")
	}
	for _, leak := range []string{secret} {
		if strings.Contains(d.logs()+d2.logs(), leak) {
			t.Errorf("the daemon's logs hold %q", leak)
		}
	}
}

// TestOutboundMappedContactsAndSegmentEvents runs the real binary with
// a mapping (mapping.fields, a prefix) and saved segments: a webhook's
// event carries the contact under the CRM's field names; a change that
// moves a contact into a saved segment has its segment.joined right
// after it, from the same transaction; a segment saved by another
// process, or deleted through the API, while the daemon runs counts from
// the next change on; and an endpoint limited to a segment receives that
// segment's contacts and events only.
func TestOutboundMappedContactsAndSegmentEvents(t *testing.T) {
	const secret = "e2eMapp3dS3gment5ecret0123456789ab"
	crm, err := outboundtest.NewReceiver(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer crm.Close()
	fans, err := outboundtest.NewReceiver(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fans.Close()
	sim, env := shopEnv(t, shopifytest.Options{Customers: 30, Seed: 1919, ShopDomain: e2eShopDomain,
		WebhookSecret: e2eWebhookSecret, WebhookGeneration: shopifytest.Gen2025_01})
	env = serveEnv(env)
	env["SHOPSYNC_LOG_LEVEL"] = "info"
	env["SHOPSYNC_OUTBOUND_ENDPOINTS"] = fmt.Sprintf(`[{"name":"crm","url":%q,"secret":%q},`+
		`{"name":"fans","url":%q,"secret":%q,"segment":"renamed"}]`, crm.URL(), secret, fans.URL(), secret)
	env["SHOPSYNC_OUTBOUND_RETRY_MIN"] = "20ms"
	config := writeFile(t, "shopsync.yaml", `mapping:
  prefix: sp_
  fields:
    - {name: email, source: email, no_prefix: true}
    - {name: customer_id, source: shopify_id, type: string}
    - {source: first_name}
    - {source: orders_count, type: int, default: 0}
`)
	bin := binary(t)
	cli := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runBinary(t, bin, env, append([]string{"--config", config}, args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		return stdout
	}
	cli("sync")
	cli("segments", "create", "renamed", `first_name = "Segmenta"`)
	d := startProcess(t, env, "--config", config)
	cli("webhooks", "register", "--address", d.url+"/webhooks/shopify")
	ctx := context.Background()
	flush := func() {
		t.Helper()
		fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := sim.FlushWebhooks(fctx); err != nil {
			t.Fatal(err)
		}
	}
	type event struct {
		Seq       int64           `json:"seq"`
		Type      string          `json:"type"`
		ContactID int64           `json:"contact_id"`
		Source    string          `json:"source"`
		At        string          `json:"at"`
		Segment   string          `json:"segment"`
		Contact   json.RawMessage `json:"contact"`
	}
	events := func(r *outboundtest.Receiver) []event {
		var out []event
		for _, ev := range r.Events() {
			var e event
			if err := json.Unmarshal(ev.JSON, &e); err != nil {
				t.Fatalf("event %d: %v", ev.Seq, err)
			}
			out = append(out, e)
		}
		return out
	}
	// waitFor waits until crm received an event of type typ about id.
	waitFor := func(typ string, id int64) {
		t.Helper()
		eventually(t, fmt.Sprintf("%s of %d", typ, id), func() string {
			for _, e := range events(crm) {
				if e.Type == typ && e.ContactID == id {
					return ""
				}
			}
			return "not received"
		})
	}

	ids := sim.CustomerIDs()
	a, b := ids[3], ids[4]
	sim.Update(a, func(c *shopifytest.Customer) { c.FirstName = ptrTo("Segmenta") })
	flush()
	waitFor("segment.joined", a)

	// Another process saves a segment, and the API deletes the first,
	// while the daemon runs.
	cli("segments", "create", "second", `first_name starts_with "Zweit"`)
	sim.Update(b, func(c *shopifytest.Customer) { c.FirstName = ptrTo("Zweite") })
	flush()
	waitFor("segment.joined", b)
	if code := d.call("DELETE", "/segments/renamed", nil); code/100 != 2 {
		t.Fatalf("DELETE /segments/renamed: %d", code)
	}
	sim.Update(a, func(c *shopifytest.Customer) { c.FirstName = ptrTo("Plain") })
	flush()
	eventually(t, "every event delivered", func() string {
		var st struct {
			Changes struct {
				Last int64 `json:"last"`
			} `json:"changes"`
			Outbound []struct {
				Name   string `json:"name"`
				Cursor int64  `json:"cursor"`
			} `json:"outbound"`
		}
		if code := d.call("GET", "/sync/status", &st); code != 200 || len(st.Outbound) != 2 {
			return fmt.Sprintf("status %d %+v", code, st)
		}
		for _, ep := range st.Outbound {
			if ep.Cursor != st.Changes.Last {
				return fmt.Sprintf("%s at %d, the feed at %d", ep.Name, ep.Cursor, st.Changes.Last)
			}
		}
		if crm.LastSeq() != st.Changes.Last {
			return fmt.Sprintf("crm received up to %d, the feed at %d", crm.LastSeq(), st.Changes.Last)
		}
		var renamed []event
		for _, e := range events(crm) {
			if e.ContactID == a && e.Type == "contact.updated" {
				renamed = append(renamed, e)
			}
		}
		if len(renamed) < 2 {
			return fmt.Sprintf("%d updates of %d", len(renamed), a)
		}
		return ""
	})
	d.stop()

	got := events(crm)
	var summary []string
	for i, e := range got {
		if e.Type != "segment.joined" && e.Type != "segment.left" {
			continue
		}
		summary = append(summary, fmt.Sprintf("%s %d %s", e.Type, e.ContactID, e.Segment))
		// The change that moved the contact is the event just before,
		// from the same transaction: same time and source, same contact.
		if i == 0 {
			t.Fatalf("%s %d is the first event received", e.Type, e.Seq)
		}
		if prev := got[i-1]; prev.Seq != e.Seq-1 || prev.Type != "contact.updated" || prev.ContactID != e.ContactID ||
			prev.At != e.At || prev.Source != "customers/update" || e.Source != prev.Source || string(prev.Contact) != string(e.Contact) {
			t.Errorf("%s %d of %d follows %+v, want its contact.updated, committed with it", e.Type, e.Seq, e.ContactID, prev)
		}
	}
	if want := []string{fmt.Sprintf("segment.joined %d renamed", a), fmt.Sprintf("segment.joined %d second", b)}; !slices.Equal(summary, want) {
		t.Errorf("segment events %q, want %q", summary, want)
	}

	// The contact under the CRM's names, as of each event.
	var firstNames []string
	for _, e := range got {
		if e.ContactID != a || e.Type != "contact.updated" {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal(e.Contact, &c); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range c {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"email", "sp_customer_id", "sp_first_name", "sp_orders_count"}; !slices.Equal(keys, want) {
			t.Errorf("event %d's contact has %q, want the mapping's %q: %s", e.Seq, keys, want, e.Contact)
		}
		if c["sp_customer_id"] != strconv.FormatInt(a, 10) {
			t.Errorf("event %d: sp_customer_id %v, want %d as text", e.Seq, c["sp_customer_id"], a)
		}
		firstNames = append(firstNames, fmt.Sprint(c["sp_first_name"]))
	}
	if !slices.Equal(firstNames, []string{"Segmenta", "Plain"}) {
		t.Errorf("first names as of a's updates: %q", firstNames)
	}

	// The endpoint limited to "renamed": its contact while in it, and the
	// segment's event; nothing after the segment was deleted.
	var fanSummary []string
	for _, e := range events(fans) {
		fanSummary = append(fanSummary, fmt.Sprintf("%s %d %s", e.Type, e.ContactID, e.Segment))
	}
	if want := []string{fmt.Sprintf("contact.updated %d ", a), fmt.Sprintf("segment.joined %d renamed", a)}; !slices.Equal(fanSummary, want) {
		t.Errorf("fans received %q, want %q", fanSummary, want)
	}

	// The store, read with the same configuration, has what was delivered.
	want, err := openFeed(t, env, config).Changes(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	received := crm.Events()
	first := len(want) - len(received) // the import's events came before the endpoint
	if first < 0 {
		t.Fatalf("received %d events, the store has %d", len(received), len(want))
	}
	for i, ev := range received {
		if line := string(want[first+i].AppendJSON(nil)); string(ev.JSON) != line {
			t.Errorf("event %d received as\n%s\nthe store has\n%s", ev.Seq, ev.JSON, line)
		}
	}
	if refused := append(crm.Refused(), fans.Refused()...); len(refused) > 0 {
		t.Errorf("refused deliveries: %v", refused)
	}
}
