-- spool merge marks the file it merges into until the merge is complete, so an interrupted
-- merge is not mistaken for a capture (spool ingest refuses it; running the merge again
-- finishes it). Applied in one IMMEDIATE transaction with its spool_migrations row.
CREATE TABLE merge_in_progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    started_at INTEGER NOT NULL
);
