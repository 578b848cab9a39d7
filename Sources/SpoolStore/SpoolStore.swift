internal import CSQLite
import KafkaReplay
#if canImport(Glibc)
import Glibc
#endif

/// A Spool database: captured messages, partition state, runs, gaps and progress in one SQLite file.
///
/// A writer (`openForWriting`) holds an exclusive lock for its lifetime, so a second writer is
/// refused at once; readers (`openForReading`) work alongside it thanks to WAL. Every call to
/// `write(batch:states:completeUntil:)` commits the messages and the partition state they imply
/// in ONE transaction: after a crash the stored offsets always match the stored rows.
///
/// Not `Sendable`: one owner drives a connection.
public final class SpoolStore {
    /// The database file.
    public let path: String
    /// Whether this connection may write.
    public let isWriter: Bool
    /// The schema version of the database.
    public private(set) var schemaVersion: Int

    let connection: SQLiteConnection
    private var lock: WriterLock?
    private var insertMessage: SQLiteStatement?
    private var upsertState: SQLiteStatement?
    private var updateProgress: SQLiteStatement?
    private var topicCStrings: [String: UnsafeMutablePointer<CChar>] = [:]

    /// The schema version this binary creates and understands.
    public static var supportedSchemaVersion: Int { Migrator().latestVersion }

    private init(path: String, isWriter: Bool, connection: SQLiteConnection, lock: WriterLock?, schemaVersion: Int) {
        self.path = path
        self.isWriter = isWriter
        self.connection = connection
        self.lock = lock
        self.schemaVersion = schemaVersion
    }

    deinit {
        close()
    }

    /// Opens (creating if missing) a database for ingesting, upgrading its schema.
    ///
    /// Refuses, without changing the file: another writer (`StoreError.inUse`), a file that is
    /// not a Spool database, a newer schema, or a migration whose checksum differs.
    /// - Parameter busyTimeoutMs: how long a write waits for another connection's lock (for
    ///   example a `sqlite3` shell inside `BEGIN IMMEDIATE`) before failing with `.locked`.
    public static func openForWriting(path: String, durability: Durability = .normal, busyTimeoutMs: Int = 5_000) throws -> SpoolStore {
        let lock = try WriterLock(path: path)
        let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
        try connection.setBusyTimeout(ms: busyTimeoutMs)
        let migrator = Migrator()
        if case .foreign(let reason) = try migrator.classify(connection) {
            throw StoreError.notSpoolDatabase(path: path, reason: reason)
        }
        // Set explicitly at every open: WAL, so readers never block the writer, and the durability asked for.
        let mode = try connection.text("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw StoreError.storage(path: path, code: 0, message: "SQLite could not switch the file to WAL mode (it reports '\(mode ?? "nothing")')")
        }
        try connection.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA foreign_keys = ON")
        // 16 MiB of page cache: each batch touches the index pages of every partition, and the
        // default 2 MiB stops holding them at a few hundred partitions.
        try connection.execute("PRAGMA cache_size = -16384")
        try migrator.migrate(connection, nowMs: WallClock.nowMs())
        let store = SpoolStore(path: path, isWriter: true, connection: connection, lock: lock,
                               schemaVersion: migrator.latestVersion)
        return store
    }

    /// Opens an existing database read-only (for status, verify and queries).
    public static func openForReading(path: String) throws -> SpoolStore {
        let connection = try SQLiteConnection.openForReading(path: path)
        try connection.setBusyTimeout(ms: 5_000)
        let migrator = Migrator()
        switch try migrator.classify(connection) {
        case .empty:
            throw StoreError.notSpoolDatabase(path: path, reason: "it is empty; run spool ingest to fill it")
        case .foreign(let reason):
            throw StoreError.notSpoolDatabase(path: path, reason: reason)
        case .spool(let version):
            if version > migrator.latestVersion {
                throw StoreError.newerSchema(path: path, databaseVersion: version, supportedVersion: migrator.latestVersion)
            }
            return SpoolStore(path: path, isWriter: false, connection: connection, lock: nil, schemaVersion: version)
        }
    }

