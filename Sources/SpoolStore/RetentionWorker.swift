import SpoolModel

/// Removes old records in small chunks inside the batch transactions (see `RetentionPolicy`).
///
/// Each call removes at most `budget` rows, from the front of partitions only, and updates the
/// partitions' `stored_count`, `retained_deleted` and `retained_from_offset` in the same
/// transaction, so a crash leaves either the rows and their state or neither. Freed pages are
/// given back to the file system when the database uses incremental auto-vacuum.
final class RetentionWorker {
    private let connection: SQLiteConnection
    private let streams: StreamDirectory
    private var headRows: SQLiteStatement?
    private var deletePrefix: SQLiteStatement?
    private var recordRemoval: SQLiteStatement?
    private var markLogIncomplete: SQLiteStatement?
    private var copyPointed: SQLiteStatement?
    private var dropPointed: SQLiteStatement?
    /// `latest` topics whose keys retention moved into `latest_values` (the writer then removes
    /// those rows when the keys come again).
    private(set) var topicsWithValues: Set<String> = []
    /// Each `latest` topic's pointers, sorted by row id, for the current pass.
    private var pointersInPass: [String: [(id: Int64, key: [UInt8])]] = [:]
    /// Per partition, the timestamp of its first stored record when it was last looked at and
    /// found too young; the partition is skipped until the age limit passes that time.
    private var youngUntil: [TopicPartition: Int64] = [:]

    init(connection: SQLiteConnection, streams: StreamDirectory) {
        self.connection = connection
        self.streams = streams
    }

    /// Finalizes the statements; they are prepared again on the next use.
    func finalize() {
        headRows = nil
        deletePrefix = nil
        recordRemoval = nil
        markLogIncomplete = nil
        copyPointed = nil
        dropPointed = nil
    }

    /// Applies `policy` with at most `budget` rows removed; returns how many were. Call inside a
    /// transaction. `keptLogTopics` are `--latest` topics whose table verify recomputes from the
    /// log: removing their rows marks that log incomplete.
    func run(_ policy: RetentionPolicy, budget: Int, nowMs: Int64, keptLogTopics: Set<String>) throws -> Int {
        pointersInPass.removeAll()
        defer { pointersInPass.removeAll() }
        var removed = 0
        if let maxAge = policy.maxAgeMs {
            removed += try removeExpired(olderThan: nowMs - maxAge, budget: budget, keptLogTopics: keptLogTopics)
        }
        if let maxBytes = policy.maxBytes, removed < budget {
            removed += try shrink(to: maxBytes, budget: budget - removed, keptLogTopics: keptLogTopics)
        }
        if removed > 0 { try returnFreePages() }
        return removed
    }

    /// Removes, partition by partition, the leading records older than `cutoff`.
    private func removeExpired(olderThan cutoff: Int64, budget: Int, keptLogTopics: Set<String>) throws -> Int {
        var removed = 0
        for (partition, count) in try partitionsWithRows() where removed < budget && count > 0 {
            if let young = youngUntil[partition], young >= cutoff { continue }
            removed += try removeExpired(from: partition, olderThan: cutoff, budget: budget - removed, keptLogTopics: keptLogTopics)
        }
        return removed
    }

    /// Removes `partition`'s leading records older than `cutoff`, at most `budget`; remembers
    /// the first record it keeps as too young until `cutoff` passes its timestamp.
    private func removeExpired(from partition: TopicPartition, olderThan cutoff: Int64, budget: Int,
                               keptLogTopics: Set<String>) throws -> Int {
        var removed = 0
        while removed < budget {
            let rows = try leadingRows(of: partition, limit: min(budget - removed, 4_096))
            let expired = rows.prefix { $0.timestamp >= 0 && $0.timestamp < cutoff }
            if let last = expired.last {
                try remove(partition, through: last.offset, count: expired.count, keptLogTopics: keptLogTopics)
                removed += expired.count
            }
            if let next = rows.dropFirst(expired.count).first {
                youngUntil[partition] = next.timestamp >= 0 ? next.timestamp : Int64.max
                return removed
            }
            if expired.isEmpty { return removed }
        }
        return removed
    }

