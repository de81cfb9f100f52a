package shopify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GraphQL bulk operations (SHOPIFY.md §9): a query Shopify runs on its
// side, delivering the result as a JSONL file at a URL.
//
// Sources:
//   - shopify.dev/docs/api/usage/bulk-operations/queries (the guide);
//   - .../admin-graphql/latest/objects/BulkOperation (fields: objectCount,
//     rootObjectCount and fileSize are UnsignedInt64, serialised as
//     strings; url and partialDataUrl expire after seven days);
//   - .../enums/BulkOperationStatus, BulkOperationErrorCode
//     (ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT),
//     BulkOperationUserErrorCode (INVALID, LIMIT_REACHED,
//     OPERATION_IN_PROGRESS);
//   - .../2024-10/payloads/BulkOperationRunQueryPayload: userErrors is
//     [UserError!]! (no code) before 2025-01, [BulkOperationUserError!]!
//     with a code from 2025-01;
//   - shopify.dev/changelog/new-queries-for-bulk-operations: bulkOperation(id:)
//     and bulkOperations exist from 2026-01; before, an operation is read
//     with node(id:) { ... on BulkOperation }, as peers do
//     (estuary/connectors source-shopify-native bulk_job_manager.py);
//   - shopify.dev/changelog/faster-bulk-operations: up to five concurrent
//     operations per shop from 2026-01, one query at a time before;
//   - shopify.dev/changelog/uncapped-graphql-counts: customersCount takes
//     limit (default 10,000) from 2025-07; limit: null counts everything.
//
// Traps others fell into, and what is done here: estuary/connectors#2749
// (the id of bulkOperationCancel must be quoted; a CANCELING job blocks new
// ones): ids travel as GraphQL variables, and a CANCELING job is waited
// for; estuary/connectors#4128 (jobs rejected for concurrency after slow
// cancels): the refusal is a typed error naming the running jobs.

// BulkStatus is a bulk operation's status.
type BulkStatus string

// The statuses of a bulk operation.
const (
	BulkCreated   BulkStatus = "CREATED"
	BulkRunning   BulkStatus = "RUNNING"
	BulkCompleted BulkStatus = "COMPLETED"
	BulkCanceling BulkStatus = "CANCELING"
	BulkCanceled  BulkStatus = "CANCELED"
	BulkFailed    BulkStatus = "FAILED"
	BulkExpired   BulkStatus = "EXPIRED"
)

// Finished reports whether the operation will not change any more (but
// for a COMPLETED one expiring).
func (s BulkStatus) Finished() bool {
	switch s {
	case BulkCompleted, BulkCanceled, BulkFailed, BulkExpired:
		return true
	}
	return false
}

// BulkOperation is a bulk operation as the API describes it.
type BulkOperation struct {
	ID              string // gid://shopify/BulkOperation/N
	Status          BulkStatus
	ErrorCode       string // ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT; "" when none
	ObjectCount     int64  // lines of the result so far (every object, nested ones included)
	RootObjectCount int64
	FileSize        int64 // bytes of the file at URL; -1 when Shopify gave none
	URL             string
	PartialDataURL  string
	Query           string
	CreatedAt       time.Time // Shopify's clock
	CompletedAt     *time.Time
}

// bulkOperationJSON is BulkOperation as GraphQL sends it.
type bulkOperationJSON struct {
	ID              string      `json:"id"`
	Status          BulkStatus  `json:"status"`
	ErrorCode       *string     `json:"errorCode"`
	ObjectCount     uint64Text  `json:"objectCount"`
	RootObjectCount uint64Text  `json:"rootObjectCount"`
	FileSize        *uint64Text `json:"fileSize"`
	URL             *string     `json:"url"`
	PartialDataURL  *string     `json:"partialDataUrl"`
	Query           string      `json:"query"`
	CreatedAt       time.Time   `json:"createdAt"`
	CompletedAt     *time.Time  `json:"completedAt"`
}

func (j *bulkOperationJSON) operation() *BulkOperation {
	op := &BulkOperation{ID: j.ID, Status: j.Status, ObjectCount: int64(j.ObjectCount),
		RootObjectCount: int64(j.RootObjectCount), FileSize: -1, Query: j.Query,
		CreatedAt: j.CreatedAt, CompletedAt: j.CompletedAt}
	if j.ErrorCode != nil {
		op.ErrorCode = *j.ErrorCode
	}
	if j.FileSize != nil {
		op.FileSize = int64(*j.FileSize)
	}
	if j.URL != nil {
		op.URL = *j.URL
	}
	if j.PartialDataURL != nil {
		op.PartialDataURL = *j.PartialDataURL
	}
	return op
}

// uint64Text is an UnsignedInt64: a JSON string of digits ("1000"), or
// defensively a JSON number.
type uint64Text uint64