    /// Closes the connection, then releases the writer lock. Safe to call twice.
    public func close() {
        insertMessage = nil
        upsertState = nil
        updateProgress = nil
        connection.close()
        lock?.release()
        lock = nil
        for pointer in topicCStrings.values { free(pointer) }
        topicCStrings.removeAll()
    }

    // MARK: writing

    /// Stores one released batch and the partition state after it, in ONE transaction.
    ///
    /// - Parameters:
    ///   - batch: the messages `ConsumerManager.poll` released (may be empty).
    ///   - states: the consumer's partition state right after that poll.
    ///   - completeUntil: the timestamp up to which every partition is completely stored.
    /// On any error the transaction is rolled back: neither rows nor offsets change.
    public func write(batch: MessageBatch, states: [PartitionState], completeUntil: Int64?) throws {
        try requireWriter()
        let now = WallClock.nowMs()
        try connection.inTransaction {
            // How many rows each partition gained in this batch, and its last timestamp.
            var gained: [TopicPartition: (count: Int64, lastTimestamp: Int64)] = [:]
            if !batch.isEmpty {
                let insert = try statement(&insertMessage, """
                    INSERT INTO messages (key, value, topic, partition, offset, timestamp) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                let topicPointers = batch.topicNames.map { cString(for: $0) }
                let topicLengths = batch.topicNames.map { $0.utf8.count }
                let topicIndexes = batch.topicIndexes
                let partitions = batch.partitions
                let offsets = batch.offsets
                let timestamps = batch.timestamps
                let (order, groups) = Self.partitionOrder(batch)
                for group in groups {
                    let first = order[group.lowerBound]
                    let topicIndex = Int(topicIndexes[first])
                    let partition = partitions[first]
                    for position in group {
                        let row = order[position]
                        batch.withKey(at: row) { insert.bindStatic(1, blob: $0) }
                        batch.withValue(at: row) { insert.bindStatic(2, blob: $0) }
                        insert.bindStatic(3, text: topicPointers[topicIndex], count: topicLengths[topicIndex])
                        insert.bind(4, Int64(partition))
                        insert.bind(5, offsets[row])
                        insert.bind(6, timestamps[row])
                        do {
                            try insert.step()
                        } catch {
                            insert.reset()
                            throw error
                        }
                        insert.reset()
                    }
                    let tp = TopicPartition(topic: batch.topicNames[topicIndex], partition: partition)
                    gained[tp] = (Int64(group.count), timestamps[order[group.upperBound - 1]])
                }
            }
            let upsert = try statement(&upsertState, """
                INSERT INTO partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset,
                    released_offset, last_consumed_timestamp, is_live, is_paused, next_offset, stored_count,
                    last_stored_timestamp, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
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
            for state in states {
                let stored = gained[TopicPartition(topic: state.topic, partition: state.partition)]
                upsert.bind(1, state.topic)
                upsert.bind(2, Int64(state.partition))
                upsert.bind(3, state.replayStartOffset)
                upsert.bind(4, state.replayEndOffset)
                upsert.bind(5, state.consumedOffset)
                upsert.bind(6, state.releasedOffset)
                upsert.bind(7, state.lastConsumedTimestamp)
                upsert.bind(8, state.isLive ? 1 : 0)
                upsert.bind(9, state.isPaused ? 1 : 0)
                upsert.bind(10, state.nextOffset)
                upsert.bind(11, stored?.count ?? 0)
                upsert.bind(12, stored?.lastTimestamp)
                upsert.bind(13, now)
                try upsert.run()
            }
            let progress = try statement(&updateProgress, "UPDATE progress SET complete_until = ?1, updated_at = ?2 WHERE id = 1")
            progress.bind(1, completeUntil)
            progress.bind(2, now)
            try progress.run()
        }
    }

    /// The batch's row indexes grouped by (topic, partition), keeping each partition's order,
    /// with the range of `order` each partition occupies.
    ///
    /// A batch is merged by timestamp across partitions; inserting it partition by partition
    /// makes the unique index see runs of increasing keys instead of jumps between partitions.
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
        let orderedKeys = slotByKey.keys.sorted()
        var start = [Int](repeating: 0, count: counts.count)
        var groups: [Range<Int>] = []
        groups.reserveCapacity(counts.count)
        var next = 0
        for key in orderedKeys {
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

    /// Records the start of a run: its topics, policies, resolved ranges and cluster, and
    /// creates one view per topic. Refuses a cluster id different from the stored one.
    @discardableResult
    public func startRun(clusterID: String?, cutoff: Int64, bounded: Bool, topics: [SourceTopic],
                         ranges: [TopicPartition: ReplayRange]) throws -> Int64 {
        try requireWriter()
        let now = WallClock.nowMs()
        return try connection.inTransaction {
            let stored = try connection.text("SELECT cluster_id FROM progress WHERE id = 1")
            if let stored, let clusterID, stored != clusterID {
                throw StoreError.inconsistent(path: path, reason: "it was filled from Kafka cluster '\(stored)', but the brokers now belong to cluster '\(clusterID)'; use a new --db file for a different cluster")
            }
            if stored == nil, let clusterID {
                let update = try connection.prepare("UPDATE progress SET cluster_id = ? WHERE id = 1")
                update.bind(1, clusterID)
                try update.run()
            }
            let run = try connection.prepare("INSERT INTO runs (started_at, cluster_id, cutoff, bounded, status) VALUES (?, ?, ?, ?, 'running')")
            run.bind(1, now)
            run.bind(2, clusterID)
            run.bind(3, cutoff)
            run.bind(4, bounded ? 1 : 0)
            try run.run()
            let runID = sqlite3_last_insert_rowid(try connection.db)
            let topic = try connection.prepare("INSERT INTO run_topics (run_id, topic, policy) VALUES (?, ?, ?)")
            for source in topics {
                topic.bind(1, runID)
                topic.bind(2, source.name)
                topic.bind(3, source.policy.description)
                try topic.run()
                try createView(for: source.name)
            }
            let partition = try connection.prepare("INSERT INTO run_partitions (run_id, topic, partition, start_offset, end_offset) VALUES (?, ?, ?, ?, ?)")
            for (tp, range) in ranges.sorted(by: { $0.key < $1.key }) {
                partition.bind(1, runID)
                partition.bind(2, tp.topic)
                partition.bind(3, Int64(tp.partition))
                partition.bind(4, range.start)
                partition.bind(5, range.end)
                try partition.run()
            }
            return runID
        }
    }

    /// Records how run `id` ended.
    public func finishRun(_ id: Int64, status: RunStatus) throws {
        try requireWriter()
        let update = try connection.prepare("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?")
        update.bind(1, status.rawValue)
        update.bind(2, WallClock.nowMs())
        update.bind(3, id)
        try update.run()
    }

    /// Records offsets deleted by retention before they were read.
    public func recordGap(_ gap: GapRecord) throws {
        try requireWriter()
        let insert = try connection.prepare("""
            INSERT INTO gaps (topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, gap.topic)
        insert.bind(2, Int64(gap.partition))
        insert.bind(3, gap.firstMissingOffset)
        insert.bind(4, gap.lastMissingOffset)
        insert.bind(5, gap.detectedAt)
        insert.bind(6, gap.accepted ? 1 : 0)
        try insert.run()
    }

    // MARK: reading

    /// The next offset to read for every stored partition: what `ConsumerManager(startOffsets:)` needs.
    public func resumeOffsets() throws -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: try storedPartitions().map { ($0.topicPartition, $0.nextOffset) })
    }

    /// Every row of `partition_state`, in (topic, partition) order.
    public func storedPartitions() throws -> [StoredPartition] {
        let query = try connection.prepare("""
            SELECT topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset,
                   last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp, updated_at
            FROM partition_state ORDER BY topic, partition
            """)
        var rows: [StoredPartition] = []
        while try query.step() {
            let state = PartitionState(topic: query.text(0) ?? "", partition: Int32(query.int64(1)),
                                       replayStartOffset: query.int64(2), replayEndOffset: query.int64(3),
                                       consumedOffset: query.int64(4), releasedOffset: query.int64(5),
                                       lastConsumedTimestamp: query.optionalInt64(6),
                                       isLive: query.int64(7) != 0, isPaused: query.int64(8) != 0)
            rows.append(StoredPartition(state: state, nextOffset: query.int64(9), storedCount: query.int64(10),
                                        lastStoredTimestamp: query.optionalInt64(11), updatedAt: query.int64(12)))
        }
        return rows
    }

    /// The most recent run, if any.
    public func latestRun() throws -> SavedRun? {
        let query = try connection.prepare("SELECT id, started_at, cluster_id, cutoff, bounded, status, finished_at FROM runs ORDER BY id DESC LIMIT 1")
        guard try query.step() else { return nil }
        let id = query.int64(0)
        var run = SavedRun(id: id, startedAt: query.int64(1), clusterID: query.text(2), cutoff: query.int64(3),
                           bounded: query.int64(4) != 0, status: RunStatus(rawValue: query.text(5) ?? "") ?? .failed,
                           finishedAt: query.optionalInt64(6), topics: [], ranges: [:])
        let topics = try connection.prepare("SELECT topic, policy FROM run_topics WHERE run_id = ? ORDER BY topic")
        topics.bind(1, id)
        while try topics.step() {
            let name = topics.text(0) ?? ""
            guard let policy = OffsetPolicy(seedSpelling: topics.text(1) ?? "") else {
                throw StoreError.inconsistent(path: path, reason: "run \(id) records an unreadable policy for topic '\(name)'")
            }
            run.topics.append(SourceTopic(name: name, policy: policy))
        }
        let partitions = try connection.prepare("SELECT topic, partition, start_offset, end_offset FROM run_partitions WHERE run_id = ?")
        partitions.bind(1, id)
        while try partitions.step() {
            run.ranges[TopicPartition(topic: partitions.text(0) ?? "", partition: Int32(partitions.int64(1)))] =
                ReplayRange(start: partitions.int64(2), end: partitions.int64(3))
        }
        return run
    }

    /// The Kafka cluster id the database is fed from, once known.
    public func clusterID() throws -> String? {
        try connection.text("SELECT cluster_id FROM progress WHERE id = 1")
    }

    /// The timestamp up to which every partition is completely stored, once known.
    public func completeUntil() throws -> Int64? {
        try connection.integer("SELECT complete_until FROM progress WHERE id = 1")
    }

    /// Every recorded gap, oldest first.
    public func gaps() throws -> [GapRecord] {
        let query = try connection.prepare("""
            SELECT topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted FROM gaps ORDER BY id
            """)
        var rows: [GapRecord] = []
        while try query.step() {
            rows.append(GapRecord(topic: query.text(0) ?? "", partition: Int32(query.int64(1)),
                                  firstMissingOffset: query.int64(2), lastMissingOffset: query.int64(3),
                                  detectedAt: query.int64(4), accepted: query.int64(5) != 0))
        }
        return rows
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
            SELECT key, value, topic, partition, offset, timestamp FROM messages WHERE topic = ? AND partition = ? ORDER BY offset
            """)
        query.bind(1, topic)
        query.bind(2, Int64(partition))
        var rows: [Message] = []
        while try query.step() {
            rows.append(Message(key: query.blob(0), value: query.blob(1), topic: query.text(2) ?? "",
                                partition: Int32(query.int64(3)), offset: query.int64(4), timestamp: query.int64(5)))
        }
        return rows
    }

    /// The size of the database file and its WAL, in bytes.
    public func fileSize() -> Int64 {
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            var info = stat()
            if stat(path + suffix, &info) == 0 { total += Int64(info.st_size) }
        }
        return total
    }

    /// Audits the database in one read transaction (a consistent snapshot, even during ingest):
    /// SQLite's integrity check, no duplicate (topic, partition, offset), partition state agreeing
    /// with the stored rows, offsets only increasing in insertion order; gaps are listed.
    public func verify() throws -> VerifyReport {
        try connection.execute("BEGIN")
        defer { _ = try? connection.execute("COMMIT") }
        var problems: [String] = []
        let integrity = try connection.prepare("PRAGMA integrity_check")
        while try integrity.step() {
            let line = integrity.text(0) ?? ""
            if line != "ok" { problems.append("integrity check: \(line)") }
        }
        let duplicates = try connection.prepare("""
            SELECT topic, partition, offset, count(*) FROM messages GROUP BY topic, partition, offset HAVING count(*) > 1 LIMIT 20
            """)
        while try duplicates.step() {
            problems.append("\(duplicates.text(0) ?? "")[\(duplicates.int64(1))] offset \(duplicates.int64(2)) is stored \(duplicates.int64(3)) times")
        }
        let agreement = try connection.prepare("""
            WITH actual AS (
                SELECT topic, partition, count(*) AS n, max(offset) AS last_offset FROM messages GROUP BY topic, partition
            )
            SELECT coalesce(s.topic, a.topic), coalesce(s.partition, a.partition), s.stored_count, a.n, s.next_offset,
                   a.last_offset, s.last_stored_timestamp,
                   (SELECT timestamp FROM messages m WHERE m.topic = a.topic AND m.partition = a.partition AND m.offset = a.last_offset)
            FROM partition_state s FULL OUTER JOIN actual a ON a.topic = s.topic AND a.partition = s.partition
            """)
        while try agreement.step() {
            let name = "\(agreement.text(0) ?? "")[\(agreement.int64(1))]"
            guard let storedCount = agreement.optionalInt64(2), let nextOffset = agreement.optionalInt64(4) else {
                problems.append("\(name) has stored messages but no partition state")
                continue
            }
            let actualCount = agreement.optionalInt64(3) ?? 0
            if storedCount != actualCount {
                problems.append("\(name): partition state counts \(storedCount) messages, the table holds \(actualCount)")
            }
            if let lastOffset = agreement.optionalInt64(5) {
                if nextOffset <= lastOffset {
                    problems.append("\(name): next offset \(nextOffset) is not after the last stored offset \(lastOffset); a resume would store it twice")
                }
                if agreement.optionalInt64(6) != agreement.optionalInt64(7) {
                    problems.append("\(name): partition state's last stored timestamp differs from the last stored message's")
                }
            }
        }
        let order = try connection.prepare("""
            SELECT topic, partition, offset, previous FROM (
                SELECT topic, partition, offset, lag(offset) OVER (PARTITION BY topic, partition ORDER BY rowid) AS previous FROM messages
            ) WHERE previous >= offset LIMIT 20
            """)
        while try order.step() {
            problems.append("\(order.text(0) ?? "")[\(order.int64(1))]: offset \(order.int64(2)) was stored after offset \(order.int64(3))")
        }
        let messageCount = try connection.integer("SELECT count(*) FROM messages") ?? 0
        let partitionCount = Int(try connection.integer("SELECT count(*) FROM partition_state") ?? 0)
        return VerifyReport(problems: problems, gaps: try gaps(), messageCount: messageCount, partitionCount: partitionCount)
    }

    // MARK: private

    private func requireWriter() throws {
        guard isWriter else { throw StoreError.inconsistent(path: path, reason: "opened read-only; writes need openForWriting") }
    }

    private func statement(_ slot: inout SQLiteStatement?, _ sql: String) throws -> SQLiteStatement {
        if let existing = slot { return existing }
        let prepared = try connection.prepare(sql, persistent: true)
        slot = prepared
        return prepared
    }

    private func cString(for topic: String) -> UnsafeMutablePointer<CChar> {
        if let existing = topicCStrings[topic] { return existing }
        let pointer = strdup(topic)!
        topicCStrings[topic] = pointer
        return pointer
    }

    /// Creates `"topic"` as a view over its messages, unless the name is taken by something else.
    private func createView(for topic: String) throws {
        let existing = try connection.prepare("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE")
        existing.bind(1, topic)
        if try existing.step() { return }
        guard !topic.lowercased().hasPrefix("sqlite_") else { return }
        let quotedName = "\"" + topic.replacing("\"", with: "\"\"") + "\""
        let quotedValue = "'" + topic.replacing("'", with: "''") + "'"
        try connection.execute("""
            CREATE VIEW \(quotedName) AS SELECT key, value, topic, partition, offset, timestamp FROM messages WHERE topic = \(quotedValue)
            """)
    }
}
