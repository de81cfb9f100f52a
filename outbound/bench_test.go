package outbound_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/audience"
	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/outbound"
	"github.com/shopsync/shopsync/outbound/outboundtest"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
	"github.com/shopsync/shopsync/webhook"
)

// importContacts stores n generated customers, mapped as an import maps
// them, in pages of 250: n contact.created events.
func importContacts(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	raw, err := json.Marshal(shopifytest.NewHandler(shopifytest.Options{}).Generate(n, 1))
	if err != nil {
		b.Fatal(err)
	}
	var customers []shopify.Customer
	if err := json.Unmarshal(raw, &customers); err != nil {
		b.Fatal(err)
	}
	m, err := mapping.New(mapping.Config{})
	if err != nil {
		b.Fatal(err)
	}
	release, err := db.LockSync()
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	run, _, err := db.BeginRun(ctx, shopsync.TriggerCLI)
	if err != nil {
		b.Fatal(err)
	}
	after := int64(0)
	for i := 0; i < n; i += 250 {
		page := make([]shopsync.Contact, 0, 250)
		for j := i; j < min(i+250, n); j++ {
			c, err := m.Contact(&customers[j])
			if err != nil {
				b.Fatal(err)
			}
			page = append(page, c)
		}
		last := page[len(page)-1].ShopifyID
		if _, err := db.ApplyPage(ctx, run, after, last, time.Now(), page); err != nil {
			b.Fatal(err)
		}
		after = last
	}
}

// BenchmarkDeliveryThroughput delivers the events of a 50,000-customer
// import to a receiver on a loopback port that verifies every delivery
// (signature, timestamp) and parses every event, as the README tells a
// CRM to, and reports events/s from the deliverer's start to the last
// event received. The events are read from the store's rows, projected,
// batched, signed, posted, and each batch's acknowledgement committed
// before the next is sent. batch_N projects with the store's default
// (the contact's JSON); batch_N_mapped with the mapping's projection, as
// the daemon does (audience.Service.EventContact; without mapping.fields:
// every kept attribute, null or not).
//
//	go test -run '^$' -bench DeliveryThroughput -benchtime 1x ./outbound/
func BenchmarkDeliveryThroughput(b *testing.B) {
	const n = 50_000
	for _, v := range []struct {
		batch  int
		mapped bool
	}{{100, false}, {500, false}, {100, true}, {500, true}} {
		name := fmt.Sprintf("batch_%d", v.batch)
		if v.mapped {
			name += "_mapped"
		}
		batch := v.batch
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				ctx := context.Background()
				db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				if v.mapped {
					m, err := mapping.New(mapping.Config{})
					if err != nil {
						b.Fatal(err)
					}
					aud, err := audience.New(db, m, mapping.ProjectionConfig{}, audience.Options{})
					if err != nil {
						b.Fatal(err)
					}
					db.SetProjection(aud.EventContact)
				}
				// The endpoint is there before the import: it receives all of it.
				if _, err := db.OpenEndpoint(ctx, "crm", "bench"); err != nil {
					b.Fatal(err)
				}
				importContacts(b, db, n)
				recv, err := outboundtest.NewReceiver(secret, nil)
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan time.Time, 1)
				recv.OnAccept(func(d outboundtest.Delivery) {
					if d.Events[len(d.Events)-1].Seq == n {
						done <- time.Now()
					}
				})
				d, err := outbound.New(outbound.Config{Feed: db, BatchSize: batch, Logger: slog.New(slog.DiscardHandler),
					Endpoints: []outbound.Endpoint{{Name: "crm", URL: recv.URL(), Secret: secret}}})
				if err != nil {
					b.Fatal(err)
				}
				rctx, cancel := context.WithCancel(ctx)
				stopped := make(chan struct{})
				start := time.Now()
				go func() { d.Run(rctx); close(stopped) }()
				select {
				case end := <-done:
					total += end.Sub(start)
				case <-time.After(5 * time.Minute):
					b.Fatal("not delivered in 5 minutes")
				}
				cancel()
				<-stopped
				if refused := recv.Refused(); len(refused) > 0 {
					b.Fatalf("refused: %v", refused[0])
				}
				if got := len(recv.Events()); got != n {
					b.Fatalf("received %d events, want %d", got, n)
				}
				recv.Close()
				db.Close()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "events/s")
		})
	}
}

// BenchmarkWebhookToDelivery sends signed customers/create webhooks to
// the real receiver and store at 1,000 a second for 10 seconds, with an
// outbound endpoint on a loopback port, and reports how long after each
// webhook's 200 reached its sender the endpoint had the contact.created
// event it made (p50, p99, max). The store commits with
// synchronous=FULL: every 200 and every acknowledgement is fsynced.
// bare runs with the store's defaults; segments_5 as the daemon runs,
// with the mapping's projection and five saved segments, evaluated on
// every change in its transaction (each webhook also makes the
// segment.joined events of the segments its new customer is in).
//
//	go test -run '^$' -bench WebhookToDelivery -benchtime 1x ./outbound/
func BenchmarkWebhookToDelivery(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchWebhookToDelivery(b, false) })
	b.Run("segments_5", func(b *testing.B) { benchWebhookToDelivery(b, true) })
}