func (u *uint64Text) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return fmt.Errorf("unsigned int64 %s: %w", b, err)
	}
	*u = uint64Text(n)
	return nil
}

// bulkFields are the BulkOperation fields every query here selects.
const bulkFields = `id status errorCode objectCount rootObjectCount fileSize url partialDataUrl query createdAt completedAt`

// versionAtLeast reports whether the API version the shop serves (the one
// configured until an answer says otherwise) is v or later. Versions are
// YYYY-MM and compare as text.
func (c *Client) versionAtLeast(v string) bool {
	served, _ := c.tr.stats.servedVersion.Load().(string)
	if served == "" {
		served = c.tr.version
	}
	return served >= v
}

// APIVersion returns the Admin API version Shopify serves: the one of the
// last answer, or the configured one before any.
func (c *Client) APIVersion() string {
	if served, _ := c.tr.stats.servedVersion.Load().(string); served != "" {
		return served
	}
	return c.tr.version
}

// ConcurrentBulkQueries is how many bulk queries the shop runs at once
// for the app in the API version served: five from 2026-01, one before.
func (c *Client) ConcurrentBulkQueries() int {
	if c.versionAtLeast("2026-01") {
		return 5
	}
	return 1
}

// BulkBusyError is Shopify's refusal of a new bulk query because the
// app's concurrent operations are all taken (OPERATION_IN_PROGRESS or
// LIMIT_REACHED), by jobs of this process or of any other client of the
// same app. A CANCELING job still counts.
type BulkBusyError struct {
	Message string   // Shopify's message
	Running []string // ids of the running operations the message names
}

func (e *BulkBusyError) Error() string {
	return "shopify refused a new bulk operation: " + e.Message
}

// opIDRE finds bulk operation ids in a message (Shopify names the running
// operation in its refusal: estuary/connectors bulk_job_manager.py parses it).
var opIDRE = regexp.MustCompile(`gid://shopify/BulkOperation/[0-9]+`)

// busyMessage is the refusal's text before 2025-01, when the userError
// had no code (estuary/connectors bulk_job_manager.py,
// BULK_QUERY_CONCURRENCY_LIMIT_EXCEEDED_ERROR).
const busyMessage = "already in progress"

// ErrBulkNotFound is returned for a bulk operation id Shopify does not know.
var ErrBulkNotFound = errors.New("bulk operation not found")

