package shopsync

import (
	"errors"
	"time"
)

// RunState is the state of a sync run.
type RunState string

// The states of a sync run.
const (
	RunRunning   RunState = "running"
	RunSucceeded RunState = "succeeded"
	RunFailed    RunState = "failed"
)

// Trigger says what started a sync run.
type Trigger string

// The triggers of a sync run.
const (
	TriggerCLI       Trigger = "cli"       // shopsync sync
	TriggerButton    Trigger = "button"    // POST /sync ("Sync now")
	TriggerSchedule  Trigger = "schedule"  // the cron schedule
	TriggerReconcile Trigger = "reconcile" // the periodic updated_at sweep
)

// SyncRun is the record of one sync run. A full import that is killed is
// resumed by the next run from its checkpoint; each run has its own record
// and counts, and ImportID ties together the runs of one full import.
type SyncRun struct {
	ID         int64      `json:"id"`
	ImportID   int64      `json:"import_id"`
	Trigger    Trigger    `json:"trigger"`
	State      RunState   `json:"state"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Resumed    bool       `json:"resumed"`   // continued an interrupted import
	Total      int64      `json:"total"`     // customers Shopify counted at the start
	Fetched    int64      `json:"fetched"`   // customers received
	Pages      int64      `json:"pages"`     // pages received
	Created    int64      `json:"created"`   // contacts new to the store (or back from deleted)
	Updated    int64      `json:"updated"`   // contacts whose data changed
	Unchanged  int64      `json:"unchanged"` // contacts already current (or newer locally)
	Deleted    int64      `json:"deleted"`   // contacts Shopify no longer has
	Error      string     `json:"error"`     // why it failed; empty otherwise
	Engine     string     `json:"engine"`    // how Shopify was read: EngineREST or EngineBulk
	Prepared   int64      `json:"prepared"`  // bulk: objects Shopify has put in the result file so far
}

// The engines a full import reads Shopify with.
const (
	EngineREST = "rest" // the REST listing, page by page
	EngineBulk = "bulk" // a GraphQL bulk operation's result file
)

// PageCounts are the effects of applying one page of customers.
type PageCounts struct {
	Created, Updated, Unchanged int64
}

// ErrSyncRunning is returned when a run cannot take a store's sync lock:
// another run holds it, in this process or another.
var ErrSyncRunning = errors.New("another sync is running on this store")
