-- Restores of this capture into Kafka (`spool restore`): how far each partition got, as the
-- restore last recorded it after a committed transaction. Kafka's committed offsets (consumer
-- group `restore_id`, committed in the same transaction as the records) decide where a
-- restarted restore continues; this table is for `spool status` and may lag one transaction.
-- Applied in one IMMEDIATE transaction with its spool_migrations row.
CREATE TABLE restores (
    -- the restore's transactional.id, also the consumer group holding its committed progress
    restore_id TEXT NOT NULL,
    source_topic TEXT NOT NULL,
    target_topic TEXT NOT NULL,
    -- the target cluster's id as its brokers report it (never the broker addresses' credentials)
    target_cluster_id TEXT,
    partition INTEGER NOT NULL,
    -- the next source offset to restore
    next_offset INTEGER NOT NULL,
    -- records restored into the partition so far, and how many the restore selected in all
    restored INTEGER NOT NULL,
    selected INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (restore_id, source_topic, target_topic, partition)
) WITHOUT ROWID;
