package shopsync

import "time"

// What is written to the store, whatever writes it: a webhook's change, a
// page of a full import, a sweep's or a re-fetch's read. The store applies
// them (store.DB.ApplyChanges, store.DB.ApplyPages); the webhook receiver
// and the sync runs make them. See Stamp for how versions compare.

// ChangeKind says what a Change does.
type ChangeKind int

// The kinds of change.
const (
	// ChangeUpsert merges Contact, part by part (customers/create,
	// customers/update, consent and purchasing-summary topics, re-fetches,
	// reconciliation sweeps).
	ChangeUpsert ChangeKind = iota + 1
	// ChangeTagsAdded and ChangeTagsRemoved add or remove Tags as of Clock.
	ChangeTagsAdded
	ChangeTagsRemoved
	// ChangeDelete marks the contact deleted: a read (Read, as of Seen)
	// found that Shopify no longer has the customer.
	ChangeDelete
	// ChangeRefetch queues the contact to be read again from the Admin
	// API, changing nothing else. customers/delete asks for it: a
	// deletion is confirmed by a read before it takes effect, since the
	// topic header of a signed body is not signed.
	ChangeRefetch
	// ChangeMerge records that Shopify merged Merge.MergedID into
	// Merge.KeptID (customers/merge) and queues both to be read again:
	// the merged-away customer is then found gone, the kept one changed.
	ChangeMerge
	// ChangeRedactCustomer erases the contact's personal data
	// (customers/redact); ChangeRedactShop erases every contact (shop/redact).
	ChangeRedactCustomer
	ChangeRedactShop
	// ChangeDataRequest records a customers/data_request.
	ChangeDataRequest
	// ChangeIgnore only records the delivery (a topic shopsync does not use).
	ChangeIgnore
)

// Change is one thing to apply to the store.
type Change struct {
	Kind      ChangeKind
	ShopifyID int64
	Contact   *Contact // ChangeUpsert: Parts and Clocks say what it carries
	Tags      []string // ChangeTagsAdded, ChangeTagsRemoved
	Clock     Clock    // the tags event's own clock (occurredAt), if it had one

	// Seen is when, on Shopify's clock, the data was true: the webhook's
	// X-Shopify-Triggered-At, or the Date of the Admin API's answer.
	Seen time.Time
	// Read says the data was read from the Admin API (a sweep, a
	// re-fetch): the whole truth as of Seen (see Stamp).
	Read   bool
	Source string // what changed the contact: a topic, "refetch", "reconcile"

	// Need lists the parts the contact must have (mapping's Parts); when
	// one is still unknown after the change, the contact is queued for a
	// full re-fetch. Zero: never queue.
	Need PartSet

	Merge       *Merge       // ChangeMerge
	DataRequest *DataRequest // ChangeDataRequest
	Delivery    *Delivery    // set for a webhook: deduplicated and recorded
}

// Delivery identifies a webhook delivery.
type Delivery struct {
	WebhookID string // X-Shopify-Webhook-Id: unique per delivery, kept by its retries
	// EventKey, when set, names the event and its payload (the receiver
	// makes it of X-Shopify-Event-Id and a digest of the body): a second
	// subscription to the topic gets the same event under another webhook
	// id, and is a duplicate when its body is the same.
	EventKey    string
	Topic       string
	TriggeredAt time.Time
}

// Merge is the content of a customers/merge: MergedID was merged into
// KeptID.
type Merge struct {
	KeptID, MergedID int64
}

// DataRequest is the content of a customers/data_request.
type DataRequest struct {
	ID              int64
	OrdersRequested []int64
}

// Outcome is what applying a change did.
type Outcome string

// The outcomes of a change.
const (
	OutcomeApplied   Outcome = "applied"   // stored data changed
	OutcomeUnchanged Outcome = "unchanged" // equal to what was stored
	OutcomeStale     Outcome = "stale"     // older than what was stored: no effect
	OutcomeDuplicate Outcome = "duplicate" // a delivery already applied: no effect
	OutcomeQueued    Outcome = "queued"    // to be confirmed by reading the customer again
	OutcomeIgnored   Outcome = "ignored"   // unknown topic, or a redacted customer
)

// Result is the result of one change.
type Result struct {
	Outcome Outcome
	Created bool  // the contact is new to the store (or back from deleted)
	Queued  bool  // the contact was queued for a full re-fetch
	Err     error // the change failed and was rolled back; the others stand
}

// The sources of writes, kept as a contact's changed_by beside the webhook
// topics: a full import, a re-fetch of contacts a payload left incomplete
// (or a deletion to confirm), and a reconciliation sweep.
const (
	SourceImport    = "import"
	SourceRefetch   = "refetch"
	SourceReconcile = "reconcile"
)

// ImportPage is one page of a full import: full records of the customers
// with an id in (After, Last], in strictly ascending id order, as read at
// Fetched: Shopify's clock, the Date of the answer that carried them.
type ImportPage struct {
	After, Last int64
	Fetched     time.Time
	Contacts    []Contact
}

// BulkJob is the durable state of an import read through a bulk operation.
type BulkJob struct {
	ImportID      int64
	ImportStarted time.Time // when the import began (local clock)
	OperationID   string    // the job, gid://shopify/BulkOperation/N; "" until submitted
	CreatedAt     time.Time // the job's createdAt (Shopify's clock): its rows are true as of it
	Expected      int64     // customersCount when the job was submitted
	Lines, Bytes  int64     // lines of the result applied, and the file offset just past them
}

// BulkBatch is what ApplyBulk stores in one transaction.
type BulkBatch struct {
	// Pages are consecutive pages, as ApplyPages takes them, of ids above
	// the import's checkpoint.
	Pages []ImportPage
	// Late are contacts whose id is at or below the checkpoint: their range
	// is applied already. Each is applied alone and struck from the
	// import's missing contacts.
	Late    []Contact
	Fetched time.Time // when Late's data is true as of
	// Lines and Bytes are the result file's position after this batch:
	// every line before it is applied.
	Lines, Bytes int64
}
