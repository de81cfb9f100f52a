-- Attributes move into their contact's row (issue 5). One row per
-- attribute cost an import ~18 rows and two index entries per customer,
-- scattered over the attribute index: most of its time. A contact is now
-- one row, written in one statement.
--
-- attributes: a JSON object {name: value}. Integers are JSON numbers,
-- booleans true/false, and strings, decimals (exact text) and timestamps
-- (RFC 3339 UTC) are JSON strings; null is null. Read one with
-- attributes ->> 'orders_count'.
-- attribute_meta: a JSON object {name: [type, updated_at, changed_by]};
-- updated_at and changed_by are left out when they equal the row's own.
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN attribute_meta TEXT NOT NULL DEFAULT '{}';

UPDATE contacts SET
	attributes = coalesce((
		SELECT json_group_object(name, CASE
			WHEN type = 'boolean' AND value IS NOT NULL THEN json(CASE WHEN value THEN 'true' ELSE 'false' END)
			ELSE value END)
		FROM (SELECT name, type, value FROM contact_attributes a
			WHERE a.shopify_id = contacts.shopify_id ORDER BY name)), '{}'),
	attribute_meta = coalesce((
		SELECT json_group_object(name, json_array(type, updated_at, changed_by))
		FROM (SELECT name, type, updated_at, changed_by FROM contact_attributes a
			WHERE a.shopify_id = contacts.shopify_id ORDER BY name)), '{}');

DROP TABLE contact_attributes;

-- The old table's shape, for readers written against it: one row per
-- attribute, with the same storage classes (booleans as 0/1). Attribute
-- names are catalog identifiers, so a name is also a JSON path label.
CREATE VIEW contact_attributes (shopify_id, name, type, value, updated_at, changed_by) AS
	SELECT c.shopify_id, a.key, c.attribute_meta -> a.key ->> 0, a.value,
		coalesce(c.attribute_meta -> a.key ->> 1, c.updated_at),
		coalesce(c.attribute_meta -> a.key ->> 2, c.changed_by)
	FROM contacts AS c, json_each(c.attributes) AS a;
