package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-customers", "12", "-token", "shpat_cmd_test", "-bucket", "5", "-leak", "1"}, stdout, &stderr)
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (stderr %s)", err, stderr.String())
	}
	m := regexp.MustCompile(`^shopifysim listening on (http://127\.0\.0\.1:[0-9]+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stdout line %q", line)
	}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"/admin/api/2024-04/customers/count.json", nil)
	req.Header.Set("X-Shopify-Access-Token", "shpat_cmd_test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"count":12}` || resp.Header.Get("X-Shopify-Shop-Api-Call-Limit") != "1/5" {
		t.Errorf("count: %s, call limit %q", body, resp.Header.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if strings.Contains(stderr.String(), "shpat_cmd_test") {
		t.Error("the token appears in the logs")
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-listen", "0.0.0.0:0"},
		{"-listen", ":0"},
		{"-listen", "192.0.2.1:8080"},
		{"-listen", "example.com:80"},
		{"-listen", "127.0.0.1"},
		{"-bucket", "40", "-leak", "0"},
		{"-client-id", "only-the-id"},
		{"stray"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
