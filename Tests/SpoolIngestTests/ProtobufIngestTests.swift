@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolDecode
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// Records produced by confluent-kafka's real ProtobufSerializer (message classes compiled from a
/// .proto at test time) through the test registry, captured with `--schema-registry`.
@Suite("Schema Registry: Protobuf decoded at capture", .serialized, .timeLimit(.minutes(3)))
struct ProtobufIngestTests {
    static let common = """
        syntax = "proto3";
        package common;
        message Money { int64 cents = 1; string currency = 2; }
        """

    /// Order is message [0], Refund [1], Node [2]; in Order the map's entry type is nested type
    /// 0, so Line, declared after the map field, is [0, 1].
    static let shop = """
        syntax = "proto3";
        package shop;
        import "google/protobuf/timestamp.proto";
        import "google/protobuf/wrappers.proto";
        import "google/protobuf/struct.proto";
        import "common.proto";
        message Order {
          int64 id = 1;
          uint64 big = 2;
          string note = 3;
          bytes raw = 4;
          Status status = 5;
          map<string, int32> counts = 6;
          message Line { string sku = 1; }
          Line first_line = 7;
          repeated Line lines = 8;
          oneof payment { string card = 9; int32 voucher = 10; }
          optional int32 maybe = 11;
          google.protobuf.Timestamp at = 12;
          google.protobuf.Int64Value qty = 13;
          google.protobuf.Struct extra = 14;
          common.Money total = 15;
          Node chain = 16;
          enum Status { NEW = 0; PAID = 1; }
        }
        message Refund { int64 order_id = 1; }
        message Node { Node next = 1; int32 v = 2; }
        """

