-- Attribute types move out of every row (issue 5). attribute_meta held
-- {name: [type, ...]} for every attribute of every contact: some 580
-- bytes a row, the same for nearly all of them, which made a contact ~2 KB
-- (two to a page). The types of a contact's attributes are now a set
-- stored once in attribute_type_sets and referenced by id; attribute_meta
-- keeps only what is particular to the row.
--
-- attribute_type_sets.types: a JSON object {name: type}, in the order the
-- contact's attributes are written.
-- contacts.attribute_types: the id of the contact's set.
-- contacts.attribute_meta: a JSON object {name: [updated_at, changed_by]}
-- for the attributes that last changed at another time or by another
-- source than the row; '{}' for most rows.
CREATE TABLE attribute_type_sets (
	id    INTEGER PRIMARY KEY,
	types TEXT NOT NULL UNIQUE
);
ALTER TABLE contacts ADD COLUMN attribute_types INTEGER;

-- json_each walks an object in its stored order (id); the sets keep it.
INSERT OR IGNORE INTO attribute_type_sets (types)
	SELECT DISTINCT (SELECT json_group_object(key, value ->> 0)
		FROM (SELECT key, value FROM json_each(c.attribute_meta) ORDER BY id))
	FROM contacts AS c;

UPDATE contacts SET
	attribute_types = (SELECT s.id FROM attribute_type_sets AS s WHERE s.types = (
		SELECT json_group_object(key, value ->> 0)
		FROM (SELECT key, value FROM json_each(contacts.attribute_meta) ORDER BY id))),
	attribute_meta = (SELECT json_group_object(key, json_array(value ->> 1, value ->> 2))
		FROM (SELECT key, value FROM json_each(contacts.attribute_meta)
			WHERE json_array_length(value) = 3 ORDER BY id));

DROP VIEW contact_attributes;
CREATE VIEW contact_attributes (shopify_id, name, type, value, updated_at, changed_by) AS
	SELECT c.shopify_id, a.key, s.types ->> a.key, a.value,
		coalesce(c.attribute_meta -> a.key ->> 0, c.updated_at),
		coalesce(c.attribute_meta -> a.key ->> 1, c.changed_by)
	FROM contacts AS c
		JOIN attribute_type_sets AS s ON s.id = c.attribute_types,
		json_each(c.attributes) AS a;
