package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shopsync/shopsync/outbound/outboundtest"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

// TestBrowserOutbound drives the page's outbound panel in headless
// Chromium, at desktop and at 375 px: an endpoint whose CRM is down is
// shown retrying with the error; paused, the page says at the top that
// changes are not reaching the CRM, why, and the fix; with the CRM back,
// Resume now delivers every waiting event and the warning goes. Nothing
// scrolls sideways, and the console stays clean.
func TestBrowserOutbound(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	b := newBrowser(t)
	consoleErrors := watchConsole(b)
	const secret = "br0wserOutb0undSecret0123456789abc"
	crm, err := outboundtest.NewReceiver(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer crm.Close()
	crm.Down()
	sim, env := shopEnv(t, shopifytest.Options{Customers: 40, Seed: 2026})
	env = serveEnv(env)
	env["SHOPSYNC_OUTBOUND_ENDPOINTS"] = fmt.Sprintf(`[{"name":"crm","url":%q,"secret":%q}]`, crm.URL(), secret)
	env["SHOPSYNC_OUTBOUND_RETRY_MIN"] = "50ms"
	env["SHOPSYNC_OUTBOUND_RETRY_MAX"] = "200ms"
	d := startDaemon(t, env)
	d.importAll()

	ctx := context.Background()
	db, err := store.Open(ctx, env["SHOPSYNC_STORE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// pause pauses the endpoint as the deliverer does after
	// outbound.pause_after of failures (24h by default, 1m at least).
	pause := func() {
		t.Helper()
		eventually(t, "crm paused", func() string {
			eps, err := db.Endpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(eps) != 1 || eps[0].FailingSince == nil {
				return fmt.Sprintf("endpoints %+v: not failing yet", eps)
			}
			if ok, err := db.PauseEndpoint(ctx, "crm", eps[0].Generation, "no delivery was acknowledged for 24h0m0s"); err != nil || !ok {
				return fmt.Sprintf("pause: %v %v", ok, err)
			}
			return ""
		})
	}

	for _, view := range []struct {
		name     string
		viewport chromedp.Action[chromedp.Void]
	}{{"desktop", desktop}, {"phone", phoneNarrow}} {
		where := func(what string) string { return view.name + ", " + what }
		crm.Down()
		if view.name == "phone" {
			// New changes for the CRM that is down again.
			for _, id := range sim.CustomerIDs()[:5] {
				sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("seen on a phone") })
			}
			d.importAll()
		}
		b.do(where("sign in"), 30*time.Second,
			view.viewport,
			chromedp.Navigate(d.url+"/"),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), e2eSyncToken),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("outbound")),
		)
		b.waitText("#outbound-endpoints", "crm", 10*time.Second)
		b.waitText("#outbound-endpoints", "attempt", 20*time.Second) // retrying, with its error
		b.noOverflow(where("the endpoint retrying"))

		pause()
		// An idle page reads the overview every 15 s or so.
		b.waitText("#outbound-warning", "Changes are not reaching your CRM", 30*time.Second)
		b.waitText("#outbound-paused", "crm is paused", 5*time.Second)
		b.waitText("#outbound-paused", "no delivery was acknowledged for 24h0m0s", 5*time.Second)
		// At the top, above the headline, on a phone too.
		if above := browserRun(b, where("warning on top"), 5*time.Second, chromedp.Evaluate[bool](`
			document.querySelector('#outbound-warning').getBoundingClientRect().top <
			document.querySelector('#copy').getBoundingClientRect().top`)); !above {
			t.Errorf("%s: the warning is below the headline", view.name)
		}
		b.noOverflow(where("the endpoint paused"))
		b.screenshot("outbound-paused-" + view.name + ".png")

		// The CRM is back: Resume now delivers everything waiting.
		if err := crm.Up(); err != nil {
			t.Fatal(err)
		}
		b.do(where("resume now"), 10*time.Second,
			chromedp.ScrollIntoView(`#outbound-paused button`),
			chromedp.Click(`#outbound-paused button`),
		)
		eventually(t, where("every event delivered"), func() string {
			first, last, err := db.FeedBounds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := crm.LastSeq(); got != last {
				return fmt.Sprintf("the CRM has events up to %d, the feed %d to %d", got, first, last)
			}
			return ""
		})
		if err := crm.CheckOrder(1); err != nil {
			t.Error(err)
		}
		browserRun(b, where("the warning goes"), 30*time.Second, chromedp.PollFunction[bool](`() =>
			document.querySelector('#outbound-warning').hidden`, chromedp.WithPollingInterval(100*time.Millisecond)))
		if st := browserRun(b, where("state"), 5*time.Second, chromedp.Text(`#outbound-endpoints tbody tr`)); strings.Contains(st, "paused") {
			t.Errorf("%s: after Resume now the endpoint reads %q", view.name, st)
		}

		// Sign out: the next width signs in again.
		b.do(where("sign out"), 10*time.Second,
			chromedp.ScrollIntoView(chromedp.ID("sign-out")),
			chromedp.Click(chromedp.ID("sign-out")),
			chromedp.WaitVisible(chromedp.ID("token")),
		)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
