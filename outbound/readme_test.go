package outbound_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopsync/shopsync/outbound"
)

// The README's Go snippet, verbatim (TestReadmeVerifiers checks it is).

// README:begin
// verify reports whether a delivery came from shopsync: body is the raw
// request body, read whole, not parsed yet.
func verify(secret []byte, h http.Header, body []byte) bool {
	ts := h.Get("X-Shopsync-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	got, err := base64.StdEncoding.DecodeString(h.Get("X-Shopsync-Hmac-Sha256"))
	return err == nil && hmac.Equal(got, mac.Sum(nil))
}

// README:end

// readmeBlocks returns the fenced code blocks of the README's "Verifying
// a delivery", by language.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "### Verifying a delivery\n")
	if !ok {
		t.Fatal("README has no section \"Verifying a delivery\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := map[string]string{}
	for rest := section; ; {
		var lang, code string
		var found bool
		if _, rest, found = strings.Cut(rest, "```"); !found {
			break
		}
		lang, rest, _ = strings.Cut(rest, "\n")
		code, rest, _ = strings.Cut(rest, "```")
		blocks[lang] = code
	}
	for _, lang := range []string{"go", "python", "js"} {
		if blocks[lang] == "" {
			t.Fatalf("README's \"Verifying a delivery\" has no %s block", lang)
		}
	}
	return blocks
}

// verifierCase is a delivery a snippet checks, and what it must say.
type verifierCase struct {
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Want    bool              `json:"-"`
}

func verifierCases() []verifierCase {
	const secret = "0123456789abcdef0123456789abcdef"
	body := `{"delivery_id":"crm-0-1-1","events":[{"seq":1,"type":"contact.created","contact_id":706405506930370084,` +
		`"source":"import","at":"2026-12-06T10:00:00Z","contact":{"first_name":"山田 Ünïcødé"}}]}` + "\n"
	sign := func(at time.Time, body string) map[string]string {
		ts := strconv.FormatInt(at.Unix(), 10)
		return map[string]string{"X-Shopsync-Timestamp": ts, "X-Shopsync-Hmac-Sha256": outbound.Sign([]byte(secret), ts, []byte(body)),
			"X-Shopsync-Delivery-Id": "crm-0-1-1"}
	}
	now := time.Now()
	good := sign(now, body)
	forged := sign(now, body)
	forged["X-Shopsync-Timestamp"] = strconv.FormatInt(now.Unix()+1, 10)
	return []verifierCase{
		{secret, good, body, true},
		{"another-secret-0123456789abcdef0", good, body, false},
		{secret, good, strings.Replace(body, "山田", "山本", 1), false}, // the body changed
		{secret, forged, body, false},                               // the timestamp changed
		{secret, sign(now.Add(-10*time.Minute), body), body, false}, // replayed later
		{secret, map[string]string{"X-Shopsync-Timestamp": "²", "X-Shopsync-Hmac-Sha256": "é"}, body, false},
		{secret, map[string]string{}, body, false},
	}
}

// TestReadmeVerifiers: the README's snippets accept a delivery signed by
// Sign, and refuse one with another secret, a changed body or timestamp,
// a stale one, malformed headers and none. The Go one is this file's
// verify; the Python and Node ones run when python3 and node are there.
func TestReadmeVerifiers(t *testing.T) {
	blocks := readmeBlocks(t)
	self, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, goSnippet, _ := strings.Cut(string(self), "// README:begin\n")
	goSnippet, _, _ = strings.Cut(goSnippet, "\n// README:end")
	if strings.TrimSpace(blocks["go"]) != strings.TrimSpace(goSnippet) {
		t.Errorf("the README's Go snippet is not readme_test.go's verify:\n%s", blocks["go"])
	}
	cases := verifierCases()
	var want []string
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		if got := verify([]byte(c.Secret), h, []byte(c.Body)); got != c.Want {
			t.Errorf("Go: %v for %v, want %v", got, c.Headers, c.Want)
		}
		want = append(want, strconv.FormatBool(c.Want))
	}
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(name, bin, program string) {
		t.Run(name, func(t *testing.T) {
			path, err := exec.LookPath(bin)
			if err != nil {
				t.Skipf("%s is not installed", bin)
			}
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, []byte(program), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(path, file)
			cmd.Stdin = bytes.NewReader(input)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := strings.ToLower(strings.TrimSpace(string(out))); got != strings.Join(want, " ") {
				t.Errorf("got %s, want %s", got, strings.Join(want, " "))
			}
		})
	}
	run("verify.py", "python3", blocks["python"]+`
import json, sys
cases = json.load(sys.stdin)
print(" ".join(str(verify(c["secret"].encode(), c["headers"], c["body"].encode())) for c in cases))
`)
	run("verify.js", "node", blocks["js"]+`
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
console.log(cases.map((c) => {
  const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return String(verify(c.secret, headers, Buffer.from(c.body, "utf8")));
}).join(" "));
`)
}
