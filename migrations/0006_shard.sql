-- Shards (spool ingest --shard I/N): one process captures only the partitions its shard owns
-- (ShardSpec: Flink's Kafka-source formula), into a file of its own. Applied in one IMMEDIATE
-- transaction with its spool_migrations row.

-- One row when the file is a shard's, none for a whole capture. Later runs keep the spec
-- without the flag; another spec is refused.
CREATE TABLE shard (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    shard_index INTEGER NOT NULL CHECK (shard_index >= 0 AND shard_index < shard_count),
    shard_count INTEGER NOT NULL CHECK (shard_count >= 1),
    recorded_at INTEGER NOT NULL
);
