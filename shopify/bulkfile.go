package shopify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// BulkFile reads a bulk operation's result file from a byte offset, as a
// stream, resuming where it stopped when the connection breaks.
//
// The URL is a signed link to a file store, not the Admin API: the request
// goes through a plain HTTP client, without the access token and without
// the Admin API's pacing (bulk results are not rate limited, SHOPIFY.md §5).
// A resumed read asks for the rest with an HTTP Range request; a server
// that ignores Range (200 instead of 206) is read from the start and the
// bytes already delivered are skipped, so the stream continues at the same
// byte either way. A URL the server refuses (an expired signature answers
// 400, 401, 403, 404 or 410) is asked anew through Refresh, once in a row;
// failing that, Read returns a *BulkURLError.
type BulkFile struct {
	// Refresh, when set, returns a fresh URL for the same file: the
	// operation polled again. Its error ends the read.
	Refresh func(ctx context.Context) (string, error)
	// MaxRetries bounds consecutive failed attempts (connection errors,
	// stalls, 5xx, 429) before Read returns the error. Zero means 6.
	MaxRetries int
	// Stall is how long a read may wait for the next byte before the
	// attempt is abandoned and resumed. Zero means one minute.
	Stall time.Duration

	ctx    context.Context
	hc     *http.Client
	url    string
	pos    int64 // bytes delivered: the file offset of the next byte
	size   int64 // the file's size when known, else -1
	body   io.ReadCloser
	cancel context.CancelFunc // the current attempt's
	timer  *time.Timer        // the stall watchdog
	fails  int
	stats  BulkFileStats
}

// BulkFileStats count what a BulkFile did.
type BulkFileStats struct {
	Requests int   // GET requests sent
	Resumed  int   // of them, resumed after a broken or stalled transfer
	Skipped  int64 // bytes read again and dropped because a server ignored Range
}

// BulkReadError is a transfer of the result file that kept failing
// (connection errors, stalls, 5xx) after the retries: the file may be
// fine, and a later attempt may read it from the same offset.
type BulkReadError struct {
	Offset int64
	Err    error
}

func (e *BulkReadError) Error() string {
	return fmt.Sprintf("result file at byte %d: %v", e.Offset, e.Err)
}

func (e *BulkReadError) Unwrap() error { return e.Err }

// retryable marks an attempt's error as worth another attempt.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// BulkURLError is a result URL the server refused (expired or revoked).
type BulkURLError struct {
	Status int
}

func (e *BulkURLError) Error() string {
	return fmt.Sprintf("the result file's URL was refused (HTTP %d): it has expired or was revoked", e.Status)
}

// OpenBulkFile returns a reader of the file at url from byte offset on;
// size is the file's size when known (BulkOperation.FileSize), else -1,
// and lets a transfer that ends early be told from the end of the file.
// The first request is sent by the first Read.
func (c *Client) OpenBulkFile(ctx context.Context, url string, offset, size int64) *BulkFile {
	return &BulkFile{ctx: ctx, hc: &http.Client{Transport: downloadTransport(c.tr.base)}, url: url, pos: offset, size: size}
}

// downloadTransport is base with a larger read buffer: a result file is
// hundreds of megabytes, read by a decoder that asks for a few kilobytes
// at a time.
func downloadTransport(base http.RoundTripper) http.RoundTripper {
	t, ok := base.(*http.Transport)
	if !ok {
		return base
	}
	t = t.Clone()
	t.ReadBufferSize = 256 << 10
	return t
}

// Offset is the file offset of the next byte Read returns.
func (f *BulkFile) Offset() int64 { return f.pos }

// Stats returns what the reader did so far.
func (f *BulkFile) Stats() BulkFileStats { return f.stats }

// Close ends the current transfer.
func (f *BulkFile) Close() error {
	f.drop()
	return nil
}

func (f *BulkFile) drop() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if f.body != nil {
		f.body.Close()
		f.body = nil
	}
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

func (f *BulkFile) maxRetries() int {
	if f.MaxRetries > 0 {
		return f.MaxRetries
	}
	return 6
}

func (f *BulkFile) stall() time.Duration {
	if f.Stall > 0 {
		return f.Stall
	}
	return time.Minute
}

