-- Outbound webhook endpoints (issue 19): each endpoint's durable place in
-- the change feed. A delivery's acknowledgement moves its cursor in one
-- transaction, so a process killed mid-delivery sends that batch again
-- (at least once), and never skips one.
CREATE TABLE outbound_endpoints (
	name            TEXT PRIMARY KEY,           -- outbound.endpoints[].name
	cursor          INTEGER NOT NULL,           -- every event up to it is acknowledged, or not for this endpoint
	generation      INTEGER NOT NULL DEFAULT 0, -- moved by resume and replay: an acknowledgement of an older one moves nothing
	config          TEXT NOT NULL DEFAULT '',   -- a digest of the endpoint's configuration: a change resumes it
	paused_at       TEXT,                       -- set while deliveries are stopped
	pause_reason    TEXT NOT NULL DEFAULT '',   -- why, in a merchant's words (never a secret or a customer's data)
	failing_since   TEXT,                       -- the first failed attempt of the batch being retried
	last_success_at TEXT,                       -- the last acknowledged delivery
	delivered       INTEGER NOT NULL DEFAULT 0  -- events acknowledged, all time
) WITHOUT ROWID;
