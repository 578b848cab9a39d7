import SpoolModel

/// `spool merge`'s copying: the shards of one capture into the target file, partition by
/// partition in chunks (each chunk in one transaction with its partition's state), then the
/// keyed tables and the small tables. Checked beforehand by `MergeSources`; run through
/// `ShardRole.merge`, which holds the shards' writer locks.
struct ShardMerger {
    /// The file merged into (its writer connection).
    let target: SpoolStore
    /// The checked shards and what they recorded.
    let sources: MergeSources
    /// Rows copied per transaction.
    let chunkSize: Int

    private var connection: SQLiteConnection { target.connection }

    /// Copies every shard in, partition by partition, then the small tables; returns early
    /// (a later run continues) when `stop` says so between chunks.
    func run(stop: () -> Bool) throws -> MergeOutcome {
        try connection.inTransaction { try recordMergeStart() }
        var outcome = MergeOutcome(rowsCopied: 0, partitions: 0, retention: sources.retention,
                                              coverageProblems: sources.coverageProblems)
        if Set(sources.retentions.map { $0?.description ?? "" }).count > 1 {
            outcome.differingRetentions = Dictionary(uniqueKeysWithValues: zip(sources.shards.map(\.path), sources.retentions))
        }
        for shard in sources.shards {
            try connection.execute("ATTACH DATABASE \(SQLText.literal(shard.path)) AS shard")
            defer { _ = try? connection.execute("DETACH DATABASE shard") }
            do {
                for partition in shard.partitions {
                    outcome.rowsCopied += try copyPartition(partition, stop: stop)
                    if stop() { outcome.partitions = try target.storedPartitions().count; return outcome }
                }
                try connection.inTransaction(immediate: false) { try mergeLatest() }
            } catch {
                throw blameDamagedShard(shard.path, for: error)
            }
        }
        try connection.inTransaction(immediate: false) { try writeSmallTables() }
        outcome.partitions = try target.storedPartitions().count
        return outcome
    }

    /// Marks the merge unfinished and records its shards (kept after it finishes), once.
    private func recordMergeStart() throws {
        try connection.execute("INSERT OR IGNORE INTO merge_in_progress (id, started_at) VALUES (1, \(WallClock.nowMs()))")
        guard try target.shards.mergeSources().isEmpty else { return }
        for record in sources.records {
            let insert = try connection.prepare("""
                INSERT INTO merge_source (shard_index, shard_count, shard_recorded_at, cluster_id, path, incomplete)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """)
            insert.bind(1, Int64(record.spec.index))
            insert.bind(2, Int64(record.spec.count))
            insert.bind(3, record.recordedAt)
            insert.bind(4, record.clusterID)
            insert.bind(5, record.path)
            insert.bind(6, sources.coverageProblems.isEmpty ? 0 : 1)
            try insert.run()
        }
    }

    /// The error to report when copying from `shard` failed: the shard's own damage when its
    /// quick check finds any (SQLite's message would name only the merged file), else `error`.
    private func blameDamagedShard(_ shard: String, for error: Error) -> Error {
        guard let reader = try? SpoolStore.openForReading(path: shard) else { return error }
        defer { reader.close() }
        do {
            try reader.requireUndamaged()
            return error
        } catch let damage {
            return damage
        }
    }

