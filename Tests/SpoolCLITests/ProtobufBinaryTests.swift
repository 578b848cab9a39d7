@_spi(MockCluster) import SpoolScenarioSupport
@_spi(MockCluster) import SpoolSampleData
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolCLI
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// Protobuf through the `spool` binary: records of confluent-kafka's ProtobufSerializer captured
/// with `spool ingest --schema-registry`, a registry that is down during the capture and then
/// `spool decode`, and exactly once after `kill -9`.
@Suite("spool and Protobuf payloads", .serialized, .timeLimit(.minutes(3)))
struct ProtobufBinaryTests {
    static let common = """
        syntax = "proto3";
        package common;
        message Money { int64 cents = 1; string currency = 2; }
        """

    /// Order is message [0] (its map's entry type is nested type 0, so Line is [0, 1]), Refund [1].
    static let shop = """
        syntax = "proto3";
        package shop;
        import "google/protobuf/timestamp.proto";
        import "common.proto";
        message Order {
          int64 id = 1;
          map<string, int32> counts = 2;
          message Line { string sku = 1; uint32 qty = 2; }
          repeated Line lines = 3;
          google.protobuf.Timestamp at = 4;
          common.Money total = 5;
          oneof payment { string card = 6; int32 voucher = 7; }
        }
        message Refund { int64 order_id = 1; }
        """

    private static func produce(_ topic: String, _ cluster: MockKafkaCluster, _ registry: SchemaRegistryServer, message: String,
                                _ records: [String]) throws -> [SRProducedRecord] {
        try KafkaTool.produceSR(topic, brokers: cluster.bootstrapServers, registry: registry.url, format: .protobuf, schema: shop,
                                records: records, partition: 0, message: message, imports: ["common.proto": common],
                                user: registry.user, password: registry.password)
    }

    /// `count` bench Protobuf records over 3 partitions (record i in partition i % 3), framed
    /// with the id the bench schema's serialized descriptor gets in a fresh registry.
    static func produceBench(_ cluster: MockKafkaCluster, topic: String, count: Int, registry: SchemaRegistryServer) throws {
        let id = try KafkaTool.registerSchema("\(topic)-value", schema: BenchProtobufRecord.serializedDescriptorBase64,
                                              schemaType: "PROTOBUF", registry: registry.url, user: registry.user,
                                              password: registry.password).id
        try #require(id == BenchProtobufRecord.schemaID, "a fresh registry gives the first schema id 1")
        try cluster.createTopic(topic, partitions: 3)
        for start in stride(from: 0, to: count, by: 20_000) {
            try cluster.produce(topic: topic, (start..<min(start + 20_000, count)).map { index in
                MockMessage(partition: Int32(index % 3), key: Array("k\(index)".utf8), value: BenchProtobufRecord.framed(index),
                            timestamp: 1_700_000_000_000 + Int64(index))
            })
        }
    }

    private static func valueJSON(_ db: String, topic: String) throws -> [(json: String?, state: String?)] {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare("SELECT value_json, decode_state FROM messages WHERE topic = ?1 ORDER BY partition, offset")
        query.bind(1, topic)
        var rows: [(String?, String?)] = []
        while try query.step() { rows.append((query.text(0), query.text(1))) }
        return rows
    }

