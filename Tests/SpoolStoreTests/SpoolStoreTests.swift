import Synchronization
import SpoolTestSupport
import SpoolModel
import Dispatch
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import SpoolStore

@Suite("SpoolStore: migrations, atomic batches, resume", .timeLimit(.minutes(1)))
struct SpoolStoreTests {
    @Test func aFreshDatabaseGetsTheWholeSchema() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("fresh.sqlite"))
        #expect(store.schemaVersion == SpoolStore.supportedSchemaVersion)
        #expect(try store.connection.integer("PRAGMA application_id") == Migrator.applicationID)
        #expect(try store.connection.text("PRAGMA journal_mode") == "wal")
        #expect(try store.connection.integer("PRAGMA synchronous") == 1)
        // New captures get Spool's page size and incremental auto-vacuum (the page size only
        // takes when it is set before auto_vacuum).
        #expect(try store.connection.integer("PRAGMA page_size") == Int64(SpoolStore.pageSize))
        #expect(try store.connection.integer("PRAGMA auto_vacuum") == 2)
        for table in ["messages", "partition_state", "runs", "run_topics", "run_partitions", "gaps", "progress", "spool_migrations"] {
            #expect(try store.connection.integer("SELECT count(*) FROM sqlite_master WHERE name = '\(table)'") == 1, "missing \(table)")
        }
        let recorded = try store.connection.prepare("SELECT version, name, checksum FROM spool_migrations")
        #expect(try recorded.step())
        #expect(recorded.int64(0) == 1)
        #expect(recorded.text(1) == "0001_initial.sql")
        #expect(recorded.text(2)?.hasPrefix("fnv1a64:") == true)
    }

    @Test func aReaderWaitsOutALockHeldWhileItOpens() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("busy.sqlite")
        try SpoolStore.openForWriting(path: path).close()
        let locked = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
        let holderFailure = Mutex<String?>(nil)
        DispatchQueue.global().async {
            defer { released.signal() }
            do {
                let holder = try SQLiteConnection(path: path, readOnly: false, create: false)
                // An exclusive lock like a writer's while it starts up, released after 0.7 s.
                try holder.execute("PRAGMA locking_mode = EXCLUSIVE")
                try holder.execute("BEGIN EXCLUSIVE")
                try holder.execute("UPDATE progress SET updated_at = updated_at")
                locked.signal()
                usleep(700_000)
                try holder.execute("COMMIT")
                holder.close()
            } catch {
                holderFailure.withLock { $0 = "\(error)" }
                locked.signal()
            }
        }
        locked.wait()
        try #require(holderFailure.withLock { $0 } == nil, "the lock holder could not take its lock")
        let started = ContinuousClock.now
        let reader = try SpoolStore.openForReading(path: path)
        let waited = ContinuousClock.now - started
        #expect(try reader.completeUntil() == nil)
        #expect(waited >= .milliseconds(300), "the reader opened after \(waited), while the lock was still held: it did not wait")
        released.wait()
        #expect(holderFailure.withLock { $0 } == nil, "\(holderFailure.withLock { $0 } ?? "")")
    }

    @Test func fullDurabilityIsSetExplicitly() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("full.sqlite"), durability: .full)
        #expect(try store.connection.integer("PRAGMA synchronous") == 2)
    }

    @Test func anOlderDatabaseIsUpgraded() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("old.sqlite")
        let first = Migrator().migrations
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            try Migrator(migrations: first).migrate(connection, nowMs: 1)
        }
        let next = first.count + 1
        let second = EmbeddedMigration(version: next, name: "000\(next)_test.sql", sql: "ALTER TABLE gaps ADD COLUMN note TEXT;")
        let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
        try Migrator(migrations: first + [second]).migrate(connection, nowMs: 2)
        #expect(try connection.integer("SELECT max(version) FROM spool_migrations") == Int64(next))
        #expect(try connection.integer("SELECT count(*) FROM pragma_table_info('gaps') WHERE name = 'note'") == 1)
    }

    @Test func framedRecordsOfAnOlderDatabaseBecomePendingAndItsViewsGainTheDecodedColumns() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v3.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            try Migrator(migrations: Migrator().migrations.filter { $0.version <= 3 }).migrate(connection, nowMs: 1)
            try connection.execute("""
                INSERT INTO messages (key, value, topic, partition, offset, timestamp) VALUES
                    (NULL, x'0000000001020304', 't', 0, 0, 1), (NULL, CAST('plain' AS BLOB), 't', 0, 1, 2),
                    (x'0000000007aa', NULL, 't', 0, 2, 3), (NULL, x'00000001', 't', 0, 3, 4);
                CREATE VIEW "t" AS SELECT key, value, topic, partition, offset, timestamp, headers FROM messages WHERE topic = 't';
                """)
        }
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        let states = try store.connection.prepare("SELECT decode_state FROM messages ORDER BY offset")
        var got: [String?] = []
        while try states.step() { got.append(states.text(0)) }
        // Framed: a zero byte and at least a 4-byte id; the 4-byte value is too short to be framed.
        #expect(got == ["pending", nil, "pending", nil])
        #expect(try store.decoding.status() == [DecodeStatus(topic: "t", decoded: 0, pending: 2, failed: 0, firstError: nil)])
        #expect(try store.connection.integer("SELECT count(*) FROM pragma_table_info('t') WHERE name IN ('key_json', 'value_json', 'decode_state')") == 3)
    }

    @Test func aNewerDatabaseIsRefusedNamingTheVersions() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("newer.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: path)
            try store.connection.execute("INSERT INTO spool_migrations VALUES (99, '0099_future.sql', 'x', 0)")
            store.close()
        }
        let before = fileBytes(path)
        #expect(throws: StoreError.newerSchema(path: path, databaseVersion: 99, supportedVersion: SpoolStore.supportedSchemaVersion)) {
            _ = try SpoolStore.openForWriting(path: path)
        }
        #expect(fileBytes(path) == before)
        let message = StoreError.newerSchema(path: path, databaseVersion: 99, supportedVersion: 1).description
        #expect(message.contains("99") && message.contains("up to version 1"))
    }

    @Test func aChangedMigrationIsRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("changed.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: path)
            try store.connection.execute("UPDATE spool_migrations SET checksum = 'fnv1a64:0' WHERE version = 1")
            store.close()
        }
        #expect(throws: StoreError.migrationChanged(path: path, version: 1, name: "0001_initial.sql")) {
            _ = try SpoolStore.openForWriting(path: path)
        }
    }

    @Test func randomBytesAndTruncatedFilesAreRefusedUntouched() throws {
        let dir = TemporaryDirectory()
        let garbage = dir.file("garbage.sqlite")
        var generator = SystemRandomNumberGenerator()
        writeFile(garbage, (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let before = fileBytes(garbage)
        #expect(throws: StoreError.self) { _ = try SpoolStore.openForWriting(path: garbage) }
        #expect(fileBytes(garbage) == before)
        #expect(access(garbage + "-wal", F_OK) != 0)

        let truncated = dir.file("truncated.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: truncated)
            try store.write(batch: makeBatch(count: 2_000, valueSize: 200), checkpoints: [stateAfter(through: 1_999)], completeUntil: nil)
            try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
        }
        let whole = fileBytes(truncated)!
        writeFile(truncated, Array(whole.prefix(whole.count / 3)))
        let cut = fileBytes(truncated)
        #expect(throws: StoreError.self) {
            let store = try SpoolStore.openForWriting(path: truncated)
            _ = try store.storedPartitions()
            let report = try store.verify()
            if !report.isSound { throw StoreError.inconsistent(path: truncated, reason: report.problems.joined()) }
        }
        #expect(fileBytes(truncated) == cut)
    }

    @Test func anotherApplicationsDatabaseIsRefusedUntouched() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("other.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            try connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'a')")
        }
        let before = fileBytes(path)
        #expect {
            _ = try SpoolStore.openForWriting(path: path)
        } throws: { error in
            guard case .notSpoolDatabase(let badPath, let reason) = error as? StoreError else { return false }
            return badPath == path && reason.contains("another application")
        }
        #expect(fileBytes(path) == before)
        #expect(access(path + "-wal", F_OK) != 0)
    }

    @Test func batchesAndStateCommitTogetherAndResume() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("resume.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: path)
            try store.write(batch: makeBatch(count: 100), checkpoints: [stateAfter(through: 99), stateAfter(partition: 1, through: -1)], completeUntil: 1_050)
            try store.write(batch: makeBatch(from: 100, count: 50), checkpoints: [stateAfter(through: 149)], completeUntil: 1_100)
            store.close()
        }
        let store = try SpoolStore.openForWriting(path: path)
        #expect(try store.resumeOffsets() == [TopicPartition(topic: "t", partition: 0): 150, TopicPartition(topic: "t", partition: 1): 0])
        let rows = try store.storedPartitions()
        #expect(rows[0].storedCount == 150)
        #expect(rows[0].lastStoredTimestamp == 1_149)
        #expect(rows[1].storedCount == 0)
        #expect(try store.completeUntil() == 1_100)
        let messages = try store.messages(topic: "t", partition: 0)
        #expect(messages.count == 150)
        #expect(messages[0].key == nil)
        #expect(messages[1].key == Array("key-1".utf8))
        #expect(try store.verify().isSound)
    }

    @Test func interleavedPartitionsAreStoredWithTheirOwnBytes() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("mixed.sqlite"))
        // Rows alternate over three partitions with sizes from 0 to 300 bytes, so the write path
        // regroups them by partition and must still bind each row's own key and value.
        var rows: [Message] = []
        for i in 0..<900 {
            let partition = Int32(i % 3)
            let key: [UInt8]? = i % 7 == 0 ? nil : (0..<(i % 13)).map { UInt8(($0 + i) % 256) }
            let value: [UInt8]? = i % 11 == 0 ? nil : (0..<(i % 301)).map { UInt8(($0 * 7 + i) % 256) }
            rows.append(Message(key: key, value: value, topic: i % 2 == 0 ? "a" : "b", partition: partition,
                                offset: Int64(i / 6), timestamp: Int64(i)))
        }
        let checkpoints = ["a", "b"].flatMap { topic in (0..<3).map { stateAfter(topic: topic, partition: Int32($0), through: 149) } }
        try store.write(batch: MessageBatch(rows), checkpoints: checkpoints, completeUntil: nil)
        for topic in ["a", "b"] {
            for partition in Int32(0)..<3 {
                let want = rows.filter { $0.topic == topic && $0.partition == partition }
                #expect(try store.messages(topic: topic, partition: partition) == want, "\(topic)[\(partition)]")
            }
        }
        #expect(try store.verify().isSound)
    }

    @Test func nullAndEmptyBlobsStayDistinct() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("blobs.sqlite"))
        let batch = MessageBatch([
            Message(key: nil, value: nil, topic: "t", partition: 0, offset: 0, timestamp: 1),
            Message(key: [], value: [], topic: "t", partition: 0, offset: 1, timestamp: 2),
        ])
        try store.write(batch: batch, checkpoints: [stateAfter(through: 1)], completeUntil: nil)
        let stored = try store.messages(topic: "t", partition: 0)
        #expect(stored[0].key == nil && stored[0].value == nil)
        #expect(stored[1].key == [] && stored[1].value == [])
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE key IS NULL") == 1)
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE typeof(key) = 'blob' AND length(key) = 0") == 1)
    }

    @Test func aStorageErrorMidBatchLeavesDataAndOffsetsUnchanged() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("full.sqlite")
        let store = try SpoolStore.openForWriting(path: path)
        try store.write(batch: makeBatch(count: 10), checkpoints: [stateAfter(through: 9)], completeUntil: 1_009)
        let pages = try store.connection.integer("PRAGMA page_count") ?? 0
        try store.connection.execute("PRAGMA max_page_count = \(pages + 5)")
        #expect {
            try store.write(batch: makeBatch(from: 10, count: 5_000, valueSize: 500), checkpoints: [stateAfter(through: 5_009)], completeUntil: 9_999)
        } throws: { error in
            guard case .storage(let badPath, _, let message) = error as? StoreError else { return false }
            return badPath == path && message.contains("full")
        }
        #expect(try store.connection.integer("SELECT count(*) FROM messages") == 10)
        #expect(try store.resumeOffsets()[TopicPartition(topic: "t", partition: 0)] == 10)
        #expect(try store.completeUntil() == 1_009)
        #expect(try store.verify().isSound)
        // Space is freed: the same batch goes through.
        try store.connection.execute("PRAGMA max_page_count = 1073741823")
        try store.write(batch: makeBatch(from: 10, count: 5_000, valueSize: 500), checkpoints: [stateAfter(through: 5_009)], completeUntil: 9_999)
        #expect(try store.resumeOffsets()[TopicPartition(topic: "t", partition: 0)] == 5_010)
    }

    @Test func aDuplicateOffsetRollsTheWholeBatchBack() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("dup.sqlite"))
        try store.write(batch: makeBatch(count: 10), checkpoints: [stateAfter(through: 9)], completeUntil: nil)
        #expect(throws: StoreError.self) {
            try store.write(batch: makeBatch(from: 5, count: 10), checkpoints: [stateAfter(through: 14)], completeUntil: nil)
        }
        #expect(try store.connection.integer("SELECT count(*) FROM messages") == 10)
        #expect(try store.resumeOffsets()[TopicPartition(topic: "t", partition: 0)] == 10)
    }

    @Test func aSecondWriterIsRefusedAtOnce() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("busy.sqlite")
        let first = try SpoolStore.openForWriting(path: path)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: StoreError.inUse(path: path, holder: nil)) { _ = try SpoolStore.openForWriting(path: path) }
        #expect(clock.now - start < .seconds(1))
        #expect(StoreError.inUse(path: path, holder: "process 42 spool").description.contains("process 42"))
        first.close()
        _ = try SpoolStore.openForWriting(path: path)
    }

    @Test func aReaderSeesConsistentSnapshotsWhileAWriterWrites() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("snap.sqlite")
        let writer = try SpoolStore.openForWriting(path: path)
        try writer.write(batch: MessageBatch(), checkpoints: [stateAfter(through: -1)], completeUntil: nil)
        let reader = try SpoolStore.openForReading(path: path)
        for round in 0..<40 {
            try writer.write(batch: makeBatch(from: Int64(round * 250), count: 250), checkpoints: [stateAfter(through: Int64(round * 250 + 249))], completeUntil: nil)
            let report = try reader.verify()
            #expect(report.isSound, "\(report.problems)")
            #expect(report.messageCount == Int64((round + 1) * 250))
        }
        #expect(!reader.isWriter)
        #expect(throws: StoreError.self) { try reader.write(batch: MessageBatch(), checkpoints: [], completeUntil: nil) }
    }

    @Test func runsGapsAndViewsAreRecorded() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("runs.sqlite"))
        let tp = TopicPartition(topic: "orders.v1", partition: 0)
        let id = try store.runs.start(clusterID: "c1", cutoff: 5_000, bounded: true, topics: [.fromRelativeTime("orders.v1", ms: 3_600_000)],
                                    ranges: [tp: ReplayRange(start: 3, end: 10)])
        let run = try #require(try store.runs.latest())
        #expect(run.id == id && run.cutoff == 5_000 && run.bounded && run.status == .running)
        #expect(run.topics == [.fromRelativeTime("orders.v1", ms: 3_600_000)])
        #expect(run.ranges == [tp: ReplayRange(start: 3, end: 10)])
        #expect(try store.clusterID() == "c1")
        try store.runs.finish(id, status: .live)
        #expect(try store.runs.latest()?.status == .live)
        // The first cluster id stays the database's (refusing another is the pipeline's check).
        let second = try store.runs.start(clusterID: "other", cutoff: 1, bounded: false, topics: [], ranges: [:])
        #expect(try store.clusterID() == "c1")
        // Partitions that join a run are recorded in the same transaction as their checkpoints.
        let grown = TopicPartition(topic: "orders.v1", partition: 1)
        try store.write(batch: makeBatch(topic: "orders.v1", count: 3),
                        checkpoints: [stateAfter(topic: "orders.v1", through: 2), stateAfter(topic: "orders.v1", partition: 1, end: 5, through: -1)],
                        completeUntil: nil, addedPartitions: .init(runID: second, ranges: [grown: ReplayRange(start: 0, end: 5)]))
        #expect(try store.runs.latest()?.ranges == [grown: ReplayRange(start: 0, end: 5)])
        #expect(try store.storedPartitions().map(\.topicPartition) == [tp, grown])
        #expect(try store.connection.integer("SELECT count(*) FROM \"orders.v1\"") == 3)
        let gap = GapRecord(topic: "orders.v1", partition: 0, firstMissingOffset: 3, lastMissingOffset: 9, detectedAt: 1, accepted: false)
        try store.runs.recordGap(gap)
        #expect(try store.runs.gaps() == [gap])
        #expect(gap.missingCount == 7)
    }
}