    /// Copies the attached shard's rows of `partition` after those already here, a chunk per
    /// transaction, with a partition state that always matches what is copied.
    private func copyPartition(_ partition: TopicPartition, stop: () -> Bool) throws -> Int64 {
        let shardRows = try shardRowsQuery(partition)
        var copied: Int64 = 0
        while true {
            do {
                // Deferred: IMMEDIATE would take the write lock of the attached shard too.
                let done = try connection.inTransaction(immediate: false) { () -> Bool in
                    let base = StreamDirectory.base(of: try target.streams.streamID(creating: partition))
                    let end = base + StreamDirectory.largestOffset + 1
                    let last = try int64("SELECT max(id) - ?3 FROM main.records WHERE id >= ?3 AND id < ?4", partition, [base, end]) ?? -1
                    try run("""
                        INSERT INTO main.records (id, key, value, timestamp, headers, key_json, value_json, decode_state)
                        SELECT ?3 + offset, key, value, timestamp, headers, key_json, value_json, decode_state FROM (\(shardRows.sql))
                        """, partition, [base, last, Int64(chunkSize)] + shardRows.parameters)
                    let added = Int64(try connection.changes())
                    copied += added
                    if added < Int64(chunkSize) {
                        try finishPartition(partition, base: base)
                        return true
                    }
                    try run("""
                        INSERT OR REPLACE INTO main.partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset,
                            released_offset, last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp,
                            updated_at, headers_from_offset, retained_from_offset, retained_deleted)
                        SELECT s.topic, s.partition, s.replay_start_offset, s.replay_end_offset, m.offset, m.offset, m.timestamp, 0, 0,
                               m.offset + 1, coalesce((SELECT stored_count FROM main.partition_state p WHERE p.topic = ?1 AND p.partition = ?2), 0) + ?5,
                               m.timestamp, s.updated_at, s.headers_from_offset, s.retained_from_offset, s.retained_deleted
                        FROM shard.partition_state s, (SELECT id - ?3 AS offset, timestamp FROM main.records WHERE id >= ?3 AND id < ?4
                                                       ORDER BY id DESC LIMIT 1) m
                        WHERE s.topic = ?1 AND s.partition = ?2
                        """, partition, [base, end, added])
                    return false
                }
                if done || stop() { return copied }
            } catch {
                // A stream the transaction added went with it.
                target.streams.forgetAll()
                throw error
            }
        }
    }

    /// The attached shard's rows of `partition` after offset ?4, at most ?5, in offset order
    /// (offset first, then the stored columns), and the parameters it needs from ?6 on. Shards
    /// are at this spool's schema (`MergeSources` refuses others), so in the streams layout.
    private func shardRowsQuery(_ partition: TopicPartition) throws -> (sql: String, parameters: [Int64]) {
        let columns = "key, value, timestamp, headers, key_json, value_json, decode_state"
        // No stream: the shard stored nothing of it; -1 selects no row id.
        let stream = try int64("SELECT id FROM shard.streams WHERE topic = ?1 AND partition = ?2", partition)
        let base = stream.map(StreamDirectory.base(of:)) ?? -1
        return ("SELECT id - ?6 AS offset, \(columns) FROM shard.records WHERE id > ?6 + ?4 AND id < ?7 AND ?6 >= 0 ORDER BY id LIMIT ?5",
                [base, base + StreamDirectory.largestOffset + 1])
    }

    /// The partition is copied: its state becomes the shard's, except that rows the shard's
    /// retention removed since an earlier merge are removed here too and the count is the
    /// rows this file holds. `base` is the partition's first row id here.
    private func finishPartition(_ partition: TopicPartition, base: Int64) throws {
        let end = base + StreamDirectory.largestOffset + 1
        try run("""
            DELETE FROM main.records WHERE id >= ?3 AND id < ?3 +
                max(0, coalesce((SELECT retained_from_offset FROM shard.partition_state WHERE topic = ?1 AND partition = ?2), 0))
            """, partition, [base])
        try run("""
            INSERT OR REPLACE INTO main.partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset,
                released_offset, last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp,
                updated_at, headers_from_offset, retained_from_offset, retained_deleted)
            SELECT topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset, last_consumed_timestamp,
                is_live, is_paused, next_offset, (SELECT count(*) FROM main.records WHERE id >= ?3 AND id < ?4),
                last_stored_timestamp, updated_at, headers_from_offset, retained_from_offset, retained_deleted
            FROM shard.partition_state WHERE topic = ?1 AND partition = ?2
            """, partition, [base, end])
    }

    /// Adds the attached shard's keyed-table rows; where two shards hold one key (only when a
    /// key was produced to partitions of different shards) the later timestamp wins.
    private func mergeLatest() throws {
        // Kept as values here (the shard's pointers name its own row ids); a later ingest of
        // the merged file points to its log again for the keys it updates.
        let shardLatest = TopicViews.latestRows(in: "shard.")
        try connection.execute("""
            INSERT INTO main.latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
            SELECT * FROM (\(shardLatest)) WHERE true
            ON CONFLICT (topic, key) DO UPDATE SET value = excluded.value, partition = excluded.partition, offset = excluded.offset,
                timestamp = excluded.timestamp, headers = excluded.headers, key_json = excluded.key_json,
                value_json = excluded.value_json, decode_state = excluded.decode_state
            WHERE excluded.timestamp > latest_values.timestamp
            """)
    }

