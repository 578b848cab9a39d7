-- spool merge records which shard files it merges into its target, one row per shard, so a
-- target is only ever merged from the shards of one capture: running the same merge again
-- goes on (or picks up what the shards captured since); other shards are refused. Applied in
-- one IMMEDIATE transaction with its spool_migrations row.
CREATE TABLE merge_source (
    shard_index INTEGER PRIMARY KEY,
    shard_count INTEGER NOT NULL CHECK (shard_count >= 1),
    -- when the shard was recorded in its own file (its shard table): tells one capture's
    -- shard file from another's
    shard_recorded_at INTEGER NOT NULL,
    cluster_id TEXT,
    -- the path given to the merge that first recorded it (for messages only)
    path TEXT NOT NULL,
    -- whether the shards did not cover every partition and the merge went on (--allow-incomplete)
    incomplete INTEGER NOT NULL DEFAULT 0
);
