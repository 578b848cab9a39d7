import SpoolModel

/// Reads a capture's log for a replay: which offsets each partition holds, time lookups, and
/// the rows themselves in offset order, their bytes lent straight from SQLite.
///
/// Opened read-only, so it works while `spool ingest` writes the file (WAL). What a partition
/// holds is fixed when the reader opens (a replay does not follow a capture being written);
/// rows that the capture's own retention removes after that are reported, never skipped.
package final class CaptureReader {
    /// The file.
    package let path: String
    let store: SpoolStore
    private var rows: SQLiteStatement?
    /// The prepared query of `withLatestRows`.
    var latestRows: SQLiteStatement?
    private var decodedRows: SQLiteStatement?
    private var firstAtTime: SQLiteStatement?
    private var holdingsByTopic: [String: [Int32: ReplayRange]] = [:]

    /// Opens `path` read-only; refuses what `SpoolStore.openForReading` refuses.
    package init(path: String) throws {
        self.path = path
        store = try SpoolStore.openForReading(path: path)
    }

    deinit { close() }

    /// Closes the file. Safe to call twice.
    package func close() {
        rows = nil
        decodedRows = nil
        firstAtTime = nil
        latestRows = nil
        store.close()
    }

    /// The topics whose log the file holds.
    package func topics() throws -> [String] {
        try Set(store.storedPartitions().map(\.topicPartition.topic)).sorted()
    }

    /// The contiguous run of offsets `topic`'s partitions hold, `first..<next`: from the first
    /// stored offset (after the last gap recorded inside the log) up to the next offset to
    /// capture. Read once; later calls answer the same.
    package func holdings(topic: String) throws -> [Int32: ReplayRange] {
        if let known = holdingsByTopic[topic] { return known }
        // The first row of the partition's row id range (the messages view would scan it).
        let firstStoredOffset = store.usesStreamsLayout
            ? "(SELECT r.id - (st.id << \(StreamDirectory.offsetBits)) FROM streams st JOIN records r ON r.id >= st.id << \(StreamDirectory.offsetBits) AND r.id < (st.id + 1) << \(StreamDirectory.offsetBits) WHERE st.topic = s.topic AND st.partition = s.partition ORDER BY r.id LIMIT 1)"
            : "(SELECT min(m.offset) FROM messages m WHERE m.topic = s.topic AND m.partition = s.partition)"
        let query = try store.connection.prepare("""
            SELECT s.partition, s.next_offset,
                   \(firstStoredOffset) AS first_stored_offset,
                   (SELECT max(g.last_missing_offset) FROM gaps g WHERE g.topic = s.topic AND g.partition = s.partition) AS last_gap_offset
            FROM partition_state s WHERE s.topic = ?1
            """)
        query.bind(1, topic)
        var held: [Int32: ReplayRange] = [:]
        while try query.step() {
            let next = query.int64("next_offset")
            var first = query.optionalInt64("first_stored_offset") ?? next
            if let gapEnd = query.optionalInt64("last_gap_offset"), gapEnd >= first { first = min(gapEnd + 1, next) }
            held[Int32(query.int64("partition"))] = ReplayRange(start: first, end: next)
        }
        holdingsByTopic[topic] = held
        return held
    }

    /// The first held offset of `partition` whose timestamp is at or after `timestampMs`.
    package func firstOffset(of partition: TopicPartition, atOrAfter timestampMs: Int64) throws -> Int64? {
        guard let held = try holdings(topic: partition.topic)[partition.partition], !held.isEmpty else { return nil }
        guard let query = try partitionQuery(&firstAtTime, columns: "1", of: partition, offsets: held.start..<held.end,
                                             condition: "timestamp >= ?7", limit: 1) else { return nil }
        defer { query.reset() }
        query.bind(7, timestampMs)
        guard try query.step() else { return nil }
        return query.optionalInt64("offset")
    }

    /// Hands `body` the rows of `partition` from offset `start` up to (not including) `end`,
    /// in offset order, at most `limit`; returns how many. The bytes are lent for one call of
    /// `body`. Rows the capture's retention removed since the reader opened throw
    /// `StoreError.inconsistent` naming the partition.
    package func withRows(of partition: TopicPartition, from start: Int64, before end: Int64, limit: Int,
                          _ body: (CapturedRow) throws -> Void) throws -> Int {
        guard let query = try partitionQuery(&rows, columns: "timestamp, key, value, \(store.hasHeaders ? "headers" : "NULL AS headers")",
                                             of: partition, offsets: start..<max(start, end), limit: limit) else { return 0 }
        var handed = 0
        defer { query.reset() }
        let columns = CapturedRow.Columns(query)
        while try query.step() {
            let row = columns.row(query)
            if handed == 0 { try checkNotRetained(partition, reading: start, found: row.offset) }
            try body(row)
            handed += 1
        }
        if handed == 0, start < end { try checkNotRetained(partition, reading: start, found: end) }
        return handed
    }

    /// The topics some of whose records the file holds decoded from Confluent framing into
    /// `key_json`/`value_json` (by `--schema-registry` or `spool decode`); empty for a file
    /// made before decoding existed.
    package func decodedTopics() throws -> Set<String> {
        guard store.schemaVersion >= 4 else { return [] }
        let query = try store.connection.prepare("SELECT topic FROM decode_stats WHERE decoded > 0")
        var topics: Set<String> = []
        while try query.step() {
            if let topic = query.text(0) { topics.insert(topic) }
        }
        return topics
    }

    /// Hands `body` the offset, `key_json` and `value_json` (nil for NULL) of each record of
    /// `partition` from offset `first` through `last` that has either, in offset order. The
    /// bytes are lent for one call of `body`.
    package func withDecoded(of partition: TopicPartition, from first: Int64, through last: Int64,
                             _ body: (Int64, UnsafeRawBufferPointer?, UnsafeRawBufferPointer?) throws -> Void) throws {
        guard store.schemaVersion >= 4 else { return }
        guard last >= first, let query = try partitionQuery(&decodedRows, columns: "key_json, value_json", of: partition,
                                                              offsets: first..<(last < Int64.max ? last + 1 : last),
                                                              condition: "(key_json IS NOT NULL OR value_json IS NOT NULL)") else { return }
        defer { query.reset() }
        let (offset, keyJSON, valueJSON) = (query.column("offset"), query.column("key_json"), query.column("value_json"))
        while try query.step() {
            try body(query.int64(offset), query.lentBlob(keyJSON), query.lentBlob(valueJSON))
        }
    }

    /// Prepares (once, in `slot`) and binds the query of `partition`'s records with offsets in
    /// `offsets` (and `condition`, if given), in offset order, at most `limit`: `offset`, then
    /// `columns`. Nil when the partition has no records. In the streams layout it reads a
    /// row id range of `records`; in an earlier file, the `messages` table by its unique index.
    private func partitionQuery(_ slot: inout SQLiteStatement?, columns: String, of partition: TopicPartition,
                                offsets: Range<Int64>, condition: String? = nil, limit: Int = Int.max) throws -> SQLiteStatement? {
        let also = condition.map { " AND \($0)" } ?? ""
        var base: Int64 = 0
        var range = offsets
        if store.usesStreamsLayout {
            guard let stream = try store.streams.streamID(of: partition) else { return nil }
            base = StreamDirectory.base(of: stream)
            let storable = 0..<(StreamDirectory.largestOffset + 1)
            range = offsets.clamped(to: storable)
        }
        let query = try store.connection.prepareOnce(&slot, store.usesStreamsLayout
            ? "SELECT id - ?1 AS offset, \(columns) FROM records WHERE id >= ?1 + ?2 AND id < ?1 + ?3\(also) ORDER BY id LIMIT ?4"
            : "SELECT offset, \(columns) FROM messages WHERE topic = ?5 AND partition = ?6 AND offset >= ?1 + ?2 AND offset < ?1 + ?3\(also) ORDER BY offset LIMIT ?4")
        query.reset()
        query.bind(1, base)
        query.bind(2, range.lowerBound)
        query.bind(3, range.upperBound)
        query.bind(4, Int64(limit))
        if !store.usesStreamsLayout {
            query.bind(5, partition.topic)
            query.bind(6, Int64(partition.partition))
        }
        return query
    }

    /// Throws when the first row found lies past `start` because retention removed rows since
    /// the reader opened (an offset Kafka skipped, a transaction marker, is not an error).
    private func checkNotRetained(_ partition: TopicPartition, reading start: Int64, found: Int64) throws {
        guard found > start, store.schemaVersion >= 5 else { return }
        let query = try store.connection.prepare("SELECT retained_from_offset FROM partition_state WHERE topic = ?1 AND partition = ?2")
        query.bind(1, partition.topic)
        query.bind(2, Int64(partition.partition))
        guard try query.step(), let retained = query.optionalInt64(0), retained > start else { return }
        throw StoreError.inconsistent(path: path, reason: "\(partition): the capture's retention removed offsets \(start)...\(retained - 1) while they were being replayed; replay again (they are gone from the capture), or stop the capture's retention")
    }
}

