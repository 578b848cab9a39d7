import SpoolModel
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// A batch of one partition with the given timestamps, offsets from `from`.
private func timedBatch(_ topic: String = "t", partition: Int32 = 0, from: Int64, timestamps: [Int64], valueSize: Int = 16) -> MessageBatch {
    MessageBatch(timestamps.enumerated().map { index, timestamp in
        Message(key: Array("k\(index)".utf8), value: [UInt8](repeating: 7, count: valueSize), topic: topic, partition: partition,
                offset: from + Int64(index), timestamp: timestamp)
    })
}

/// Stores `batch` with its partition's checkpoint after it.
private func store(_ batch: MessageBatch, in store: SpoolStore, topic: String = "t", partition: Int32 = 0, through: Int64) throws {
    try store.write(batch: batch, checkpoints: [stateAfter(topic: topic, partition: partition, end: 1_000_000, through: through)],
                    completeUntil: nil)
}

/// The stored offsets of one partition, in order.
private func offsets(_ store: SpoolStore, _ topic: String = "t", _ partition: Int32 = 0) throws -> [Int64] {
    try store.messages(topic: topic, partition: partition).map(\.offset)
}

@Suite("Retention inside the capture", .timeLimit(.minutes(1)))
struct RetentionTests {
    @Test func newDatabasesUseIncrementalAutoVacuumAndRecordThePolicy() throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        #expect(try db.returnsFreedPages())
        #expect(try db.retention.policy() == nil)
        try db.retention.set(RetentionPolicy(maxAgeMs: 60_000))
        db.close()
        let again = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        #expect(try again.retention.policy() == RetentionPolicy(maxAgeMs: 60_000))
        try again.retention.set(nil)
        #expect(try again.retention.policy() == nil)
    }

    @Test func expiredRecordsGoFromTheFrontOfEachPartitionOnly() throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        let now = WallClock.nowMs(), hour: Int64 = 3_600_000
        // Partition 0: old, old, new, old (timestamps going backwards), new.
        try store(timedBatch(partition: 0, from: 0, timestamps: [now - 5 * hour, now - 4 * hour, now, now - 6 * hour, now]), in: db,
                  partition: 0, through: 4)
        // Partition 1: all old but a record without a timestamp in the middle.
        try store(timedBatch(partition: 1, from: 10, timestamps: [now - 9 * hour, -1, now - 8 * hour]), in: db, partition: 1, through: 12)
        try db.retention.set(RetentionPolicy(maxAgeMs: 2 * hour))
        try store(MessageBatch(), in: db, partition: 0, through: 4)
        #expect(try offsets(db, "t", 0) == [2, 3, 4], "the old record after a newer one waits until the newer one expires")
        #expect(try offsets(db, "t", 1) == [11, 12], "a record without a timestamp is kept and holds back what follows")
        let states = Dictionary(uniqueKeysWithValues: try db.storedPartitions().map { ($0.topicPartition.partition, $0) })
        #expect(states[0]?.retainedFromOffset == 2)
        #expect(states[0]?.retainedDeleted == 2)
        #expect(states[0]?.storedCount == 3)
        #expect(states[1]?.retainedFromOffset == 11)
        #expect(states[1]?.retainedDeleted == 1)
        let report = try db.verify()
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.gaps.isEmpty)
    }

    @Test func aLargeBacklogIsRemovedInChunksAcrossTransactions() throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        let old = WallClock.nowMs() - 86_400_000
        try store(timedBatch(from: 0, timestamps: Array(repeating: old, count: 25_000)), in: db, through: 24_999)
        try db.retention.set(RetentionPolicy(maxAgeMs: 60_000))
        try store(timedBatch(from: 25_000, timestamps: [old]), in: db, through: 25_000)
        #expect(try db.storedPartitions()[0].storedCount == 24_001, "a transaction with one new row removes at most 1,000 rows")
        #expect(try db.retention.retainOnce() == RetentionControl.idleBudget, "a transaction without rows removes up to 10,000")
        #expect(try db.retention.retainOnce() == 10_000)
        #expect(try db.retention.retainOnce() == 4_001)
        #expect(try db.retention.retainOnce() == 0)
        #expect(try offsets(db).isEmpty)
        #expect(try db.storedPartitions()[0].retainedFromOffset == 25_001)
        #expect(try db.verify().problems.isEmpty)
    }

    @Test func theSizeLimitRemovesTheOldestRecordsAcrossPartitionsAndTheFileShrinks() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("r.sqlite")
        let db = try SpoolStore.openForWriting(path: path)
        // Partition 0 holds the older half of the timeline, partition 1 the newer half.
        for chunk in 0..<20 {
            let base = Int64(chunk * 500)
            try store(timedBatch(partition: 0, from: base, timestamps: (0..<500).map { 1_000 + base + Int64($0) }, valueSize: 1_000), in: db,
                      partition: 0, through: base + 499)
            try store(timedBatch(partition: 1, from: base, timestamps: (0..<500).map { 100_000 + base + Int64($0) }, valueSize: 1_000), in: db,
                      partition: 1, through: base + 499)
        }
        let fullPages = try db.connection.integer("PRAGMA page_count") ?? 0
        try db.retention.set(RetentionPolicy(maxBytes: 8_000_000))
        for _ in 0..<20 { try store(MessageBatch(), in: db, partition: 0, through: 9_999) }
        let pageSize = try db.connection.integer("PRAGMA page_size") ?? 4_096
        let used = ((try db.connection.integer("PRAGMA page_count") ?? 0) - (try db.connection.integer("PRAGMA freelist_count") ?? 0)) * pageSize
        #expect(used <= 8_000_000, "used \(used) bytes")
        #expect(used >= 7_000_000, "removes only what the limit asks for (used \(used) bytes)")
        #expect(try db.connection.integer("PRAGMA page_count") ?? 0 < fullPages, "freed pages went back to the file system")
        let states = Dictionary(uniqueKeysWithValues: try db.storedPartitions().map { ($0.topicPartition.partition, $0) })
        #expect(states[0]?.storedCount == 0, "the older partition goes first")
        #expect((states[1]?.retainedDeleted ?? 0) > 0 && (states[1]?.storedCount ?? 0) > 0)
        #expect(try db.verify().problems.isEmpty)
    }

    @Test func aKeptLogTopicsTableIsNotTouchedAndItsLogIsNoLongerComplete() throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        try db.keyed.setMode(.latest, for: "t")
        let old = WallClock.nowMs() - 86_400_000
        try store(timedBatch(from: 0, timestamps: [old, old, old]), in: db, through: 2)
        try db.retention.set(RetentionPolicy(maxAgeMs: 60_000))
        try store(MessageBatch(), in: db, through: 2)
        #expect(try offsets(db).isEmpty)
        #expect(try db.connection.integer("SELECT count(*) FROM latest") == 3)
        // The pointers moved to values before their rows went: none dangles.
        #expect(try db.connection.integer("SELECT count(*) FROM latest_keys") == 0)
        #expect(try db.connection.integer("SELECT count(*) FROM latest_values") == 3)
        #expect(try db.keyed.topics().first?.logComplete == false)
        #expect(try db.verify().problems.isEmpty)
        // A new record of k1 points into the log again and its kept value goes.
        let again = Message(key: Array("k1".utf8), value: [1], topic: "t", partition: 0, offset: 3, timestamp: WallClock.nowMs())
        try store(MessageBatch([again]), in: db, through: 3)
        #expect(try db.connection.integer("SELECT count(*) FROM latest") == 3)
        #expect(try db.connection.integer("SELECT count(*) FROM latest WHERE key = CAST('k1' AS BLOB) AND offset = 3") == 1)
        #expect(try db.connection.integer("SELECT count(*) FROM latest_keys") == 1)
        #expect(try db.verify().problems.isEmpty)
    }

    @Test func verifyReportsARowLeftBelowTheRetainedOffset() throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("r.sqlite"))
        let old = WallClock.nowMs() - 86_400_000
        try store(timedBatch(from: 0, timestamps: [old, old, WallClock.nowMs()]), in: db, through: 2)
        try db.retention.set(RetentionPolicy(maxAgeMs: 60_000))
        try store(MessageBatch(), in: db, through: 2)
        try db.connection.execute("UPDATE partition_state SET retained_from_offset = 3")
        let problems = try db.verify().problems
        #expect(problems.contains { $0.contains("offset 2 is still stored below offset 3") }, "\(problems)")
    }

    @Test func aVersionFourFileIsUpgradedKeepsWorkingAndCompactMakesItShrink() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v4.sqlite")
        do {
            // A file as Spool wrote it before retention: schema 4, no auto-vacuum.
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            try connection.execute("PRAGMA journal_mode = WAL")
            try Migrator(migrations: Migrator().migrations.filter { $0.version <= 4 }).migrate(connection, nowMs: 1)
        }
        let db = try SpoolStore.openForWriting(path: path)
        #expect(db.schemaVersion == SpoolStore.supportedSchemaVersion)
        #expect(try !db.returnsFreedPages(), "an upgrade cannot switch auto-vacuum on by itself")
        let old = WallClock.nowMs() - 86_400_000
        try store(timedBatch(from: 0, timestamps: Array(repeating: old, count: 3_000), valueSize: 500), in: db, through: 2_999)
        try store(timedBatch(from: 3_000, timestamps: [WallClock.nowMs()], valueSize: 500), in: db, through: 3_000)
        try db.retention.set(RetentionPolicy(maxAgeMs: 60_000))
        while try db.retention.retainOnce() > 0 {}
        #expect(try offsets(db) == [3_000], "retention works on the upgraded file")
        let pagesBefore = try db.connection.integer("PRAGMA page_count") ?? 0
        #expect((try db.connection.integer("PRAGMA freelist_count") ?? 0) > 100, "freed pages stay in the file")
        let sizes = try db.compact()
        #expect(try db.returnsFreedPages())
        #expect(try db.connection.integer("PRAGMA page_count") ?? 0 < pagesBefore / 4)
        #expect(sizes.after < sizes.before)
        #expect(try offsets(db) == [3_000])
        #expect(try db.retention.policy() == RetentionPolicy(maxAgeMs: 60_000))
        #expect(try db.verify().problems.isEmpty)
    }
}
