-- Keyed tables: the latest record per key of a topic captured with --latest or --latest-only.
-- Applied in one IMMEDIATE transaction with its spool_migrations row.

-- One row per (topic, key): the record released last for that key. A record with a null value
-- (a tombstone) deletes the key's row; records with a null key are not in the table. An empty
-- key (x'') is a key like any other.
CREATE TABLE latest (
    topic TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    headers TEXT,
    PRIMARY KEY (topic, key)
);

-- The topics whose latest table is kept, and how: 'latest' keeps the log in messages too,
-- 'latest_only' does not. The mode belongs to the capture: later runs keep it without flags.
-- log_complete is 1 while the stored log holds every record the table was made from (so verify
-- can recompute the table from it).
CREATE TABLE keyed_topics (
    topic TEXT PRIMARY KEY,
    mode TEXT NOT NULL CHECK (mode IN ('latest', 'latest_only')),
    log_complete INTEGER NOT NULL,
    tombstones_applied INTEGER NOT NULL DEFAULT 0,
    null_keys_skipped INTEGER NOT NULL DEFAULT 0,
    changed_at INTEGER NOT NULL
) WITHOUT ROWID;
