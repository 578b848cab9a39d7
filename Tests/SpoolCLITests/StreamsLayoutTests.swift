@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// The streams layout (migrations 12 and 13): its edges, and files from the release before it.
@Suite("streams layout: offsets at the limit, partitions added later, upgrades", .serialized, .timeLimit(.minutes(6)))
struct StreamsLayoutTests {
    /// A capture as the release before the streams layout wrote it (schema 11): `rows` records
    /// of topic "t" over `partitions` partitions with consistent partition state, and a
    /// `--latest` topic "k" with its values table. Made with SQL through migrations 1...11.
    static func version11File(_ path: String, rows: Int, partitions: Int = 4) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
        defer { connection.close() }
        try connection.execute("PRAGMA journal_mode = WAL")
        try Migrator(migrations: Migrator().migrations.filter { $0.version <= 11 }).migrate(connection, nowMs: 1)
        try connection.inTransaction {
            try connection.execute("""
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows - 1))
                INSERT INTO messages (key, value, topic, partition, offset, timestamp)
                SELECT CAST('key-' || i AS BLOB), randomblob(200), 't', i % \(partitions), i / \(partitions), 1700000000000 + i FROM n;
                INSERT INTO partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset,
                    last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp, updated_at, headers_from_offset)
                SELECT 't', partition, 0, max(offset) + 1, max(offset), max(offset), max(timestamp), 0, 0, max(offset) + 1, count(*), max(timestamp), 1, 0
                FROM messages GROUP BY partition;
                INSERT INTO messages (key, value, topic, partition, offset, timestamp) VALUES
                    (CAST('a' AS BLOB), CAST('1' AS BLOB), 'k', 0, 0, 1000), (CAST('a' AS BLOB), CAST('2' AS BLOB), 'k', 0, 1, 2000);
                INSERT INTO partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset,
                    last_consumed_timestamp, is_live, is_paused, next_offset, stored_count, last_stored_timestamp, updated_at, headers_from_offset)
                VALUES ('k', 0, 0, 2, 1, 1, 2000, 0, 0, 2, 2, 2000, 1, 0);
                INSERT INTO keyed_topics (topic, mode, log_complete, changed_at) VALUES ('k', 'latest', 1, 1);
                INSERT INTO latest (topic, key, value, partition, offset, timestamp) VALUES ('k', CAST('a' AS BLOB), CAST('2' AS BLOB), 0, 1, 2000);
                """)
        }
    }

    /// What a capture holds, read through `messages` and `latest` (either layout).
    static func digest(_ path: String) throws -> [String] {
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        return [
            try store.connection.text("""
                SELECT count(*) || ' ' || sum(offset) || ' ' || sum(partition) || ' ' || sum(length(value)) || ' ' || sum(timestamp % 1000)
                       || ' ' || sum(unicode(hex(substr(value, 1, 4)))) || ' ' || sum(length(key)) FROM messages
                """) ?? "",
            try store.connection.text("SELECT group_concat(CAST(value AS TEXT) || '@' || offset) FROM latest WHERE topic = 'k'") ?? "",
        ]
    }

    /// One record of "t" in `partition` at `offset`.
    static func record(_ partition: Int32, _ offset: Int64, topic: String = "t") -> Message {
        Message(key: Array("k\(offset)".utf8), value: Array("v\(offset)".utf8), topic: topic, partition: partition, offset: offset,
                timestamp: 1_700_000_000_000 + offset)
    }

    /// The checkpoint of `partition` after `last`.
    static func checkpoint(_ partition: Int32, through last: Int64, topic: String = "t") -> PartitionState {
        PartitionState(topicPartition: TopicPartition(topic: topic, partition: partition), range: ReplayRange(start: 0, end: Int64.max),
                       consumedOffset: last, releasedOffset: last, lastConsumedTimestamp: nil, isLive: true, isPaused: false)
    }

    @Test func anOffsetAtTheLimitIsStoredAndOneBeyondIsRefusedWithNothingWritten() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("limit.sqlite"))
        defer { store.close() }
        let largest = StreamDirectory.largestOffset
        #expect(largest == 17_592_186_044_415)
        try store.write(batch: MessageBatch([Self.record(0, largest)]), checkpoints: [Self.checkpoint(0, through: largest)], completeUntil: nil)
        #expect(try store.connection.integer("SELECT offset FROM messages WHERE topic = 't' AND partition = 0") == largest)
        #expect(try store.connection.integer("SELECT count(*) FROM records WHERE id = (SELECT id << 44 FROM streams WHERE topic = 't' AND partition = 0) + \(largest)") == 1)
        do {
            try store.write(batch: MessageBatch([Self.record(1, 5), Self.record(1, largest + 1)]),
                            checkpoints: [Self.checkpoint(1, through: largest + 1)], completeUntil: nil)
            Issue.record("an offset beyond the layout's limit was accepted")
        } catch let error as StoreError {
            #expect("\(error)".contains("t[1] offset 17592186044416 is outside 0...17592186044415"), "\(error)")
            #expect("\(error)".contains("nothing of the batch was written"), "\(error)")
        }
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE partition = 1") == 0, "the batch's first row went with it")
        #expect(try store.connection.integer("SELECT count(*) FROM partition_state WHERE partition = 1") == 0)
        // The stream the failed transaction added is forgotten: the next write makes it again.
        try store.write(batch: MessageBatch([Self.record(1, 6)]), checkpoints: [Self.checkpoint(1, through: 6)], completeUntil: nil)
        #expect(try store.connection.integer("SELECT offset FROM messages WHERE partition = 1") == 6)
        let problems = try store.verify().problems
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func aPartitionAddedLaterGetsItsOwnRangeAndReadsWithTheRest() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("grown.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: path)
            defer { store.close() }
            try store.write(batch: MessageBatch([Self.record(0, 0), Self.record(1, 0), Self.record(0, 1, topic: "u")]),
                            checkpoints: [Self.checkpoint(0, through: 0), Self.checkpoint(1, through: 0), Self.checkpoint(0, through: 1, topic: "u")],
                            completeUntil: nil)
            for topic in ["t", "u"] { try TopicViews.createView(for: topic, on: store.connection) }
            // Partition 2 of "t" appears after "u": its stream id comes after u's.
            try store.write(batch: MessageBatch([Self.record(2, 0), Self.record(0, 1), Self.record(2, 1)]),
                            checkpoints: [Self.checkpoint(2, through: 1), Self.checkpoint(0, through: 1)], completeUntil: nil)
            #expect(try store.connection.integer("SELECT id FROM streams WHERE topic = 't' AND partition = 2") == 4)
            #expect(try store.verify().problems.isEmpty)
        }
        let reader = try CaptureReader(path: path)
        defer { reader.close() }
        var offsets: [Int64] = []
        _ = try reader.withRows(of: TopicPartition(topic: "t", partition: 2), from: 0, before: Int64.max, limit: 10) { offsets.append($0.offset) }
        #expect(offsets == [0, 1])
        let view = try reader.store.connection.prepare("SELECT partition, offset FROM \"t\" ORDER BY partition, offset")
        var rows: [[Int64]] = []
        while try view.step() { rows.append([view.int64(0), view.int64(1)]) }
        #expect(rows == [[0, 0], [0, 1], [1, 0], [2, 0], [2, 1]], "the topic's view reads every partition, the later one too")
    }

    @Test func aVersion11FileIsUpgradedByTheNextWriterKeepingEveryRecord() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("old.sqlite")
        try Self.version11File(path, rows: 2_000)
        let before = try Self.digest(path)
        #expect(before[0].hasPrefix("2002 ") && before[1] == "2@1", "\(before)")
        var notices: [String] = []
        let store = try SpoolStore.openForWriting(path: path, upgradeNotice: { notices.append($0) })
        defer { store.close() }
        #expect(store.usesStreamsLayout && store.schemaVersion == SpoolStore.supportedSchemaVersion)
        #expect(notices.count == 2 && notices[0].contains("rewriting 2002 records in one transaction") && notices[1].hasPrefix("upgraded "), "\(notices)")
        #expect(try Self.digest(path) == before)
        #expect(try store.connection.integer("SELECT count(*) FROM latest_values WHERE topic = 'k'") == 1, "the old table's values are kept")
        #expect(try store.verify().problems.isEmpty)
        // The upgraded file goes on: a new record of "k"'s key points into the log instead.
        try store.write(batch: MessageBatch([Message(key: Array("a".utf8), value: Array("3".utf8), topic: "k", partition: 0, offset: 2, timestamp: 3000)]),
                        checkpoints: [Self.checkpoint(0, through: 2, topic: "k")], completeUntil: nil)
        #expect(try store.connection.text("SELECT CAST(value AS TEXT) || offset FROM latest WHERE topic = 'k'") == "32")
        #expect(try store.connection.integer("SELECT count(*) FROM latest_values") == 0)
        #expect(try store.verify().problems.isEmpty)
    }

    @Test func aFileWithAnOffsetTheLayoutCannotHoldIsRefusedAndLeftAsItWas() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("huge.sqlite")
        try Self.version11File(path, rows: 10)
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
            defer { connection.close() }
            try connection.execute("UPDATE messages SET offset = 17592186044416 WHERE topic = 't' AND partition = 3 AND offset = 1")
        }
        #expect { try SpoolStore.openForWriting(path: path) } throws: { error in
            "\(error)".contains("t[3] stores offset 17592186044416") && "\(error)".contains("the file was not upgraded")
        }
        #expect(try SpoolStore.openForReading(path: path).schemaVersion == 11)
    }

    @Test func killedDuringTheUpgradeTheFileIsAsBeforeAndTheNextRunUpgradesIt() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("old.sqlite")
        try Self.version11File(path, rows: 400_000)
        let before = try Self.digest(path)
        let running = try SpoolProcess.Running(["compact", "old.sqlite"], directory: dir.path, environment: ["TMPDIR": dir.path])
        try running.waitUntil("compact announces the upgrade", timeout: .seconds(60), poll: .milliseconds(5)) {
            running.stderrSoFar.contains("upgrading ")
        }
        usleep(300_000)
        #expect(running.isRunning, "the upgrade was still running when killed: \(running.stderrSoFar)")
        running.signal(SIGKILL)
        _ = running.wait()
        let reader = try SpoolStore.openForReading(path: path)
        #expect(reader.schemaVersion == 11 && !reader.usesStreamsLayout, "the killed upgrade left the old schema")
        reader.close()
        #expect(try Self.digest(path) == before, "every record as before")
        let verifyOld = try SpoolProcess.run(["verify", "old.sqlite"], directory: dir.path)
        #expect(verifyOld.status == 0, "\(verifyOld.output)")

        let again = try SpoolProcess.run(["compact", "old.sqlite"], directory: dir.path, timeout: 240, environment: ["TMPDIR": dir.path])
        #expect(again.status == 0 && again.stderr.contains("upgraded "), "\(again.output)")
        #expect(try SpoolStore.openForReading(path: path).usesStreamsLayout)
        #expect(try Self.digest(path) == before)
        let verify = try SpoolProcess.run(["verify", "old.sqlite"], directory: dir.path)
        #expect(verify.status == 0 && verify.stdout.contains("400,002 messages"), "\(verify.output)")
        let lookup = try SpoolProcess.run(["query", "old.sqlite", "--format", "csv",
                                           "SELECT offset FROM messages WHERE topic = 't' AND partition = 3 AND offset = 99999"], directory: dir.path)
        #expect(lookup.stdout.contains("99999"), "\(lookup.output)")
    }

    /// Rewrites a capture of this spool into the release before the streams layout (schema 11):
    /// the inverse of migrations 12 and 13, so a test has a shard that release wrote.
    static func downgradeToVersion11(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
        defer { connection.close() }
        // The per-topic views name messages and latest, which do not exist mid-way.
        try connection.execute("PRAGMA legacy_alter_table = ON")
        try connection.inTransaction {
            try connection.execute("""
                CREATE TABLE old_messages (key BLOB, value BLOB, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
                    timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT, UNIQUE (topic, partition, offset));
                INSERT INTO old_messages SELECT * FROM messages;
                CREATE TABLE old_latest (topic TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, partition INTEGER NOT NULL,
                    offset INTEGER NOT NULL, timestamp INTEGER NOT NULL, headers TEXT, key_json TEXT, value_json TEXT, decode_state TEXT,
                    PRIMARY KEY (topic, key));
                INSERT INTO old_latest SELECT * FROM latest;
                DROP VIEW messages; DROP VIEW latest; DROP TABLE records; DROP TABLE streams; DROP TABLE latest_values; DROP TABLE latest_keys;
                ALTER TABLE old_messages RENAME TO messages;
                ALTER TABLE old_latest RENAME TO latest;
                CREATE INDEX messages_decode_pending ON messages (decode_state) WHERE decode_state = 'pending';
                CREATE INDEX latest_decode_pending ON latest (decode_state) WHERE decode_state = 'pending';
                DELETE FROM spool_migrations WHERE version >= 12;
                """)
        }
    }

    @Test func aShardFromTheReleaseBeforeIsRefusedByMergeUntilCompactUpgradesIt() throws {
        let scenario = try MockScenario()
        try FileManager.default.createDirectory(atPath: scenario.file("shards"), withIntermediateDirectories: false)
        try scenario.cluster.createTopic("t", partitions: 4)
        try scenario.cluster.produce(topic: "t", (0..<2_000).map { index in
            MockMessage(partition: Int32(index % 4), key: Array("key-\(index % 50)".utf8), value: Array("value-\(index)".utf8),
                        timestamp: 1_700_000_000_000 + Int64(index))
        })
        for index in 0..<2 {
            let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--latest", "t",
                                               "--db", "shards/s\(index).sqlite", "--shard", "\(index)/2", "--quiet"], directory: scenario.directory.path)
            try #require(ingest.status == 0, "\(ingest.output)")
        }
        let old = scenario.file("shards/s1.sqlite")
        let before = try Self.digest(old)
        try Self.downgradeToVersion11(old)
        #expect(try SpoolStore.openForReading(path: old).schemaVersion == 11)
        #expect(try Self.digest(old)[0] == before[0], "the downgraded shard holds the same records")

        let refused = try SpoolProcess.run(["merge", "shards", "--db", "all.sqlite"], directory: scenario.directory.path)
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.stderr.contains("s1.sqlite has schema version 11") && refused.stderr.contains("spool compact"), "\(refused.output)")
        let query = try SpoolProcess.run(["query", "shards", "SELECT count(*) FROM messages"], directory: scenario.directory.path)
        #expect(query.status != 0 && query.stderr.contains("spool compact FILE"), "\(query.output)")

        let compact = try SpoolProcess.run(["compact", "shards/s1.sqlite"], directory: scenario.directory.path)
        #expect(compact.status == 0 && compact.stderr.contains("upgrading "), "\(compact.output)")
        #expect(try Self.digest(old) == before, "the upgrade kept every record and the latest table")
        let merged = try SpoolProcess.run(["merge", "shards", "--db", "all.sqlite"], directory: scenario.directory.path)
        #expect(merged.status == 0, "\(merged.output)")
        let counted = try SpoolProcess.run(["query", "all.sqlite", "--format", "csv",
                                            "SELECT count(*), count(DISTINCT partition || ':' || offset), (SELECT count(*) FROM \"t:latest\") FROM messages"],
                                           directory: scenario.directory.path)
        #expect(counted.stdout.contains("2000,2000,50"), "\(counted.output)")
        let verify = try SpoolProcess.run(["verify", "all.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test(arguments: [KeyedMode.latest, .latestOnly])
    func aKeyTwiceInOneBatchEndsAsItsLastRecord(mode: KeyedMode) throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("keys.sqlite"))
        defer { store.close() }
        try store.keyed.setMode(mode, for: "t")
        let sequence: [(String, String?)] = [("a", "1"), ("b", "1"), ("a", nil), ("c", "1"), ("b", "2"), ("a", "3"), ("c", nil), ("b", "4")]
        let batch = MessageBatch(sequence.enumerated().map { index, record in
            Message(key: Array(record.0.utf8), value: record.1.map { Array($0.utf8) }, topic: "t", partition: Int32(index % 2),
                    offset: Int64(index / 2), timestamp: 1_000 + Int64(index))
        })
        try store.write(batch: batch, checkpoints: [Self.checkpoint(0, through: 3), Self.checkpoint(1, through: 3)], completeUntil: nil)
        let rows = try store.connection.prepare("SELECT CAST(key AS TEXT), CAST(value AS TEXT), partition, offset FROM latest ORDER BY key")
        var found: [String] = []
        while try rows.step() { found.append("\(rows.text(0) ?? "")=\(rows.text(1) ?? "") @\(rows.int64(2)):\(rows.int64(3))") }
        #expect(found == ["a=3 @1:2", "b=4 @1:3"], "each key as its last record left it; c deleted")
        #expect(try store.keyed.topics().first?.tombstonesApplied == 2)
        #expect(try store.verify().problems.isEmpty)
    }

    @Test func aTopicPartitionBeyondTheLastStreamIdIsRefusedNamingIt() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("streams.sqlite"))
        defer { store.close() }
        // As if 524,287 topic partitions had been stored: the next one would need id 2^19.
        try store.connection.execute("INSERT INTO streams (id, topic, partition) VALUES (\(StreamDirectory.largestStreamID), 'x', 0)")
        #expect { try store.write(batch: MessageBatch([Self.record(0, 1)]), checkpoints: [Self.checkpoint(0, through: 1)], completeUntil: nil) } throws: { error in
            "\(error)".contains("t[0] would be the capture's stream number 524288") && "\(error)".contains("nothing of the batch was written")
        }
        #expect(try store.connection.integer("SELECT count(*) FROM streams") == 1, "the refused stream went with its transaction")
        #expect(try store.connection.integer("SELECT count(*) FROM partition_state") == 0)
    }

    @Test func topicsNamedLikeTheNewTablesLoseOnlyTheirViewsInTheUpgrade() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("named.sqlite")
        try Self.version11File(path, rows: 10)
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
            defer { connection.close() }
            try connection.execute("""
                INSERT INTO messages (key, value, topic, partition, offset, timestamp) VALUES (NULL, x'01', 'records', 0, 0, 1), (NULL, x'02', 'Streams', 0, 0, 2);
                INSERT INTO partition_state (topic, partition, replay_start_offset, replay_end_offset, consumed_offset, released_offset,
                    is_live, is_paused, next_offset, stored_count, last_stored_timestamp, updated_at, headers_from_offset)
                VALUES ('records', 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0), ('Streams', 0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 1, 0);
                """)
            for topic in ["records", "Streams"] { try TopicViews.createView(for: topic, on: connection) }
            try TopicViews.createLatestView(for: "latest_keys", on: connection)
            #expect(try connection.integer("SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name IN ('records', 'Streams')") == 2)
        }
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        #expect(store.usesStreamsLayout)
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE topic IN ('records', 'Streams')") == 2)
        #expect(try store.connection.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('records', 'streams')") == 2)
        let problems = try store.verify().problems
        #expect(problems.isEmpty, "\(problems)")
    }
}
