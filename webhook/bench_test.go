package webhook_test

import (
	"bytes"
	"context"
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

	"github.com/shopsync/shopsync/mapping"
	"github.com/shopsync/shopsync/shopify"
	"github.com/shopsync/shopsync/store"
	"github.com/shopsync/shopsync/webhook"
)

// BenchmarkWebhookThroughput sends 20,000 signed deliveries of mixed
// topics from 32 concurrent senders to the real receiver over loopback,
// with a real store (synchronous=FULL: every 200 is durably committed),
// and reports deliveries/s and the latency percentiles senders saw.
//
//	go test -run '^$' -bench WebhookThroughput -benchtime 1x ./webhook/
func BenchmarkWebhookThroughput(b *testing.B) {
	const (
		deliveries = 20000
		senders    = 32
		secret     = "bench_secret"
		shop       = "bench.myshopify.com"
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
		c := webhook.NewCommitter(db)
		h := webhook.NewHandler(webhook.Config{Shop: shop, Secrets: []string{secret}, Mapper: m, Committer: c,
			Logger: slog.New(slog.DiscardHandler)})
		srv := httptest.NewServer(h)
		reqs := make([]*benchDelivery, deliveries)
		base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		for i := range reqs {
			reqs[i] = mixedDelivery(i, base, secret, shop)
		}
		tr := &http.Transport{MaxIdleConnsPerHost: senders}
		client := &http.Client{Transport: tr}
		lat := make([]time.Duration, deliveries)
		var (
			wg   gosync.WaitGroup
			next = make(chan int)
			fail gosync.Once
			ferr error
		)
		start := time.Now()
		for range senders {
			wg.Go(func() {
				for i := range next {
					d := reqs[i]
					req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(d.body))
					req.Header = d.header.Clone()
					t0 := time.Now()
					resp, err := client.Do(req)
					lat[i] = time.Since(t0)
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("delivery %d (%s): %d", i, d.header.Get("X-Shopify-Topic"), resp.StatusCode)
						}
					}
					if err != nil {
						fail.Do(func() { ferr = err })
					}
				}
			})
		}
		for i := range reqs {
			next <- i
		}
		close(next)
		wg.Wait()
		elapsed := time.Since(start)
		srv.Close()
		c.Close()
		db.Close()
		tr.CloseIdleConnections()
		if ferr != nil {
			b.Fatal(ferr)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(deliveries)/elapsed.Seconds(), "deliveries/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	}
}

type benchDelivery struct {
	header http.Header
	body   []byte
}

// mixedDelivery builds delivery i: mostly updates and creates of 2,000
// customers (ids above 2^53), with consent, tags, purchasing summaries,
// deletes, and every 50th a redelivery of an earlier webhook id.
func mixedDelivery(i int, base time.Time, secret, shop string) *benchDelivery {
	id := int64(9007199254740993) + int64(i%2000)
	at := base.Add(time.Duration(i) * time.Millisecond)
	ts := at.Format(time.RFC3339)
	var topic, body string
	switch i % 10 {
	case 0, 1, 2, 3:
		topic = shopify.TopicCustomersUpdate
		body = fmt.Sprintf(`{"id":%d,"email":"user%d@example.com","first_name":"山田","last_name":"太郎","phone":null,"state":"enabled","note":"n%d","verified_email":true,"tax_exempt":false,"currency":"USD","created_at":"2024-01-01T00:00:00Z","updated_at":"%s","addresses":[],"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/%d"}`, id, i%2000, i, ts, id)
	case 4, 5:
		topic = shopify.TopicCustomersCreate
		body = fmt.Sprintf(`{"id":%d,"email":"user%d@example.com","first_name":"Ana","last_name":"Lima","state":"disabled","orders_count":0,"total_spent":"0.00","tags":"new","created_at":"%s","updated_at":"%s","email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"%s"},"sms_marketing_consent":null,"addresses":[],"tax_exemptions":[]}`, id, i%2000, ts, ts, ts)
	case 6:
		topic = shopify.TopicEmailConsentUpdate
		body = fmt.Sprintf(`{"customer_id":%d,"email_address":"user%d@example.com","email_marketing_consent":{"state":"unsubscribed","opt_in_level":null,"consent_updated_at":"%s"}}`, id, i%2000, ts)
	case 7:
		topic = shopify.TopicTagsAdded
		body = fmt.Sprintf(`{"customerId":"gid://shopify/Customer/%d","tags":["vip","t%d"],"occurredAt":"%s"}`, id, i%7, ts)
	case 8:
		topic = shopify.TopicPurchasingSummary
		body = fmt.Sprintf(`{"customerId":"gid://shopify/Customer/%d","numberOfOrders":"%d","amountSpent":{"amount":"%d.95","currencyCode":"USD"},"lastOrderId":"gid://shopify/Order/%d","occurredAt":"%s"}`, id, i%40, i, 1000+i, ts)
	case 9:
		topic = shopify.TopicCustomersDelete
		if i%20 != 9 {
			topic = shopify.TopicSMSConsentUpdate
			body = fmt.Sprintf(`{"id":%d,"phone":"+15555550100","sms_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"%s","consent_collected_from":"other"}}`, id, ts)
		} else {
			body = fmt.Sprintf(`{"id":%d,"tax_exemptions":[],"admin_graphql_api_id":"gid://shopify/Customer/%d"}`, id, id)
		}
	}
	webhookID := "wh-" + strconv.Itoa(i)
	if i%50 == 49 {
		webhookID = "wh-" + strconv.Itoa(i-40) // a redelivery: a duplicate
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Shop-Domain", shop)
	h.Set("X-Shopify-API-Version", "2025-01")
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Triggered-At", at.Format(time.RFC3339Nano))
	h.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte(body), []byte(secret)))
	return &benchDelivery{header: h, body: []byte(body)}
}
