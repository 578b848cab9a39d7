@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// Records whose schema GUID is in a `__value_schema_id` header (confluent-kafka's
/// `header_schema_id_serializer`) through the `spool` binary: captured while the registry is
/// down (pending, and `spool verify` accepts their state), then finished by `spool decode`.
@Suite("spool and schema ids in headers", .serialized, .timeLimit(.minutes(3)))
struct HeaderSchemaIDBinaryTests {
    static let refund = """
        syntax = "proto3";
        package pay;
        message Refund { int64 order_id = 1; string reason = 2; }
        """
    static let person = #"{"type":"record","name":"Person","fields":[{"name":"name","type":"string"}]}"#

    @Test func pendingThenSpoolDecode() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("pay", partitions: 1)
        var registry = try SchemaRegistryServer(stateFile: scenario.file("registry.json"))
        let brokers = scenario.brokers
        let refunds = try KafkaTool.produceSR("pay", brokers: brokers, registry: registry.url, format: .protobuf, schema: Self.refund,
                                              records: (0..<50).map { #"{"key": "r\#($0)", "value": {"order_id": "\#($0)", "reason": "late"}}"# },
                                              message: "Refund", schemaIDInHeader: true)
        let people = try KafkaTool.produceSR("pay", brokers: brokers, registry: registry.url, format: .avro, schema: Self.person,
                                             records: [#"{"key": "p", "value": {"name": "Ann"}}"#], schemaIDInHeader: true)
        #expect((refunds + people).allSatisfy { $0.valueSchemaID == nil }, "the payloads are not framed")
        registry.stop()
        let settings = ["-S", "max.retries=0", "-S", "request.timeout.ms=1000"]
        let ingest = try SpoolProcess.run(["ingest", "--brokers", brokers, "--topic", "pay", "--db", "pay.sqlite",
                                           "--schema-registry", registry.url] + settings, directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let status = try SpoolProcess.run(["status", "pay.sqlite", "--format", "json"], directory: scenario.directory.path)
        #expect(status.stdout.contains("\"pending\":51"), "\(status.stdout)")
        let verify = try SpoolProcess.run(["verify", "pay.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0, "a pending state on unframed records with a schema-id header is sound: \(verify.output)")
        registry = try registry.restart()
        let decode = try SpoolProcess.run(["decode", "pay.sqlite", "--schema-registry", registry.url, "--chunk-size", "20"] + settings,
                                          directory: scenario.directory.path)
        #expect(decode.status == 0 && decode.stdout.contains("decoded 51 record(s), 0 failed, 0 still pending"), "\(decode.output)")
        let store = try SpoolStore.openForReading(path: scenario.file("pay.sqlite"))
        defer { store.close() }
        let query = try store.connection.prepare("SELECT value_json FROM messages ORDER BY offset")
        var values: [String?] = []
        while try query.step() { values.append(query.text(0)) }
        #expect(values == (0..<50).map { #"{"order_id":\#($0),"reason":"late"}"# } + [#"{"name":"Ann"}"#])
        #expect(try store.connection.integer("SELECT count(*) FROM schema_guids") == 2)
    }
}
