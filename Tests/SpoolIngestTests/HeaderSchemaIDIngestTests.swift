@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolDecode
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// Records whose schema is named in a `__key_schema_id` / `__value_schema_id` header (Confluent
/// Platform 8: a version byte 1 and the schema's GUID, for Protobuf then the message indexes)
/// with an unframed payload, produced by confluent-kafka's own serializers with its
/// `header_schema_id_serializer`, captured with `--schema-registry`.
@Suite("Schema Registry: schema ids in headers", .serialized, .timeLimit(.minutes(3)))
struct HeaderSchemaIDIngestTests {
    static let person = #"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"age","type":["null","int"],"default":null}]}"#
    static let personKey = #"{"type":"record","name":"PersonKey","namespace":"com.acme","fields":[{"name":"id","type":"long"}]}"#
    static let item = #"{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"}}}"#
    /// Order is [0]; its map's entry type is nested type 0, so Line is [0, 1].
    static let order = """
        syntax = "proto3";
        package hdr;
        message Order {
          int64 id = 1;
          map<string, int32> counts = 2;
          message Line { string sku = 1; }
          repeated Line lines = 3;
        }
        """

    private func options(_ cluster: MockKafkaCluster, _ topic: String, registry: String) throws -> IngestOptions {
        var options = IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest(topic)], batchSize: 5, pollTimeoutMs: 50)
        options.schemaRegistry = try SchemaRegistryConfig(url: registry, settings: ["max.retries": "0", "request.timeout.ms": "1000"])
        options.schemaFirstWait = .seconds(5)
        return options
    }

    private func rows(_ db: String, _ topic: String) throws -> [(key: String?, value: String?, state: String?, headers: String?)] {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare("""
            SELECT key_json, value_json, decode_state, headers FROM messages WHERE topic = ?1 ORDER BY partition, offset
            """)
        query.bind(1, topic)
        var rows: [(String?, String?, String?, String?)] = []
        while try query.step() { rows.append((query.text(0), query.text(1), query.text(2), query.text(3))) }
        return rows
    }

    /// Produces an Avro record with an Avro key, a JSON Schema record and two Protobuf records
    /// (messages [0] and [0, 1]), every schema named in a header; returns the delivery reports.
    private func produceAll(_ topic: String, _ cluster: MockKafkaCluster, _ registry: String) throws -> [SRProducedRecord] {
        let brokers = cluster.bootstrapServers
        var produced = try KafkaTool.produceSR(topic, brokers: brokers, registry: registry, format: .avro, schema: Self.person,
                                               records: [#"{"key": {"id": 5}, "value": {"name": "Ann", "age": 41}}"#],
                                               keySchema: (Self.personKey, .avro), schemaIDInHeader: true)
        produced += try KafkaTool.produceSR(topic, brokers: brokers, registry: registry, format: .json, schema: Self.item,
                                            records: [#"{"key": "j", "value": {"sku": "X-1", "qty": 3}}"#], schemaIDInHeader: true)
        produced += try KafkaTool.produceSR(topic, brokers: brokers, registry: registry, format: .protobuf, schema: Self.order,
                                            records: [#"{"key": "o", "value": {"id": "12", "counts": {"b": 2}, "lines": [{"sku": "S"}]}}"#],
                                            message: "Order", schemaIDInHeader: true)
        produced += try KafkaTool.produceSR(topic, brokers: brokers, registry: registry, format: .protobuf, schema: Self.order,
                                            records: [#"{"key": "l", "value": {"sku": "L"}}"#], message: "Order.Line", schemaIDInHeader: true)
        return produced
    }

    @Test func everyFormatDecodedFromItsHeader() throws {
        let scenario = try MockScenario()
        let db = scenario.file("hdr.sqlite")
        try scenario.cluster.createTopic("hdr", partitions: 1)
        let registry = try SchemaRegistryServer()
        let produced = try produceAll("hdr", scenario.cluster, registry.url)
        #expect(produced.allSatisfy { $0.valueSchemaID == nil && $0.valueBytes?.first != 0 }, "the payloads are not framed")
        let brokers = scenario.brokers
        // A header that is not Confluent's (version byte 2), and one naming a GUID the registry does not have.
        _ = try KafkaTool.produceSR("hdr", brokers: brokers, registry: registry.url, format: .json, schema: Self.item,
                                    records: [#"{"key": "x", "raw_value_hex": "7b7d"}"#], headers: ["__value_schema_id:hex=02aa"])
        _ = try KafkaTool.produceSR("hdr", brokers: brokers, registry: registry.url, format: .json, schema: Self.item,
                                    records: [#"{"key": "y", "raw_value_hex": "7b7d"}"#],
                                    headers: ["__value_schema_id:hex=01" + String(repeating: "0", count: 31) + "1"])
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "hdr", registry: registry.url), logger: quietLogger()).run()
        #expect(summary.decoding.decoded == 4 && summary.decoding.failed == 2 && summary.decoding.pending == 0)

        let stored = try rows(db, "hdr")
        #expect(stored.map(\.state) == ["decoded", "decoded", "decoded", "decoded", "failed", "failed"])
        #expect(stored[0].key == #"{"id":5}"#)
        #expect(stored[0].value == #"{"name":"Ann","age":41}"#)
        #expect(stored[0].headers?.contains("__key_schema_id") == true && stored[0].headers?.contains("__value_schema_id") == true)
        #expect(stored[1].key == nil, "a string key is not decoded")
        #expect(stored[2].value == #"{"id":12,"counts":{"b":2},"lines":[{"sku":"S"}]}"#)
        #expect(stored[3].value == #"{"sku":"L"}"#)
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        #expect(try store.connection.text("SELECT value_json ->> '$.sku' FROM hdr WHERE offset = 1") == "X-1")
        #expect(try store.connection.integer("SELECT value_json ->> '$.qty' FROM hdr WHERE offset = 1") == 3)
        let firstError = try #require(try store.decoding.status().first?.firstError)
        #expect(firstError.contains("the schema-id header is not Confluent's") && firstError.contains("version byte is 2"), "\(firstError)")
        #expect(try store.connection.integer("SELECT failed FROM decode_stats") == 2)
        // Each schema is kept by its GUID: Avro key and value, JSON Schema, the .proto (both messages).
        let schemas = try store.decoding.storedSchemas()
        #expect(schemas.count == 4 && schemas.allSatisfy { $0.guid != nil && $0.id == 0 }, "\(schemas.map { ($0.type, $0.guid) })")
        #expect(schemas.map(\.type).sorted() == ["AVRO", "AVRO", "JSON", "PROTOBUF"])
        #expect(try store.connection.integer("SELECT count(*) FROM schema_guids") == 4)
        #expect(try store.connection.integer("SELECT count(*) FROM schemas") == 0)
        #expect(try store.verify().isSound, "a decode_state on unframed records with a schema-id header is sound")
    }

    @Test func pendingRecordsDecodeLaterFromTheirHeadersAndOffline() throws {
        let scenario = try MockScenario()
        let db = scenario.file("later.sqlite")
        try scenario.cluster.createTopic("later", partitions: 1)
        var registry = try SchemaRegistryServer(stateFile: scenario.file("registry.json"))
        let url = registry.url
        _ = try produceAll("later", scenario.cluster, url)
        registry.stop()
        let down = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "later", registry: url), logger: quietLogger()).run()
        #expect(down.decoding.pending == 4 && down.decoding.decoded == 0)
        #expect(try rows(db, "later").allSatisfy { $0.state == "pending" })
        registry = try registry.restart()
        let store = try SpoolStore.openForWriting(path: db)
        let catalog = SchemaCatalog(client: SchemaRegistryClient(config: try SchemaRegistryConfig(url: url, settings: [:])), stored: [])
        let outcome = try PendingDecoder(store: store, decoder: BatchDecoder(catalog: catalog), waitForSchemas: true).run()
        let kept = try store.decoding.storedSchemas()
        store.close()
        #expect(outcome == PendingDecoder.Outcome(decoded: 4, failed: 0, stillPending: 0))
        let stored = try rows(db, "later")
        #expect(stored.map(\.value) == [#"{"name":"Ann","age":41}"#, stored[1].value, #"{"id":12,"counts":{"b":2},"lines":[{"sku":"S"}]}"#, #"{"sku":"L"}"#])
        #expect(stored[1].value?.contains("X-1") == true)
        // Offline: the kept schemas alone decode by GUID.
        registry.stop()
        let offline = SchemaCatalog(client: nil, stored: kept)
        let protobuf = try #require(kept.first { $0.type == "PROTOBUF" })
        guard case .ready(.protobuf) = offline.lookup(protobuf.schemaKey) else {
            Issue.record("the stored Protobuf schema (guid \(protobuf.guid ?? "-")) is not ready offline")
            return
        }
        #expect(kept.count == 4)
    }
}