    /// While the used pages exceed `maxBytes`, removes the oldest leading records across
    /// partitions (a partition's run up to the next partition's first timestamp at a time).
    private func shrink(to maxBytes: Int64, budget: Int, keptLogTopics: Set<String>) throws -> Int {
        let pageSize = try connection.integer("PRAGMA page_size") ?? 4096
        let used = ((try connection.integer("PRAGMA page_count") ?? 0) - (try connection.integer("PRAGMA freelist_count") ?? 0)) * pageSize
        guard used > maxBytes else { return 0 }
        let rowsStored = try connection.integer("SELECT coalesce(sum(stored_count), 0) FROM partition_state") ?? 0
        guard rowsStored > 0 else { return 0 }
        let bytesPerRow = max(1, used / rowsStored)
        var wanted = min(budget, Int((used - maxBytes) / bytesPerRow) + 1)
        var heads: [(timestamp: Int64, partition: TopicPartition)] = []
        for (partition, count) in try partitionsWithRows() where count > 0 {
            if let first = try leadingRows(of: partition, limit: 1).first { heads.append((first.timestamp, partition)) }
        }
        var removed = 0
        while wanted > 0, let oldest = heads.indices.min(by: { heads[$0].timestamp < heads[$1].timestamp }) {
            let partition = heads[oldest].partition
            let nextOldest = heads.indices.filter { $0 != oldest }.map { heads[$0].timestamp }.min() ?? Int64.max
            let rows = try leadingRows(of: partition, limit: min(wanted, 512) + 1)
            var take = rows.prefix(min(wanted, 512)).prefix { $0.timestamp <= nextOldest }.count
            take = max(take, min(1, rows.count))
            guard take > 0 else { heads.remove(at: oldest); continue }
            try remove(partition, through: rows[take - 1].offset, count: take, keptLogTopics: keptLogTopics)
            removed += take
            wanted -= take
            if take < rows.count { heads[oldest].timestamp = rows[take].timestamp } else { heads.remove(at: oldest) }
        }
        return removed
    }

    /// Every partition with its stored row count.
    private func partitionsWithRows() throws -> [(TopicPartition, Int64)] {
        let query = try connection.prepare("SELECT topic, partition, stored_count FROM partition_state ORDER BY topic, partition")
        var rows: [(TopicPartition, Int64)] = []
        while try query.step() {
            rows.append((TopicPartition(topic: query.text(0) ?? "", partition: Int32(query.int64(1))), query.int64(2)))
        }
        return rows
    }

    /// The first `limit` stored rows of `partition` in offset order: offset and timestamp.
    private func leadingRows(of partition: TopicPartition, limit: Int) throws -> [(offset: Int64, timestamp: Int64)] {
        guard let stream = try streams.streamID(of: partition) else { return [] }
        let query = try statement(&headRows, """
            SELECT id - ?1, timestamp FROM records WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3
            """)
        defer { query.reset() }
        let ids = StreamDirectory.rowIDs(of: stream)
        query.bind(1, ids.lowerBound)
        query.bind(2, ids.upperBound)
        query.bind(3, Int64(limit))
        var rows: [(offset: Int64, timestamp: Int64)] = []
        while try query.step() { rows.append((query.int64(0), query.int64(1))) }
        return rows
    }

    /// Removes `partition`'s rows up to and including `lastOffset` (`count` of them) and records it.
    private func remove(_ partition: TopicPartition, through lastOffset: Int64, count: Int, keptLogTopics: Set<String>) throws {
        youngUntil[partition] = nil
        if let stream = try streams.streamID(of: partition) {
            if keptLogTopics.contains(partition.topic) { try keepPointedValues(partition, stream: stream, through: lastOffset) }
            let delete = try statement(&deletePrefix, "DELETE FROM records WHERE id >= ?1 AND id <= ?1 + ?2")
            delete.bind(1, StreamDirectory.base(of: stream))
            delete.bind(2, lastOffset)
            try delete.run()
        }
        let record = try statement(&recordRemoval, """
            UPDATE partition_state SET stored_count = stored_count - ?4, retained_deleted = retained_deleted + ?4,
                retained_from_offset = ?3 + 1
            WHERE topic = ?1 AND partition = ?2
            """)
        record.bind(1, partition.topic)
        record.bind(2, Int64(partition.partition))
        record.bind(3, lastOffset)
        record.bind(4, Int64(count))
        try record.run()
        if keptLogTopics.contains(partition.topic) {
            let mark = try statement(&markLogIncomplete, "UPDATE keyed_topics SET log_complete = 0 WHERE topic = ?1 AND log_complete = 1")
            mark.bind(1, partition.topic)
            try mark.run()
        }
    }

