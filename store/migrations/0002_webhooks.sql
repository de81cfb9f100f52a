-- Webhooks, re-fetches and reconciliation (issue 3).

-- Per-part versions of each contact (see shopsync.Part): a blob of
-- varint pairs (clock, tie-break) in Unix microseconds, one pair per part
-- in Part order, then the deletion's. NULL for contacts stored before this
-- migration: every part then counts as versioned by shopify_updated_at.
ALTER TABLE contacts ADD COLUMN stamps BLOB;
-- Tag additions and removals newer than the tags part's stamp, as JSON
-- {"tag": [clock, tie, added]}; NULL when there are none.
ALTER TABLE contacts ADD COLUMN tag_events TEXT;
-- The reconciliation sweep's high-water mark is the newest updated_at in
-- the data.
CREATE INDEX contacts_shopify_updated_at ON contacts (shopify_updated_at);

-- Every webhook delivery accepted (signature valid), kept at least 7 days:
-- X-Shopify-Webhook-Id makes a redelivery a duplicate with no effect. No
-- payload and no personal data are kept.
CREATE TABLE webhook_deliveries (
	webhook_id   TEXT PRIMARY KEY,
	topic        TEXT NOT NULL,
	shopify_id   INTEGER,              -- the customer it was about, if any
	triggered_at TEXT,                 -- X-Shopify-Triggered-At
	received_at  TEXT NOT NULL,
	outcome      TEXT NOT NULL         -- applied, unchanged, stale, ignored
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);

-- Contacts that lack parts their payloads did not carry (a 2025-01
-- customers/create has no tags, consent or order stats): fetched in full,
-- in batches, by the re-fetch worker.
CREATE TABLE refetch_queue (
	shopify_id INTEGER PRIMARY KEY,
	queued_at  TEXT NOT NULL,
	reason     TEXT NOT NULL           -- the topic that queued it
);

-- Erasures done for customers/redact and shop/redact: what the record of
-- an erasure needs, nothing more. A redacted customer id is never stored
-- again.
CREATE TABLE redactions (
	id           INTEGER PRIMARY KEY,
	scope        TEXT NOT NULL CHECK (scope IN ('customer', 'shop')),
	shopify_id   INTEGER,              -- the customer, for scope customer
	webhook_id   TEXT,
	requested_at TEXT NOT NULL,
	erased       INTEGER NOT NULL      -- contacts erased
);
CREATE INDEX redactions_shopify_id ON redactions (shopify_id);

-- customers/data_request: the merchant must send the customer their data;
-- shopsync records the request and serves the contact's data.
CREATE TABLE data_requests (
	id               INTEGER PRIMARY KEY,
	shopify_id       INTEGER NOT NULL,
	data_request_id  INTEGER,
	webhook_id       TEXT,
	requested_at     TEXT NOT NULL,
	orders_requested TEXT NOT NULL DEFAULT '[]' -- JSON array of order ids
);
