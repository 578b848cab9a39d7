@_spi(MockCluster) import SpoolScenarioSupport
@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// The latest value per key (`--latest`, `--latest-only`), against the mock cluster.
@Suite("Keyed tables: the latest value per key", .timeLimit(.minutes(2)))
struct LatestTableTests {
    /// What the table must hold after `records` in release order (by timestamp, then partition;
    /// the records here have distinct timestamps): key → the record, plus the counters.
    static func expected(_ records: [MockMessage]) -> (rows: [[UInt8]: MockMessage], tombstones: Int64, nullKeys: Int64) {
        var rows: [[UInt8]: MockMessage] = [:]
        var tombstones: Int64 = 0
        var nullKeys: Int64 = 0
        for record in records.sorted(by: { ($0.timestamp, $0.partition) < ($1.timestamp, $1.partition) }) {
            guard let key = record.key else { nullKeys += 1; continue }
            if record.value == nil {
                tombstones += 1
                rows[key] = nil
            } else {
                rows[key] = record
            }
        }
        return (rows, tombstones, nullKeys)
    }

    /// The table's rows for `topic`, by key.
    static func stored(_ path: String, topic: String) throws -> [[UInt8]: (value: [UInt8], partition: Int32)] {
        let store = try SpoolStore.openForReading(path: path)
        let query = try store.connection.prepare("SELECT key, value, partition FROM \"\(topic):latest\"")
        var rows: [[UInt8]: (value: [UInt8], partition: Int32)] = [:]
        while try query.step() { rows[query.blob(0) ?? []] = (query.blob(1) ?? [], Int32(query.int64(2))) }
        return rows
    }

