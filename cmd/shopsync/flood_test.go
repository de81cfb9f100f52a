package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// TestServeUnverifiedFloodBounded is issue 15's fifth finding against the
// real binary: 300 senders that declare a 1 MiB body, trickle it in and
// sign it wrong took the daemon from 35 MB to 658 MB of RSS. Now the bytes
// of unverified bodies are capped (503 and Retry-After beyond), a body must
// arrive within 5 s, and genuine deliveries keep coming through.
func TestServeUnverifiedFloodBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 300 connections for several seconds")
	}
	sim, env := shopEnv(t, shopifytest.Options{Customers: 20, Seed: 61, ShopDomain: e2eShopDomain})
	env = serveEnv(env)
	if v := os.Getenv("FLOOD_GODEBUG"); v != "" {
		env["GODEBUG"] = v
	}
	d := startProcess(t, env) // its peak RSS is the measure
	addr := strings.TrimPrefix(d.url, "http://")
	ids := sim.CustomerIDs()

	const (
		senders = 300
		size    = 1 << 20
		attack  = 8 * time.Second
	)
	stop := make(chan struct{})
	var (
		wg       gosync.WaitGroup
		refused  atomic.Int64 // 503s
		held     atomic.Int64 // bodies the daemon read, until it cut them off
		attempts atomic.Int64
	)
	head := fmt.Sprintf("POST /webhooks/shopify HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"X-Shopify-Topic: customers/update\r\nX-Shopify-Hmac-Sha256: %s\r\nContent-Length: %d\r\n\r\n",
		addr, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", size)
	chunk := bytes.Repeat([]byte{' '}, 32<<10)
	for range senders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				attempts.Add(1)
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				conn.Write([]byte(head))
				// A reader sees the answer, if any, while the body trickles.
				answered := make(chan int, 1)
				go func() {
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if err != nil {
						answered <- 0
						return
					}
					resp.Body.Close()
					answered <- resp.StatusCode
				}()
			trickle:
				for sent := 0; sent < size; sent += len(chunk) {
					select {
					case code := <-answered:
						if code == http.StatusServiceUnavailable {
							refused.Add(1)
						} else {
							held.Add(1)
						}
						break trickle
					case <-stop:
						break trickle
					case <-time.After(150 * time.Millisecond):
					}
					if _, err := conn.Write(chunk); err != nil {
						held.Add(1)
						break
					}
				}
				conn.Close()
			}
		})
	}

	// Genuine deliveries during the flood: each must be stored.
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	deadline := time.Now().Add(attack)
	genuine, failed := 0, 0
	for i := 0; time.Now().Before(deadline); i++ {
		c, _ := sim.Customer(ids[i%len(ids)])
		note := fmt.Sprintf("genuine %d", i)
		c.Note = &note
		dl, err := shopifytest.CustomerDelivery(shopifytest.TopicCustomersUpdate, c, shopifytest.Gen2025_01)
		if err != nil {
			t.Fatal(err)
		}
		dl.TriggeredAt = time.Now()
		status, err := sender.Send(t.Context(), d.url+"/webhooks/shopify", dl)
		genuine++
		if err != nil || status != http.StatusOK {
			failed++
			t.Logf("genuine delivery %d during the flood: %d %v", i, status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	hwm := peakRSS(t, d.cmd.Process.Pid)
	t.Logf("flood: %d connections, %d refused with 503, %d read then cut; %d genuine deliveries, %d failed; peak RSS %d MB",
		attempts.Load(), refused.Load(), held.Load(), genuine, failed, hwm>>20)
	if failed > 0 {
		t.Errorf("%d of %d genuine deliveries failed during the flood", failed, genuine)
	}
	if refused.Load() == 0 {
		t.Error("no sender was refused: the flood never reached the cap")
	}
	if hwm > 100<<20 {
		t.Errorf("peak RSS %d MB under the flood, want under 100 MB", hwm>>20)
	}
	if c := d.contact(ids[(genuine-1)%len(ids)]); c == nil || c["attributes"].(map[string]any)["note"] != fmt.Sprintf("genuine %d", genuine-1) {
		t.Errorf("the last genuine delivery is not stored: %v", c)
	}
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
