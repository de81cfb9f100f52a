package shopifytest

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bulk operations (GraphQL Admin API), as the customers bulk query uses
// them: bulkOperationRunQuery, currentBulkOperation, bulkOperation(id:)
// (API 2026-01+), node(id:), bulkOperations (2026-01+) and
// bulkOperationCancel, with the result served as a JSONL file over HTTP
// with Range support. Facts: SHOPIFY.md §9 and shopify.dev's bulk
// operations guide (see shopify/bulk.go for the sources).
//
// A job snapshots the customers when it is submitted, writes its file at
// once into a temporary directory, and reports progress from the clock:
// objectCount grows at Options.BulkRate objects a second (0: at once) and
// the job is COMPLETED, with its url, when every object is counted and the
// file is written. Concurrency is Shopify's: one running bulk query per
// app and shop before API 2026-01, five from it; a CANCELING job still
// takes its slot, and so do jobs of "another client of the same app"
// (StartForeignBulk).

// BulkFault makes a bulk query go wrong in one way (FailNextBulk).
type BulkFault int

// The faults of a bulk query.
const (
	BulkOK BulkFault = iota
	// BulkFail ends the job FAILED with errorCode INTERNAL_SERVER_ERROR
	// and no data.
	BulkFail
	// BulkPartialData ends the job FAILED with a partialDataUrl holding
	// the first half of the customers.
	BulkPartialData
	// BulkNoURL completes the job without a url though its objectCount
	// counts every customer (airbytehq/airbyte#85372).
	BulkNoURL
	// BulkShortFile completes the job with objectCount counting every
	// customer but a file missing every tenth of them.
	BulkShortFile
	// BulkShuffled writes the file's lines in a random order instead of
	// by id (the guide: do not rely on the order of the lines).
	BulkShuffled
	// BulkTruncated completes the job with a file whose last line is cut
	// in the middle; fileSize says the cut file's size.
	BulkTruncated
)

// bulkState holds the bulk operations; under its own lock.
type bulkState struct {
	mu        sync.Mutex
	dir       string // temporary directory of the result files; "" until the first job
	key       []byte // signs result URLs
	nextID    int64
	ops       []*bulkOp // by id, oldest first
	nextFault BulkFault
	cutN      int   // CutBulkDownloads
	noRange   bool  // IgnoreRange
	bandwidth int64 // SetBulkBandwidth
	fileHook  func(*http.Request)
	stats     BulkStats
}

// BulkStats count what the simulator did for bulk operations.
type BulkStats struct {
	Submitted     int   // bulk queries accepted
	Refused       int   // submissions refused for concurrency
	Canceled      int   // bulkOperationCancel calls
	FileRequests  int   // GETs of result files
	RangeRequests int   // of them, with a Range header
	RangeFrom     int64 // the largest Range start asked for
	TokenLeaks    int   // file requests carrying X-Shopify-Access-Token (refused)
}

// bulkOp is one bulk operation.
type bulkOp struct {
	id        int64
	query     string
	version   string // the API version it was submitted with
	created   time.Time
	rate      float64 // objects a second; 0: at once
	total     int
	fault     BulkFault
	foreign   bool          // submitted by another client of the app
	runFor    time.Duration // a foreign job's length
	lastOrder bool          // the query reads Customer.lastOrder
	denied    bool          // it does without the read_orders scope

	written           chan struct{} // closed once the files are written
	werr              error
	path, partialPath string
	size, partialSize int64
	lines, partLines  int

	canceledAt time.Time // zero: not canceled
	cancelFor  time.Duration
	expired    bool
}

// bulkView is an operation's state at one moment, as the API shows it.
type bulkView struct {
	status         string
	errorCode      any // string or nil
	objectCount    int64
	fileSize       any // string or nil
	url            any
	partialDataURL any
	completedAt    any
}

// gid is the operation's GraphQL id.
func (op *bulkOp) gid() string { return "gid://shopify/BulkOperation/" + strconv.FormatInt(op.id, 10) }

