-- Indexes that count segments (issue 18) without reading the contacts.
--
-- Each holds, for every contact, what the built-in segments test: whether
-- it is deleted, and the expressions below (with total spent, which a
-- merchant's own segments test most, with the order count), written
-- exactly as package segment writes them in a segment's SQL
-- (segment/index.go): SQLite reads an expression from an index only when
-- it is the same expression. A
-- count of a segment that reads only these is a scan of one index, a
-- tenth of the table's size, reading no row (store.CountContacts names
-- the index).
--
-- Each starts with shopify_id: an import writes contacts in id order, so
-- it appends to these indexes instead of writing all over them. They
-- hold deleted_at instead of leaving deleted contacts out (WHERE
-- deleted_at IS NULL): SQLite takes a partial index for smaller than the
-- table, and would read one entry by entry, looking every row up, for
-- any query that tests deleted_at and nothing it can index (the search).
--
-- Only SQLite's own functions: the sqlite3 shell must open the file, and
-- a function written in Go (sqlfunc) is not in it. lower() lower-cases
-- ASCII letters only; the segment SQL handles the rest (segment/text.go).
CREATE INDEX contacts_email_consent_orders ON contacts (
	shopify_id, deleted_at,
	lower(attributes ->> 'email_marketing_consent'),
	attributes ->> 'orders_count',
	attributes ->> 'total_spent');

CREATE INDEX contacts_sms_consent_created ON contacts (
	shopify_id, deleted_at,
	lower(attributes ->> 'sms_marketing_consent'),
	shopify_created_at);
