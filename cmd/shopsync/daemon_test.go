package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/shopsync/shopsync/shopifytest"
)

// TestDaemonLifecycle: Run returns once the daemon serves on the port the
// system chose, or with why it could not start; Close stops serving, can
// be called again, and is a no-op after a Run that failed.
func TestDaemonLifecycle(t *testing.T) {
	t.Parallel() // an in-process daemon on its own port and store
	_, vars := shopEnv(t, shopifytest.Options{Customers: 5, Seed: 91})
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: envOf(serveEnv(vars))}
	cfg, err := e.serveConfig()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := cfg
	taken.HTTP.Listen = busy.Addr().String()
	d := NewDaemon(taken, logger)
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "http.listen") {
		t.Errorf("Run on a taken port: %v, want an http.listen error", err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Errorf("Close after a failed Run: %v", err)
	}

	d = NewDaemon(cfg, logger)
	if err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := d.Addr().(*net.TCPAddr)
	if addr.Port == 0 || !addr.IP.IsLoopback() {
		t.Fatalf("Addr %v, want a chosen port on loopback", addr)
	}
	url := "http://" + addr.String() + "/healthz"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", resp.StatusCode)
	}
	for i := range 2 {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("Close %d: %v", i+1, err)
		}
	}
	select {
	case <-d.Done():
	default:
		t.Error("Done is not closed after Close")
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("GET after Close: %d, want no answer", resp.StatusCode)
	}
}
