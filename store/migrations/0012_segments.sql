-- Saved segments (issue 18): a merchant's named filters over contacts, in
-- the segment language (package segment). Only the text is kept; it is
-- compiled, against the mapping of the day, each time it runs, so that a
-- change of mapping applies at once. The built-in segments are not rows:
-- their names are reserved.
CREATE TABLE segments (
	name       TEXT PRIMARY KEY,   -- lower-case letters, digits, _ and -
	query      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;