// RunBulkQuery submits query (a GraphQL document with one connection at its
// root) as a bulk operation and returns it. A *BulkBusyError means the
// app's slots are taken; other refusals are UserErrors.
func (c *Client) RunBulkQuery(ctx context.Context, query string) (*BulkOperation, error) {
	userErrors := `field message`
	if c.versionAtLeast("2025-01") {
		userErrors += ` code`
	}
	var out struct {
		Run struct {
			BulkOperation *bulkOperationJSON `json:"bulkOperation"`
			UserErrors    []struct {
				Field   []string `json:"field"`
				Message string   `json:"message"`
				Code    string   `json:"code"`
			} `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	q := `mutation shopsyncBulkRun($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { ` +
		bulkFields + ` } userErrors { ` + userErrors + ` } } }`
	if err := c.graphql(ctx, q, map[string]any{"query": query}, &out); err != nil {
		return nil, fmt.Errorf("run bulk query: %w", err)
	}
	if ue := out.Run.UserErrors; len(ue) > 0 {
		var errs UserErrors
		for _, e := range ue {
			if e.Code == "OPERATION_IN_PROGRESS" || e.Code == "LIMIT_REACHED" || strings.Contains(e.Message, busyMessage) {
				return nil, &BulkBusyError{Message: e.Message, Running: opIDRE.FindAllString(e.Message, -1)}
			}
			errs = append(errs, UserError{Field: e.Field, Message: e.Message})
		}
		return nil, fmt.Errorf("run bulk query: %w", errs)
	}
	if out.Run.BulkOperation == nil {
		return nil, errors.New("run bulk query: shopify returned no operation and no error")
	}
	return out.Run.BulkOperation.operation(), nil
}

// BulkOperation returns the operation with the given id, and the cost
// extension of the answer. ErrBulkNotFound when Shopify knows none.
func (c *Client) BulkOperation(ctx context.Context, id string) (*BulkOperation, Cost, error) {
	var (
		q   string
		out struct {
			Node *bulkOperationJSON `json:"node"`
			Op   *bulkOperationJSON `json:"bulkOperation"`
		}
	)
	if c.versionAtLeast("2026-01") {
		q = `query shopsyncBulkOp($id: ID!) { bulkOperation(id: $id) { ` + bulkFields + ` } }`
	} else {
		q = `query shopsyncBulkOp($id: ID!) { node(id: $id) { ... on BulkOperation { ` + bulkFields + ` } } }`
	}
	cost, err := c.graphqlCost(ctx, q, map[string]any{"id": id}, &out)
	if err != nil {
		return nil, cost, fmt.Errorf("bulk operation %s: %w", id, err)
	}
	op := out.Op
	if op == nil {
		op = out.Node
	}
	if op == nil || op.ID == "" {
		return nil, cost, fmt.Errorf("bulk operation %s: %w", id, ErrBulkNotFound)
	}
	return op.operation(), cost, nil
}

// CurrentBulkOperation returns the app's most recent bulk query, whoever
// submitted it (this process or another client of the same app), or nil
// when there is none.
func (c *Client) CurrentBulkOperation(ctx context.Context) (*BulkOperation, error) {
	var out struct {
		Op *bulkOperationJSON `json:"currentBulkOperation"`
	}
	q := `query shopsyncCurrentBulk { currentBulkOperation(type: QUERY) { ` + bulkFields + ` } }`
	if err := c.graphql(ctx, q, nil, &out); err != nil {
		return nil, fmt.Errorf("current bulk operation: %w", err)
	}
	if out.Op == nil {
		return nil, nil
	}
	return out.Op.operation(), nil
}

// RunningBulkOperations lists the app's bulk queries that are created,
// running or canceling, from API 2026-01 (bulkOperations); before, the
// current one if it is not finished.
func (c *Client) RunningBulkOperations(ctx context.Context) ([]*BulkOperation, error) {
	if !c.versionAtLeast("2026-01") {
		op, err := c.CurrentBulkOperation(ctx)
		if err != nil || op == nil || op.Status.Finished() {
			return nil, err
		}
		return []*BulkOperation{op}, nil
	}
	var out struct {
		Ops struct {
			Nodes []*bulkOperationJSON `json:"nodes"`
		} `json:"bulkOperations"`
	}
	// Search syntax of bulkOperations: status and operation_type, lower
	// case (shopify.dev/docs/api/admin-graphql/latest/queries/bulkOperations).
	q := `query shopsyncRunningBulk { bulkOperations(first: 20, query: "operation_type:query AND (status:created OR status:running OR status:canceling)") { nodes { ` +
		bulkFields + ` } } }`
	if err := c.graphql(ctx, q, nil, &out); err != nil {
		return nil, fmt.Errorf("running bulk operations: %w", err)
	}
	ops := make([]*BulkOperation, 0, len(out.Ops.Nodes))
	for _, n := range out.Ops.Nodes {
		if op := n.operation(); !op.Status.Finished() {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// CancelBulkOperation starts the cancelation of an operation; it is
// CANCELING for a while, then CANCELED.
func (c *Client) CancelBulkOperation(ctx context.Context, id string) (*BulkOperation, error) {
	var out struct {
		Cancel struct {
			BulkOperation *bulkOperationJSON `json:"bulkOperation"`
			UserErrors    UserErrors         `json:"userErrors"`
		} `json:"bulkOperationCancel"`
	}
	q := `mutation shopsyncBulkCancel($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { ` + bulkFields +
		` } userErrors { field message } } }`
	if err := c.graphql(ctx, q, map[string]any{"id": id}, &out); err != nil {
		return nil, fmt.Errorf("cancel bulk operation %s: %w", id, err)
	}
	if len(out.Cancel.UserErrors) > 0 {
		return nil, fmt.Errorf("cancel bulk operation %s: %w", id, out.Cancel.UserErrors)
	}
	if out.Cancel.BulkOperation == nil {
		return nil, nil
	}
	return out.Cancel.BulkOperation.operation(), nil
}

// Count is a count with its precision: EXACT, or AT_LEAST when Shopify
// stopped counting at a limit.
type Count struct {
	N     int64
	Exact bool
}

// CountCustomersExact counts the shop's customers over GraphQL:
// customersCount(limit: null) from API 2025-07, which counts them all
// (before, customersCount has no limit argument), and the cost extension
// of the answer. Its precision says whether the count is exact.
func (c *Client) CountCustomersExact(ctx context.Context) (Count, Cost, error) {
	q := `query shopsyncCount { customersCount { count precision } }`
	if c.versionAtLeast("2025-07") {
		q = `query shopsyncCount { customersCount(limit: null) { count precision } }`
	}
	var out struct {
		Count *struct {
			Count     int64  `json:"count"`
			Precision string `json:"precision"`
		} `json:"customersCount"`
	}
	cost, err := c.graphqlCost(ctx, q, nil, &out)
	if err != nil {
		return Count{}, cost, fmt.Errorf("count customers: %w", err)
	}
	if out.Count == nil {
		return Count{}, cost, errors.New("count customers: shopify returned no count")
	}
	return Count{N: out.Count.Count, Exact: out.Count.Precision == "EXACT"}, cost, nil
}
