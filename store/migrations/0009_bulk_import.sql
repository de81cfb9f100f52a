-- Full imports read through a GraphQL bulk operation (issue 20).
--
-- One row per import that the bulk engine reads (an import is read by one
-- engine: REST's rows have none). It is the durable state a killed import
-- resumes from: the job to re-attach to, the time its rows are true as of,
-- and how far its result file has been applied.
CREATE TABLE bulk_imports (
	import_id    INTEGER PRIMARY KEY REFERENCES imports (id) ON DELETE CASCADE,
	operation_id TEXT,                        -- gid://shopify/BulkOperation/N; NULL until submitted
	created_at   TEXT,                        -- the job's createdAt (Shopify's clock): its rows are true as of it
	expected     INTEGER NOT NULL DEFAULT 0,  -- customersCount when the job was submitted
	lines        INTEGER NOT NULL DEFAULT 0,  -- lines of the result file applied
	bytes        INTEGER NOT NULL DEFAULT 0,  -- the file offset just past them: where a resumed download starts
	submitted_at TEXT                         -- when shopsync submitted it (local clock)
);

-- Which engine a run read Shopify with (rest, bulk), and for a bulk run
-- how many objects Shopify had put in the result file so far: its progress
-- before the download starts.
ALTER TABLE sync_runs ADD COLUMN engine TEXT NOT NULL DEFAULT 'rest';
ALTER TABLE sync_runs ADD COLUMN prepared INTEGER NOT NULL DEFAULT 0;