    /// Moves the `latest_keys` pointers of `partition` up to `lastOffset` (rows about to be
    /// removed) into `latest_values` with the records' values, so no pointer outlives its row.
    /// The topic's pointers are read once per pass (sorted by row id) and each one found in the
    /// range moves by its key, so a pass costs one scan of the table per topic, not per partition.
    private func keepPointedValues(_ partition: TopicPartition, stream: Int64, through lastOffset: Int64) throws {
        let pointers = try pointersByID(of: partition.topic)
        let low = StreamDirectory.base(of: stream), high = low + lastOffset
        var index = Self.firstIndex(in: pointers, atLeast: low)
        let copy = try statement(&copyPointed, """
            INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
            SELECT l.topic, l.key, r.value, ?3, l.id - ?4, r.timestamp, r.headers, r.key_json, r.value_json, r.decode_state
            FROM latest_keys l JOIN records r ON r.id = l.id WHERE l.topic = ?1 AND l.key = ?2
            """)
        let drop = try statement(&dropPointed, "DELETE FROM latest_keys WHERE topic = ?1 AND key = ?2")
        while index < pointers.count, pointers[index].id <= high {
            for step in [copy, drop] {
                step.bind(1, partition.topic)
                pointers[index].key.withUnsafeBytes { step.bindStatic(2, blob: $0) }
                if step === copy {
                    step.bind(3, Int64(partition.partition))
                    step.bind(4, low)
                }
                // Reset before the key's bytes are given back.
                defer { step.reset() }
                _ = try step.step()
            }
            topicsWithValues.insert(partition.topic)
            index += 1
        }
    }

    /// The first position of `pointers` (sorted by id) whose id is at least `low` (binary search).
    private static func firstIndex(in pointers: [(id: Int64, key: [UInt8])], atLeast low: Int64) -> Int {
        var range = 0..<pointers.count
        while !range.isEmpty {
            let middle = range.lowerBound + range.count / 2
            if pointers[middle].id < low { range = (middle + 1)..<range.upperBound } else { range = range.lowerBound..<middle }
        }
        return range.lowerBound
    }

    /// `topic`'s pointers sorted by row id, read once per retention pass.
    private func pointersByID(of topic: String) throws -> [(id: Int64, key: [UInt8])] {
        if let known = pointersInPass[topic] { return known }
        let query = try connection.prepare("SELECT id, key FROM latest_keys WHERE topic = ?1")
        query.bind(1, topic)
        var pointers: [(id: Int64, key: [UInt8])] = []
        while try query.step() { pointers.append((query.int64(0), query.blob(1) ?? [])) }
        pointers.sort { $0.id < $1.id }
        pointersInPass[topic] = pointers
        return pointers
    }

    /// With incremental auto-vacuum, gives free pages back beyond a small reserve (2.5% of the
    /// file, which the next inserts reuse), so the file shrinks as retention removes rows.
    private func returnFreePages() throws {
        guard try connection.integer("PRAGMA auto_vacuum") == 2 else { return }
        let free = try connection.integer("PRAGMA freelist_count") ?? 0
        let reserve = max(64, (try connection.integer("PRAGMA page_count") ?? 0) / 40)
        if free > reserve { try connection.execute("PRAGMA incremental_vacuum(\(free - reserve))") }
    }

    private func statement(_ slot: inout SQLiteStatement?, _ sql: String) throws -> SQLiteStatement {
        try connection.prepareOnce(&slot, sql)
    }
}
