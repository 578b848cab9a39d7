import SpoolModel

/// The keyed tables of a capture (`SpoolStore.keyed`): which topics keep their latest record per
/// key and how (`KeyedMode`), turning that on and off, and what the write path and verify need
/// to know about them. The rows themselves are written by `BatchInserter` with each batch.
public struct KeyedTables {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// The last record per key of `topic` in the stored log, as release order would leave it: a
    /// partition's last record for the key (highest offset); across partitions the one with the
    /// latest timestamp (at equal timestamps, the higher partition, which is released after).
    static func lastPerKeySQL(withDecoded: Bool) -> String { """
        WITH last_in_partition AS (
            SELECT topic, key, value, partition, offset, timestamp, headers\(withDecoded ? ", key_json, value_json, decode_state" : ""),
                   row_number() OVER (PARTITION BY partition, key ORDER BY offset DESC) AS in_partition
            FROM messages WHERE topic = ?1 AND key IS NOT NULL
        ), last AS (
            SELECT *, row_number() OVER (PARTITION BY key ORDER BY timestamp DESC, partition DESC) AS overall
            FROM last_in_partition WHERE in_partition = 1
        )
        """
    }

    /// Every keyed topic with its mode and counters, by topic.
    public func topics() throws -> [KeyedTopic] {
        guard store.hasKeyedTables else { return [] }
        let query = try connection.prepare("""
            SELECT k.topic, k.mode, k.log_complete, (SELECT count(*) FROM latest l WHERE l.topic = k.topic) AS keys,
                   k.tombstones_applied, k.null_keys_skipped,
                   (SELECT group_concat(partition) FROM (SELECT DISTINCT partition FROM gaps g
                        WHERE g.topic = k.topic AND g.accepted = 1 ORDER BY partition)) AS stale_partitions
            FROM keyed_topics k ORDER BY k.topic
            """)
        var topics: [KeyedTopic] = []
        while try query.step() {
            let stale = (query.text("stale_partitions") ?? "").split(separator: ",").compactMap { Int32($0) }
            topics.append(KeyedTopic(topic: query.text("topic") ?? "", mode: KeyedMode(rawValue: query.text("mode") ?? "") ?? .latest,
                                     logComplete: query.int64("log_complete") != 0, keys: query.int64("keys"),
                                     tombstonesApplied: query.int64("tombstones_applied"), nullKeysSkipped: query.int64("null_keys_skipped"),
                                     stalePartitions: stale))
        }
        return topics
    }

    /// Sets how `topic`'s latest table is kept (`nil`: not at all), in one transaction.
    ///
    /// Turning a mode on builds the table from the topic's stored log first; `latest_only` then
    /// drops the topic's log rows (the file keeps only the table). `latest_only` → `latest` keeps
    /// the log from now on (the log no longer holds everything the table was made from). Turning
    /// it off deletes the topic's table rows. Whether a change is allowed is the caller's call.
    public func setMode(_ mode: KeyedMode?, for topic: String) throws {
        try store.requireWriter()
        let current = try topics().first { $0.topic == topic }?.mode
        guard current != mode else { return }
        let now = WallClock.nowMs()
        try connection.inTransaction {
            switch (current, mode) {
            case (_, nil):
                try deleteLatest(of: topic)
                try execute("DELETE FROM keyed_topics WHERE topic = ?1", topic)
                try connection.execute("DROP VIEW IF EXISTS \(SQLText.identifier(TopicViews.latestViewName(topic)))")
            case (nil, let mode?):
                try buildLatest(topic, mode: mode, nowMs: now)
                if mode == .latestOnly { try dropLog(of: topic) }
                try TopicViews.createLatestView(for: topic, on: connection)
            case (.latest?, .latestOnly?):
                try keepLatestValues(of: topic)
                try dropLog(of: topic)
                try execute("UPDATE keyed_topics SET mode = 'latest_only', log_complete = 0, changed_at = ?2 WHERE topic = ?1", topic, now)
            case (.latestOnly?, .latest?):
                try execute("UPDATE keyed_topics SET mode = 'latest', log_complete = 0, changed_at = ?2 WHERE topic = ?1", topic, now)
            default:
                break
            }
        }
        try loadModes()
    }

    /// Differences between `topic`'s latest table and the table its stored log implies.
    func differences(_ topic: String) throws -> [String] {
        let query = try connection.prepare(Self.lastPerKeySQL(withDecoded: false) + """
            , expected AS (SELECT key, value, partition, offset, headers FROM last WHERE overall = 1 AND value IS NOT NULL)
            SELECT 'is missing from the table', hex(e.key) FROM expected e
                WHERE NOT EXISTS (SELECT 1 FROM latest t WHERE t.topic = ?1 AND t.key = e.key AND t.partition = e.partition
                                  AND t.offset = e.offset AND t.value = e.value AND t.headers IS e.headers)
            UNION ALL
            SELECT 'is in the table but not what the log implies', hex(t.key) FROM latest t WHERE t.topic = ?1
                AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.key = t.key AND e.partition = t.partition AND e.offset = t.offset)
            LIMIT 20
            """)
        query.bind(1, topic)
        var problems: [String] = []
        while try query.step() {
            problems.append("latest table of '\(topic)': key x'\(query.text(1) ?? "")' \(query.text(0) ?? "")")
        }
        return problems
    }