    static func expectTable(_ path: String, topic: String, _ records: [MockMessage],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = expected(records)
        let got = try stored(path, topic: topic)
        #expect(Set(got.keys) == Set(want.rows.keys), "keys", sourceLocation: sourceLocation)
        for (key, record) in want.rows {
            #expect(got[key]?.value == record.value && got[key]?.partition == record.partition,
                    "key \(key)", sourceLocation: sourceLocation)
        }
        let keyed = try #require(try SpoolStore.openForReading(path: path).keyed.topics().first { $0.topic == topic },
                                 sourceLocation: sourceLocation)
        #expect(keyed.keys == Int64(want.rows.count) && keyed.tombstonesApplied == want.tombstones
                && keyed.nullKeysSkipped == want.nullKeys, "\(keyed)", sourceLocation: sourceLocation)
    }

    /// The cases: updates, deletes, re-creation after a delete, a key in two partitions,
    /// null keys, the empty key (distinct from null), binary keys, a tombstone for an unseen key.
    static func cases(base: Int64 = 1_000) -> [MockMessage] {
        let script: [(Int32, [UInt8]?, String?)] = [
            (0, Array("a".utf8), "a1"), (1, Array("b".utf8), "b1"), (0, Array("a".utf8), "a2"),
            (0, nil, "no key"), (1, [], "empty key 1"), (0, [0x00, 0xFF], "binary 1"),
            (1, Array("b".utf8), nil), (0, Array("never".utf8), nil), (1, Array("shared".utf8), "shared in 1"),
            (0, Array("shared".utf8), "shared in 0"), (1, Array("b".utf8), "b again"), (1, [], "empty key 2"),
            (0, nil, "no key 2"), (0, Array("a".utf8), nil), (1, Array("shared".utf8), "shared last in 1"),
        ]
        return script.enumerated().map { index, entry in
            MockMessage(partition: entry.0, key: entry.1, value: entry.2.map { Array($0.utf8) }, timestamp: base + Int64(index))
        }
    }

    private func options(_ cluster: MockKafkaCluster, _ topic: String, keyed: [String: KeyedMode] = [:],
                         acceptGaps: Bool = false) -> IngestOptions {
        var options = IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest(topic)], batchSize: 4,
                                    acceptGaps: acceptGaps, pollTimeoutMs: 50)
        options.keyed = keyed
        return options
    }

    @Test func updatesDeletesAndRecreationFollowReleaseOrder() throws {
        let scenario = try MockScenario()
        let db = scenario.file("l.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let records = Self.cases()
        try scenario.cluster.produce(topic: "t", records)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        try Self.expectTable(db, topic: "t", records)
        // Written out too: a deleted, "b" re-created, "never" never there, empty and binary keys kept.
        let got = try Self.stored(db, topic: "t")
        #expect(got[Array("a".utf8)] == nil && got[Array("never".utf8)] == nil)
        #expect(got[Array("b".utf8)]?.value == Array("b again".utf8))
        #expect(got[[]]?.value == Array("empty key 2".utf8))
        #expect(got[Array("shared".utf8)]?.value == Array("shared last in 1".utf8))
        let store = try SpoolStore.openForReading(path: db)
        #expect(try store.messageCounts()["t"] == Int64(records.count), "the log is kept with --latest")
        #expect(try store.verify().isSound)

        // A later run keeps the table without being asked, exactly once.
        let more = Self.cases(base: 5_000)
        try scenario.cluster.produce(topic: "t", more)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t"), logger: quietLogger()).run()
        try Self.expectTable(db, topic: "t", records + more)
        #expect(try SpoolStore.openForReading(path: db).verify().isSound)
    }

    @Test func latestOnlyKeepsTheTableButNotTheLog() throws {
        let scenario = try MockScenario()
        let db = scenario.file("o.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let records = Self.cases()
        try scenario.cluster.produce(topic: "t", records)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latestOnly]), logger: quietLogger()).run()
        try Self.expectTable(db, topic: "t", records)
        let store = try SpoolStore.openForReading(path: db)
        #expect(try store.messageCounts()["t"] == 0)
        #expect(try store.connection.integer("SELECT count(*) FROM messages") == 0)
        #expect(try store.resumeOffsets() == [TopicPartition(topic: "t", partition: 0): 8, TopicPartition(topic: "t", partition: 1): 7])
        #expect(try store.verify().isSound)
    }

    @Test func turningTheModeOnForAStoredLogBuildsTheTableFromIt() throws {
        let scenario = try MockScenario()
        let db = scenario.file("b.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let records = Self.cases()
        try scenario.cluster.produce(topic: "t", records)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t"), logger: quietLogger()).run()
        #expect(try SpoolStore.openForReading(path: db).keyed.topics().isEmpty)
        let more = Self.cases(base: 9_000)
        try scenario.cluster.produce(topic: "t", more)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        try Self.expectTable(db, topic: "t", records + more)
        #expect(try SpoolStore.openForReading(path: db).verify().isSound)
    }

    @Test func changingOrDroppingAModeNeedsItsFlag() throws {
        let scenario = try MockScenario()
        let db = scenario.file("c.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let records = Self.cases()
        try scenario.cluster.produce(topic: "t", records)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        #expect(throws: IngestError.keyedModeChange(topic: "t", recorded: .latest, asked: .latestOnly)) {
            _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latestOnly]), logger: quietLogger()).run()
        }
        #expect(try SpoolStore.openForReading(path: db).messageCounts()["t"] == Int64(records.count), "nothing changed")
        var switching = options(scenario.cluster, "t", keyed: ["t": .latestOnly])
        switching.allowKeyedModeChange = true
        _ = try IngestPipeline(databasePath: db, options: switching, logger: quietLogger()).run()
        #expect(try SpoolStore.openForReading(path: db).messageCounts()["t"] == 0, "the stored log is dropped")
        try Self.expectTable(db, topic: "t", records)
        var off = options(scenario.cluster, "t")
        off.keyedOff = ["t"]
        _ = try IngestPipeline(databasePath: db, options: off, logger: quietLogger()).run()
        let store = try SpoolStore.openForReading(path: db)
        #expect(try store.keyed.topics().isEmpty)
        #expect(try store.connection.integer("SELECT count(*) FROM latest") == 0)
        #expect(try store.connection.integer("SELECT count(*) FROM sqlite_master WHERE name = 't:latest'") == 0)
    }

    @Test func verifyRecomputesTheTableFromTheLog() throws {
        let scenario = try MockScenario()
        let db = scenario.file("v.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        try scenario.cluster.produce(topic: "t", Self.cases())
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        let writer = try SQLiteConnection(path: db, readOnly: false, create: false)
        // A --latest topic's table points into the log (latest_keys); values kept beside it
        // live in latest_values. Damage both: a pointer to no row, a lost key, a stray value.
        try writer.execute("UPDATE latest_keys SET id = id + 1000000 WHERE key = CAST('b' AS BLOB); DELETE FROM latest_keys WHERE key = x'';")
        try writer.execute("INSERT INTO latest_values (topic, key, value, partition, offset, timestamp, headers) VALUES ('t', CAST('a' AS BLOB), x'01', 0, 0, 1000, NULL)")
        writer.close()
        let problems = try SpoolStore.openForReading(path: db).verify().problems
        #expect(problems.contains { $0.contains("key x'62' points at row") && $0.contains("which the log does not hold") }, "\(problems)")
        #expect(problems.contains("latest table of 't': key x'62' is missing from the table"), "\(problems)")
        #expect(problems.contains("latest table of 't': key x'' is missing from the table"), "\(problems)")
        #expect(problems.contains("latest table of 't': key x'61' is in the table but not what the log implies"), "\(problems)")
    }

    @Test func anAcceptedGapMarksThePartitionStale() throws {
        let scenario = try MockScenario()
        let db = scenario.file("g.sqlite")
        try scenario.cluster.createTopic("t", partitions: 1)
        let big = { (from: Int) in (from..<from + 10).map {
            MockMessage(partition: 0, key: Array("k\($0 % 3)".utf8), value: [UInt8](repeating: 1, count: 100_000), timestamp: Int64($0))
        } }
        try scenario.cluster.produce(topic: "t", big(0))
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        // About 7 MiB more: the mock keeps 5 MiB per partition and drops the oldest.
        for round in 1...7 { try scenario.cluster.produce(topic: "t", big(round * 10)) }
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", acceptGaps: true), logger: quietLogger()).run()
        let keyed = try #require(try SpoolStore.openForReading(path: db).keyed.topics().first)
        #expect(keyed.stalePartitions == [0])
    }

    @Test func aDatabaseFromTheHeadersSchemaIsUpgradedAndItsLogBecomesATable() throws {
        let scenario = try MockScenario()
        let db = scenario.file("u.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let records = Self.cases()
        try scenario.cluster.produce(topic: "t", records)
        do {
            let connection = try SQLiteConnection(path: db, readOnly: false, create: true)
            try Migrator(migrations: Migrator().migrations.filter { $0.version <= 2 }).migrate(connection, nowMs: 1)
            connection.close()
        }
        // The previous schema's file gets its log first (a run without keyed tables available).
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t"), logger: quietLogger()).run()
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "t", keyed: ["t": .latest]), logger: quietLogger()).run()
        let store = try SpoolStore.openForReading(path: db)
        #expect(store.schemaVersion == SpoolStore.supportedSchemaVersion)
        try Self.expectTable(db, topic: "t", records)
        #expect(try store.verify().isSound)
    }
}
