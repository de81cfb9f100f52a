package main

import (
	"bytes"
	"encoding/csv"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/shopifytest"
)

// freePort returns a loopback address nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestDoctorCommand: shopsync doctor against the simulator: a check a
// line, exit 0 with warnings only, exit 1 with a fix when a check fails,
// and no secret in the output.
func TestDoctorCommand(t *testing.T) {
	_, env := shopEnv(t, shopifytest.Options{Customers: 30, Seed: 81})
	stdout, stderr, code := runCLI(t, env, "doctor")
	if code != exitOK {
		t.Fatalf("doctor: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, s := range []string{"ok    Connection and access token: Shopify accepted the access token and counts 30 customers",
		"ok    Access to customers (read_customers)", "ok    Protected customer data",
		"WARN  Webhook subscriptions: webhooks.address is not set", "fix: Set webhooks.address",
		"skip  Test delivery through webhooks.address"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, stdout)
		}
	}
	env["SHOPSYNC_SHOPIFY_ACCESS_TOKEN"] = "shpat_wrong_SECRET"
	stdout, stderr, code = runCLI(t, env, "doctor")
	if code != exitFailure || !strings.Contains(stdout, "FAIL  Connection and access token: Shopify refused the access token (HTTP 401).") ||
		!strings.Contains(stdout, "fix: Copy the Admin API access token") || !strings.Contains(stderr, "1 check failed") {
		t.Errorf("bad token: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "SECRET") {
		t.Error("a secret appears in the output")
	}
}

// TestDoctorThroughTheDaemon: with a running daemon behind
// webhooks.address, both doctor and the page's Check connection see a
// signed test delivery reach it, and the subscriptions in place.
func TestDoctorThroughTheDaemon(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	sim, env := shopEnv(t, shopifytest.Options{Customers: 20, Seed: 82})
	_ = sim
	addr := freePort(t)
	env = serveEnv(env)
	env["SHOPSYNC_HTTP_LISTEN"] = addr
	env["SHOPSYNC_WEBHOOKS_ADDRESS"] = "http://" + addr + "/webhooks/shopify"
	d := startDaemon(t, env)
	// serve subscribes the topics at start.
	deadline := time.Now().Add(20 * time.Second)
	for len(sim.Subscriptions()) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions", len(sim.Subscriptions()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdout, stderr, code := runCLI(t, env, "doctor")
	if code != exitOK || !strings.Contains(stdout, "ok    Test delivery through webhooks.address: A signed test delivery reached shopsync") ||
		!strings.Contains(stdout, "ok    Webhook subscriptions: All 10 customer topics are subscribed") {
		t.Errorf("doctor: exit %d\n%s%s", code, stdout, stderr)
	}
	var check struct {
		Report struct {
			Checks []struct{ ID, Status, Summary string }
		}
	}
	if code := d.call("POST", "/api/check", &check); code != 200 {
		t.Fatalf("POST /api/check: %d", code)
	}
	for _, c := range check.Report.Checks {
		if c.ID == "test_delivery" && c.Status != "ok" {
			t.Errorf("the daemon's own check: %+v", c)
		}
	}
	// Test deliveries are not webhook deliveries: nothing stored, none
	// refused.
	var o struct {
		Webhooks struct {
			Accepted, Rejected int64
			TestDeliveryAt     *time.Time `json:"test_delivery_at"`
		}
	}
	d.call("GET", "/api/overview", &o)
	if o.Webhooks.Accepted != 0 || o.Webhooks.Rejected != 0 || o.Webhooks.TestDeliveryAt == nil {
		t.Errorf("after test deliveries: %+v", o.Webhooks)
	}
}

// TestExportExcel: csv-excel opens with a byte-order mark and keeps long
// ids as text that Excel and LibreOffice show whole.
func TestExportExcel(t *testing.T) {
	sim, env := shopEnv(t, shopifytest.Options{Customers: 50, Seed: 83})
	if _, stderr, code := runCLI(t, env, "sync"); code != exitOK {
		t.Fatalf("sync: %s", stderr)
	}
	stdout, stderr, code := runCLI(t, env, "contacts", "export", "--format", "csv-excel")
	if code != exitOK {
		t.Fatalf("export: %s", stderr)
	}
	body, ok := strings.CutPrefix(stdout, "\ufeff")
	if !ok {
		t.Fatalf("no byte-order mark: %q", stdout[:20])
	}
	rows, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll()
	if err != nil || len(rows) != 51 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	ids := sim.CustomerIDs()
	for i, row := range rows[1:] {
		if want := `="` + strconv.FormatInt(ids[i], 10) + `"`; row[0] != want {
			t.Fatalf("row %d: id cell %q, want %q", i, row[0], want)
		}
		if p := row[4]; p != "" && strings.HasPrefix(p, "+") {
			t.Fatalf("row %d: phone %q would lose its +", i, p)
		}
	}
	// The plain CSV is unchanged: no mark, ids as digits.
	stdout, _, _ = runCLI(t, env, "contacts", "export", "--format", "csv")
	if strings.HasPrefix(stdout, "\ufeff") || !strings.Contains(stdout, "\n"+strconv.FormatInt(ids[0], 10)+",") {
		t.Errorf("plain csv changed: %q", stdout[:80])
	}
}
