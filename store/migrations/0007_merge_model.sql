-- The merge model of issue 14: versions of the kind they are, deletions
-- learnt from reads, merges, deliveries deduplicated by event.
-- (The stamps blobs are rewritten by the Go migration 0007 that follows.)

-- X-Shopify-Event-Id, with the topic: the same event delivered to a second
-- subscription of the topic has another webhook id and the same event id.
ALTER TABLE webhook_deliveries ADD COLUMN event_key TEXT;
CREATE INDEX webhook_deliveries_event_key ON webhook_deliveries (event_key) WHERE event_key IS NOT NULL;

-- When, on Shopify's clock, the page that should have listed the missing
-- contact was read (its Date): the contact is deleted as of then, unless
-- something newer wrote it.
ALTER TABLE import_missing ADD COLUMN seen TEXT;

-- customers/merge: merged_id was merged into kept_id at merged_at
-- (X-Shopify-Triggered-At). Ids only, like redactions.
CREATE TABLE contact_merges (
	id         INTEGER PRIMARY KEY,
	kept_id    INTEGER NOT NULL,
	merged_id  INTEGER NOT NULL,
	merged_at  TEXT NOT NULL,
	webhook_id TEXT
);
CREATE INDEX contact_merges_kept_id ON contact_merges (kept_id);
CREATE INDEX contact_merges_merged_id ON contact_merges (merged_id);