// Read implements io.Reader.
func (f *BulkFile) Read(p []byte) (int, error) {
	for {
		if err := f.ctx.Err(); err != nil {
			f.drop()
			return 0, err
		}
		if f.body == nil {
			if f.size >= 0 && f.pos >= f.size {
				return 0, io.EOF
			}
			err := f.open()
			if err == io.EOF {
				return 0, io.EOF
			}
			if err != nil {
				if retry, rerr := f.failed(err); !retry {
					return 0, rerr
				}
				continue
			}
		}
		n, err := f.body.Read(p)
		if n > 0 {
			f.pos += int64(n)
			f.fails = 0
			f.timer.Reset(f.stall())
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (f.size < 0 || f.pos >= f.size):
			f.drop()
			if f.size >= 0 && f.pos > f.size {
				return n, fmt.Errorf("result file: %d bytes read, Shopify said %d", f.pos, f.size)
			}
			if n > 0 {
				return n, nil // EOF again at the next call
			}
			return 0, io.EOF
		}
		// Cut short (unexpected EOF, a reset, a stall): resume from pos.
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		f.drop()
		if retry, rerr := f.failed(retryable{err}); !retry {
			return n, rerr
		}
		f.stats.Resumed++
		if n > 0 {
			return n, nil
		}
	}
}

// failed decides whether to try again after err, waiting first. Only
// transfer errors are tried again; the others end the read.
func (f *BulkFile) failed(err error) (bool, error) {
	if f.ctx.Err() != nil {
		return false, f.ctx.Err()
	}
	var r retryable
	if !errors.As(err, &r) {
		return false, err
	}
	f.fails++
	if f.fails > f.maxRetries() {
		return false, &BulkReadError{Offset: f.pos, Err: fmt.Errorf("%w (after %d attempts)", r.err, f.fails)}
	}
	if err := sleep(f.ctx, backoff(f.fails)); err != nil {
		return false, err
	}
	return true, nil
}

// open sends a GET for the file from pos on and leaves its body ready.
func (f *BulkFile) open() error {
	for refreshed := false; ; {
		ctx, cancel := context.WithCancel(f.ctx)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
		if err != nil {
			cancel()
			return fmt.Errorf("result file: %w", err)
		}
		if f.pos > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(f.pos, 10)+"-")
		}
		// The watchdog also bounds the wait for the answer's headers.
		timer := time.AfterFunc(f.stall(), cancel)
		f.stats.Requests++
		resp, err := f.hc.Do(req)
		if err != nil {
			timer.Stop()
			cancel()
			return retryable{fmt.Errorf("result file: %w", unwrapURLError(err))}
		}
		keep := false
		defer func() {
			if !keep {
				timer.Stop()
				resp.Body.Close()
				cancel()
			}
		}()
		switch resp.StatusCode {
		case http.StatusOK:
			if f.pos > 0 { // Range ignored: skip what was delivered
				n, err := io.CopyN(io.Discard, resp.Body, f.pos)
				f.stats.Skipped += n
				if err != nil {
					return retryable{fmt.Errorf("result file: skipping %d bytes already read: %w", f.pos, err)}
				}
			}
		case http.StatusPartialContent:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if !ok || start != f.pos {
				return fmt.Errorf("result file: asked for bytes from %d, got Content-Range %q", f.pos, resp.Header.Get("Content-Range"))
			}
			if f.size < 0 && total >= 0 {
				f.size = total
			}
		case http.StatusRequestedRangeNotSatisfiable:
			// Asked from the end: nothing is left.
			if _, total, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && total == f.pos {
				return io.EOF
			}
			return fmt.Errorf("result file: range from byte %d refused (Content-Range %q)", f.pos, resp.Header.Get("Content-Range"))
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
			if f.Refresh == nil || refreshed {
				return &BulkURLError{Status: resp.StatusCode}
			}
			url, err := f.Refresh(f.ctx)
			if err != nil {
				return err
			}
			f.url, refreshed = url, true
			continue
		default:
			err := fmt.Errorf("result file: HTTP %d", resp.StatusCode)
			if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
				return retryable{err}
			}
			return err
		}
		keep = true
		f.body, f.cancel, f.timer = resp.Body, cancel, timer
		return nil
	}
}

// parseContentRange reads "bytes 100-199/1000" (total -1 for "*") or
// "bytes */1000" (start -1).
func parseContentRange(h string) (start, total int64, ok bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, false
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		var err error
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	if rng == "*" {
		return -1, total, true
	}
	first, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}
