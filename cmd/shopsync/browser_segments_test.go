package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/shopsync/shopsync/shopifytest"
)

// phoneNarrow is the narrowest phone the page is tested at: 375 CSS
// pixels (iPhone SE, 12 mini).
var phoneNarrow = chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch)

// watchConsole collects what the page writes to the console as an error
// (a call of console.error, an uncaught exception, an error of the
// browser's log), but for the answers the page expects: a segment with a
// mistake is a 400, a name taken a 409, and a page signed out asks its
// session in vain.
func watchConsole(b *browser) func() []string {
	var (
		mu   gosync.Mutex
		errs []string
	)
	messages := chromedp.Console(b.ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() {
				continue
			}
			if m.Source == "network" && (strings.HasSuffix(m.URL, "/api/session") && strings.Contains(m.Text, "status of 401") ||
				strings.Contains(m.URL, "/segments/preview?") && strings.Contains(m.Text, "status of 400") ||
				strings.HasSuffix(m.URL, "/segments") && strings.Contains(m.Text, "status of 409")) {
				continue
			}
			mu.Lock()
			errs = append(errs, fmt.Sprintf("%s (%s)", m, m.URL))
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// apiGet is GET path with the sync token: its status and body.
func (d *daemon) apiGet(path string) (int, []byte) {
	d.t.Helper()
	req, err := http.NewRequest("GET", d.url+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e2eSyncToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// apiJSON is apiGet decoded, numbers as json.Number (ids are above 2^53).
func (d *daemon) apiJSON(path string, want int, out any) {
	d.t.Helper()
	code, body := d.apiGet(path)
	if code != want {
		d.t.Fatalf("GET %s: %d, want %d: %s", path, code, want, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// TestBrowserSegments drives the page's audience panels in headless
// Chromium, at desktop and at 375 px: the segments listed with the counts
// the API gives; a segment typed with a mistake shows the mistake where it
// is, then, fixed, its live count and first contacts; saved, it is listed
// with its count; its email list reports what it leaves out; its
// downloads point at the export and give its rows; deleted, it is gone;
// and the mapping panel shows a contact as stored and as the CRM sees it,
// ids exact. Nothing scrolls sideways, and the console stays clean.
func TestBrowserSegments(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	b := newBrowser(t)
	consoleErrors := watchConsole(b)
	sim, env := shopEnv(t, shopifytest.Options{Customers: 300, Seed: 1819})
	d := startDaemon(t, serveEnv(env))
	d.importAll()

	// What the API says, for the page to agree with.
	var list struct {
		Segments []struct {
			Name    string `json:"name"`
			Builtin bool   `json:"builtin"`
		} `json:"segments"`
	}
	d.apiJSON("/segments", http.StatusOK, &list)
	counts := map[string]string{}
	for _, s := range list.Segments {
		var c struct {
			Count json.Number `json:"count"`
		}
		d.apiJSON("/segments/"+s.Name+"/count", http.StatusOK, &c)
		counts[s.Name] = c.Count.String()
	}
	if len(counts) < 6 {
		t.Fatalf("%d segments built in, want 6 or more", len(counts))
	}
	const (
		name  = "loyal_vips"
		wrong = `has tag "vip" and orders_count >= 10 and created_at < now - 30x`
		query = `has tag "vip" and orders_count >= 10 and created_at < now - 30d`
	)
	var mistake struct {
		Caret string `json:"caret"`
	}
	d.apiJSON("/segments/preview?q="+url.QueryEscape(wrong), http.StatusBadRequest, &mistake)
	var preview struct {
		Count    json.Number      `json:"count"`
		Contacts []map[string]any `json:"contacts"`
	}
	d.apiJSON("/segments/preview?limit=5&q="+url.QueryEscape(query), http.StatusOK, &preview)
	want, _ := strconv.Atoi(preview.Count.String())
	if want < 6 || want >= len(sim.CustomerIDs()) {
		t.Fatalf("the segment picks %d of %d contacts: want a few, and more than the preview shows", want, len(sim.CustomerIDs()))
	}
	ids := sim.CustomerIDs()
	newest := strconv.FormatInt(ids[len(ids)-1], 10)
	picked := strconv.FormatInt(ids[7], 10)

	for _, view := range []struct {
		name     string
		viewport chromedp.Action[chromedp.Void]
	}{{"desktop", desktop}, {"phone", phoneNarrow}} {
		where := func(what string) string { return view.name + ", " + what }

		// Sign in, straight to the segments.
		b.do(where("sign in"), 30*time.Second,
			view.viewport,
			chromedp.Navigate(d.url+"/#/segments"),
			chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), e2eSyncToken),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("segment-list")),
		)

		// Every segment, with the API's count.
		got := browserRun(b, where("counts"), 15*time.Second, chromedp.Poll[map[string]string](`(() => {
			const rows = [...document.querySelectorAll('#segment-list tr[data-segment]')];
			if (rows.length === 0 || rows.some(r => r.querySelector('.count[aria-busy]'))) return null;
			return Object.fromEntries(rows.map(r => [r.dataset.segment, r.querySelector('.count').textContent.replace(/[^0-9]/g, '')]));
		})()`, chromedp.WithPollingInterval(50*time.Millisecond)))
		for n, c := range counts {
			if got[n] != c {
				t.Errorf("%s: segment %s shows %q contacts, the API %s", view.name, n, got[n], c)
			}
		}
		if len(got) != len(counts) {
			t.Errorf("%s: the page lists %d segments, the API %d", view.name, len(got), len(counts))
		}
		b.noOverflow(where("the segments"))

		// A mistake, typed: shown under the segment, where it is.
		b.do(where("type a segment with a mistake"), 10*time.Second,
			chromedp.ScrollIntoView(chromedp.ID("segment-name")),
			chromedp.SendKeys(chromedp.ID("segment-name"), name),
			chromedp.SendKeys(chromedp.ID("segment-query"), wrong),
		)
		b.waitText("#segment-error", `unknown unit "x": use d, h or m`, 10*time.Second)
		if caret := browserRun(b, where("caret"), 5*time.Second, chromedp.Text(chromedp.ID("segment-caret"))); caret != mistake.Caret {
			t.Errorf("%s: the caret reads\n%s\nwant\n%s", view.name, caret, mistake.Caret)
		}
		if inv := browserRun(b, where("aria-invalid"), 5*time.Second, chromedp.Evaluate[string](`document.querySelector('#segment-query').getAttribute('aria-invalid') || ''`)); inv != "true" {
			t.Errorf("%s: the segment with a mistake is not marked invalid", view.name)
		}

		// Fixed: the live count and the first contacts, ids exact.
		b.do(where("fix the mistake"), 10*time.Second, chromedp.SendKeys(chromedp.ID("segment-query"), kb.Backspace+"d"))
		browserRun(b, where("the live count"), 15*time.Second, chromedp.PollFunction[bool](`(want) => {
			const s = document.querySelector('#segment-preview-status');
			return s.dataset.count === want && document.querySelector('#segment-error').hidden;
		}`, chromedp.WithPollingArgs(preview.Count.String()), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		b.waitText("#segment-preview-status", fmt.Sprintf("%d contacts match; the first 5", want), 5*time.Second)
		if view.name == "phone" {
			// The picture: a segment being written, its count and first
			// contacts.
			b.do(where("the preview on screen"), 5*time.Second, chromedp.Evaluate[chromedp.Void](
				`document.querySelector('label[for=segment-query]').scrollIntoView(); scrollBy(0, -8)`))
			b.screenshot("segments-phone.png")
		}
		table := browserRun(b, where("the preview"), 5*time.Second, chromedp.Evaluate[[][]string](`(() => {
			const t = document.querySelector('#segment-preview');
			return [[...t.tHead.rows[0].cells].map(c => c.textContent), ...[...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent))];
		})()`))
		if len(table) != 6 || !strings.Contains(strings.Join(table[0], " "), "email") {
			t.Fatalf("%s: the preview %q: want the email and 5 contacts", view.name, table)
		}
		for i, row := range table[1:] {
			for j, key := range table[0] {
				if wantCell := previewCell(preview.Contacts[i][key]); row[j] != wantCell {
					t.Errorf("%s: preview row %d, %s: %q, want %q", view.name, i, key, row[j], wantCell)
				}
			}
		}

		// Saved: listed, with its count.
		b.do(where("save"), 10*time.Second, chromedp.Click(chromedp.ID("segment-save")))
		b.waitText("#segment-save-status", "Saved the segment", 10*time.Second)
		row := fmt.Sprintf(`#segment-list tr[data-segment=%q]`, name)
		browserRun(b, where("the saved segment's count"), 15*time.Second, chromedp.PollFunction[bool](`(sel, want) => {
			const r = document.querySelector(sel);
			return r !== null && r.dataset.count === want;
		}`, chromedp.WithPollingArgs(row, preview.Count.String()), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		if q := browserRun(b, where("the form, emptied"), 5*time.Second, chromedp.Evaluate[string](`document.querySelector('#segment-query').value + document.querySelector('#segment-name').value`)); q != "" {
			t.Errorf("%s: the form still holds %q after saving", view.name, q)
		}
		if view.name == "desktop" {
			// Its name again: taken, said under the name, nothing saved.
			b.do(where("save under a taken name"), 10*time.Second,
				chromedp.SendKeys(chromedp.ID("segment-name"), name),
				chromedp.SendKeys(chromedp.ID("segment-query"), "true"),
				chromedp.Click(chromedp.ID("segment-save")))
			b.waitText("#segment-name-error", "A segment called “"+name+"” exists", 10*time.Second)
			b.do(where("empty the form"), 5*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#segment-form').reset()`))
		}

		// Its email list: what it keeps and leaves out, and the download.
		var report struct {
			Summary string `json:"summary"`
			Report  struct {
				Included int `json:"included"`
			} `json:"report"`
		}
		d.apiJSON("/segments/"+name+"/audience?for=email", http.StatusOK, &report)
		b.do(where("open the email list"), 10*time.Second, chromedp.Click(chromedp.CSS(row+` button[data-for=email]`)))
		b.waitText(row+" + tr.segment-more .report-summary", report.Summary, 10*time.Second)
		links := browserRun(b, where("download links"), 5*time.Second, chromedp.Evaluate[[]string](
			fmt.Sprintf(`[...document.querySelectorAll('%s a[data-format], %s + tr.segment-more a[data-format]')].map(a => a.href)`, row, row)))
		base := d.url + "/contacts/export?segment=" + name + "&format="
		wantLinks := []string{base + "csv-excel", base + "csv", base + "jsonl", base + "csv-excel&for=email", base + "csv&for=email", base + "jsonl&for=email"}
		if strings.Join(links, "\n") != strings.Join(wantLinks, "\n") {
			t.Errorf("%s: download links\n%s\nwant\n%s", view.name, strings.Join(links, "\n"), strings.Join(wantLinks, "\n"))
		}
		// The segment's CSV and its email list's JSON lines, fetched with
		// the page's session: a row a contact.
		csvText := browserRun(b, where("fetch the CSV"), 10*time.Second, chromedp.Evaluate[string](
			`fetch(document.querySelector('`+row+` a[data-format=csv]').href).then(r => r.ok ? r.text() : 'HTTP ' + r.status)`, chromedp.EvalAwaitPromise))
		if rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll(); err != nil || len(rows) != want+1 {
			t.Errorf("%s: the segment's CSV has %d rows (%v), want %d and a header", view.name, len(rows), err, want)
		}
		jsonl := browserRun(b, where("fetch the email list"), 10*time.Second, chromedp.Evaluate[string](
			`fetch(document.querySelector('`+row+` + tr.segment-more a[data-format=jsonl]').href).then(r => r.ok ? r.text() : 'HTTP ' + r.status)`, chromedp.EvalAwaitPromise))
		if n := strings.Count(jsonl, "\n"); n != report.Report.Included || (n > 0 && !strings.HasPrefix(jsonl, "{")) {
			t.Errorf("%s: the email list has %d lines, the report says %d included:\n%.200s", view.name, n, report.Report.Included, jsonl)
		}
		b.noOverflow(where("a marketing list's report"))
		if view.name == "desktop" {
			// The picture: the list, the saved segment's report at its
			// foot, the mouse away.
			b.do(where("the report on screen"), 5*time.Second,
				chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 0, 0),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('`+row+` + tr.segment-more').scrollIntoView({block: 'end'}); scrollBy(0, 80)`))
			b.screenshot("segments-desktop.png")
		}

		// Deleted, after a confirmation: gone, from the page and the API.
		b.do(where("delete"), 10*time.Second,
			chromedp.Click(chromedp.CSS(row+` button[data-action=delete]`)),
			chromedp.Click(chromedp.CSS(row+` + tr.segment-more button[data-action=confirm-delete]`)),
			chromedp.WaitNotPresent(chromedp.CSS(row)),
		)
		b.waitText("#segments-status", "Deleted the segment", 5*time.Second)
		if code, _ := d.apiGet("/segments/" + name); code != http.StatusNotFound {
			t.Errorf("%s: GET /segments/%s after the page deleted it: %d, want 404", view.name, name, code)
		}

		// The mapping: the newest contact, then one by id; each CRM field
		// with its value, the id exact (it is above 2^53).
		var mp struct {
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		}
		d.apiJSON("/mapping/preview", http.StatusOK, &mp)
		b.do(where("the mapping"), 10*time.Second, chromedp.Click(chromedp.ID("nav-mapping")))
		b.waitText("#mapping-status", "Shopify id "+newest, 10*time.Second)
		for _, id := range []string{newest, picked} {
			if id != newest {
				b.do(where("a contact by id"), 10*time.Second,
					chromedp.SendKeys(chromedp.ID("mapping-id"), id),
					chromedp.Click(chromedp.ID("mapping-submit")))
				b.waitText("#mapping-status", "Shopify id "+id, 10*time.Second)
			}
			rec := browserRun(b, where("the record"), 5*time.Second, chromedp.Evaluate[map[string]string](`Object.fromEntries(
				[...document.querySelectorAll('#mapping-record tbody tr[data-field]')].map(r => [r.dataset.field, r.querySelector('td.value').textContent]))`))
			if len(rec) != len(mp.Fields) || rec["shopify_id"] != id {
				t.Errorf("%s: the CRM's view of %s: %d fields (want %d), shopify_id %q", view.name, id, len(rec), len(mp.Fields), rec["shopify_id"])
			}
			stored := browserRun(b, where("the stored contact"), 5*time.Second, chromedp.Evaluate[string](`(() => {
				const dts = [...document.querySelectorAll('#mapping-contact dt')];
				const i = dts.findIndex(dt => dt.textContent === 'id');
				return i < 0 ? '' : document.querySelectorAll('#mapping-contact dd')[i].textContent;
			})()`))
			if stored != id {
				t.Errorf("%s: the stored contact's id %q, want %s", view.name, stored, id)
			}
		}
		b.noOverflow(where("the mapping"))
		if w := browserRun(b, where("page width"), 5*time.Second, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
			t.Errorf("%s: the page is %d px wide in a %d px window", view.name, w[0], w[1])
		}

		// Sign out: the next width signs in again.
		b.do(where("sign out"), 10*time.Second,
			chromedp.Click(chromedp.ID("sign-out")),
			chromedp.WaitVisible(chromedp.ID("token")),
		)
	}

	for _, e := range consoleErrors() {
		t.Errorf("console: %s", e)
	}
}

// previewCell is how the page shows a record's value.
func previewCell(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		if v == "" {
			return "—"
		}
		return v
	case []any:
		if len(v) == 0 {
			return "—"
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
