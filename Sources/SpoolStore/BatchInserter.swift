internal import CSQLite
import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// The write path: stores one released batch and the partition checkpoints after it.
///
/// Owns the persistent prepared statements and each topic's name as a C string for the life of
/// the connection. Key and value bytes are bound without copying (`SQLITE_STATIC`) from inside
/// `MessageBatch.withPayloads`, and every row is stepped and reset inside that same call, so no
/// pointer SQLite holds outlives the scope that lent it.
final class BatchInserter {
    private let connection: SQLiteConnection
    /// Each partition's stream id (its records' row id range).
    let streams: StreamDirectory
    private var insertMessage: SQLiteStatement?
    private var upsertCheckpoint: SQLiteStatement?
    private var updateProgress: SQLiteStatement?
    private var topicCStrings: [String: UnsafeMutablePointer<CChar>] = [:]
    /// Reused for each row's `headers` JSON (bound as a copy).
    private var headersJSON: [UInt8] = []
    private var updateLatest: SQLiteStatement?
    private var insertLatest: SQLiteStatement?
    private var deleteLatest: SQLiteStatement?
    private var upsertLatestPointer: SQLiteStatement?
    private var deleteLatestPointer: SQLiteStatement?
    private var countKeyed: SQLiteStatement?
    private var addDecodeStats: SQLiteStatement?
    /// The keyed topics and their modes, as recorded in the database (set by the store).
    var keyedModes: [String: KeyedMode] = [:]
    /// `latest` topics some of whose keys are kept with their values in `latest_values` (from
    /// before pointers, or moved there by retention): a new record of such a key removes that
    /// row. Over-inclusive is safe (a delete that finds nothing).
    var latestTopicsWithValues: Set<String> = []

    init(connection: SQLiteConnection, streams: StreamDirectory) {
        self.connection = connection
        self.streams = streams
    }

    deinit {
        finalize()
    }

    /// Finalizes the statements and frees the topic names; the statements are prepared again on
    /// the next write.
    func finalize() {
        insertMessage = nil
        upsertCheckpoint = nil
        updateProgress = nil
        updateLatest = nil
        insertLatest = nil
        deleteLatest = nil
        upsertLatestPointer = nil
        deleteLatestPointer = nil
        countKeyed = nil
        addDecodeStats = nil
        streams.finalize()
        for pointer in topicCStrings.values { free(pointer) }
        topicCStrings.removeAll()
    }

