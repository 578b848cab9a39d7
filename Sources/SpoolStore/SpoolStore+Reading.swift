import SpoolModel

extension SpoolStore {
    /// The next offset to read for every stored partition: where a resumed consumer starts.
    public func resumeOffsets() throws -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: try storedPartitions().map { ($0.topicPartition, $0.nextOffset) })
    }

    /// Every row of `partition_state`, in (topic, partition) order.
    public func storedPartitions() throws -> [StoredPartition] {
        let query = try connection.prepare("""
            SELECT topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset,
                   last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp, updated_at,
                   \(hasHeaders ? "headers_from_offset" : "NULL AS headers_from_offset"),
                   \(hasRetention ? "retained_from_offset, retained_deleted" : "NULL AS retained_from_offset, 0 AS retained_deleted")
            FROM partition_state ORDER BY topic, partition
            """)
        var rows: [StoredPartition] = []
        while try query.step() {
            let checkpoint = PartitionState(
                topicPartition: TopicPartition(topic: query.text("topic") ?? "", partition: Int32(query.int64("partition"))),
                range: ReplayRange(start: query.int64("replay_start_offset"), end: query.int64("replay_end_offset")),
                consumedOffset: query.int64("consumed_offset"), releasedOffset: query.int64("released_offset"),
                lastConsumedTimestamp: query.optionalInt64("last_consumed_timestamp"), isLive: query.int64("is_live") != 0,
                isPaused: query.int64("is_paused") != 0)
            var row = StoredPartition(checkpoint: checkpoint, nextOffset: query.int64("next_offset"), storedCount: query.int64("stored_count"),
                                      lastStoredTimestamp: query.optionalInt64("last_stored_timestamp"), updatedAt: query.int64("updated_at"),
                                      headersFromOffset: query.optionalInt64("headers_from_offset"))
            row.retainedFromOffset = query.optionalInt64("retained_from_offset")
            row.retainedDeleted = query.int64("retained_deleted")
            rows.append(row)
        }
        return rows
    }

    /// The Kafka cluster id the database is fed from, once known.
    public func clusterID() throws -> String? {
        try connection.text("SELECT cluster_id FROM progress WHERE id = 1")
    }

    /// The timestamp up to which every partition is completely stored, once known.
    public func completeUntil() throws -> Int64? {
        try connection.integer("SELECT complete_until FROM progress WHERE id = 1")
    }

    /// When the last transaction committed (Unix ms), or nil before the first.
    public func lastCommitAt() throws -> Int64? {
        let at = try connection.integer("SELECT updated_at FROM progress WHERE id = 1")
        return at == 0 ? nil : at
    }

    /// Stored message counts per topic.
    public func messageCounts() throws -> [String: Int64] {
        let query = try connection.prepare("SELECT topic, sum(stored_count) FROM partition_state GROUP BY topic")
        var counts: [String: Int64] = [:]
        while try query.step() { counts[query.text(0) ?? ""] = query.int64(1) }
        return counts
    }

    /// The stored messages of one partition in offset order (for tests and audits).
    public func messages(topic: String, partition: Int32) throws -> [Message] {
        let query = try connection.prepare("""
            SELECT key, value, topic, partition, offset, timestamp, \(hasHeaders ? "headers" : "NULL AS headers") FROM messages
            WHERE topic = ? AND partition = ? ORDER BY offset
            """)
        query.bind(1, topic)
        query.bind(2, Int64(partition))
        var rows: [Message] = []
        let columns = CapturedRow.Columns(query)
        while try query.step() {
            let row = columns.row(query)
            let headers = try row.headersJSON.map { try decodeHeaders($0, topic: topic, partition: partition, offset: row.offset) } ?? []
            rows.append(Message(key: row.key.map { Array($0) }, value: row.value.map { Array($0) }, topic: query.text("topic") ?? "",
                                partition: Int32(query.int64("partition")), offset: row.offset, timestamp: row.timestamp,
                                headers: headers))
        }
        return rows
    }

    /// The headers a `headers` JSON value holds, bytes rebuilt exactly (by `HeadersJSON.decode`,
    /// as a replay or restore reads them).
    func decodeHeaders(_ json: UnsafeRawBufferPointer, topic: String, partition: Int32, offset: Int64) throws -> [MessageHeader] {
        var bytes: [UInt8] = []
        var spans: [HeadersJSON.Span] = []
        guard HeadersJSON.decode(json, into: &bytes, spans: &spans) else {
            throw StoreError.inconsistent(path: path, reason: "the headers of \(topic)[\(partition)] offset \(offset) are not Spool's header JSON; run spool verify")
        }
        return spans.map { MessageHeader(name: String(decoding: bytes[$0.name], as: UTF8.self), value: $0.value.map { Array(bytes[$0]) }) }
    }

    /// What a reader must be told before trusting this file, one sentence each: a merge into
    /// it that has not finished, or one that went on without every partition. Empty otherwise.
    public func readerNotices() throws -> [String] {
        var notices: [String] = []
        if try shards.mergeInProgress() {
            notices.append("\(path) is the target of a spool merge that has not finished: it holds only part of the shards' records; run the same spool merge again to complete it")
        }
        if try shards.mergedIncomplete() {
            notices.append("\(path) was merged from shards that did not hold every partition (--allow-incomplete): it is not a whole capture")
        }
        return notices
    }

    /// Whether the file holds any captured record, partition or keyed row.
    func holdsCapture() throws -> Bool {
        try connection.integer("SELECT EXISTS (SELECT 1 FROM partition_state) OR EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM latest)") == 1
    }

    /// How many runs of spool ingest the file records.
    func runCount() throws -> Int64 {
        try connection.integer("SELECT count(*) FROM runs") ?? 0
    }
}