    /// Gaps, keyed-topic modes and counters, decoding counts, schemas, progress and retention:
    /// written whole from all shards, so running the merge again writes the same.
    private func writeSmallTables() throws {
        try connection.execute("DELETE FROM gaps; DELETE FROM keyed_topics; DELETE FROM decode_stats; DELETE FROM merge_in_progress")
        for gap in sources.gaps { try run("""
            INSERT INTO gaps (topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """, TopicPartition(topic: gap.topic, partition: gap.partition),
            [gap.firstMissingOffset, gap.lastMissingOffset, gap.detectedAt, gap.accepted ? 1 : 0]) }
        for keyed in sources.keyed.values.sorted(by: { $0.topic < $1.topic }) {
            let insert = try connection.prepare("""
                INSERT INTO keyed_topics (topic, mode, log_complete, tombstones_applied, null_keys_skipped, changed_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                """)
            insert.bind(1, keyed.topic)
            insert.bind(2, keyed.mode.rawValue)
            insert.bind(3, keyed.logComplete ? 1 : 0)
            insert.bind(4, keyed.tombstonesApplied)
            insert.bind(5, keyed.nullKeysSkipped)
            insert.bind(6, WallClock.nowMs())
            try insert.run()
            try TopicViews.createLatestView(for: keyed.topic, on: connection)
        }
        for status in sources.decoding.values.sorted(by: { $0.topic < $1.topic }) {
            try addDecodeCountsForMerge(status)
        }
        try target.decoding.insertSchemas(sources.schemas)
        let progress = try connection.prepare("UPDATE progress SET cluster_id = ?1, complete_until = ?2, updated_at = ?3 WHERE id = 1")
        progress.bind(1, sources.clusterID)
        progress.bind(2, sources.completeUntil)
        progress.bind(3, WallClock.nowMs())
        try progress.run()
        if let retention = sources.retention {
            try connection.execute("DELETE FROM retention")
            let insert = try connection.prepare("INSERT INTO retention (id, max_age_ms, max_bytes, changed_at) VALUES (1, ?1, ?2, ?3)")
            insert.bind(1, retention.maxAgeMs)
            insert.bind(2, retention.maxBytes)
            insert.bind(3, WallClock.nowMs())
            try insert.run()
        }
        for topic in Set(try target.storedPartitions().map(\.topicPartition.topic)).sorted() { try TopicViews.createView(for: topic, on: connection) }
    }

    private func addDecodeCountsForMerge(_ status: DecodeStatus) throws {
        let insert = try connection.prepare("""
            INSERT INTO decode_stats (topic, decoded, failed, first_error, first_error_at) VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END)
            """)
        insert.bind(1, status.topic)
        insert.bind(2, status.decoded)
        insert.bind(3, status.failed)
        insert.bind(4, status.firstError)
        insert.bind(5, WallClock.nowMs())
        try insert.run()
    }

    /// Runs `sql` with the partition as ?1, ?2 and `more` as ?3, ?4, ...
    private func run(_ sql: String, _ partition: TopicPartition, _ more: [Int64]) throws {
        let statement = try connection.prepare(sql)
        statement.bind(1, partition.topic)
        statement.bind(2, Int64(partition.partition))
        for (index, value) in more.enumerated() { statement.bind(Int32(index + 3), value) }
        try statement.run()
    }

    /// The first column of `sql` (with the partition as ?1, ?2 and `more` from ?3) as an integer.
    private func int64(_ sql: String, _ partition: TopicPartition, _ more: [Int64] = []) throws -> Int64? {
        let statement = try connection.prepare(sql)
        statement.bind(1, partition.topic)
        statement.bind(2, Int64(partition.partition))
        for (index, value) in more.enumerated() { statement.bind(Int32(index + 3), value) }
        guard try statement.step() else { return nil }
        return statement.optionalInt64(0)
    }
}
