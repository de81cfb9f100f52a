// Package problem says what went wrong in a merchant's words: what
// happened and what to do, once, with the technical error kept apart for
// whoever wants it (the status page's "Details", the CLI's -v).
//
// Explain reads an error as it comes back (typed where the packages type
// it); ExplainText reads the text a failed run left in the store. Both
// end in the same table, so the page and the CLI say the same thing.
package problem

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/shopsync/shopsync"
	"github.com/shopsync/shopsync/shopify"
)

// Codes of the problems Explain recognises.
const (
	BadToken       = "bad_token"       // 401 with a static token
	BadCredentials = "bad_credentials" // client id/secret refused, or 401 with fresh tokens
	MissingScope   = "missing_scope"   // 403
	NotFound       = "not_found"       // 404: shop or API version
	ShopInactive   = "shop_inactive"   // 402, 423: frozen, unpaid or locked shop
	Throttled      = "throttled"       // 429 after every wait
	ShopifyError   = "shopify_error"   // 5xx after every retry
	Unreachable    = "unreachable"     // DNS, refused, no route, TLS
	Timeout        = "timeout"         // no answer in time
	DiskFull       = "disk_full"       // no space for the store
	DiskError      = "disk_error"      // the disk failed a write
	StoreLocked    = "store_locked"    // another program holds the store
	StoreReadOnly  = "store_readonly"  // the store cannot be written
	SyncRunning    = "sync_running"    // another run holds the store
	Interrupted    = "interrupted"     // stopped before the end
	BadData        = "bad_data"        // a customer shopsync could not read
	Unknown        = "unknown"
)

// Problem is an error explained.
type Problem struct {
	Code    string `json:"code"`
	Title   string `json:"title"`   // what happened, one sentence
	Fix     string `json:"fix"`     // what to do about it
	Resumes bool   `json:"resumes"` // the next run continues where this one stopped, nothing to fix
	Detail  string `json:"detail"`  // the technical error, for -v or "Details"
}

// Context makes fixes name the configuration in use. None of it is
// secret.
type Context struct {
	Shop      string // acme.myshopify.com
	StorePath string
	// ClientCredentials: the credentials are a Dev Dashboard app's client
	// id and secret, not a static access token.
	ClientCredentials bool
}

// Explain explains err. A nil err explains nothing (zero Problem).
func Explain(err error, c Context) Problem {
	if err == nil {
		return Problem{}
	}
	p := Problem{Code: classify(err), Detail: err.Error()}
	if p.Code == BadToken && c.ClientCredentials {
		p.Code = BadCredentials
	}
	p.Title, p.Fix, p.Resumes = words(p.Code, statusOf(err), c)
	return p
}

// ExplainText explains the error text a failed run recorded.
func ExplainText(msg string, c Context) Problem {
	if msg == "" {
		return Problem{}
	}
	p := Problem{Code: classifyText(msg), Detail: msg}
	if p.Code == BadToken && (c.ClientCredentials || strings.Contains(msg, "fresh token")) {
		p.Code = BadCredentials
	}
	p.Title, p.Fix, p.Resumes = words(p.Code, statusText(msg), c)
	return p
}

func classify(err error) string {
	var (
		api   *shopify.APIError
		tok   *shopify.TokenError
		sq    sqlite3.Error
		netE  net.Error
		dns   *net.DNSError
		errno syscall.Errno
	)
	switch {
	case errors.As(err, &api):
		return byStatus(api.Status)
	case errors.As(err, &tok):
		return BadCredentials
	case errors.Is(err, shopsync.ErrSyncRunning):
		return SyncRunning
	case errors.As(err, &sq):
		switch sq.Code {
		case sqlite3.ErrFull:
			return DiskFull
		case sqlite3.ErrIoErr:
			return DiskError
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return StoreLocked
		case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
			return StoreReadOnly
		}
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netE) && netE.Timeout():
		return Timeout
	case errors.As(err, &dns):
		return Unreachable
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG:
			return DiskFull
		case syscall.EROFS, syscall.EACCES, syscall.EPERM:
			return StoreReadOnly
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ENETUNREACH, syscall.EHOSTUNREACH:
			return Unreachable
		case syscall.ETIMEDOUT:
			return Timeout
		}
	}
	return classifyText(err.Error())
}

var statusRE = regexp.MustCompile(`(?:shopify answered HTTP|client credentials grant refused \(HTTP) (\d{3})`)

// textRules classify recorded error text, first match wins. The patterns
// are the texts shopsync's packages, SQLite and Go's net package write.
var textRules = []struct {
	code string
	any  []string
}{
	{BadCredentials, []string{"client credentials grant refused"}},
	{SyncRunning, []string{"is already running", shopsync.ErrSyncRunning.Error()}},
	{Interrupted, []string{"interrupted:", "context canceled", "shutting down"}},
	{DiskFull, []string{"database or disk is full", "no space left on device", "disk quota exceeded", "file too large"}},
	{DiskError, []string{"disk I/O error"}},
	{StoreLocked, []string{"database is locked", "database table is locked"}},
	{StoreReadOnly, []string{"readonly database", "unable to open database file", "read-only file system", "permission denied"}},
	{Timeout, []string{"context deadline exceeded", "i/o timeout", "Client.Timeout", "timeout awaiting", "handshake timeout", "connection timed out"}},
	{Unreachable, []string{"no such host", "connection refused", "network is unreachable", "no route to host",
		"connection reset", "tls:", "x509:", "server misbehaving"}},
	{BadData, []string{"map customer", "decode customer", "not in ascending id order", "decode customers"}},
}

