-- Retention inside the capture (spool ingest --retain, --retain-size). Applied in one IMMEDIATE
-- transaction with its spool_migrations row; adding columns does not rewrite stored rows.

-- retained_from_offset: every stored offset below it was removed by retention, on purpose (it
-- is not a gap; NULL while retention has removed nothing). retained_deleted: how many of
-- the partition's rows retention removed. stored_count keeps counting the rows still stored, so
-- stored_count + retained_deleted is every row ever stored.
ALTER TABLE partition_state ADD COLUMN retained_from_offset INTEGER;
ALTER TABLE partition_state ADD COLUMN retained_deleted INTEGER NOT NULL DEFAULT 0;

-- The capture's retention setting (one row, or none when there is no retention). Later runs
-- keep it without flags; --retain/--retain-size replace it and --no-retain removes it.
-- max_age_ms: records older than now minus this are removed, oldest first per partition.
-- max_bytes: the oldest records (by timestamp, across partitions) are removed while the
-- database's used pages exceed this.
CREATE TABLE retention (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    max_age_ms INTEGER CHECK (max_age_ms > 0),
    max_bytes INTEGER CHECK (max_bytes > 0),
    changed_at INTEGER NOT NULL
);