    private func options(_ cluster: MockKafkaCluster, _ topic: String, registry: String) throws -> IngestOptions {
        var options = IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest(topic)], batchSize: 5, pollTimeoutMs: 50)
        options.schemaRegistry = try SchemaRegistryConfig(url: registry, settings: [:])
        options.schemaFirstWait = .seconds(5)
        return options
    }

    private func decodedRows(_ db: String, _ topic: String) throws -> [(json: String?, state: String?)] {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare("SELECT value_json, decode_state FROM messages WHERE topic = ?1 ORDER BY partition, offset")
        query.bind(1, topic)
        var rows: [(String?, String?)] = []
        while try query.step() { rows.append((query.text(0), query.text(1))) }
        return rows
    }

    private func produce(_ topic: String, _ cluster: MockKafkaCluster, _ registry: String, message: String,
                         records: [String]) throws -> [SRProducedRecord] {
        try KafkaTool.produceSR(topic, brokers: cluster.bootstrapServers, registry: registry, format: .protobuf, schema: Self.shop,
                                records: records, message: message, imports: ["common.proto": Self.common])
    }

    @Test func everyShapeMessageIndexesAndBadRecords() throws {
        let scenario = try MockScenario()
        let db = scenario.file("pb.sqlite")
        try scenario.cluster.createTopic("pb", partitions: 1)
        let registry = try SchemaRegistryServer()
        let full = #"""
            {"key": "a", "value": {"id": "9007199254740993", "big": "18446744073709551615", "note": "hi \"q\"", "raw": "AP8=",
             "status": "PAID", "counts": {"b": 2, "a": 1}, "first_line": {"sku": "X"}, "lines": [{"sku": "Y"}, {"sku": "Z"}],
             "voucher": 5, "maybe": 0, "at": "2024-01-31T12:34:56.789Z", "qty": "42", "extra": {"k": [1.5, null, "x", true]},
             "total": {"cents": "1250", "currency": "EUR"}, "chain": {"v": 1, "next": {"v": 2}}}}
            """#.replacing("\n", with: " ")
        let orders = try produce("pb", scenario.cluster, registry.url, message: "Order", records: [full, #"{"key": "b", "value": {}}"#])
        let id = try #require(orders.first?.valueSchemaID)
        // The serializer writes [0] as the single byte 00 after the header.
        #expect(orders.first?.valueHex?.dropFirst(10).hasPrefix("00") == true)
        let refund = try produce("pb", scenario.cluster, registry.url, message: "Refund", records: [#"{"key": "c", "value": {"order_id": "7"}}"#])
        #expect(refund.first?.valueHex?.dropFirst(10).hasPrefix("0202") == true, "message index [1]")
        let line = try produce("pb", scenario.cluster, registry.url, message: "Order.Line", records: [#"{"key": "d", "value": {"sku": "L"}}"#])
        #expect(line.first?.valueHex?.dropFirst(10).hasPrefix("040002") == true, "message indexes [0, 1]")
        var deep = #"{"v": 1}"#
        for _ in 1...ProtobufSchema.maxDepth { deep = #"{"next": \#(deep)}"# }
        _ = try produce("pb", scenario.cluster, registry.url, message: "Node", records: [#"{"key": "e", "value": \#(deep)}"#])
        let header = String(format: "00%08x", id)
        _ = try produce("pb", scenario.cluster, registry.url, message: "Refund", records: [
            #"{"key": "f", "raw_value_hex": "\#(header)000a64"}"#,     // [0], then field 1 says 100 bytes follow: there are none
            #"{"key": "g", "raw_value_hex": "\#(header)01010801"}"#,   // [1] written as unsigned varints (01 01)
        ])

        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "pb", registry: registry.url), logger: quietLogger()).run()
        #expect(summary.decoding.decoded == 4 && summary.decoding.failed == 3 && summary.decoding.pending == 0)
        let rows = try decodedRows(db, "pb")
        #expect(rows.map(\.state) == ["decoded", "decoded", "decoded", "decoded", "failed", "failed", "failed"])
        #expect(rows[0].json == """
            {"id":9007199254740993,"big":"18446744073709551615","note":"hi \\"q\\"","raw":"AP8=","status":"PAID","counts":{"a":1,"b":2},\
            "first_line":{"sku":"X"},"lines":[{"sku":"Y"},{"sku":"Z"}],"voucher":5,"maybe":0,"at":"2024-01-31T12:34:56.789Z",\
            "qty":42,"extra":{"k":[1.5,null,"x",true]},"total":{"cents":1250,"currency":"EUR"},"chain":{"next":{"next":null,"v":2},"v":1}}
            """)
        #expect(rows[1].json == """
            {"id":0,"big":0,"note":"","raw":"","status":"NEW","counts":{},"first_line":null,"lines":[],"maybe":null,\
            "at":null,"qty":null,"extra":null,"total":null,"chain":null}
            """)
        #expect(rows[2].json == #"{"order_id":7}"#)
        #expect(rows[3].json == #"{"sku":"L"}"#)
        #expect(rows[4...].allSatisfy { $0.json == nil })

        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        #expect(try store.connection.integer("SELECT value_json ->> '$.id' FROM pb WHERE offset = 0") == 9_007_199_254_740_993)
        #expect(try store.connection.text("SELECT value_json ->> '$.total.currency' FROM pb WHERE offset = 0") == "EUR")
        let status = try store.decoding.status()
        #expect(status.count == 1 && status.first?.failed == 3)
        #expect(status.first?.firstError == "value (schema id \(id)): messages are nested deeper than 64 levels (at shop.Node)")
        // The schema and its reference, both PROTOBUF with the registry's serialized descriptor.
        let schemas = try store.decoding.storedSchemas()
        #expect(schemas.count == 2)
        #expect(schemas.allSatisfy { $0.type == "PROTOBUF" && $0.serialized != nil })
        let main = try #require(schemas.first { $0.id == id })
        #expect(main.text.contains("message Order {"))
        #expect(SchemaReference.parseList(main.referencesJSON).map(\.name) == ["common.proto"])
        #expect(try store.verify().isSound)
    }

    @Test func aRegistryWithoutSerializedDescriptorsIsReadFromTheText() throws {
        let scenario = try MockScenario()
        let db = scenario.file("text.sqlite")
        try scenario.cluster.createTopic("pbt", partitions: 1)
        let registry = try SchemaRegistryServer(misbehaviour: .init(noSerialized: true))
        _ = try produce("pbt", scenario.cluster, registry.url, message: "Refund", records: [#"{"key": "c", "value": {"order_id": "-3"}}"#])
        _ = try produce("pbt", scenario.cluster, registry.url, message: "Order", records: [#"{"key": "c", "value": {"total": {"cents": "5"}, "card": "v"}}"#])
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "pbt", registry: registry.url), logger: quietLogger()).run()
        #expect(summary.decoding.decoded == 2)
        let rows = try decodedRows(db, "pbt")
        #expect(rows.first?.json == #"{"order_id":-3}"#)
        #expect(rows.last?.json?.contains(#""card":"v","maybe":null"#) == true)
        #expect(rows.last?.json?.contains(#""total":{"cents":5,"currency":""}"#) == true)
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        #expect(try store.decoding.storedSchemas().allSatisfy { $0.type == "PROTOBUF" && $0.serialized == nil })
    }

    @Test func aRegistryThatIsDownLeavesRecordsPendingUntilDecode() throws {
        let scenario = try MockScenario()
        let db = scenario.file("down.sqlite")
        try scenario.cluster.createTopic("pbd", partitions: 1)
        var registry = try SchemaRegistryServer(stateFile: scenario.file("registry.json"))
        let url = registry.url
        _ = try produce("pbd", scenario.cluster, url, message: "Refund", records: (0..<5).map { #"{"key": "k", "value": {"order_id": "\#($0)"}}"# })
        registry.stop()
        let down = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "pbd", registry: url), logger: quietLogger()).run()
        #expect(down.decoding.pending == 5 && down.decoding.decoded == 0)
        registry = try registry.restart()
        let store = try SpoolStore.openForWriting(path: db)
        let catalog = SchemaCatalog(client: SchemaRegistryClient(config: try SchemaRegistryConfig(url: url, settings: [:])), stored: [])
        let outcome = try PendingDecoder(store: store, decoder: BatchDecoder(catalog: catalog), waitForSchemas: true).run()
        store.close()
        #expect(outcome == PendingDecoder.Outcome(decoded: 5, failed: 0, stillPending: 0))
        #expect(try decodedRows(db, "pbd").map(\.json) == (0..<5).map { #"{"order_id":\#($0)}"# })
    }
}
