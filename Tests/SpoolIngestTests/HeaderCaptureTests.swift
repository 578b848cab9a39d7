@_spi(MockCluster) import SpoolScenarioSupport
@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// Record headers produced by librdkafka's producer (through the mock cluster) are stored
/// byte for byte in the `headers` JSON column, in the same transactions as everything else.
@Suite("Headers: captured losslessly", .timeLimit(.minutes(2)))
struct HeaderCaptureTests {
    private func options(_ cluster: MockKafkaCluster, _ topic: String, batchSize: Int = 7) -> IngestOptions {
        IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest(topic)], batchSize: batchSize, pollTimeoutMs: 50)
    }

    /// One record per case the issue lists, in partition 0, offsets in this order.
    static let cases: [[MessageHeader]] = [
        [],
        [MessageHeader(name: "trace", value: Array("abc".utf8))],
        [MessageHeader(name: "dup", value: Array("1".utf8)), MessageHeader(name: "other", value: nil),
         MessageHeader(name: "dup", value: Array("2".utf8))],
        [MessageHeader(name: "nothing", value: nil)],
        [MessageHeader(name: "empty", value: [])],
        [MessageHeader(name: "blob", value: [0x00, 0xFF])],
        [MessageHeader(name: "big", value: (0..<102_400).map { UInt8(ascii: "a") + UInt8($0 % 26) })],
        [MessageHeader(name: "größe-名前", value: Array("wert \"quoted\" \\ back\nline\ttab".utf8))],
        (0..<300).map { MessageHeader(name: "h\($0 % 17)", value: $0 % 11 == 0 ? nil : Array("v\($0)".utf8)) },
        [MessageHeader(name: "nul", value: Array("a\u{0}b".utf8)), MessageHeader(name: "latin1", value: [0x63, 0x61, 0x66, 0xE9])],
    ]

    @Test func everyKindOfHeaderIsStoredByteForByte() throws {
        let scenario = try MockScenario()
        let db = scenario.file("h.sqlite")
        try scenario.cluster.createTopic("h", partitions: 2)
        var produced: [MockMessage] = []
        for (index, headers) in Self.cases.enumerated() {
            produced.append(MockMessage(partition: 0, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8),
                                        timestamp: 1_700_000_000_000 + Int64(index), headers: headers))
            // Partition 1 interleaves records without headers, so batches mix both kinds.
            produced.append(MockMessage(partition: 1, key: nil, value: [], timestamp: 1_700_000_000_000 + Int64(index)))
        }
        try scenario.cluster.produce(topic: "h", produced)
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "h"), logger: quietLogger()).run()
        #expect(summary.storedPerTopic == ["h": Int64(produced.count)])
        let store = try SpoolStore.openForReading(path: db)
        let stored = try store.messages(topic: "h", partition: 0)
        #expect(stored.count == Self.cases.count)
        for (index, headers) in Self.cases.enumerated() where index < stored.count {
            #expect(stored[index].headers == headers, "case \(index)")
        }
        #expect(try store.messages(topic: "h", partition: 1).allSatisfy(\.headers.isEmpty))
        #expect(try store.verify().isSound)
    }

    @Test func theHeadersColumnIsTheDocumentedJSON() throws {
        let scenario = try MockScenario()
        let db = scenario.file("j.sqlite")
        try scenario.cluster.createTopic("j", partitions: 1)
        try scenario.cluster.produce(topic: "j", Self.cases.prefix(6).enumerated().map { index, headers in
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_000 + Int64(index), headers: headers)
        })
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "j"), logger: quietLogger()).run()
        let store = try SpoolStore.openForReading(path: db)
        let statement = try store.connection.prepare("SELECT headers FROM j ORDER BY offset")
        var texts: [String?] = []
        while try statement.step() { texts.append(statement.text(0)) }
        #expect(texts == [
            nil,
            #"[{"key":"trace","value":"abc"}]"#,
            #"[{"key":"dup","value":"1"},{"key":"other","value":null},{"key":"dup","value":"2"}]"#,
            #"[{"key":"nothing","value":null}]"#,
            #"[{"key":"empty","value":""}]"#,
            #"[{"key":"blob","value_base64":"AP8="}]"#,
        ])
        // SQLite's own JSON functions read it, through the per-topic view too.
        #expect(try store.connection.text("SELECT h.value ->> 'value' FROM j, json_each(j.headers) AS h WHERE h.value ->> 'key' = 'trace'") == "abc")
        #expect(try store.connection.integer("SELECT count(*) FROM j, json_each(j.headers) AS h WHERE h.value ->> 'key' = 'dup'") == 2)
    }

    @Test func verifyRejectsHeadersThatAreNotTheDocumentedShape() throws {
        let scenario = try MockScenario()
        let db = scenario.file("v.sqlite")
        try scenario.cluster.createTopic("v", partitions: 1)
        try scenario.cluster.produce(topic: "v", (0..<6).map {
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_000 + Int64($0), headers: Self.cases[1])
        })
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "v"), logger: quietLogger()).run()
        let writer = try SQLiteConnection(path: db, readOnly: false, create: false)
        let broken = ["not json", "[]", #"{"key":"a","value":"b"}"#, #"[{"key":"a"}]"#, #"[{"key":"a","value":1}]"#]
        for (offset, text) in broken.enumerated() {
            try writer.execute("UPDATE messages SET headers = '\(text)' WHERE offset = \(offset)")
        }
        writer.close()
        let report = try SpoolStore.openForReading(path: db).verify()
        for offset in 0..<broken.count {
            #expect(report.problems.contains { $0.contains("v[0] offset \(offset): headers are not") }, "offset \(offset): \(report.problems)")
        }
        #expect(!report.problems.contains { $0.contains("offset 5") })
    }

    @Test func anUpgradedDatabaseKeepsItsRowsAndGainsHeadersFromThenOn() throws {
        let scenario = try MockScenario()
        let db = scenario.file("old.sqlite")
        try scenario.cluster.createTopic("u", partitions: 1)
        let withHeaders = [MessageHeader(name: "trace", value: Array("t".utf8)), MessageHeader(name: "bin", value: [0xFE])]
        let produced = (0..<10).map { index in
            MockMessage(partition: 0, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8), timestamp: 1_000 + Int64(index),
                        headers: index < 5 ? [] : withHeaders)
        }
        try scenario.cluster.produce(topic: "u", produced)
        // A database as the first schema left it: five rows, their partition state and the view.
        do {
            let connection = try SQLiteConnection(path: db, readOnly: false, create: true)
            try Migrator(migrations: Migrator().migrations.filter { $0.version == 1 }).migrate(connection, nowMs: 1)
            for index in 0..<5 {
                try connection.execute("""
                    INSERT INTO messages (key, value, topic, partition, offset, timestamp)
                    VALUES (CAST('k\(index)' AS BLOB), CAST('v\(index)' AS BLOB), 'u', 0, \(index), \(1_000 + index))
                    """)
            }
            try connection.execute("""
                INSERT INTO partition_state VALUES ('u', 0, 0, 5, 4, 4, 1004, 1, 0, 5, 5, 1004, 1);
                CREATE VIEW "u" AS SELECT key, value, topic, partition, offset, timestamp FROM messages WHERE topic = 'u'
                """)
            connection.close()
        }
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "u", batchSize: 100), logger: quietLogger()).run()
        #expect(summary.storedPerTopic == ["u": 5])
        let store = try SpoolStore.openForReading(path: db)
        #expect(store.schemaVersion == SpoolStore.supportedSchemaVersion)
        let rows = try store.messages(topic: "u", partition: 0)
        #expect(rows.map(\.offset) == Array(0..<10))
        #expect(rows.map(\.key) == produced.map(\.key) && rows.map(\.value) == produced.map(\.value))
        #expect(rows.map(\.headers) == produced.map(\.headers), "old rows keep NULL headers, new rows have theirs")
        #expect(try store.storedPartitions().map(\.headersFromOffset) == [5])
        // The topic's view gained the column.
        #expect(try store.connection.integer("SELECT count(headers) FROM u") == 5)
        let report = try store.verify()
        #expect(report.isSound, "\(report.problems)")
        #expect(report.rowsStoredBeforeHeaders == 5)
    }

    @Test func headersFromTheConfluentPythonClientAreStoredExactly() throws {
        let scenario = try MockScenario()
        let db = scenario.file("py.sqlite")
        try scenario.cluster.createTopic("py", partitions: 2)
        // Produced by a second, independent client into the mock scenario.cluster.
        let produced = try KafkaTool.produce("py", count: 6, brokers: scenario.brokers, keyPrefix: "k",
                                             headers: ["trace=abc", "bin:hex=00ff10", "gone:null", "trace=second", "empty="])
        #expect(produced.count == 6)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "py"), logger: quietLogger()).run()
        let store = try SpoolStore.openForReading(path: db)
        let expected = [MessageHeader(name: "trace", value: Array("abc".utf8)), MessageHeader(name: "bin", value: [0x00, 0xFF, 0x10]),
                        MessageHeader(name: "gone", value: nil), MessageHeader(name: "trace", value: Array("second".utf8)),
                        MessageHeader(name: "empty", value: [])]
        let rows = try store.messages(topic: "py", partition: 0) + store.messages(topic: "py", partition: 1)
        #expect(rows.count == 6)
        #expect(rows.allSatisfy { $0.headers == expected }, "\(rows.map(\.headers))")
    }
}
