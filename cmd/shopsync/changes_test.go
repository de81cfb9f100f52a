package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopifytest"
	"github.com/shopsync/shopsync/store"
)

const outboundSecret = "0123456789abcdef0123456789abcdef" // 128 bits

func TestOutboundConfig(t *testing.T) {
	secretFile := writeFile(t, "crm-secret", outboundSecret+"\n")
	file := writeFile(t, "c.yaml", `
shopify:
  shop: acme
  access_token: x
outbound:
  retention: 48h
  endpoints:
    - name: crm
      url: https://crm.example.com/hooks/shopsync?key=K3Y
      secret_file: `+secretFile+`
      events: [contact.created, contact.updated]
    - name: local
      url: http://127.0.0.1:9000/hook
      secret: abcdefabcdefabcdefabcdefabcdef01
      segment: VIP customers
`)
	cfg, err := LoadConfig(file, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	eps := cfg.Outbound.endpoints()
	if cfg.Outbound.Retention != 48*time.Hour || len(eps) != 2 || eps[0].Secret != outboundSecret ||
		fmt.Sprint(eps[0].Events) != "[contact.created contact.updated]" || eps[1].Segment != "VIP customers" || eps[1].Events != nil {
		t.Errorf("got %+v %+v", cfg.Outbound, eps)
	}

	// The environment, as JSON, or a file of it.
	list := `[{"name":"crm","url":"https://crm.example.com/h","secret":"` + outboundSecret + `","events":["contact.deleted"]}]`
	for name, env := range map[string]map[string]string{
		"variable": {"SHOPSYNC_OUTBOUND_ENDPOINTS": list},
		"file":     {"SHOPSYNC_OUTBOUND_ENDPOINTS_FILE": writeFile(t, "eps.json", list)},
	} {
		env["SHOPSYNC_SHOPIFY_SHOP"], env["SHOPSYNC_SHOPIFY_ACCESS_TOKEN"] = "acme", "x"
		cfg, err := LoadConfig("", envOf(env))
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil || len(cfg.Outbound.Endpoints) != 1 || cfg.Outbound.Endpoints[0].Secret != outboundSecret {
			t.Errorf("from the %s: %+v %v", name, cfg.Outbound.Endpoints, err)
		}
	}

	stdout, stderr, code := runCLI(t, nil, "--config", file, "config", "check")
	if code != exitOK {
		t.Fatalf("config check: %d %s", code, stderr)
	}
	for _, want := range []string{"outbound.endpoints[0].url = https://crm.example.com/hooks/shopsync?…",
		"outbound.endpoints[1].secret = <redacted>", "outbound.retention = 48h0m0s"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("config check lacks %q:\n%s", want, stdout)
		}
	}
	for _, secret := range []string{outboundSecret, "abcdefabcdefabcdefabcdefabcdef01", "K3Y"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("config check shows %q", secret)
		}
	}
}