// view computes op's state at now; host builds its URLs.
func (s *Server) bulkView(op *bulkOp, now time.Time, host string) bulkView {
	processed := func(at time.Time) int64 {
		if op.rate <= 0 {
			return int64(op.total)
		}
		return min(int64(op.total), int64(op.rate*at.Sub(op.created).Seconds()))
	}
	v := bulkView{status: "RUNNING"}
	if !op.canceledAt.IsZero() {
		v.objectCount = processed(op.canceledAt)
		if now.Before(op.canceledAt.Add(op.cancelFor)) {
			v.status = "CANCELING"
		} else {
			v.status = "CANCELED"
		}
		return v
	}
	if op.foreign {
		if now.Before(op.created.Add(op.runFor)) {
			return v
		}
		v.status, v.completedAt = "COMPLETED", gqlTime(op.created.Add(op.runFor))
		return v
	}
	v.objectCount = processed(now)
	if v.objectCount < int64(op.total) {
		if v.objectCount == 0 && now.Sub(op.created) < 10*time.Millisecond {
			v.status = "CREATED"
		}
		return v
	}
	select {
	case <-op.written:
	default:
		return v // counted, the file not written yet
	}
	done := op.created
	if op.rate > 0 {
		done = op.created.Add(time.Duration(float64(op.total) / op.rate * float64(time.Second)))
	}
	switch {
	case op.werr != nil:
		v.status, v.errorCode = "FAILED", "INTERNAL_SERVER_ERROR"
	case op.denied:
		v.status, v.errorCode, v.objectCount = "FAILED", "ACCESS_DENIED", 0
	case op.fault == BulkFail:
		v.status, v.errorCode, v.objectCount = "FAILED", "INTERNAL_SERVER_ERROR", int64(op.total/2)
	case op.fault == BulkPartialData:
		v.status, v.errorCode, v.objectCount = "FAILED", "INTERNAL_SERVER_ERROR", int64(op.partLines)
		v.partialDataURL = s.bulkURL(op, host, "partial")
	case op.expired:
		v.status, v.completedAt = "EXPIRED", gqlTime(done)
	default:
		v.status, v.completedAt = "COMPLETED", gqlTime(done)
		if op.fault != BulkNoURL && op.total > 0 {
			v.url = s.bulkURL(op, host, "result")
			v.fileSize = strconv.FormatInt(op.size, 10)
		}
	}
	return v
}

// bulkExpiry is how long result URLs stay valid: seven days.
const bulkExpiry = 7 * 24 * time.Hour

// bulkURL is the signed URL of an operation's file.
func (s *Server) bulkURL(op *bulkOp, host, kind string) string {
	exp := strconv.FormatInt(s.now().Add(bulkExpiry).Unix(), 10)
	return fmt.Sprintf("http://%s/bulk-results/%d-%s.jsonl?expires=%s&sig=%s", host, op.id, kind, exp, s.bulkSig(op.id, kind, exp))
}

func (s *Server) bulkSig(id int64, kind, exp string) string {
	m := hmac.New(sha256.New, s.bulk.key)
	fmt.Fprintf(m, "%d|%s|%s", id, kind, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// FailNextBulk makes the next bulk query submitted go wrong with f;
// FailNextBulk(BulkOK) cancels.
func (s *Server) FailNextBulk(f BulkFault) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.nextFault = f
}

// CutBulkDownloads makes the next n result file responses stop after
// half of the bytes they should send, closing the connection.
func (s *Server) CutBulkDownloads(n int) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.cutN = max(n, 0)
}

// IgnoreRange makes the file server answer 200 with the whole file to
// Range requests, as a server without Range support does.
func (s *Server) IgnoreRange(ignore bool) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.noRange = ignore
}

// SetBulkBandwidth slows result file transfers to about bytesPerSecond
// (0: as fast as the connection goes), so that a test can act during one.
func (s *Server) SetBulkBandwidth(bytesPerSecond int64) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.bandwidth = bytesPerSecond
}

// OnBulkFile sets a hook called with each result file request before it
// is served; nil removes it.
func (s *Server) OnBulkFile(fn func(*http.Request)) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.fileHook = fn
}

// ExpireBulk expires every completed bulk operation: its status becomes
// EXPIRED, its url null, and its file URLs are refused, as after seven
// days.
func (s *Server) ExpireBulk() {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	for _, op := range s.bulk.ops {
		op.expired = true
	}
}

// StartForeignBulk starts a bulk query "by another client of the same
// app": it is RUNNING for d, then COMPLETED (canceling: CANCELING for d,
// then CANCELED). It takes a concurrency slot like any other, and is the
// app's current operation until a newer one starts. It returns its id.
func (s *Server) StartForeignBulk(d time.Duration, canceling bool) string {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	s.bulk.nextID++
	now := s.now()
	op := &bulkOp{id: 4_100_000_000 + s.bulk.nextID, query: "{ products { edges { node { id } } } }", created: now,
		foreign: true, runFor: d, written: make(chan struct{})}
	close(op.written)
	if canceling {
		op.canceledAt, op.cancelFor = now, d
	}
	s.bulk.ops = append(s.bulk.ops, op)
	return op.gid()
}

// SetGraphQLRestoreRate changes the restore rate GraphQL answers report
// (Options.GraphQLRestoreRate), as a plan change would.
func (s *Server) SetGraphQLRestoreRate(pointsPerSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gqlRestore = pointsPerSecond
}

// BulkStats returns the bulk counters.
func (s *Server) BulkStats() BulkStats {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	return s.bulk.stats
}

