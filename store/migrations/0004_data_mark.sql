-- The sweep's high-water mark, the newest Shopify updated_at the store has
-- written, is kept here instead of read from an index on
-- contacts.shopify_updated_at (issue 5): that index took an insert at a
-- scattered place for every contact written, a fifth of an import's
-- time, to answer one max() a minute.
CREATE TABLE marks (
	name  TEXT PRIMARY KEY,  -- 'data': the newest shopify_updated_at written
	value TEXT NOT NULL      -- a stored time (fixed-width RFC 3339 UTC)
) WITHOUT ROWID;
INSERT INTO marks (name, value)
	SELECT 'data', max(shopify_updated_at) FROM contacts HAVING max(shopify_updated_at) IS NOT NULL;
DROP INDEX contacts_shopify_updated_at;