func TestOutboundConfigErrors(t *testing.T) {
	const weak = "s3cret-but-short"
	base := map[string]string{"SHOPSYNC_SHOPIFY_SHOP": "acme", "SHOPSYNC_SHOPIFY_ACCESS_TOKEN": "x"}
	for _, tt := range []struct {
		name   string
		env    map[string]string
		errHas []string
	}{
		{"not JSON", map[string]string{"SHOPSYNC_OUTBOUND_ENDPOINTS": `[{"name":"crm","secret":"` + weak + `"`},
			[]string{"outbound.endpoints: not a JSON list of endpoints"}},
		{"unknown key", map[string]string{"SHOPSYNC_OUTBOUND_ENDPOINTS": `[{"nam":"crm","secret":"` + weak + `"}]`},
			[]string{`outbound.endpoints: not a JSON list of endpoints: unknown key "nam"`}},
		{"everything wrong", map[string]string{"SHOPSYNC_OUTBOUND_ENDPOINTS": `[{"name":"CRM!","url":"http://crm.example.com/?t=` + weak +
			`","secret":"` + weak + `","events":["contact.create"],"segment":" vip"},{"name":"b","url":"https://u:` + weak + `@x.example.com","secret":""},` +
			`{"name":"b","url":"ftp://x"}]`,
			"SHOPSYNC_OUTBOUND_RETENTION": "10m", "SHOPSYNC_OUTBOUND_BATCH_SIZE": "5000", "SHOPSYNC_OUTBOUND_PAUSE_AFTER": "1s"},
			[]string{"outbound.retention: 10m0s: want at least 1h", "outbound.batch_size: 5000", "outbound.pause_after",
				"outbound.endpoints[0].name: want lower-case", "outbound.endpoints[0].url: http is allowed only to a loopback address",
				"outbound.endpoints[0].secret: too easy to guess", `outbound.endpoints[0].events: "contact.create" is not an event type`,
				"outbound.endpoints[0].segment", "outbound.endpoints[1].url: holds a user or password", "outbound.endpoints[1].secret: required",
				"outbound.endpoints[2].name: another endpoint", `outbound.endpoints[2].url: scheme "ftp"`}},
		{"missing secret file", map[string]string{"SHOPSYNC_OUTBOUND_ENDPOINTS": `[{"name":"crm","url":"https://x.example.com","secret_file":"/nonexistent/s"}]`},
			[]string{"outbound.endpoints[0].secret_file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			stdout, stderr, code := runCLI(t, env, "config", "check")
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if strings.Contains(stdout+stderr, weak) {
				t.Errorf("the output holds the secret:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestChangesAndOutboundCommands: the change feed from the CLI, the export
// saying where it stands, and the endpoints' commands.
func TestChangesAndOutboundCommands(t *testing.T) {
	_, env := shopEnv(t, shopifytest.Options{Customers: 30, Seed: 71})
	if _, stderr, code := runCLI(t, env, "sync"); code != exitOK {
		t.Fatalf("sync: %d %s", code, stderr)
	}
	lines := func(s string) []map[string]any {
		var out []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if l == "" {
				continue
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			out = append(out, ev)
		}
		return out
	}
	stdout, stderr, code := runCLI(t, env, "changes", "tail")
	if evs := lines(stdout); code != exitOK || len(evs) != 10 || evs[0]["seq"] != 21.0 || evs[9]["type"] != "contact.created" {
		t.Errorf("tail: %d %s %s", code, stdout, stderr)
	}
	stdout, _, _ = runCLI(t, env, "changes", "tail", "--after", "25")
	if evs := lines(stdout); len(evs) != 5 || evs[0]["seq"] != 26.0 || evs[0]["source"] != "import" {
		t.Errorf("tail --after 25: %s", stdout)
	}
	_, stderr, code = runCLI(t, env, "contacts", "export")
	if code != exitOK || !strings.Contains(stderr, "export current to change 30: follow the changes after it with shopsync changes tail --after 30") {
		t.Errorf("export: %d %s", code, stderr)
	}

	// follow: prints what comes until interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	out := &logBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"changes", "tail", "--after", "30", "--follow"}, out, out, envOf(env))
	}()
	db, err := store.Open(context.Background(), env["SHOPSYNC_STORE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A change: follow prints it.
	if _, err := db.ApplyChanges(context.Background(), []shopsync.Change{{Kind: shopsync.ChangeRedactCustomer,
		ShopifyID: firstID(t, db), Source: "customers/redact"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "follow prints the new event", func() string {
		if !strings.Contains(out.String(), `"seq":31,"type":"contact.redacted"`) {
			return fmt.Sprintf("printed %q", out.String())
		}
		return ""
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("tail --follow interrupted: %v\n%s", err, out.String())
	}
	ep, err := db.OpenEndpoint(context.Background(), "crm", "c")
	if err != nil || ep.Cursor != 31 {
		t.Fatalf("open endpoint: %+v %v", ep, err)
	}

	stdout, _, code = runCLI(t, env, "outbound", "status")
	if code != exitOK || !strings.Contains(stdout, "change feed: events 1 to 31") || !strings.Contains(stdout, "crm") ||
		!strings.Contains(stdout, "active (not configured)") {
		t.Errorf("outbound status: %d\n%s", code, stdout)
	}
	if _, err := db.PauseEndpoint(context.Background(), "crm", 0, "no delivery was acknowledged for 24h0m0s"); err != nil {
		t.Fatal(err)
	}
	stdout, _, _ = runCLI(t, env, "outbound", "status")
	if !strings.Contains(stdout, "crm is paused since") || !strings.Contains(stdout, "shopsync outbound resume crm") {
		t.Errorf("paused status:\n%s", stdout)
	}
	if stdout, stderr, code = runCLI(t, env, "outbound", "resume", "crm"); code != exitOK || !strings.Contains(stdout, "crm resumed: it delivers the events after 31") {
		t.Errorf("resume: %d %s %s", code, stdout, stderr)
	}
	if stdout, stderr, code = runCLI(t, env, "outbound", "replay", "crm", "--from", "5"); code != exitOK || !strings.Contains(stdout, "crm replays from event 5") {
		t.Errorf("replay --from 5: %d %s %s", code, stdout, stderr)
	}
	if stdout, _, code = runCLI(t, env, "outbound", "replay", "crm", "--after", "7"); code != exitOK || !strings.Contains(stdout, "from event 8") {
		t.Errorf("replay --after 7: %d %s", code, stdout)
	}
	for _, args := range [][]string{{"outbound", "replay", "crm"}, {"outbound", "replay", "crm", "--from", "1", "--after", "3"},
		{"outbound", "replay", "crm", "--from", "0"}, {"outbound", "replay", "crm", "--from", "99"}} {
		if _, stderr, code := runCLI(t, env, args...); code != exitUsage {
			t.Errorf("%v: exit %d %s, want %d", args, code, stderr, exitUsage)
		}
	}
	if _, stderr, code = runCLI(t, env, "outbound", "resume", "nobody"); code != exitFailure || !strings.Contains(stderr, "once `shopsync serve` has run with it") {
		t.Errorf("resume nobody: %d %s", code, stderr)
	}

	// Pruned: the tail and the replay say how to catch up.
	if _, err := db.PruneChanges(context.Background(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code = runCLI(t, env, "changes", "tail", "--after", "3"); code != exitFailure ||
		!strings.Contains(stderr, "run a full export (shopsync contacts export)") {
		t.Errorf("tail of pruned events: %d %s", code, stderr)
	}
	if _, stderr, code = runCLI(t, env, "outbound", "replay", "crm", "--from", "3"); code != exitFailure ||
		!strings.Contains(stderr, "events before 32 are no longer kept") {
		t.Errorf("replay of pruned events: %d %s", code, stderr)
	}
}

// firstID is the smallest contact id stored.
func firstID(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var id int64
	err := db.ExportContacts(context.Background(), func(c *shopsync.Contact) error {
		id = c.ShopifyID
		return errStop
	})
	if err != errStop {
		t.Fatal(err)
	}
	return id
}

var errStop = errors.New("stop")