// BulkOperationIDs returns the ids of the operations this app submitted
// through the API (not StartForeignBulk's), oldest first.
func (s *Server) BulkOperationIDs() []string {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	var ids []string
	for _, op := range s.bulk.ops {
		if !op.foreign {
			ids = append(ids, op.gid())
		}
	}
	return ids
}

// active reports whether op takes a concurrency slot at now.
func (s *Server) bulkActive(op *bulkOp, now time.Time) bool {
	switch s.bulkView(op, now, "").status {
	case "CREATED", "RUNNING", "CANCELING":
		return true
	}
	return false
}

// submitBulk starts a customers bulk query with the compiled plan, or
// returns the refusal's message and code.
func (s *Server) submitBulk(query, version string, plan []gqlField, lastOrder bool) (*bulkOp, string, string) {
	s.bulk.mu.Lock()
	defer s.bulk.mu.Unlock()
	now := s.now()
	limit := 1
	if version >= "2026-01" {
		limit = 5
	}
	var running []string
	for _, op := range s.bulk.ops {
		if s.bulkActive(op, now) {
			running = append(running, op.gid())
		}
	}
	if len(running) >= limit {
		s.bulk.stats.Refused++
		if limit == 1 {
			// The refusal names the running operation (estuary/connectors
			// bulk_job_manager.py parses its id out of this message).
			return nil, fmt.Sprintf("A bulk query operation for this app and shop is already in progress: %s.", running[0]), "OPERATION_IN_PROGRESS"
		}
		return nil, "Bulk operations limit reached. Please try again later. Running: " + strings.Join(running, ", "), "LIMIT_REACHED"
	}
	if err := s.bulkDirLocked(); err != nil {
		return nil, "Internal error: " + err.Error(), "INVALID"
	}
	s.cmu.RLock()
	rows := slices.Clone(s.customers)
	s.cmu.RUnlock()
	s.bulk.nextID++
	op := &bulkOp{id: 4_000_000_000 + s.bulk.nextID, query: query, version: version, created: now,
		rate: s.opts.BulkRate, total: len(rows), fault: s.bulk.nextFault, lastOrder: lastOrder,
		denied: lastOrder && !s.hasScope("read_orders"), written: make(chan struct{})}
	s.bulk.nextFault = BulkOK
	s.bulk.ops = append(s.bulk.ops, op)
	s.bulk.stats.Submitted++
	go s.writeBulk(op, rows, plan)
	return op, "", ""
}

// bulkDirLocked makes the result files' directory and the signing key.
func (s *Server) bulkDirLocked() error {
	if s.bulk.dir != "" {
		return nil
	}
	dir, err := os.MkdirTemp(s.opts.BulkDir, "shopifytest-bulk-")
	if err != nil {
		return err
	}
	s.bulk.dir = dir
	s.bulk.key = make([]byte, 32)
	rand.Read(s.bulk.key)
	return nil
}

// hasScope reports whether the app was granted scope.
func (s *Server) hasScope(scope string) bool {
	for _, sc := range s.scopes() {
		if sc == scope || (strings.HasPrefix(scope, "read_") && sc == "write_"+strings.TrimPrefix(scope, "read_")) {
			return true
		}
	}
	return false
}

// scopes are the granted scopes: Options.Scopes (or SetScopes), nil
// meaning read_customers.
func (s *Server) scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Scopes == nil {
		return []string{"read_customers"}
	}
	return slices.Clone(s.opts.Scopes)
}

// SetScopes changes the scopes granted to the app (Options.Scopes), as a
// merchant approving or revoking some would; none at all is none.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Scopes = append([]string{}, scopes...)
}

// writeBulk writes op's result file (and partial file) and closes
// op.written.
func (s *Server) writeBulk(op *bulkOp, rows []*Customer, plan []gqlField) {
	defer close(op.written)
	if op.fault == BulkShuffled {
		r := mrand.New(mrand.NewPCG(uint64(op.id), 7))
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	write := func(path string, keep func(i int) bool) (int64, int, error) {
		f, err := os.Create(path)
		if err != nil {
			return 0, 0, err
		}
		w := bufio.NewWriterSize(f, 256<<10)
		var (
			buf   []byte
			lines int
		)
		for i, c := range rows {
			if !keep(i) {
				continue
			}
			buf = appendBulkRow(buf[:0], plan, c)
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return 0, 0, err
			}
			lines++
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return 0, 0, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return 0, 0, err
		}
		return st.Size(), lines, f.Close()
	}
	path := filepath.Join(s.bulk.dir, strconv.FormatInt(op.id, 10)+".jsonl")
	keep := func(int) bool { return true }
	if op.fault == BulkShortFile {
		keep = func(i int) bool { return i%10 != 5 }
	}
	size, lines, err := write(path, keep)
	if err == nil && op.fault == BulkTruncated && size > 0 {
		size = max(size-40, 1) // inside the last line
		err = os.Truncate(path, size)
	}
	var (
		ppath  string
		psize  int64
		plines int
	)
	if err == nil && op.fault == BulkPartialData {
		ppath = filepath.Join(s.bulk.dir, strconv.FormatInt(op.id, 10)+"-partial.jsonl")
		psize, plines, err = write(ppath, func(i int) bool { return i < len(rows)/2 })
	}
	s.bulk.mu.Lock()
	op.path, op.size, op.lines, op.werr = path, size, lines, err
	op.partialPath, op.partialSize, op.partLines = ppath, psize, plines
	s.bulk.mu.Unlock()
}