    /// Reads the keyed modes into the write path.
    func loadModes() throws {
        var modes: [String: KeyedMode] = [:]
        for topic in try topics() { modes[topic.topic] = topic.mode }
        store.inserter.keyedModes = modes
        store.inserter.latestTopicsWithValues = []
        if store.usesLatestKeys {
            let held = try connection.prepare("SELECT DISTINCT topic FROM latest_values")
            while try held.step() {
                if let topic = held.text(0), modes[topic] == .latest { store.inserter.latestTopicsWithValues.insert(topic) }
            }
        }
        if store.isWriter && !modes.isEmpty {
            // Keyed tables dirty pages all over the table; checkpointing them into the file every
            // 1,000 pages (SQLite's default) rewrote the same pages again and again. A WAL of up
            // to 128 MiB between checkpoints made `--latest` about 12% faster in paired runs.
            // In pages of this file's size (4 KiB unless the file was made with another).
            let pageSize = max(try connection.integer("PRAGMA page_size") ?? 4_096, 512)
            try connection.execute("PRAGMA wal_autocheckpoint = \(128 * 1_048_576 / pageSize)")
        }
    }

    private func buildLatest(_ topic: String, mode: KeyedMode, nowMs: Int64) throws {
        try deleteLatest(of: topic)
        if mode == .latest {
            // Pointers to the log's rows: the log keeps the records.
            try execute(Self.lastPerKeySQL(withDecoded: false) + """
                INSERT INTO latest_keys (topic, key, id)
                SELECT topic, key, ((SELECT id FROM streams s WHERE s.topic = last.topic AND s.partition = last.partition) << \(StreamDirectory.offsetBits)) + offset
                FROM last WHERE overall = 1 AND value IS NOT NULL
                """, topic)
        } else {
            try execute(Self.lastPerKeySQL(withDecoded: true) + """
                INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
                SELECT topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state
                FROM last WHERE overall = 1 AND value IS NOT NULL
                """, topic)
        }
        try execute("""
            INSERT INTO keyed_topics (topic, mode, log_complete, tombstones_applied, null_keys_skipped, changed_at)
            SELECT ?1, ?2, ?2 = 'latest' AND NOT EXISTS (SELECT 1 FROM partition_state WHERE topic = ?1 AND retained_deleted > 0), count(*) FILTER (WHERE key IS NOT NULL AND value IS NULL),
                   count(*) FILTER (WHERE key IS NULL), ?3
            FROM messages WHERE topic = ?1
            """, topic, mode.rawValue, nowMs)
    }

    /// Deletes `topic`'s latest table: its kept values and its pointers.
    private func deleteLatest(of topic: String) throws {
        try execute("DELETE FROM latest_values WHERE topic = ?1", topic)
        try execute("DELETE FROM latest_keys WHERE topic = ?1", topic)
    }

    /// Copies the records `topic`'s pointers name into `latest_values` and drops the pointers
    /// (before its log goes: `latest_only` keeps the values).
    private func keepLatestValues(of topic: String) throws {
        try execute("""
            INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
            \(TopicViews.pointedLatestRows(in: "")) WHERE l.topic = ?1
            """, topic)
        try execute("DELETE FROM latest_keys WHERE topic = ?1", topic)
    }

    /// Deletes `topic`'s log rows (a `latest_only` topic keeps only its table).
    private func dropLog(of topic: String) throws {
        // Row id range by range (through the messages view it would go row by row).
        try execute("""
            DELETE FROM records WHERE id >= (SELECT min(id) FROM streams WHERE topic = ?1) << \(StreamDirectory.offsetBits)
                AND id < ((SELECT max(id) FROM streams WHERE topic = ?1) + 1) << \(StreamDirectory.offsetBits)
                AND (id >> \(StreamDirectory.offsetBits)) IN (SELECT id FROM streams WHERE topic = ?1)
            """, topic)
        try execute("UPDATE partition_state SET stored_count = 0, last_stored_timestamp = NULL WHERE topic = ?1", topic)
    }

    /// Runs one statement with text and integer parameters ?1, ?2, ...
    private func execute(_ sql: String, _ parameters: any Sendable...) throws {
        let statement = try connection.prepare(sql)
        for (index, parameter) in parameters.enumerated() {
            switch parameter {
            case let text as String: statement.bind(Int32(index + 1), text)
            case let number as Int64: statement.bind(Int32(index + 1), number)
            default: throw StoreError.inconsistent(path: store.path, reason: "unsupported SQL parameter \(parameter)")
            }
        }
        try statement.run()
    }
}
