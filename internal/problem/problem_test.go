package problem_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/internal/problem"
	"github.com/shopsync/shopsync/shopify"
)

// TestExplain: each common failure, as the packages return it and as a
// failed run recorded its text, gets its own words and fix.
func TestExplain(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("count customers: %w", err) }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name    string
		err     error
		ctx     problem.Context
		code    string
		has     []string // in title or fix
		resumes bool
	}{
		{"401 static token", wrap(&shopify.APIError{Status: 401, Message: "[API] Invalid API key or access token",
			Hint: "check shopify.access_token: it may be revoked or mistyped"}), problem.Context{},
			problem.BadToken, []string{"refused the access token", "shopify.access_token", "API credentials"}, false},
		{"401 client credentials", wrap(&shopify.APIError{Status: 401}), problem.Context{ClientCredentials: true, Shop: "acme.myshopify.com"},
			problem.BadCredentials, []string{"shopify.client_secret", "acme.myshopify.com"}, false},
		{"grant refused", &shopify.TokenError{Status: 400, Reason: "invalid_client"}, problem.Context{},
			problem.BadCredentials, []string{"client_id"}, false},
		{"403", wrap(&shopify.APIError{Status: 403}), problem.Context{}, problem.MissingScope, []string{"read_customers"}, false},
		{"404", wrap(&shopify.APIError{Status: 404}), problem.Context{Shop: "acme.myshopify.com"}, problem.NotFound,
			[]string{"shopify.shop", "acme.myshopify.com", "shopify.api_version"}, false},
		{"402", wrap(&shopify.APIError{Status: 402}), problem.Context{}, problem.ShopInactive, []string{"HTTP 402", "billing"}, false},
		{"429", wrap(&shopify.APIError{Status: 429}), problem.Context{}, problem.Throttled, []string{"slow down", "next run continues"}, true},
		{"503", wrap(&shopify.APIError{Status: 503}), problem.Context{}, problem.ShopifyError, []string{"HTTP 503", "Nothing to fix"}, true},
		{"connection refused", fmt.Errorf("GET /admin/api/2024-04/customers.json: %w (after 6 retries)", refused), problem.Context{Shop: "acme.myshopify.com"},
			problem.Unreachable, []string{"could not reach Shopify", "https://acme.myshopify.com"}, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "acme.myshopify.com", IsNotFound: true}, problem.Context{},
			problem.Unreachable, []string{"DNS"}, true},
		{"deadline", fmt.Errorf("list customers: %w", context.DeadlineExceeded), problem.Context{},
			problem.Timeout, []string{"did not answer in time", "shopify.request_timeout"}, true},
		{"disk full", fmt.Errorf("apply pages: %w", sqlite3.Error{Code: sqlite3.ErrFull}), problem.Context{StorePath: "/var/lib/shopsync/shopsync.db"},
			problem.DiskFull, []string{"disk", "full", "/var/lib/shopsync/shopsync.db"}, true},
		{"enospc", fmt.Errorf("write: %w", syscall.ENOSPC), problem.Context{}, problem.DiskFull, []string{"full"}, true},
		{"disk i/o", fmt.Errorf("apply pages: %w", sqlite3.Error{Code: sqlite3.ErrIoErr}), problem.Context{}, problem.DiskError, []string{"failed a write"}, true},
		{"locked", fmt.Errorf("begin: %w", sqlite3.Error{Code: sqlite3.ErrBusy}), problem.Context{}, problem.StoreLocked, []string{"sqlite3 shell"}, true},
		{"read-only", fmt.Errorf("begin run: %w", sqlite3.Error{Code: sqlite3.ErrReadonly}), problem.Context{StorePath: "/x/s.db"},
			problem.StoreReadOnly, []string{"write access", "/x/s.db"}, false},
		{"another sync", fmt.Errorf("sync: %w", shopsync.ErrSyncRunning), problem.Context{}, problem.SyncRunning, []string{"already running"}, false},
		{"stopped", fmt.Errorf("list customers: %w", context.Canceled), problem.Context{}, problem.Interrupted, []string{"stopped before"}, true},
		{"bad customer", errors.New("map customer 42: total_spent: not a decimal"), problem.Context{}, problem.BadData, []string{"could not read"}, false},
		{"anything else", errors.New("something new"), problem.Context{}, problem.Unknown, []string{"unexpected"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []problem.Problem{problem.Explain(tt.err, tt.ctx), problem.ExplainText(tt.err.Error(), tt.ctx)} {
				if p.Code != tt.code {
					t.Errorf("%q: code %s, want %s", p.Detail, p.Code, tt.code)
				}
				words := p.Title + " " + p.Fix
				for _, s := range tt.has {
					if !strings.Contains(words, s) {
						t.Errorf("%q: %q lacks %q", p.Detail, words, s)
					}
				}
				if p.Resumes != tt.resumes {
					t.Errorf("%q: resumes %v, want %v", p.Detail, p.Resumes, tt.resumes)
				}
				if p.Detail != tt.err.Error() {
					t.Errorf("detail %q, want the error's text", p.Detail)
				}
				if strings.Contains(p.Title, "count customers") || strings.Contains(p.Title, "HTTP 401:") {
					t.Errorf("title %q repeats the technical error", p.Title)
				}
			}
		})
	}
	if p := problem.Explain(nil, problem.Context{}); p != (problem.Problem{}) {
		t.Errorf("nil: %+v", p)
	}
	// What a run killed with its process left.
	if p := problem.ExplainText("interrupted: the process stopped before the run finished", problem.Context{}); p.Code != problem.Interrupted {
		t.Errorf("interrupted run: %+v", p)
	}
}