func benchWebhookToDelivery(b *testing.B, wired bool) {
	const (
		rate     = 1000
		duration = 10 * time.Second
		total    = int(rate * duration / time.Second)
		senders  = 64
		hookKey  = "bench_webhook_secret"
		shop     = "bench.myshopify.com"
	)
	for b.Loop() {
		ctx := context.Background()
		db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		m, err := mapping.New(mapping.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if wired {
			aud, err := audience.New(db, m, mapping.ProjectionConfig{}, audience.Options{})
			if err != nil {
				b.Fatal(err)
			}
			for i, q := range []string{`orders_count >= 1`, `email_marketing_consent = "subscribed"`, `has tag "new"`,
				`total_spent > 100`, `verified_email and created_at > now - 30d`} {
				if err := aud.Save(ctx, fmt.Sprintf("seg%d", i), q, false); err != nil {
					b.Fatal(err)
				}
			}
			db.SetProjection(aud.EventContact)
			db.SetSegmentHook(func(saved []store.SavedSegment) store.SegmentHook {
				hook, errs := aud.SegmentHook(saved)
				if len(errs) > 0 {
					b.Error(errs) // on the writer's goroutine
				}
				return hook
			})
		}
		committer := webhook.NewCommitter(db)
		hooks := httptest.NewServer(webhook.NewHandler(webhook.Config{Shop: shop, Secrets: []string{hookKey}, Mapper: m,
			Committer: committer, Logger: slog.New(slog.DiscardHandler)}))

		const base = int64(9007199254740993) // above 2^53, as Shopify's are
		var (
			mu      gosync.Mutex
			acked   = make([]time.Time, total) // when the sender had the 200
			arrived = make([]time.Time, total) // when the receiver had the event
			all     = make(chan struct{})
			count   int
			joined  int // segment.joined events received
		)
		recv, err := outboundtest.NewReceiver(secret, nil)
		if err != nil {
			b.Fatal(err)
		}
		recv.OnAccept(func(d outboundtest.Delivery) {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range d.Events {
				var e struct {
					Type      string `json:"type"`
					ContactID int64  `json:"contact_id"`
				}
				if err := json.Unmarshal(ev.JSON, &e); err != nil {
					continue
				}
				if e.Type == "segment.joined" {
					joined++
				}
				i := int(e.ContactID - base)
				if i >= 0 && i < total && arrived[i].IsZero() {
					arrived[i] = d.ReceivedAt
					if count++; count == total {
						close(all)
					}
				}
			}
		})
		if _, err := db.OpenEndpoint(ctx, "crm", "bench"); err != nil {
			b.Fatal(err)
		}
		d, err := outbound.New(outbound.Config{Feed: db, Logger: slog.New(slog.DiscardHandler),
			Endpoints: []outbound.Endpoint{{Name: "crm", URL: recv.URL(), Secret: secret}}})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { d.Run(rctx); close(stopped) }()

		reqs := make([]*http.Request, total)
		bodies := make([][]byte, total)
		now := time.Now().UTC()
		for i := range reqs {
			id := base + int64(i)
			ts := now.Add(-time.Minute).Format(time.RFC3339)
			body := []byte(fmt.Sprintf(`{"id":%d,"email":"bench%d@example.com","first_name":"Ana","last_name":"Lima","phone":null,`+
				`"state":"enabled","orders_count":0,"total_spent":"0.00","currency":"USD","note":null,"verified_email":true,"tax_exempt":false,`+
				`"tags":"new","created_at":"%s","updated_at":"%s","email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in",`+
				`"consent_updated_at":"%s"},"sms_marketing_consent":null,"last_order_id":null,"last_order_name":null,"addresses":[],"tax_exemptions":[]}`,
				id, i, ts, ts, ts))
			req, _ := http.NewRequest("POST", hooks.URL, nil)
			h := req.Header
			h.Set("Content-Type", "application/json")
			h.Set("X-Shopify-Topic", shopify.TopicCustomersCreate)
			h.Set("X-Shopify-Shop-Domain", shop)
			h.Set("X-Shopify-API-Version", "2024-04")
			h.Set("X-Shopify-Webhook-Id", "wh-"+strconv.Itoa(i))
			h.Set("X-Shopify-Triggered-At", now.Format(time.RFC3339Nano))
			h.Set("X-Shopify-Hmac-Sha256", webhook.Sign(body, []byte(hookKey)))
			reqs[i], bodies[i] = req, body
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
		next := make(chan int, senders)
		var (
			wg   gosync.WaitGroup
			fail gosync.Once
			ferr error
		)
		for range senders {
			wg.Go(func() {
				for i := range next {
					req := reqs[i].Clone(ctx)
					req.Body = httpBody(bodies[i])
					resp, err := client.Do(req)
					at := time.Now()
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("webhook %d: %d", i, resp.StatusCode)
						}
					}
					if err != nil {
						fail.Do(func() { ferr = err })
					}
					mu.Lock()
					acked[i] = at
					mu.Unlock()
				}
			})
		}
		start := time.Now()
		for i := range total { // 1,000 a second, on schedule
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
			next <- i
		}
		close(next)
		wg.Wait()
		sent := time.Since(start)
		select {
		case <-all:
		case <-time.After(time.Minute):
			b.Fatalf("%d of %d events delivered after a minute", count, total)
		}
		cancel()
		<-stopped
		hooks.Close()
		committer.Close()
		recv.Close()
		db.Close()
		if ferr != nil {
			b.Fatal(ferr)
		}
		mu.Lock()
		j := joined
		mu.Unlock()
		if wired && j < total {
			b.Fatalf("%d segment.joined events for %d new customers, each in some segment", j, total)
		}
		lat := make([]time.Duration, total)
		for i := range lat {
			lat[i] = max(0, arrived[i].Sub(acked[i])) // the event can come before the sender reads its 200
		}
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(float64(total)/sent.Seconds(), "webhooks/s")
		b.ReportMetric(ms(lat[total/2]), "p50-ms")
		b.ReportMetric(ms(lat[total*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[total-1]), "max-ms")
		b.ReportMetric(float64(len(recv.Accepted())), "deliveries")
	}
}

func httpBody(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
