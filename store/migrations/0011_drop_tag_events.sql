-- Tag events live in contacts.stamps since migration 0010 moved them
-- there; the column that held them as JSON goes.
ALTER TABLE contacts DROP COLUMN tag_events;
