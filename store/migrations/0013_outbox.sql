-- The change feed (issue 19): an event for every effective change to a
-- contact, written in the transaction of the change, numbered in commit
-- order (see outbox.go).
--
-- A contact's latest event lives in its own row: event_seq, event_type and
-- event_fields, with the row's updated_at and changed_by as the event's
-- time and source, and the row itself as the contact as of the event. So a
-- new contact costs its import three more columns and an index entry, not a
-- row of its own. When the contact changes again, the same transaction
-- moves that event into outbox, with the contact as it was (snapshot).
ALTER TABLE contacts ADD COLUMN event_seq INTEGER;    -- NULL: the row holds no event (stored before 0013, a tombstone, or moved out)
ALTER TABLE contacts ADD COLUMN event_type INTEGER;   -- shopsync.EventType: 1 created, 2 updated, 3 deleted
ALTER TABLE contacts ADD COLUMN event_fields TEXT;    -- contact.updated: the changed fields and attributes, comma-separated
CREATE INDEX contacts_event_seq ON contacts (event_seq) WHERE event_seq IS NOT NULL;

-- Every other event: those a contact's later change moved out of its row,
-- contact.redacted, and segment events.
CREATE TABLE outbox (
	seq        INTEGER PRIMARY KEY,
	contact_id INTEGER NOT NULL,  -- the Shopify customer id
	type       INTEGER NOT NULL,  -- shopsync.EventType: 1 created, 2 updated, 3 deleted, 4 redacted, 5 segment joined, 6 left
	source     TEXT NOT NULL,     -- import, reconcile, refetch, or the webhook topic
	at         TEXT NOT NULL,     -- when it committed (a stored time, shopsync's clock)
	fields     TEXT,              -- contact.updated: as contacts.event_fields
	segment    TEXT,              -- segment events: the segment's name
	snapshot   BLOB               -- the contact as of the event (snapshot.go); NULL: the contact's row (a segment event of its latest state); empty: erased, or none (contact.redacted)
);
-- The events of a contact: to fill in their snapshot when it changes, and
-- to erase them on customers/redact.
CREATE INDEX outbox_contact ON outbox (contact_id);

-- last: the last sequence number given out; pruned: every event up to it
-- was pruned (outbound.retention), so a cursor older than it has lost
-- events; segments: counts the changes to the saved segments, which the
-- segment events are computed from, so that the writer (of any process)
-- reads them again when they changed. Kept apart from marks, which
-- shop/redact empties.
CREATE TABLE outbox_marks (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO outbox_marks (name, value) VALUES ('last', 0), ('pruned', 0), ('segments', 0);
CREATE TRIGGER segments_inserted AFTER INSERT ON segments BEGIN
	UPDATE outbox_marks SET value = value + 1 WHERE name = 'segments';
END;
CREATE TRIGGER segments_updated AFTER UPDATE ON segments BEGIN
	UPDATE outbox_marks SET value = value + 1 WHERE name = 'segments';
END;
CREATE TRIGGER segments_deleted AFTER DELETE ON segments BEGIN
	UPDATE outbox_marks SET value = value + 1 WHERE name = 'segments';
END;

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
