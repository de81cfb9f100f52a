-- The merchant's view (issue 16): what the status page needs to answer
-- "is my copy exact?" after a restart.

-- Webhook deliveries refused before any effect (bad signature, another
-- shop, malformed), counted by hour and reason. Refused deliveries are
-- unauthenticated, so they are never a row each: the daemon adds them up
-- in memory and adds its counts here every few seconds. At most a row per
-- hour and reason, kept 8 days.
CREATE TABLE webhook_rejections (
	hour    TEXT NOT NULL,    -- the hour's start (a stored time)
	reason  TEXT NOT NULL,    -- signature, shop, headers, payload, content_type, too_large, read, method
	count   INTEGER NOT NULL,
	last_at TEXT NOT NULL,    -- the last one counted in the hour
	PRIMARY KEY (hour, reason)
) WITHOUT ROWID;

-- The contacts a run created or updated, up to a bound per run: a sweep's
-- list of "changes webhooks missed". Only ids; the contact is looked up.
CREATE TABLE run_contacts (
	run_id     INTEGER NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
	shopify_id INTEGER NOT NULL,
	created    INTEGER NOT NULL,  -- 1: new to the store; 0: updated
	PRIMARY KEY (run_id, shopify_id)
) WITHOUT ROWID;

-- Shopify's own counts, from the last count asked (customers/count.json):
-- the copy is exact when it holds as many contacts.
CREATE TABLE shop_counts (
	name       TEXT PRIMARY KEY,  -- 'customers'
	count      INTEGER NOT NULL,
	counted_at TEXT NOT NULL
) WITHOUT ROWID;

-- Run history filtered by trigger (full imports stay findable among
-- sweeps), newest first.
CREATE INDEX sync_runs_trigger ON sync_runs (trigger, id);