/// One row of a capture's log, its bytes lent for one call.
package struct CapturedRow {
    /// The record's offset.
    package var offset: Int64
    /// Its timestamp (ms since the epoch, -1 when it had none).
    package var timestamp: Int64
    /// The key, nil for a null key.
    package var key: UnsafeRawBufferPointer?
    /// The value, nil for a null value.
    package var value: UnsafeRawBufferPointer?
    /// The `headers` column's JSON text (see `HeadersJSON`), nil when the record had none.
    package var headersJSON: UnsafeRawBufferPointer?

    /// Where a row's columns (`offset`, `timestamp`, `key`, `value`, `headers`) are in a
    /// statement's results, found by name once per statement rather than once per row.
    struct Columns {
        let offset, timestamp, key, value, headers: Int32

        /// The columns of `query`.
        init(_ query: SQLiteStatement) {
            (offset, timestamp, key, value, headers) = (query.column("offset"), query.column("timestamp"), query.column("key"),
                                                        query.column("value"), query.column("headers"))
        }

        /// The current row of `query`, its bytes lent until the next step.
        func row(_ query: SQLiteStatement) -> CapturedRow {
            CapturedRow(offset: query.int64(offset), timestamp: query.int64(timestamp), key: query.lentBlob(key),
                        value: query.lentBlob(value), headersJSON: query.lentBlob(headers))
        }
    }
}