    @Test func capturedAndDecodedByTheBinary() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("shop", partitions: 1)
        let registry = try SchemaRegistryServer(user: "u", password: "pb-secret-1")
        let orders = try Self.produce("shop", scenario.cluster, registry, message: "Order", [
            #"{"key": "a", "value": {"id": "12", "counts": {"y": 2, "x": 1}, "lines": [{"sku": "S1", "qty": 4294967295}], "at": "2024-01-31T12:34:56Z", "total": {"cents": "-250", "currency": "EUR"}, "voucher": 3}}"#,
            #"{"key": "b", "value": {}}"#,
        ])
        let id = try #require(orders.first?.valueSchemaID)
        _ = try Self.produce("shop", scenario.cluster, registry, message: "Order.Line", [#"{"key": "c", "value": {"sku": "L"}}"#])
        _ = try Self.produce("shop", scenario.cluster, registry, message: "Refund", [
            #"{"key": "d", "value": {"order_id": "-7"}}"#,
            #"{"key": "e", "raw_value_hex": "\#(String(format: "00%08x", id))02020a"}"#,  // Refund, then a field that ends early
        ])
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "shop", "--db", "shop.sqlite",
                                           "--schema-registry", registry.url, "-S", "basic.auth.user.info=u:pb-secret-1"],
                                          directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        #expect(!ingest.output.contains("pb-secret-1"))
        let rows = try Self.valueJSON(scenario.file("shop.sqlite"), topic: "shop")
        #expect(rows.map(\.state) == ["decoded", "decoded", "decoded", "decoded", "failed"])
        #expect(rows.map(\.json) == [
            #"{"id":12,"counts":{"x":1,"y":2},"lines":[{"sku":"S1","qty":4294967295}],"at":"2024-01-31T12:34:56Z","#
                + #""total":{"cents":-250,"currency":"EUR"},"voucher":3}"#,
            #"{"id":0,"counts":{},"lines":[],"at":null,"total":null}"#,
            #"{"sku":"L","qty":0}"#,
            #"{"order_id":-7}"#,
            nil,
        ])
        let status = try SpoolProcess.run(["status", "shop.sqlite", "--format", "json"], directory: scenario.directory.path)
        #expect(status.status == 0 && status.stdout.contains("\"decoded\":4") && status.stdout.contains("\"failed\":1"), "\(status.stdout)")
        let failure = try SpoolProcess.run(["query", "shop.sqlite", "SELECT first_error FROM decode_stats"], directory: scenario.directory.path)
        #expect(failure.stdout.contains("value (schema id \(id)): the bytes are not a valid shop.Refund message"), "\(failure.stdout)")
        let query = try SpoolProcess.run(["query", "shop.sqlite", "SELECT value_json ->> '$.total.currency' AS c, value_json ->> '$.lines[0].qty' AS q FROM shop WHERE offset = 0",
                                          "--format", "csv"], directory: scenario.directory.path)
        #expect(query.status == 0 && query.stdout.contains("EUR,4294967295"), "\(query.output)")
        let verify = try SpoolProcess.run(["verify", "shop.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0, "\(verify.output)")
        let store = try SpoolStore.openForReading(path: scenario.file("shop.sqlite"))
        defer { store.close() }
        let schemas = try store.decoding.storedSchemas()
        #expect(schemas.map(\.type) == ["PROTOBUF", "PROTOBUF"] && schemas.allSatisfy { $0.serialized != nil },
                "the schema and its reference common.proto, each with its serialized descriptor")
    }

    @Test func aRegistryDownDuringTheCaptureThenSpoolDecode() throws {
        let scenario = try MockScenario()
        let db = scenario.file("later.sqlite")
        try scenario.cluster.createTopic("later", partitions: 1)
        var registry = try SchemaRegistryServer(user: "u", password: "pb-decode-pw", stateFile: scenario.file("registry.json"))
        let records = (0..<300).map { #"{"key": "k\#($0)", "value": {"order_id": "\#($0)"}}"# }
        _ = try Self.produce("later", scenario.cluster, registry, message: "Refund", records)
        registry.stop()
        let credentials = ["-S", "basic.auth.user.info=u:pb-decode-pw", "-S", "max.retries=0", "-S", "request.timeout.ms=1000"]
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "later", "--db", "later.sqlite",
                                           "--schema-registry", registry.url] + credentials, directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        #expect(ingest.stderr.contains(registry.url) && !ingest.output.contains("pb-decode-pw"), "\(ingest.stderr)")
        #expect(try Self.valueJSON(db, topic: "later").allSatisfy { $0.state == "pending" && $0.json == nil })
        let down = try SpoolProcess.run(["decode", "later.sqlite", "--schema-registry", registry.url] + credentials, directory: scenario.directory.path)
        #expect(down.status == 4, "\(down.output)")
        registry = try registry.restart()
        let decode = try SpoolProcess.run(["decode", "later.sqlite", "--schema-registry", registry.url, "--chunk-size", "64"] + credentials,
                                          directory: scenario.directory.path)
        #expect(decode.status == 0, "\(decode.output)")
        #expect(decode.stdout.contains("decoded 300 record(s), 0 failed, 0 still pending"), "\(decode.stdout)")
        let rows = try Self.valueJSON(db, topic: "later")
        #expect(rows.map(\.json) == (0..<300).map { #"{"order_id":\#($0)}"# })
        #expect(rows.allSatisfy { $0.state == "decoded" })
        let verify = try SpoolProcess.run(["verify", "later.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func decodedExactlyOnceAfterKillNineAndResume() throws {
        let scenario = try MockScenario()
        let db = scenario.file("k.sqlite")
        let registry = try SchemaRegistryServer()
        try Self.produceBench(scenario.cluster, topic: "orders", count: 45_000, registry: registry)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "orders", "--db", "k.sqlite",
                         "--schema-registry", registry.url, "--batch-size", "300", "--quiet"]
        try ingestKilledThenResumed(arguments, killedAt: [4_000, 17_000, 33_000], directory: scenario.directory.path, db: db, topic: "orders", count: 45_000)
        try SchemaRegistryBinaryTests.expectAllDecoded(db, topic: "orders", count: 45_000)
        // Beyond the order id: each row holds its own record's fields.
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let mismatched = try store.connection.integer("""
            SELECT count(*) FROM messages WHERE value_json ->> '$.created_at' IS NOT 1700000000000 + offset * 3 + partition
                OR value_json ->> '$.quantity' IS NOT 1 + (offset * 3 + partition) % 9
            """)
        #expect(mismatched == 0, "rows whose JSON is not their own record's")
        #expect(try store.decoding.storedSchemas().map(\.type) == ["PROTOBUF"])
    }
}
