-- Spool's first schema. Applied in one IMMEDIATE transaction together with the row in
-- spool_migrations that records it. Times are milliseconds since the Unix epoch, UTC.

-- Marks the file as a Spool database ('SPOL').
PRAGMA application_id = 1397772108;

-- Every captured message, with the MESSAGE_SCHEMA columns in order. NULL and an empty BLOB
-- are distinct. Each (topic, partition, offset) is stored at most once.
CREATE TABLE messages (
    key BLOB,
    value BLOB,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    UNIQUE (topic, partition, offset)
);

-- Replay progress per partition: the PARTITION_STATE_SCHEMA columns as of the last committed
-- batch, plus what resume needs. next_offset is the next offset to read (the last stored
-- offset + 1, or where the partition started when nothing is stored yet).
CREATE TABLE partition_state (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    replay_start_offset INTEGER NOT NULL,
    replay_end_offset INTEGER NOT NULL,
    consumed_offset INTEGER NOT NULL,
    released_offset INTEGER NOT NULL,
    last_consumed_timestamp INTEGER,
    is_live INTEGER NOT NULL,
    is_paused INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    stored_count INTEGER NOT NULL DEFAULT 0,
    last_stored_timestamp INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
) WITHOUT ROWID;

-- Each ingest run: what was asked for and what it resolved to, so an interrupted bounded
-- backfill continues the same job instead of resolving "one hour ago" again.
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    cluster_id TEXT,
    cutoff INTEGER NOT NULL,
    bounded INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'live', 'stopped', 'failed')),
    finished_at INTEGER
);

CREATE TABLE run_topics (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    topic TEXT NOT NULL,
    policy TEXT NOT NULL,
    PRIMARY KEY (run_id, topic)
) WITHOUT ROWID;

CREATE TABLE run_partitions (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset INTEGER NOT NULL,
    PRIMARY KEY (run_id, topic, partition)
) WITHOUT ROWID;

-- Offsets that retention deleted before Spool could read them.
CREATE TABLE gaps (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    first_missing_offset INTEGER NOT NULL,
    last_missing_offset INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    accepted INTEGER NOT NULL
);

-- One row: the cluster the database is fed from and how far every partition is complete.
-- complete_until: every message with a timestamp at or below it is stored, on every partition.
CREATE TABLE progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cluster_id TEXT,
    complete_until INTEGER,
    updated_at INTEGER NOT NULL
);
INSERT INTO progress (id, cluster_id, complete_until, updated_at) VALUES (1, NULL, NULL, 0);
