package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
)

// browser is a headless Chromium tab driven through chromedp.
type browser struct {
	t   *testing.T
	ctx context.Context // the tab; steps derive their timeouts from it

	mu         gosync.Mutex
	exceptions []string // uncaught JavaScript exceptions
}

// newBrowser starts headless Debian Chromium, or skips the test when it
// is not installed.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed: apt-get install chromium (CI installs it)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		// Containers often give /dev/shm 64 MB, too little for Chromium.
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	// Start the browser on the tab's own context (a step's timeout must
	// not be the browser's lifetime), giving up after a minute.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v", path, err)
		}
	case <-time.After(time.Minute):
		cancelTab()
		t.Fatalf("%s did not start in a minute", path)
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			msg := "exception"
			if d := ev.ExceptionDetails; d != nil {
				msg = d.Text
				if d.Exception != nil && d.Exception.Description != "" {
					msg += ": " + d.Exception.Description
				}
				msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, msg)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps within timeout; on failure it saves a screenshot and the
// page's text, then fails the test.
func (b *browser) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// browserRun runs one action that returns a value, like do.
func browserRun[T any](b *browser, what string, timeout time.Duration, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, serr := chromedp.Run(ctx, chromedp.FullScreenshot(100)); serr == nil {
		b.t.Logf("screenshot of the failure: %s", saveArtifact(b.t, "browser-failure.png", png))
	}
	if text, terr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : document.documentElement.outerHTML`)); terr == nil {
		if len(text) > 3000 {
			text = text[:3000] + "..."
		}
		b.t.Logf("page text:\n%s", text)
	}
	b.mu.Lock()
	for _, e := range b.exceptions {
		b.t.Logf("javascript: %s", e)
	}
	b.mu.Unlock()
	b.t.Fatalf("%s: %v", what, err)
}

// saveArtifact writes a test artifact to $SHOPSYNC_ARTIFACTS, or to the
// test's temporary directory, and returns its path.
func saveArtifact(t *testing.T, name string, data []byte) string {
	t.Helper()
	dir := os.Getenv("SHOPSYNC_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Viewports the page is tested at: a desktop and a phone (iPhone 12 to
// 15 width, in CSS pixels).
var (
	desktop = chromedp.EmulateViewport(1280, 900)
	phone   = chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)
)

// noOverflowJS is "" when nothing sticks out of the viewport sideways,
// nor out of its card; else it names what does.
const noOverflowJS = `(() => {
	const name = e => e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right);
	const w = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > w) {
		const out = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1 && e.offsetParent !== null);
		return 'scrollWidth ' + document.documentElement.scrollWidth + ' > ' + w + ': ' + out.slice(0, 5).map(name).join(', ');
	}
	const out = [];
	for (const card of document.querySelectorAll('.card')) {
		if (card.offsetParent === null) continue;
		const right = card.getBoundingClientRect().right;
		for (const e of card.querySelectorAll('*')) {
			if (e.closest('thead') && e.closest('thead').getBoundingClientRect().width <= 1) continue; // visually hidden headings
			if (e.offsetParent !== null && e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > right + 1) out.push(name(e) + ' > ' + Math.round(right));
		}
	}
	return out.length ? 'out of their card: ' + out.slice(0, 5).join(', ') : '';
})()`

// noOverflow fails the test when the page is wider than the viewport.
func (b *browser) noOverflow(where string) {
	b.t.Helper()
	if msg := browserRun(b, "overflow "+where, 10*time.Second, chromedp.Evaluate[string](noOverflowJS)); msg != "" {
		b.t.Errorf("%s: horizontal overflow: %s", where, msg)
	}
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(sel, want string, timeout time.Duration) {
	b.t.Helper()
	browserRun(b, fmt.Sprintf("%s shows %q", sel, want), timeout+5*time.Second, chromedp.PollFunction[bool](`(sel, want) => {
		const e = document.querySelector(sel);
		return e !== null && e.offsetParent !== null && e.textContent.includes(want);
	}`, chromedp.WithPollingArgs(sel, want), chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
}

// screenshot saves the viewport as a test artifact, and into docs/ when
// SHOPSYNC_SCREENSHOTS names the folder (the README's pictures).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := browserRun(b, "screenshot", 30*time.Second, chromedp.CaptureScreenshot())
	b.t.Logf("screenshot: %s", saveArtifact(b.t, name, png))
	if dir := os.Getenv("SHOPSYNC_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			b.t.Error(err)
		}
	}
}

// TestBrowserDashboard drives the daemon's web page in headless Chromium,
// as a merchant would, at desktop and phone widths: a wrong token is
// refused and the right one opens the page; the headline says no import
// has run; Sync now shows its progress on screen, the headline says an
// import is running, then that the copy is exact; a sweep lists the
// changes webhooks missed; refused webhooks raise a warning with the fix;
// a search by a CJK name finds the customer, whose page explains each
// change; and nothing is wider than a phone.
func TestBrowserDashboard(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	b := newBrowser(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2000, Seed: 61})
	// One 山田 in the shop: the generator makes about thirty (山田 太郎),
	// and the search must find ours whatever the page's result limit.
	ids := sim.CustomerIDs()
	for _, id := range ids {
		if c, _ := sim.Customer(id); (c.LastName != nil && strings.Contains(*c.LastName, "山田")) ||
			(c.FirstName != nil && strings.Contains(*c.FirstName, "山田")) {
			sim.Delete(id)
		}
	}
	const email = "hanako.yamada.browser@example.jp"
	hanako := shopifytest.Customer{ID: ids[len(ids)-1] + 7, Email: ptrTo(email), FirstName: ptrTo("花子"), LastName: ptrTo("山田"),
		State: "enabled", CreatedAt: "2024-06-01T09:00:00+09:00", UpdatedAt: "2025-01-15T18:30:00+09:00",
		OrdersCount: 2, TotalSpent: "12800.00", Currency: "JPY", Tags: "常連", VerifiedEmail: true}
	sim.Upsert(hanako)
	// And a Nguyễn, found by "nguyen": the search folds accents.
	nguyen := shopifytest.Customer{ID: ids[len(ids)-1] + 9, Email: ptrTo("thu.nguyen@example.vn"), FirstName: ptrTo("Thu"), LastName: ptrTo("Nguyễn"),
		Phone: ptrTo("+84 28 3822 1234"), State: "enabled", CreatedAt: "2023-03-14T10:00:00+07:00", UpdatedAt: "2025-02-01T08:15:30+07:00",
		OrdersCount: 7, TotalSpent: "1249.50", Currency: "EUR", Tags: "VIP, Newsletter", VerifiedEmail: true,
		EmailMarketingConsent: &shopifytest.EmailConsent{State: "not_subscribed", ConsentUpdatedAt: ptrTo("2024-11-02T19:04:11+07:00")}}
	sim.Upsert(nguyen)
	customers := len(sim.CustomerIDs())
	env = serveEnv(env)
	addr := freePort(t)
	env["SHOPSYNC_HTTP_LISTEN"] = addr
	env["SHOPSYNC_WEBHOOKS_ADDRESS"] = "http://" + addr + "/webhooks/shopify"
	env["SHOPSYNC_SYNC_RECONCILE_EVERY"] = "1s"
	env["SHOPSYNC_SHOPIFY_REQUEST_TIMEOUT"] = "60s" // the listing waits for the test below
	d := startDaemon(t, env)

	// A wrong token is refused on the login form.
	b.do("login form", 30*time.Second,
		desktop,
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("login-error")),
		chromedp.WaitVisible(chromedp.CSS("form#login")),
	)
	if msg := browserRun(b, "login error text", 5*time.Second, chromedp.Text(chromedp.ID("login-error"))); strings.TrimSpace(msg) == "" {
		t.Error("#login-error is visible but empty")
	}
	if ac := browserRun(b, "username field", 5*time.Second, chromedp.Evaluate[string](`document.querySelector('#login input[autocomplete=username]')?.value || ''`)); ac == "" {
		t.Error("the sign-in form has no username field for password managers")
	}

	// The right one, pasted with spaces around it, opens the page.
	b.do("log in", 30*time.Second,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#token').value = ''`), // SetValue refuses ""
		chromedp.SendKeys(chromedp.ID("token"), "  "+e2eSyncToken+" "),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("sync-now")),
		chromedp.WaitEnabled(chromedp.ID("sync-now")),
	)
	browserRun(b, "#shop names the shop", 10*time.Second, chromedp.Poll[bool](
		`(document.querySelector('#shop')?.textContent || '').includes('e2e-shop')`, chromedp.WithPollingInterval(100*time.Millisecond)))

	// Before any import: the headline says so, and nothing looks like it
	// is running.
	b.waitText("#copy-state", "No full import yet", 10*time.Second)
	b.waitText("#import-summary", "None yet", 5*time.Second)
	if shown := browserRun(b, "progress before any run", 5*time.Second, chromedp.Evaluate[bool](
		`(() => { const p = document.querySelector('#sync-progress'); return p.offsetParent !== null; })()`)); shown {
		t.Error("a progress bar is shown before any run")
	}
	b.noOverflow("desktop, before any import")

	// On a phone, Sync now: its progress is on screen, and the headline
	// says an import runs. The listing waits until the test lets it go.
	gate := make(chan struct{})
	var once gosync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	sim.OnRequest(func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/customers.json") && r.URL.Query().Get("updated_at_min") == "" {
			<-gate
		}
	})
	b.do("phone, top of the page", 10*time.Second, phone, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.noOverflow("phone, before any import")
	b.do("press Sync now", 10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#sync-now').click()`))
	browserRun(b, "the progress is on screen after Sync now", 15*time.Second, chromedp.Poll[bool](`(() => {
		const box = document.querySelector('#run-box'), p = document.querySelector('#sync-progress');
		if (!box || !p || p.offsetParent === null) return false;
		const r = p.getBoundingClientRect();
		return r.top >= 0 && r.bottom <= window.innerHeight && (document.querySelector('#run-state')?.textContent || '') === 'running';
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	b.waitText("#copy-state", "Importing", 15*time.Second)
	b.noOverflow("phone, during the import")
	b.screenshot("phone-importing.png")
	release()

	// The import ends: the copy is exact, the bar full.
	browserRun(b, "run succeeded with full progress", 70*time.Second, chromedp.Poll[bool](`(() => {
		const state = (document.querySelector('#run-state')?.textContent || '').trim();
		const p = document.querySelector('#sync-progress');
		return state === 'succeeded' && p !== null && p.max > 0 && p.value === p.max;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	sim.OnRequest(nil)
	b.waitText("#copy-state", "Your copy is exact", 20*time.Second)
	var st struct {
		LastRun  *shopsync.SyncRun `json:"last_run"`
		Contacts struct {
			Active int64 `json:"active"`
		} `json:"contacts"`
	}
	d.call("GET", "/sync/status", &st)
	if st.Contacts.Active != int64(customers) {
		t.Fatalf("%d contacts active, want %d", st.Contacts.Active, customers)
	}
	digits := browserRun(b, "headline digits", 5*time.Second, chromedp.Evaluate[string](
		`(document.querySelector('#copy-detail')?.textContent || '').replace(/[^0-9 ]/g, '').replace(/ +/g, ' ')`))
	if n := strconv.Itoa(customers); strings.Count(strings.ReplaceAll(digits, " ", ""), n) < 2 {
		t.Errorf("the headline %q does not show %s contacts and %s customers", digits, n, n)
	}
	b.waitText("#import-summary", "Succeeded", 10*time.Second)

	// Three customers change without a webhook (the simulator sends none
	// here): a sweep catches them and the page lists them.
	for _, id := range ids[10:13] {
		sim.Update(id, func(c *shopifytest.Customer) { c.Note = ptrTo("changed while webhooks were down") })
	}
	b.waitText("#sweep-summary", "Caught 3 changes webhooks missed", 30*time.Second)
	b.waitText("#caught-summary", "3 changes", 10*time.Second)
	if n := browserRun(b, "caught contacts", 5*time.Second, chromedp.Evaluate[int](`document.querySelectorAll('#caught-list li').length`)); n != 3 {
		t.Errorf("%d contacts listed as caught, want 3", n)
	}
	b.waitText("#copy-state", "Your copy is exact", 10*time.Second)

	// Nguyễn subscribes: Shopify's webhook brings it, her page explains it.
	sub := nguyen
	sub.EmailMarketingConsent = &shopifytest.EmailConsent{State: "subscribed", OptInLevel: ptrTo("confirmed_opt_in"),
		ConsentUpdatedAt: ptrTo(time.Now().UTC().Format(time.RFC3339))}
	dl, err := shopifytest.CustomerDelivery("customers_email_marketing_consent/update", sub, shopifytest.Gen2025_01)
	if err != nil {
		t.Fatal(err)
	}
	sender := shopifytest.NewWebhookSender(shopifytest.WebhookOptions{Secret: e2eWebhookSecret, ShopDomain: e2eShopDomain})
	defer sender.Close()
	if status, err := sender.Send(context.Background(), d.url+"/webhooks/shopify", dl); err != nil || status != http.StatusOK {
		t.Fatalf("consent webhook: %d %v", status, err)
	}

	// The desktop page, with the connection checked.
	b.do("desktop", 10*time.Second, desktop, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.waitText("#webhooks-summary", "Live: last delivery", 20*time.Second)
	b.do("check connection", 10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#check-now').click()`))
	browserRun(b, "check results", 40*time.Second, chromedp.Poll[bool](`document.querySelectorAll('#check-results li').length >= 8`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(35*time.Second)))
	for _, check := range []string{"connection", "scope", "protected_data", "subscriptions", "test_delivery"} {
		if got := browserRun(b, "check "+check, 5*time.Second, chromedp.Evaluate[string](
			`document.querySelector('#check-results li[data-check=`+check+`]')?.dataset.status || ''`)); got != "ok" {
			t.Errorf("check %s: %q, want ok", check, got)
		}
	}
	b.do("back to the top", 10*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.noOverflow("desktop, after the import")
	b.screenshot("desktop-overview.png")

	// Deliveries signed with a wrong key: a warning that says why and
	// what to do.
	for range 2 {
		req, _ := http.NewRequest("POST", d.url+"/webhooks/shopify", strings.NewReader(`{"id":1}`))
		req.Header.Set("X-Shopify-Topic", "customers/update")
		req.Header.Set("X-Shopify-Hmac-Sha256", "bm90IHRoZSByaWdodCBzaWduYXR1cmUgYXQgYWxsISE=")
		req.Header.Set("X-Shopify-Shop-Domain", "e2e-shop.myshopify.com")
		req.Header.Set("X-Shopify-Webhook-Id", "bad-1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a bad signature: %d, want 401", resp.StatusCode)
		}
	}
	b.waitText("#rejected-warning", "2 deliveries with a bad signature", 20*time.Second)
	b.waitText("#rejected-warning", "Settings > Notifications > Webhooks", 5*time.Second)
	b.do("phone, top of the page", 10*time.Second, phone, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.noOverflow("phone, after the import, with the warning")
	b.screenshot("phone-overview.png")
	b.do("desktop again", 10*time.Second, desktop)

	// Search by the CJK family name, open the customer.
	b.do("search 山田", 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS("form#search-form")),
		chromedp.SendKeys(chromedp.ID("search"), "山田"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#search-form').requestSubmit()`),
	)
	if v := browserRun(b, "search field", 5*time.Second, chromedp.Value(chromedp.ID("search"))); v != "山田" {
		t.Errorf("#search holds %q after typing 山田", v)
	}
	id := browserRun(b, "a result for 山田", 15*time.Second, chromedp.Poll[string](`(() => {
		const links = [...document.querySelectorAll('#results a[data-id]')];
		const a = links.find(a => a.textContent.includes('花子')) || links.find(a => a.textContent.includes('山田'));
		return a ? a.dataset.id : '';
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	b.do("open the result", 10*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#results a[data-id=%q]`, id))))
	browserRun(b, "the contact's name and email", 15*time.Second, chromedp.PollFunction[bool](`(email) => {
		const c = document.querySelector('#contact'), n = document.querySelector('#contact-name'), e = document.querySelector('#contact-email');
		return c !== null && c.offsetParent !== null && n !== null && e !== null &&
			n.textContent.includes('山田') && n.textContent.includes('花子') && e.textContent.includes(email);
	}`, chromedp.WithPollingArgs(email), chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	name := browserRun(b, "contact name", 5*time.Second, chromedp.Text(chromedp.ID("contact-name")))
	if !strings.Contains(name, "山田 花子") && !strings.Contains(name, "花子 山田") {
		t.Errorf("#contact-name %q, want 山田 花子", name)
	}
	b.waitText("#contact-timeline", "by the full import", 5*time.Second)
	b.waitText("#contact-summary", "Orders", 5*time.Second)
	if href := browserRun(b, "admin link", 5*time.Second, chromedp.Evaluate[string](`document.querySelector('#contact-admin').href`)); href != "https://admin.shopify.com/store/e2e-shop/customers/"+id {
		t.Errorf("admin link %q", href)
	}

	// "nguyen" finds Nguyễn; her page, on a desktop and on a phone.
	b.do("search nguyen", 10*time.Second,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/contacts'`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#search').value = ''`),
		chromedp.SendKeys(chromedp.ID("search"), "nguyen"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#search-form').requestSubmit()`),
	)
	nid := strconv.FormatInt(nguyen.ID, 10)
	b.do("open Nguyễn", 20*time.Second,
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#results a[data-id=%q]`, nid))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#results a[data-id=%q]`, nid))))
	b.waitText("#contact-name", "Thu Nguyễn", 10*time.Second)
	b.waitText("#contact-summary", "Subscribed", 5*time.Second)
	b.waitText("#contact-timeline", "by Shopify webhook (email consent changed)", 5*time.Second)
	b.waitText("#contact-timeline", "Email consent → Subscribed", 5*time.Second)
	b.do("contact at the top", 10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#contact').scrollIntoView()`))
	b.screenshot("desktop-contact.png")

	// The contact's page on a phone: no overflow, and not miles long, even
	// with every attribute shown.
	b.do("phone contact", 10*time.Second, phone, chromedp.Evaluate[chromedp.Void](`document.querySelector('#contact-all').open = true`))
	b.noOverflow("phone, the contact's page with every attribute")
	if h := browserRun(b, "contact height", 5*time.Second, chromedp.Evaluate[int](`Math.round(document.querySelector('#contact').getBoundingClientRect().height)`)); h > 3000 {
		t.Errorf("the contact's page is %d px tall on a phone", h)
	}
	b.do("contact at the top", 10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#contact').scrollIntoView()`))
	b.screenshot("phone-contact.png")

	b.mu.Lock()
	for _, e := range b.exceptions {
		t.Errorf("uncaught javascript %s", e)
	}
	b.mu.Unlock()
}

// TestBrowserFailedImport: a first import that Shopify refuses reads, on
// a phone, as what happened and what to do, the technical error one
// click away, and nothing says the next run will get past it.
func TestBrowserFailedImport(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	b := newBrowser(t)
	_, env := shopEnv(t, shopifytest.Options{Customers: 20, Seed: 62})
	env["SHOPSYNC_SHOPIFY_ACCESS_TOKEN"] = "shpat_wrong_SECRET"
	d := startDaemon(t, serveEnv(env))
	b.do("log in on a phone", 30*time.Second,
		phone,
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), e2eSyncToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("sync-now")),
	)
	b.waitText("#copy-state", "No full import yet", 10*time.Second)
	b.do("press Sync now", 10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#sync-now').click()`))
	b.waitText("#copy-state", "The first full import did not finish", 20*time.Second)
	b.waitText("#copy-problem", "Shopify refused the access token (HTTP 401).", 5*time.Second)
	b.waitText("#run-error", "at the top of the page", 5*time.Second) // said once, above
	b.waitText("#import-summary", "Failed: Shopify refused the access token", 5*time.Second)
	got := browserRun(b, "the failure's words", 5*time.Second, chromedp.Evaluate[[]string](`(() => {
		const box = document.querySelector('#copy-problem');
		const d = box.querySelector('details');
		return [box.innerText, d ? String(d.open) : 'no details', d ? d.querySelector('pre').textContent : ''];
	})()`))
	if !strings.Contains(got[0], "Copy the Admin API access token") {
		t.Errorf("no fix in %q", got[0])
	}
	if strings.Contains(got[0], "count customers") || strings.Contains(got[0], "continues where") {
		t.Errorf("the visible text repeats the technical error or promises a resume: %q", got[0])
	}
	if got[1] != "false" || !strings.Contains(got[2], "HTTP 401") {
		t.Errorf("technical detail: open %s, %q; want it folded, with the error", got[1], got[2])
	}
	if strings.Contains(got[0]+got[2], "SECRET") {
		t.Error("the token appears on the page")
	}
	b.noOverflow("phone, a failed import")
	b.do("top", 5*time.Second, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.screenshot("phone-failed-import.png")
}
