package main

import (
	"context"
	"fmt"
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

// digitsJS is a JavaScript function that keeps the digits of an element's
// text: the page writes numbers in the browser's locale (20,000 or
// 20 000).
const digitsJS = `(sel) => { const e = document.querySelector(sel); return e ? e.textContent.replace(/[^0-9]/g, '') : '' }`

// TestBrowserDashboard drives the daemon's web page in headless Chromium,
// as a merchant would: a wrong token is refused, the right one opens the
// dashboard, Sync now imports the shop with visible progress, the counts
// match the store, and a search by a CJK name finds the customer.
func TestBrowserDashboard(t *testing.T) {
	b := newBrowser(t)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 2000, Seed: 61, Latency: 20 * time.Millisecond})
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
	customers := len(sim.CustomerIDs())
	d := startDaemon(t, serveEnv(env))

	// A wrong token is refused on the login form.
	b.do("login form", 30*time.Second,
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

	// The right one opens the dashboard.
	b.do("log in", 30*time.Second,
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#token').value = ''`), // SetValue refuses ""
		chromedp.SendKeys(chromedp.ID("token"), e2eSyncToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("sync-now")),
		chromedp.WaitEnabled(chromedp.ID("sync-now")),
	)
	browserRun(b, "#shop names the shop", 10*time.Second, chromedp.Poll[bool](
		`(document.querySelector('#shop')?.textContent || '').includes('e2e-shop')`, chromedp.WithPollingInterval(100*time.Millisecond)))

	// Sync now: the run goes to succeeded with a full progress bar.
	b.do("press Sync now", 10*time.Second, chromedp.Click(chromedp.ID("sync-now")))
	browserRun(b, "run succeeded with full progress", 70*time.Second, chromedp.Poll[bool](`(() => {
		const state = (document.querySelector('#run-state')?.textContent || '').trim();
		const p = document.querySelector('#sync-progress');
		return state === 'succeeded' && p !== null && p.max > 0 && p.value === p.max;
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))

	// The page's numbers are the store's.
	var st struct {
		LastRun  *shopsync.SyncRun `json:"last_run"`
		Contacts struct {
			Active  int64 `json:"active"`
			Deleted int64 `json:"deleted"`
		} `json:"contacts"`
	}
	d.call("GET", "/sync/status", &st)
	if st.LastRun == nil || st.LastRun.State != shopsync.RunSucceeded || st.LastRun.Created != int64(customers) || st.Contacts.Active != int64(customers) {
		t.Fatalf("status after the run: %+v, contacts %+v; want %d created and active", st.LastRun, st.Contacts, customers)
	}
	created, active := strconv.FormatInt(st.LastRun.Created, 10), strconv.FormatInt(st.Contacts.Active, 10)
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`(created, active) => {
		const d = `+digitsJS+`;
		return d('#run-created') === created && d('#contacts-active') === active;
	}`, chromedp.WithPollingArgs(created, active), chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	cancel()
	if err != nil {
		got := browserRun(b, "read the counts", 5*time.Second, chromedp.Evaluate[[]string](
			`[document.querySelector('#run-created')?.textContent, document.querySelector('#contacts-active')?.textContent]`))
		b.fail(fmt.Sprintf("#run-created and #contacts-active show %q, want %s created and %s active", got, created, active), err)
	}

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

	png := browserRun(b, "screenshot", 30*time.Second, chromedp.FullScreenshot(100))
	t.Logf("screenshot: %s", saveArtifact(t, "browser-dashboard.png", png))

	b.mu.Lock()
	for _, e := range b.exceptions {
		t.Errorf("uncaught javascript %s", e)
	}
	b.mu.Unlock()
}