// closeBulk removes the result files; called by Close once no job writes.
func (s *Server) closeBulk() {
	s.bulk.mu.Lock()
	ops := slices.Clone(s.bulk.ops)
	dir := s.bulk.dir
	s.bulk.mu.Unlock()
	for _, op := range ops {
		<-op.written
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// handleBulkFile serves GET /bulk-results/{id}-{kind}.jsonl?expires=&sig=:
// a signed link to a file, as Google Cloud Storage would serve it. It
// supports Range (through http.ServeContent) unless IgnoreRange is set,
// and refuses requests that carry the Admin API token: the file store
// must never see it.
func (s *Server) handleBulkFile(w http.ResponseWriter, r *http.Request) {
	s.bulk.mu.Lock()
	hook := s.bulk.fileHook
	s.bulk.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	s.bulk.mu.Lock()
	s.bulk.stats.FileRequests++
	if rg := r.Header.Get("Range"); rg != "" {
		s.bulk.stats.RangeRequests++
		if from, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64); err == nil {
			s.bulk.stats.RangeFrom = max(s.bulk.stats.RangeFrom, from)
		}
	}
	if r.Header.Get("X-Shopify-Access-Token") != "" {
		s.bulk.stats.TokenLeaks++
		s.bulk.mu.Unlock()
		http.Error(w, "the Admin API access token was sent to the file store", http.StatusBadRequest)
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/bulk-results/"), ".jsonl")
	idText, kind, _ := strings.Cut(name, "-")
	id, _ := strconv.ParseInt(idText, 10, 64)
	q := r.URL.Query()
	var op *bulkOp
	for _, o := range s.bulk.ops {
		if o.id == id && !o.foreign {
			op = o
		}
	}
	valid := op != nil && hmac.Equal([]byte(q.Get("sig")), []byte(s.bulkSig(id, kind, q.Get("expires"))))
	exp, _ := strconv.ParseInt(q.Get("expires"), 10, 64)
	if !valid || s.now().Unix() > exp || op.expired {
		s.bulk.mu.Unlock()
		// What a signed URL past its expiry gets from Cloud Storage.
		w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>Invalid argument.</Message></Error>`)
		return
	}
	path := op.path
	if kind == "partial" {
		path = op.partialPath
	}
	cut := s.bulk.cutN > 0
	if cut {
		s.bulk.cutN--
	}
	noRange := s.bulk.noRange
	bandwidth := s.bulk.bandwidth
	s.bulk.mu.Unlock()

	f, err := os.Open(path)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	var out http.ResponseWriter = w
	if bandwidth > 0 {
		out = &slowWriter{ResponseWriter: out, perSecond: bandwidth, done: s.done}
	}
	if cut {
		// Stop half way through what this answer should carry.
		send := st.Size()
		if from := r.Header.Get("Range"); from != "" && !noRange {
			if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(from, "bytes="), "-"), 10, 64); err == nil {
				send -= n
			}
		}
		out = &cutWriter{ResponseWriter: w, left: max(send/2, 1)}
	}
	if noRange {
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		w.WriteHeader(http.StatusOK)
		io.Copy(out, f)
		return
	}
	http.ServeContent(out, r, "", time.Time{}, f)
}

// slowWriter writes at about perSecond bytes a second.
type slowWriter struct {
	http.ResponseWriter
	perSecond int64
	done      <-chan struct{}
}

func (w *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), int(max(w.perSecond/20, 1))) // a twentieth of a second's worth
		m, err := w.ResponseWriter.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[n:]
		t := time.NewTimer(time.Duration(float64(n) / float64(w.perSecond) * float64(time.Second)))
		select {
		case <-t.C:
		case <-w.done:
			t.Stop()
		}
	}
	return written, nil
}

// cutWriter lets left bytes through, then aborts the answer: the client
// sees the connection close before Content-Length bytes.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.ResponseWriter.Write(p)
}

// gqlTime formats t as GraphQL's DateTime: UTC, to the second, "Z".
func gqlTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
