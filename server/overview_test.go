package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopsync/shopsync/doctor"
	"github.com/shopsync/shopsync/server"
)

// waitState polls GET path until cond holds for the decoded body.
func waitFor(t *testing.T, url, auth, what string, cond func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := do(t, "GET", url, auth)
		if cond(body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never; last %v", what, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func copyOf(o map[string]any) map[string]any { c, _ := o["copy"].(map[string]any); return c }

// TestOverviewCopyState: the headline answers "is my copy exact?" before
// any import, after a failed one, after one, and when Shopify's count
// moves.
func TestOverviewCopyState(t *testing.T) {
	srv, sim, db := newServerWith(t, token, nil)
	auth := "Bearer " + token
	_, o := do(t, "GET", srv.URL+"/api/overview", auth)
	if c := copyOf(o); c["state"] != "no_import" || c["shopify"] != nil || c["active"] != float64(0) || o["last_import"] != nil {
		t.Fatalf("before any import: %v", o)
	}
	if o["admin_url"] != "https://admin.shopify.com/store/s" {
		t.Errorf("admin_url %v", o["admin_url"])
	}

	// A failed first import: the copy is partial, and the page says why.
	sim.FailNext(100, http.StatusUnauthorized)
	do(t, "POST", srv.URL+"/sync", auth)
	o = waitFor(t, srv.URL+"/api/overview", auth, "failed import", func(o map[string]any) bool {
		return copyOf(o)["state"] == "import_failed"
	})
	li := o["last_import"].(map[string]any)
	p, _ := li["problem"].(map[string]any)
	if li["state"] != "failed" || p == nil || p["code"] != "bad_token" || !strings.Contains(p["fix"].(string), "shopify.access_token") {
		t.Errorf("last import %v", li)
	}
	sim.FailNext(0, 0)

	do(t, "POST", srv.URL+"/sync", auth)
	o = waitFor(t, srv.URL+"/api/overview", auth, "exact copy", func(o map[string]any) bool { return copyOf(o)["state"] == "exact" })
	c := copyOf(o)
	if sh := c["shopify"].(map[string]any); sh["count"] != float64(30) || sh["source"] != "import" || c["active"] != float64(30) || c["difference"] != float64(0) {
		t.Errorf("exact copy: %v", c)
	}
	if g := o["last_good_import"].(map[string]any); g["created"] != float64(30) || g["problem"] != nil {
		t.Errorf("last good import %v", g)
	}

	// Shopify counts two more customers than the copy holds.
	if err := db.SetCustomerCount(context.Background(), 32, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, o = do(t, "GET", srv.URL+"/api/overview", auth)
	if c := copyOf(o); c["state"] != "differs" || c["difference"] != float64(-2) || c["shopify"].(map[string]any)["source"] != "count" {
		t.Errorf("after a count of 32: %v", c)
	}
}

// TestRejectionsKeptAcrossRestarts: refused deliveries are counted in
// memory, written by Flush, read back by a new log (a restarted daemon),
// and shown with what they mean and the fix.
func TestRejectionsKeptAcrossRestarts(t *testing.T) {
	var log1 *server.RejectionLog
	srv, _, db := newServerWith(t, token, func(c *server.Config) {
		log1 = server.NewRejectionLog(c.Store, slog.New(slog.DiscardHandler))
		c.Rejections = log1
	})
	for range 3 {
		log1.Add("signature")
	}
	log1.Add("method")
	auth := "Bearer " + token
	check := func(o map[string]any, since float64) {
		t.Helper()
		wh := o["webhooks"].(map[string]any)
		by := wh["rejected_by_reason"].([]any)
		if wh["rejected"] != float64(4) || len(by) != 2 || wh["rejected_since_start"] != since {
			t.Fatalf("webhooks %v", wh)
		}
		first := by[0].(map[string]any)
		if first["reason"] != "signature" || first["count"] != float64(3) || first["serious"] != true ||
			!strings.Contains(first["fix"].(string), "Settings > Notifications > Webhooks") {
			t.Errorf("signature: %v", first)
		}
		if m := by[1].(map[string]any); m["reason"] != "method" || m["serious"] != false {
			t.Errorf("method: %v", m)
		}
	}
	_, o := do(t, "GET", srv.URL+"/api/overview", auth)
	check(o, 4) // before the counts are written
	if err := log1.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A restart: a new log over the same store.
	log2 := server.NewRejectionLog(db, slog.New(slog.DiscardHandler))
	counts, err := log2.Counts(context.Background(), time.Now().Add(-24*time.Hour))
	if err != nil || len(counts) != 2 || counts[0].Count != 3 {
		t.Fatalf("after a restart: %+v %v", counts, err)
	}
	_, o = do(t, "GET", srv.URL+"/api/overview", auth)
	check(o, 4)
}

// TestRunHistoryFilters: full imports stay findable among sweeps, page by
// page.
func TestRunHistoryFilters(t *testing.T) {
	srv, _, db := newServerWith(t, token, nil)
	auth := "Bearer " + token
	ctx := context.Background()
	for i := range 3 {
		do(t, "POST", srv.URL+"/sync", auth)
		waitFor(t, srv.URL+"/sync/status", auth, "run "+fmt.Sprint(i), func(o map[string]any) bool {
			lr, _ := o["last_run"].(map[string]any)
			return lr != nil && lr["state"] == "succeeded" && lr["trigger"] == "button" && o["running"] == false
		})
		for range 5 {
			sw, err := db.BeginSweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			db.FinishSweep(ctx, sw.ID)
		}
	}
	_, body := do(t, "GET", srv.URL+"/sync/runs?trigger=import&limit=2", auth)
	runs := body["runs"].([]any)
	if len(runs) != 2 || runs[0].(map[string]any)["trigger"] != "button" || body["next_before"] == nil {
		t.Fatalf("first page: %v", body)
	}
	_, body = do(t, "GET", fmt.Sprintf("%s/sync/runs?trigger=import&limit=2&before=%v", srv.URL, body["next_before"]), auth)
	if runs := body["runs"].([]any); len(runs) != 1 || body["next_before"] != nil {
		t.Fatalf("second page: %v", body)
	}
	_, body = do(t, "GET", srv.URL+"/sync/runs?trigger=reconcile&limit=100", auth)
	if runs := body["runs"].([]any); len(runs) != 15 {
		t.Errorf("%d sweeps, want 15", len(runs))
	}
	for _, q := range []string{"trigger=nightly", "state=done", "before=x", "before=0", "limit=1001"} {
		if code, _ := do(t, "GET", srv.URL+"/sync/runs?"+q, auth); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
}

// TestCheckConnection: the page's check runs the doctor once at a time,
// not more often than every few seconds, and keeps the last report.
func TestCheckConnection(t *testing.T) {
	var calls atomic.Int32
	srv, _, _ := newServerWith(t, token, func(c *server.Config) {
		c.Doctor = func(context.Context) doctor.Report {
			calls.Add(1)
			return doctor.Report{Shop: "s.myshopify.com", At: time.Now(), Checks: []doctor.Check{
				{ID: "connection", Name: "Connection", Status: doctor.Fail, Summary: "refused", Fix: "copy the token"}}}
		}
	})
	auth := "Bearer " + token
	_, body := do(t, "GET", srv.URL+"/api/check", auth)
	if body["available"] != true || body["report"] != nil {
		t.Errorf("before a check: %v", body)
	}
	code, body := do(t, "POST", srv.URL+"/api/check", auth)
	rep, _ := body["report"].(map[string]any)
	if code != 200 || rep == nil || len(rep["checks"].([]any)) != 1 {
		t.Fatalf("check: %d %v", code, body)
	}
	do(t, "POST", srv.URL+"/api/check", auth) // at once again: the last report
	if n := calls.Load(); n != 1 {
		t.Errorf("doctor ran %d times, want 1", n)
	}
	if _, body := do(t, "GET", srv.URL+"/api/check", auth); body["report"] == nil {
		t.Error("the last report is not kept")
	}
	srv2, _ := newServer(t, token)
	if code, _ := do(t, "POST", srv2.URL+"/api/check", auth); code != http.StatusNotFound {
		t.Errorf("without a doctor: %d, want 404", code)
	}
}

// TestExportDownload: the page's CSV download, Excel-ready on request.
func TestExportDownload(t *testing.T) {
	srv, _, _ := newServerWith(t, token, func(c *server.Config) {
		c.ExportCSV = func(_ context.Context, w io.Writer, excel bool) error {
			_, err := fmt.Fprintf(w, "shopify_id\nexcel=%v\n", excel)
			return err
		}
	})
	for _, tc := range []struct{ query, body, name string }{
		{"", "excel=false", "shopsync-contacts-s-"},
		{"?excel=1", "excel=true", "-excel.csv"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/contacts.csv"+tc.query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tc.body) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), tc.name) {
			t.Errorf("%q: %d %q %v", tc.query, resp.StatusCode, b, resp.Header)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/api/contacts.csv", ""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", code)
	}
}

// TestSignInTrimsToken: a token pasted with white space around it signs in.
func TestSignInTrimsToken(t *testing.T) {
	srv, _ := newServer(t, token)
	for _, tok := range []string{" " + token, token + "\n", "\t" + token + " "} {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {tok}, "username": {"shopsync"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Location") != "/" || len(resp.Cookies()) != 1 {
			t.Errorf("token %q: %q", tok, resp.Header.Get("Location"))
		}
	}
	resp, err := http.PostForm(srv.URL+"/login", url.Values{"token": {"  "}})
	if err == nil {
		resp.Body.Close()
	}
}

// TestContactDetailLinks: the contact's page links to the Shopify admin
// and says when the contact was first stored; the search finds by id.
func TestContactDetailLinks(t *testing.T) {
	srv, sim, _ := newServerWith(t, token, nil)
	auth := "Bearer " + token
	do(t, "POST", srv.URL+"/sync", auth)
	id := sim.CustomerIDs()[5]
	body := waitFor(t, srv.URL+"/api/contacts/"+jsonInt(id), auth, "contact", func(o map[string]any) bool { return o["contact"] != nil })
	if body["admin_url"] != "https://admin.shopify.com/store/s/customers/"+jsonInt(id) {
		t.Errorf("admin_url %v", body["admin_url"])
	}
	if ch := body["changed"].(map[string]any); ch["first_stored_at"] == nil || ch["changed_by"] != "import" {
		t.Errorf("changed %v", ch)
	}
	_, res := do(t, "GET", srv.URL+"/api/contacts?q="+jsonInt(id), auth)
	cs := res["contacts"].([]any)
	if len(cs) == 0 || cs[0].(map[string]any)["id"] != jsonInt(id) {
		t.Errorf("search by id: %v", res)
	}
}

// TestSyncNowDuringASweep: a sweep holding the store is not shown as the
// import Sync now asked for.
func TestSyncNowDuringASweep(t *testing.T) {
	srv, _, db := newServerWith(t, token, nil)
	release, err := db.LockSync()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := db.BeginSweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := do(t, "POST", srv.URL+"/sync", "Bearer "+token)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "sweep") {
		t.Errorf("POST /sync during a sweep: %d %v", code, body)
	}
	_, st := do(t, "GET", srv.URL+"/sync/status", "Bearer "+token)
	if st["last_import"] != nil || st["running"] != true {
		t.Errorf("status during a sweep: %v", st)
	}
}