func classifyText(msg string) string {
	if m := statusRE.FindStringSubmatch(msg); m != nil {
		if strings.Contains(m[0], "client credentials") {
			return BadCredentials
		}
		n, _ := strconv.Atoi(m[1])
		return byStatus(n)
	}
	for _, r := range textRules {
		for _, s := range r.any {
			if strings.Contains(msg, s) {
				return r.code
			}
		}
	}
	return Unknown
}

func byStatus(status int) string {
	switch {
	case status == 401:
		return BadToken
	case status == 403:
		return MissingScope
	case status == 404:
		return NotFound
	case status == 402 || status == 423:
		return ShopInactive
	case status == 429:
		return Throttled
	case status >= 500:
		return ShopifyError
	}
	return Unknown
}

func statusOf(err error) int {
	var api *shopify.APIError
	if errors.As(err, &api) {
		return api.Status
	}
	return statusText(err.Error())
}

func statusText(msg string) int {
	if m := statusRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// resumeNote is said of every problem a later run gets past by itself.
const resumeNote = "Nothing is lost: the next run continues where this one stopped."

func words(code string, status int, c Context) (title, fix string, resumes bool) {
	shop := c.Shop
	if shop == "" {
		shop = "your-store.myshopify.com"
	}
	store := "store.path"
	if c.StorePath != "" {
		store = fmt.Sprintf("store.path (%s)", c.StorePath)
	}
	switch code {
	case BadToken:
		return "Shopify refused the access token (HTTP 401).",
			"Copy the Admin API access token (shpat_…) into shopify.access_token again: in Shopify, Settings > Apps and sales channels > Develop apps > your app > API credentials. " +
				"A token is shown only once: if it is lost, uninstall and install the app again to get a new one. Then sync again.", false
	case BadCredentials:
		return "Shopify refused the app's credentials.",
			"Check shopify.client_id and shopify.client_secret against the app's settings in the Dev Dashboard, and that the app is installed on " + shop + ". Then sync again.", false
	case MissingScope:
		return "The app is not allowed to read customers (HTTP 403).",
			"Give the app the read_customers Admin API scope and install that version on the store (Dev Dashboard: release a version with the scope; " +
				"an app made in the store admin: Configuration > Admin API scopes, then Install). Run `shopsync doctor` to check.", false
	case NotFound:
		return "Shopify does not know this shop or this API version (HTTP 404).",
			"Check that shopify.shop is the shop's permanent name from Settings > Domains (" + shop + ", not a custom domain) and that shopify.api_version is a version Shopify still supports, such as 2025-01.", false
	case ShopInactive:
		return fmt.Sprintf("Shopify says the shop is not active (HTTP %d: frozen, unpaid or locked).", status),
			"Check the shop's plan and billing in Shopify. Syncing works again once the shop is active.", false
	case Throttled:
		return "Shopify kept asking shopsync to slow down (HTTP 429), even after waiting each time.",
			"Another app is probably using the shop's whole API allowance. " + resumeNote + " If it keeps happening, look for the busy app.", true
	case ShopifyError:
		t := "Shopify had a problem on its side and still had it after several tries."
		if status > 0 {
			t = fmt.Sprintf("Shopify had a problem on its side (HTTP %d) and still had it after several tries.", status)
		}
		return t, "Nothing to fix on your side. " + resumeNote + " If it lasts, see https://www.shopifystatus.com.", true
	case Unreachable:
		return "shopsync could not reach Shopify.",
			"Check this machine's internet connection, DNS and firewall: it must reach https://" + shop + " (port 443). " + resumeNote, true
	case Timeout:
		return "Shopify did not answer in time.",
			"Usually a slow network or a busy Shopify. " + resumeNote + " If it keeps happening, raise shopify.request_timeout, e.g. to 60s.", true
	case DiskFull:
		return "The disk holding the contact store is full.",
			"Free some space on the disk of " + store + ": the store needs room for its file and its write-ahead log. Then sync again: nothing already stored is lost.", true
	case DiskError:
		return "The disk holding the contact store failed a write.",
			"Check that the disk of " + store + " has free space and is healthy (the system log says more). Then sync again: nothing already stored is lost.", true
	case StoreLocked:
		return "Another program is holding the contact store.",
			"Close what has " + store + " open for writing (a sqlite3 shell in the middle of a transaction, a backup tool), then sync again.", true
	case StoreReadOnly:
		return "shopsync cannot write to the contact store.",
			"Give the user that runs shopsync write access to " + store + " and to its folder (SQLite writes files beside the store).", false
	case SyncRunning:
		return "Another sync is already running on this contact store.",
			"Wait for it to finish: the status page shows its progress.", false
	case Interrupted:
		return "The sync was stopped before it finished.", resumeNote, true
	case BadData:
		return "Shopify sent a customer that shopsync could not read.",
			"The technical detail names the customer. Nothing was skipped silently: the run stopped there. Please report it with the detail.", false
	}
	return "The sync stopped because of an unexpected error.",
		resumeNote + " If it happens again, the technical detail says what failed.", true
}
