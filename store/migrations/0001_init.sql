-- Contacts: one row per Shopify customer, keyed by its 64-bit id.
-- Times are RFC 3339 UTC text (they sort as text). NULL means Shopify sent null.
CREATE TABLE contacts (
	shopify_id         INTEGER PRIMARY KEY,
	email              TEXT,
	email_norm         TEXT,             -- lower-cased email, for case-insensitive lookup
	first_name         TEXT,
	last_name          TEXT,
	phone              TEXT,
	state              TEXT,             -- disabled, invited, enabled, declined
	tags               TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	shopify_created_at TEXT,
	shopify_updated_at TEXT,
	content_hash       INTEGER NOT NULL, -- hash of the mapped content: unchanged rows are skipped without a write
	created_at         TEXT NOT NULL,    -- when shopsync first stored the contact
	updated_at         TEXT NOT NULL,    -- when shopsync last changed it
	changed_by         TEXT NOT NULL,    -- what changed it last: import, reconcile, a webhook topic
	deleted_at         TEXT              -- set when the customer is gone from Shopify
);
CREATE INDEX contacts_email_norm ON contacts (email_norm);

-- Typed custom attributes. value has no declared type, so SQLite keeps what
-- shopsync writes: INTEGER for integer and boolean (0/1), TEXT for string,
-- decimal (exact text) and timestamp (RFC 3339 UTC).
CREATE TABLE contact_attributes (
	shopify_id INTEGER NOT NULL REFERENCES contacts (shopify_id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	type       TEXT NOT NULL CHECK (type IN ('string', 'integer', 'decimal', 'boolean', 'timestamp')),
	value,
	updated_at TEXT NOT NULL,            -- when this attribute last changed
	changed_by TEXT NOT NULL,
	PRIMARY KEY (shopify_id, name)
) WITHOUT ROWID;
CREATE INDEX contact_attributes_name_value ON contact_attributes (name, value);

-- A full import: one pass over every customer in id order. It may take
-- several runs when runs are killed; checkpoint_id is durable progress:
-- every customer with a smaller or equal id has been applied.
CREATE TABLE imports (
	id            INTEGER PRIMARY KEY,
	started_at    TEXT NOT NULL,
	checkpoint_id INTEGER NOT NULL DEFAULT 0,
	finished_at   TEXT                   -- NULL while the import can be resumed
);

-- Contacts a running import found missing from Shopify's pages. They are
-- marked deleted only when the import completes.
CREATE TABLE import_missing (
	import_id  INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
	shopify_id INTEGER NOT NULL,
	PRIMARY KEY (import_id, shopify_id)
) WITHOUT ROWID;

-- One row per sync run, whatever started it.
CREATE TABLE sync_runs (
	id          INTEGER PRIMARY KEY,
	import_id   INTEGER REFERENCES imports (id),
	trigger     TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
	resumed     INTEGER NOT NULL DEFAULT 0,
	started_at  TEXT NOT NULL,
	finished_at TEXT,
	total       INTEGER NOT NULL DEFAULT 0,
	fetched     INTEGER NOT NULL DEFAULT 0,
	pages       INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL DEFAULT 0,
	updated     INTEGER NOT NULL DEFAULT 0,
	unchanged   INTEGER NOT NULL DEFAULT 0,
	deleted     INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_state ON sync_runs (state);