    /// Inserts the batch's rows into the log (except those of `latest_only` topics) and applies
    /// keyed topics' rows to `latest`; returns, per partition, how many log rows it gained and
    /// the last one's timestamp. Call inside a transaction.
    func insert(_ batch: MessageBatch, decoded: DecodedColumns?) throws -> [TopicPartition: (count: Int64, lastTimestamp: Int64)] {
        guard !batch.isEmpty else { return [:] }
        let modes = batch.topicNames.map { keyedModes[$0] }
        let decodedView = DecodedView(decoded)
        if modes.contains(where: { $0 != nil }) { try applyLatest(batch, modes: modes, decoded: decodedView) }
        if let decoded { try countDecoded(batch, decoded) }
        let insert = try statement(&insertMessage, """
            INSERT INTO records (id, key, value, timestamp, headers, key_json, value_json, decode_state)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let (order, groups) = Self.partitionOrder(batch)
        var gained: [TopicPartition: (count: Int64, lastTimestamp: Int64)] = [:]
        try decodedView.withJSON { json in
        try batch.withPayloads { payloads in
            let topicIndexes = batch.topicIndexes
            let offsets = batch.offsets
            let timestamps = batch.timestamps
            for group in groups {
                let first = order[group.lowerBound]
                let topicIndex = Int(topicIndexes[first])
                if modes[topicIndex] == .latestOnly { continue }
                let tp = TopicPartition(topic: batch.topicNames[topicIndex], partition: batch.partitions[first])
                let stream = try streams.streamID(creating: tp)
                for position in group {
                    let row = order[position]
                    insert.bind(1, try streams.rowID(stream: stream, offset: offsets[row], of: tp))
                    insert.bindStatic(2, blob: payloads.key(at: row))
                    insert.bindStatic(3, blob: payloads.value(at: row))
                    insert.bind(4, timestamps[row])
                    bindHeaders(of: row, payloads, to: insert, at: 5)
                    json.bind(row: row, to: insert, at: 6)
                    // Reset (which also clears the bindings) before the payloads are given back.
                    defer { insert.reset() }
                    try insert.step()
                }
                gained[tp] = (Int64(group.count), timestamps[order[group.upperBound - 1]])
            }
        }
        }
        return gained
    }

    /// Applies the rows of keyed topics to their latest table in release order (the batch's
    /// order): a value replaces the key's entry, a tombstone deletes it, a null key is counted
    /// and skipped. A `latest` topic keeps a pointer to the record's row in `latest_keys` (the
    /// log holds the record); a `latest_only` topic keeps the record in `latest_values`.
    private func applyLatest(_ batch: MessageBatch, modes: [KeyedMode?], decoded: DecodedView) throws {
        let keyed = try keyedStatements()
        var tombstones = [Int64](repeating: 0, count: modes.count)
        var nullKeys = [Int64](repeating: 0, count: modes.count)
        let topicPointers = batch.topicNames.map { cString(for: $0) }
        let topicLengths = batch.topicNames.map { $0.utf8.count }
        let withValues = batch.topicNames.map { latestTopicsWithValues.contains($0) }
        var streamBases: [Int: Int64] = [:]
        try decoded.withJSON { json in
        try batch.withPayloads { payloads in
            for row in Self.lastPerKey(batch, payloads, modes: modes, tombstones: &tombstones, nullKeys: &nullKeys) {
                let topicIndex = Int(batch.topicIndexes[row])
                guard let mode = modes[topicIndex], let key = payloads.key(at: row) else { continue }
                func run(_ statement: SQLiteStatement, _ bindRest: () throws -> Void = {}) throws {
                    statement.bindStatic(1, text: topicPointers[topicIndex], count: topicLengths[topicIndex])
                    statement.bindStatic(2, blob: key)
                    try bindRest()
                    defer { statement.reset() }
                    try statement.step()
                }
                let value = payloads.value(at: row)
                if mode == .latest {
                    // The key leaves latest_values when it was kept there.
                    if withValues[topicIndex] { try run(keyed.deleteValues) }
                    guard value != nil else {
                        try run(keyed.deletePointer)
                        continue
                    }
                    let id = try rowID(of: row, in: batch, bases: &streamBases)
                    try run(keyed.upsertPointer) { keyed.upsertPointer.bind(3, id) }
                    continue
                }
                guard let value else {
                    try run(keyed.deleteValues)
                    continue
                }
                // Most records update a key already there: try that first (one index seek);
                // insert only when no row changed.
                for statement in [keyed.updateValues, keyed.insertValues] {
                    try run(statement) {
                        statement.bindStatic(3, blob: value)
                        statement.bind(4, Int64(batch.partitions[row]))
                        statement.bind(5, batch.offsets[row])
                        statement.bind(6, batch.timestamps[row])
                        bindHeaders(of: row, payloads, to: statement, at: 7)
                        json.bind(row: row, to: statement, at: 8)
                    }
                    if statement === keyed.updateValues, try connection.changes() > 0 { break }
                }
            }
        }
        }
        let count = try statement(&countKeyed, """
            UPDATE keyed_topics SET tombstones_applied = tombstones_applied + ?2, null_keys_skipped = null_keys_skipped + ?3
            WHERE topic = ?1
            """)
        for (index, name) in batch.topicNames.enumerated() where tombstones[index] > 0 || nullKeys[index] > 0 {
            count.bind(1, name)
            count.bind(2, tombstones[index])
            count.bind(3, nullKeys[index])
            try count.run()
        }
    }

    /// Adds the batch's decoded and failed records, and each topic's first failure, to
    /// `decode_stats` (pending ones are counted from their index when asked).
    private func countDecoded(_ batch: MessageBatch, _ decoded: DecodedColumns) throws {
        var decodedCounts = [Int64](repeating: 0, count: batch.topicNames.count)
        var failedCounts = decodedCounts
        for (row, state) in decoded.states.enumerated() {
            switch state {
            case .decoded: decodedCounts[Int(batch.topicIndexes[row])] += 1
            case .failed: failedCounts[Int(batch.topicIndexes[row])] += 1
            case .none, .pending: continue
            }
        }
        for (index, topic) in batch.topicNames.enumerated() where decodedCounts[index] > 0 || failedCounts[index] > 0 {
            try addDecodeCounts(topic: topic, decoded: decodedCounts[index], failed: failedCounts[index],
                                firstError: decoded.firstFailures[topic]?.message)
        }
    }

    /// Adds to one topic's `decode_stats` row (keeping its first error). Call inside a transaction.
    func addDecodeCounts(topic: String, decoded: Int64, failed: Int64, firstError: String?) throws {
        let add = try statement(&addDecodeStats, """
            INSERT INTO decode_stats (topic, decoded, failed, first_error, first_error_at) VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END)
            ON CONFLICT (topic) DO UPDATE SET decoded = decoded + excluded.decoded, failed = failed + excluded.failed,
                first_error = coalesce(first_error, excluded.first_error), first_error_at = coalesce(first_error_at, excluded.first_error_at)
            """)
        add.bind(1, topic)
        add.bind(2, decoded)
        add.bind(3, failed)
        add.bind(4, firstError)
        add.bind(5, WallClock.nowMs())
        try add.run()
    }

    /// Binds row `row`'s headers as JSON (copied), or leaves the parameter NULL when it has none.
    private func bindHeaders(of row: Int, _ payloads: MessageBatch.Payloads, to statement: SQLiteStatement, at index: Int32) {
        guard payloads.headerCount(at: row) > 0 else { return }
        headersJSON.removeAll(keepingCapacity: true)
        HeadersJSON.encode(payloads, row: row, into: &headersJSON)
        statement.bindCopy(index, text: headersJSON)
    }

    /// A batch's decoded columns, bound without copying while `withJSON` pins them.
    struct DecodedView {
        let columns: DecodedColumns?

        init(_ columns: DecodedColumns?) { self.columns = columns }

        /// Lends the JSON bytes to `body` (an empty view when there are no decoded columns).
        func withJSON<R>(_ body: (PinnedJSON) throws -> R) rethrows -> R {
            guard let columns else { return try body(PinnedJSON(columns: nil, bytes: UnsafeRawBufferPointer(start: nil, count: 0))) }
            return try columns.jsonBytes.withUnsafeBytes { try body(PinnedJSON(columns: columns, bytes: $0)) }
        }
    }

    /// The decoded columns with their JSON bytes pinned (valid inside `DecodedView.withJSON` only).
    struct PinnedJSON {
        let columns: DecodedColumns?
        let bytes: UnsafeRawBufferPointer

        /// Binds row `row`'s key JSON, value JSON and state to parameters `index`, +1 and +2
        /// (left NULL when there are no decoded columns or the row has nothing framed).
        func bind(row: Int, to statement: SQLiteStatement, at index: Int32) {
            guard let columns, columns.states[row] != .none else { return }
            for (offset, span) in [columns.keySpans[row], columns.valueSpans[row]].enumerated() where span.count >= 0 {
                statement.bindStatic(index + Int32(offset), textBytes: UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.start + span.count]))
            }
            let state = Self.stateText(columns.states[row])
            statement.bindStatic(index + 2, text: UnsafeRawPointer(state.utf8Start).assumingMemoryBound(to: CChar.self),
                                 count: state.utf8CodeUnitCount)
        }

        /// A state's stored text as a string constant (static storage, so SQLite need not copy it).
        private static func stateText(_ state: DecodedColumns.State) -> StaticString {
            switch state {
            case .none: ""
            case .decoded: "decoded"
            case .pending: "pending"
            case .failed: "failed"
            }
        }
    }

    /// The rows of keyed topics that decide their key's entry: per (topic, key) the last in
    /// release order (earlier ones would be overwritten within the batch), sorted by topic and
    /// key so the table's B-tree is visited in order. Counts every tombstone and null key.
    private static func lastPerKey(_ batch: MessageBatch, _ payloads: MessageBatch.Payloads, modes: [KeyedMode?],
                                   tombstones: inout [Int64], nullKeys: inout [Int64]) -> [Int] {
        var places: [KeyPlace] = []
        places.reserveCapacity(batch.count)
        for row in 0..<batch.count {
            let topicIndex = Int(batch.topicIndexes[row])
            guard modes[topicIndex] != nil else { continue }
            guard let key = payloads.key(at: row) else {
                nullKeys[topicIndex] += 1
                continue
            }
            if payloads.value(at: row) == nil { tombstones[topicIndex] += 1 }
            places.append(KeyPlace(topic: batch.topicIndexes[row], key: key, row: row))
        }
        // Keys that share their first 16 bytes and are longer are told apart by their tails.
        func tailOrder(_ a: KeyPlace, _ b: KeyPlace) -> Int {
            guard a.length > KeyPlace.prefixBytes && b.length > KeyPlace.prefixBytes else { return 0 }
            let (left, right) = (payloads.key(at: a.row)!, payloads.key(at: b.row)!)
            let common = min(left.count, right.count) - KeyPlace.prefixBytes
            return Int(memcmp(left.baseAddress! + KeyPlace.prefixBytes, right.baseAddress! + KeyPlace.prefixBytes, common))
        }
        places.sort { a, b in
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            let tails = tailOrder(a, b)
            if tails != 0 { return tails < 0 }
            return a.length != b.length ? a.length < b.length : a.row < b.row
        }
        var last: [Int] = []
        last.reserveCapacity(places.count)
        for (position, place) in places.enumerated() {
            if position + 1 < places.count {
                let next = places[position + 1]
                if place.prefix == next.prefix && place.length == next.length && tailOrder(place, next) == 0 { continue }
            }
            last.append(place.row)
        }
        return last
    }

    /// A keyed row's place in (topic, key) order, compared by integers: the topic and the key's
    /// first 16 bytes (big-endian, zero-padded), then the length. Cheaper than calling `memcmp`
    /// for every comparison (perf put that sort at ~9% of a `--latest` ingest's samples with
    /// 100,000 keys; paired runs 0.96x the time after); only keys longer than 16 bytes that
    /// share those bytes are compared further.
    private struct KeyPlace {
        static let prefixBytes = 16
        let prefix: Prefix
        let length: Int
        let row: Int

        /// The topic, then the key's first 16 bytes, in the order `memcmp` gives.
        struct Prefix: Equatable {
            let topic: Int32
            let high: UInt64
            let low: UInt64

            static func < (a: Prefix, b: Prefix) -> Bool {
                (a.topic, a.high, a.low) < (b.topic, b.high, b.low)
            }
        }

        init(topic: Int32, key: UnsafeRawBufferPointer, row: Int) {
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { bytes in
                bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(Self.prefixBytes)))
            }
            prefix = Prefix(topic: topic, high: UInt64(bigEndian: words.0), low: UInt64(bigEndian: words.1))
            length = key.count
            self.row = row
        }
    }

    /// The prepared statements of the keyed tables (prepared once per connection).
    private struct KeyedStatements {
        let updateValues: SQLiteStatement
        let insertValues: SQLiteStatement
        let deleteValues: SQLiteStatement
        let upsertPointer: SQLiteStatement
        let deletePointer: SQLiteStatement
    }

    private func keyedStatements() throws -> KeyedStatements {
        KeyedStatements(
            updateValues: try statement(&updateLatest, KeyedSQL.updateValues),
            insertValues: try statement(&insertLatest, KeyedSQL.insertValues),
            deleteValues: try statement(&deleteLatest, KeyedSQL.deleteValues),
            upsertPointer: try statement(&upsertLatestPointer, KeyedSQL.upsertPointer),
            deletePointer: try statement(&deleteLatestPointer, KeyedSQL.deletePointer))
    }

    /// The statements that keep the keyed tables, shared with the insert bench so that its
    /// SQLite-alone rows run exactly what the writer runs. ?1 topic, ?2 key; the values
    /// statements then ?3 value, ?4 partition, ?5 offset, ?6 timestamp, ?7 headers, ?8–?10 the
    /// decoded columns; the pointer upsert ?3 the record's row id.
    enum KeyedSQL {
        static let updateValues = """
            UPDATE latest_values SET value = ?3, partition = ?4, offset = ?5, timestamp = ?6, headers = ?7,
                key_json = ?8, value_json = ?9, decode_state = ?10
            WHERE topic = ?1 AND key = ?2
            """
        static let insertValues = """
            INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers, key_json, value_json, decode_state)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
            """
        static let deleteValues = "DELETE FROM latest_values WHERE topic = ?1 AND key = ?2"
        static let upsertPointer = """
            INSERT INTO latest_keys (topic, key, id) VALUES (?1, ?2, ?3) ON CONFLICT (topic, key) DO UPDATE SET id = excluded.id
            """
        static let deletePointer = "DELETE FROM latest_keys WHERE topic = ?1 AND key = ?2"
    }

    /// The row id row `row` of `batch` gets in `records` (its stream made when new); `bases`
    /// remembers each (topic, partition) of the batch's stream base.
    private func rowID(of row: Int, in batch: MessageBatch, bases: inout [Int: Int64]) throws -> Int64 {
        let topicIndex = Int(batch.topicIndexes[row])
        let slot = topicIndex << 32 | Int(UInt32(bitPattern: batch.partitions[row]))
        let tp = TopicPartition(topic: batch.topicNames[topicIndex], partition: batch.partitions[row])
        let stream: Int64
        if let known = bases[slot] {
            stream = known
        } else {
            stream = try streams.streamID(creating: tp)
            bases[slot] = stream
        }
        return try streams.rowID(stream: stream, offset: batch.offsets[row], of: tp)
    }

    /// Upserts each checkpoint with the rows its partition gained. Call inside a transaction.
    func upsert(_ checkpoints: [PartitionState], gained: [TopicPartition: (count: Int64, lastTimestamp: Int64)],
                nowMs: Int64) throws {
        let upsert = try statement(&upsertCheckpoint, """
            INSERT INTO partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset,
                released_offset, last_consumed_timestamp, is_live, is_paused, next_offset, stored_count,
                last_stored_timestamp, updated_at, headers_from_offset)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?3)
            ON CONFLICT (topic, partition) DO UPDATE SET
                replay_start_offset = excluded.replay_start_offset,
                replay_end_offset = excluded.replay_end_offset,
                consumed_offset = excluded.consumed_offset,
                released_offset = excluded.released_offset,
                last_consumed_timestamp = excluded.last_consumed_timestamp,
                is_live = excluded.is_live,
                is_paused = excluded.is_paused,
                next_offset = excluded.next_offset,
                stored_count = stored_count + excluded.stored_count,
                last_stored_timestamp = coalesce(excluded.last_stored_timestamp, last_stored_timestamp),
                updated_at = excluded.updated_at
            """)
        for checkpoint in checkpoints {
            let stored = gained[checkpoint.topicPartition]
            upsert.bind(1, checkpoint.topicPartition.topic)
            upsert.bind(2, Int64(checkpoint.topicPartition.partition))
            upsert.bind(3, checkpoint.replayStartOffset)
            upsert.bind(4, checkpoint.replayEndOffset)
            upsert.bind(5, checkpoint.consumedOffset)
            upsert.bind(6, checkpoint.releasedOffset)
            upsert.bind(7, checkpoint.lastConsumedTimestamp)
            upsert.bind(8, checkpoint.isLive ? 1 : 0)
            upsert.bind(9, checkpoint.isPaused ? 1 : 0)
            upsert.bind(10, checkpoint.nextOffset)
            upsert.bind(11, stored?.count ?? 0)
            upsert.bind(12, stored?.lastTimestamp)
            upsert.bind(13, nowMs)
            try upsert.run()
        }
    }

    /// Records how far every partition is completely stored. Call inside a transaction.
    func setCompleteUntil(_ completeUntil: Int64?, nowMs: Int64) throws {
        let progress = try statement(&updateProgress, "UPDATE progress SET complete_until = ?1, updated_at = ?2 WHERE id = 1")
        progress.bind(1, completeUntil)
        progress.bind(2, nowMs)
        try progress.run()
    }

    /// The batch's row indexes grouped by (topic, partition), keeping each partition's order,
    /// with the range of `order` each partition occupies.
    ///
    /// A batch is merged by timestamp across partitions; inserting it partition by partition
    /// appends runs of increasing row ids to each partition's range instead of jumping between them.
    /// Within one transaction the order of inserts changes nothing else.
    static func partitionOrder(_ batch: MessageBatch) -> (order: [Int], groups: [Range<Int>]) {
        var slotByKey: [Int: Int] = [:]
        var slots = [Int](repeating: 0, count: batch.count)
        var counts: [Int] = []
        let topicIndexes = batch.topicIndexes
        let partitions = batch.partitions
        for row in 0..<batch.count {
            let key = Int(topicIndexes[row]) << 32 | Int(UInt32(bitPattern: partitions[row]))
            let slot: Int
            if let known = slotByKey[key] {
                slot = known
            } else {
                slot = counts.count
                slotByKey[key] = slot
                counts.append(0)
            }
            slots[row] = slot
            counts[slot] += 1
        }
        // Slots in (topic, partition) order, then a stable counting sort.
        var start = [Int](repeating: 0, count: counts.count)
        var groups: [Range<Int>] = []
        groups.reserveCapacity(counts.count)
        var next = 0
        for key in slotByKey.keys.sorted() {
            let slot = slotByKey[key]!
            start[slot] = next
            groups.append(next..<next + counts[slot])
            next += counts[slot]
        }
        var order = [Int](repeating: 0, count: batch.count)
        for row in 0..<batch.count {
            order[start[slots[row]]] = row
            start[slots[row]] += 1
        }
        return (order, groups)
    }

    private func statement(_ slot: inout SQLiteStatement?, _ sql: String) throws -> SQLiteStatement {
        try connection.prepareOnce(&slot, sql)
    }

    /// The topic's name as a C string owned by the inserter (freed in `finalize`).
    private func cString(for topic: String) -> UnsafeMutablePointer<CChar> {
        if let existing = topicCStrings[topic] { return existing }
        let pointer = strdup(topic)!
        topicCStrings[topic] = pointer
        return pointer
    }
}
