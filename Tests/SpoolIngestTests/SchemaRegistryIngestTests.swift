@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolDecode
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// Records produced by confluent-kafka's real AvroSerializer and JSONSerializer through a
/// Confluent-compatible registry, captured with `--schema-registry`: decoded JSON field by field,
/// schema changes, references, bad records, and a registry that is down.
@Suite("Schema Registry: decoded at capture", .serialized, .timeLimit(.minutes(3)))
struct SchemaRegistryIngestTests {
    static let everything = """
        {"type":"record","name":"Everything","namespace":"com.acme","fields":[
         {"name":"n","type":"null"},{"name":"flag","type":"boolean"},{"name":"i","type":"int"},{"name":"big","type":"long"},
         {"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"raw","type":"bytes"},
         {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
         {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
         {"name":"list","type":{"type":"array","items":"int"}},{"name":"attrs","type":{"type":"map","values":"string"}},
         {"name":"maybe","type":["null","string"]},{"name":"choice","type":["null","long","string"]},
         {"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"country","type":"string"}]}},
         {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
         {"name":"id","type":{"type":"string","logicalType":"uuid"}},{"name":"day","type":{"type":"int","logicalType":"date"}},
         {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},{"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
         {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
         {"name":"tsu","type":{"type":"long","logicalType":"timestamp-micros"}},
         {"name":"chain","type":{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}}]}
        """

    /// Two records (as kafka_tool's tagged JSON) and the JSON Spool must store for each.
    static let everythingRecords: [(input: String, expected: String)] = [
        (#"""
         {"key": "k1", "value": {"n": null, "flag": true, "i": -7, "big": 9007199254740993, "f": 0.5, "d": 3.141592653589793,
          "s": "quote \" back \\ nl\n ünï", "raw": {"$bytes": "AP8="}, "fx": {"$bytes": "AQIDBA=="}, "color": "GREEN",
          "list": [1, 2, 3], "attrs": {"a": "x"}, "maybe": null, "choice": 42, "customer": {"country": "DE"},
          "price": {"$decimal": "-12.34"}, "id": {"$uuid": "6f1c2f1e-8a3b-4c5d-9e7f-0123456789ab"}, "day": {"$date": "2024-02-29"},
          "tm": {"$time_millis": "12:34:56.789"}, "tu": {"$time_micros": "01:02:03.000004"},
          "ts": {"$timestamp_millis": "2024-01-31T12:34:56.789Z"}, "tsu": {"$timestamp_micros": "1969-12-31T23:59:59.999999Z"},
          "chain": {"v": 1, "next": {"v": 2, "next": null}}}}
         """#,
         #"""
         {"n":null,"flag":true,"i":-7,"big":9007199254740993,"f":0.5,"d":3.141592653589793,"s":"quote \" back \\ nl\n ünï","raw":"AP8=","fx":"AQIDBA==","color":"GREEN","list":[1,2,3],"attrs":{"a":"x"},"maybe":null,"choice":42,"customer":{"country":"DE"},"price":"-12.34","id":"6f1c2f1e-8a3b-4c5d-9e7f-0123456789ab","day":"2024-02-29","tm":"12:34:56.789","tu":"01:02:03.000004","ts":"2024-01-31T12:34:56.789Z","tsu":"1969-12-31T23:59:59.999999Z","chain":{"v":1,"next":{"v":2,"next":null}}}
         """#),
        (#"""
         {"key": "k2", "value": {"n": null, "flag": false, "i": 2147483647, "big": -9223372036854775808, "f": {"$float": "-Infinity"},
          "d": {"$float": "NaN"}, "s": "", "raw": {"$bytes": ""}, "fx": {"$bytes": "AAAAAA=="}, "color": "RED", "list": [],
          "attrs": {}, "maybe": "hi", "choice": "text", "customer": {"country": "JP"}, "price": {"$decimal": "0.05"},
          "id": "00000000-0000-0000-0000-000000000000", "day": {"$date": "1969-12-31"}, "tm": {"$time_millis": "00:00:00"},
          "tu": {"$time_micros": "23:59:59.999999"}, "ts": {"$timestamp_millis": "1970-01-01T00:00:00Z"},
          "tsu": {"$timestamp_micros": "2038-01-19T03:14:08.000001Z"}, "chain": {"v": 3, "next": null}}}
         """#,
         #"""
         {"n":null,"flag":false,"i":2147483647,"big":-9223372036854775808,"f":"-Infinity","d":"NaN","s":"","raw":"","fx":"AAAAAA==","color":"RED","list":[],"attrs":{},"maybe":"hi","choice":"text","customer":{"country":"JP"},"price":"0.05","id":"00000000-0000-0000-0000-000000000000","day":"1969-12-31","tm":"00:00:00.000","tu":"23:59:59.999999","ts":"1970-01-01T00:00:00.000Z","tsu":"2038-01-19T03:14:08.000001Z","chain":{"v":3,"next":null}}
         """#),
    ]

    private func options(_ cluster: MockKafkaCluster, _ topic: String, registry: String?, settings: [String: String] = [:],
                         keyed: [String: KeyedMode] = [:]) throws -> IngestOptions {
        var options = IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest(topic)], batchSize: 5, pollTimeoutMs: 50)
        options.schemaRegistry = try registry.map { try SchemaRegistryConfig(url: $0, settings: settings) }
        options.schemaFirstWait = .seconds(5)
        options.keyed = keyed
        return options
    }

    /// (value_json, decode_state) of every record of `topic`, in offset order of partition 0.
    private func decodedRows(_ db: String, _ topic: String) throws -> [(json: String?, state: String?)] {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare("SELECT value_json, decode_state FROM messages WHERE topic = ?1 ORDER BY partition, offset")
        query.bind(1, topic)
        var rows: [(String?, String?)] = []
        while try query.step() { rows.append((query.text(0), query.text(1))) }
        return rows
    }

    @Test func everyAvroTypeBecomesPlainJSON() throws {
        let scenario = try MockScenario()
        let db = scenario.file("avro.sqlite")
        try scenario.cluster.createTopic("orders", partitions: 1)
        let registry = try SchemaRegistryServer()
        let produced = try KafkaTool.produceSR("orders", brokers: scenario.brokers, registry: registry.url, format: .avro,
                                               schema: Self.everything, records: Self.everythingRecords.map { $0.input.replacing("\n", with: " ") })
        #expect(produced.count == 2)
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "orders", registry: registry.url), logger: quietLogger()).run()
        #expect(summary.decoding.decoded == 2 && summary.decoding.pending == 0 && summary.decoding.failed == 0)
        let rows = try decodedRows(db, "orders")
        #expect(rows.map(\.json) == Self.everythingRecords.map(\.expected))
        #expect(rows.map(\.state) == ["decoded", "decoded"])
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        // Field by field through SQLite's own JSON functions, as a user would query them.
        #expect(try store.connection.integer("SELECT value_json ->> '$.big' FROM orders WHERE offset = 0") == 9_007_199_254_740_993)
        #expect(try store.connection.text("SELECT value_json ->> '$.customer.country' FROM orders WHERE offset = 1") == "JP")
        #expect(try store.connection.text("SELECT value_json ->> '$.chain.next.v' FROM orders WHERE offset = 0") == "2")
        #expect(try store.connection.text("SELECT value_json ->> '$.price' FROM orders WHERE offset = 0") == "-12.34")
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE json_valid(value_json)") == 2)
        let schemas = try store.decoding.storedSchemas()
        #expect(schemas.map(\.id) == [produced[0].valueSchemaID].compactMap { $0 })
        #expect(schemas.first?.registry == registry.url && schemas.first?.type == "AVRO")
        #expect(try store.decoding.status() == [DecodeStatus(topic: "orders", decoded: 2, pending: 0, failed: 0, firstError: nil)])
        #expect(try store.verify().isSound)
    }

    @Test func schemaChangesReferencesJSONSchemaAndBadRecords() throws {
        let scenario = try MockScenario()
        let db = scenario.file("mixed.sqlite")
        try scenario.cluster.createTopic("mixed", partitions: 1)
        let registry = try SchemaRegistryServer(user: "spool", password: "s3cret-pw")
        let creds = (user: "spool", password: "s3cret-pw")
        let address = #"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"zip","type":"string"}]}"#
        let addressID = try KafkaTool.registerSchema("address", schema: address, registry: registry.url, user: creds.user, password: creds.password).id
        let v1 = #"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"home","type":"com.acme.Address"}]}"#
        let v2 = #"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"home","type":"com.acme.Address"},{"name":"age","type":["null","int"],"default":null}]}"#
        let brokers = scenario.brokers
        let first = try KafkaTool.produceSR("mixed", brokers: brokers, registry: registry.url, format: .avro, schema: v1,
                                            records: [#"{"key":"a","value":{"name":"Ann","home":{"zip":"10115"}}}"#],
                                            references: ["com.acme.Address=address:1"], user: creds.user, password: creds.password)
        let second = try KafkaTool.produceSR("mixed", brokers: brokers, registry: registry.url, format: .avro, schema: v2,
                                             records: [#"{"key":"b","value":{"name":"Bo","home":{"zip":"75001"},"age":41}}"#],
                                             references: ["com.acme.Address=address:1"], user: creds.user, password: creds.password)
        let jsonSchema = #"{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"}}}"#
        let third = try KafkaTool.produceSR("mixed", brokers: brokers, registry: registry.url, format: .json, schema: jsonSchema,
                                            records: [#"{"key":"c","value":{"sku":"X-1","qty":3}}"#], user: creds.user, password: creds.password)
        let good = try #require(first.first?.valueHex)
        let truncated = String(good.dropLast(4))
        let unknownID = "00000003e7" + "0641" // schema id 999, then a few Avro bytes
        let plain = Array("not framed".utf8).map { String(format: "%02x", $0) }.joined()
        let badJSONID = try #require(third.first?.valueSchemaID)
        let badJSON = String(format: "00%08x", badJSONID) + Array("{\"sku\":".utf8).map { String(format: "%02x", $0) }.joined()
        _ = try KafkaTool.produceSR("mixed", brokers: brokers, registry: registry.url, format: .avro, schema: v1,
                                    records: [unknownID, truncated, plain, badJSON].map { #"{"key":"z","raw_value_hex":"\#($0)"}"# },
                                    references: ["com.acme.Address=address:1"], user: creds.user, password: creds.password)
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "mixed", registry: registry.url,
                                                                            settings: ["basic.auth.user.info": "spool:s3cret-pw"]),
                                         logger: quietLogger()).run()
        #expect(summary.decoding == { var c = DecodeCounts(); c.decoded = 3; c.failed = 3; return c }())
        let rows = try decodedRows(db, "mixed")
        #expect(rows.map(\.json) == [#"{"name":"Ann","home":{"zip":"10115"}}"#, #"{"name":"Bo","home":{"zip":"75001"},"age":41}"#,
                                     #"{"sku":"X-1","qty":3}"#, nil, nil, nil, nil])
        #expect(rows.map(\.state) == ["decoded", "decoded", "decoded", "failed", "failed", nil, "failed"])
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let status = try #require(try store.decoding.status().first)
        #expect(status.decoded == 3 && status.failed == 3 && status.pending == 0)
        #expect(status.firstError?.contains("schema id 999") == true, "\(status.firstError ?? "nil")")
        let schemas = try store.decoding.storedSchemas()
        let ids = Set([addressID, first[0].valueSchemaID, second[0].valueSchemaID, third[0].valueSchemaID].compactMap { $0 })
        #expect(Set(schemas.map(\.id)) == ids && ids.count == 4)
        let person = try #require(schemas.first { $0.id == first[0].valueSchemaID })
        #expect(person.referencesJSON == #"[{"name":"com.acme.Address","subject":"address","version":1,"id":\#(addressID)}]"#)
        #expect(schemas.first { $0.id == third[0].valueSchemaID }?.type == "JSON")
        #expect(!schemas.contains { $0.registry.contains("s3cret") })
    }

    @Test func aRegistryThatIsDownLeavesRecordsPendingUntilDecode() throws {
        let scenario = try MockScenario()
        let db = scenario.file("down.sqlite")
        try scenario.cluster.createTopic("events", partitions: 2)
        var registry = try SchemaRegistryServer(stateFile: scenario.file("registry.json"))
        let url = registry.url
        let schema = #"{"type":"record","name":"Event","fields":[{"name":"n","type":"long"}]}"#
        _ = try KafkaTool.produceSR("events", brokers: scenario.brokers, registry: url, format: .avro, schema: schema,
                                    records: (0..<6).map { #"{"key":"k\#($0)","value":{"n":\#($0)}}"# })
        registry.stop()
        let down = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "events", registry: url), logger: quietLogger()).run()
        #expect(down.storedTotal == 6)
        #expect(down.decoding.pending == 6 && down.decoding.decoded == 0)
        #expect(try decodedRows(db, "events").allSatisfy { $0.json == nil && $0.state == "pending" })
        do {
            let store = try SpoolStore.openForReading(path: db)
            defer { store.close() }
            #expect(try store.decoding.status() == [DecodeStatus(topic: "events", decoded: 0, pending: 6, failed: 0, firstError: nil)])
        }
        registry = try registry.restart()
        let store = try SpoolStore.openForWriting(path: db)
        let catalog = SchemaCatalog(client: SchemaRegistryClient(config: try SchemaRegistryConfig(url: url, settings: [:])), stored: [])
        var decoder = PendingDecoder(store: store, decoder: BatchDecoder(catalog: catalog), waitForSchemas: true)
        decoder.chunkSize = 4
        let outcome = try decoder.run()
        store.close()
        #expect(outcome == PendingDecoder.Outcome(decoded: 6, failed: 0, stillPending: 0))
        let rows = try decodedRows(db, "events")
        #expect(Set(rows.compactMap(\.json)) == Set((0..<6).map { #"{"n":\#($0)}"# }))
        #expect(rows.allSatisfy { $0.state == "decoded" })
        let reader = try SpoolStore.openForReading(path: db)
        defer { reader.close() }
        #expect(try reader.decoding.status() == [DecodeStatus(topic: "events", decoded: 6, pending: 0, failed: 0, firstError: nil)])
        #expect(try reader.decoding.storedSchemas().count == 1)
        #expect(try reader.verify().isSound)
    }

    @Test func storedSchemasDecodeWithoutTheRegistryAndFeedTheLatestTable() throws {
        let scenario = try MockScenario()
        let db = scenario.file("offline.sqlite")
        try scenario.cluster.createTopic("prices", partitions: 1)
        let registry = try SchemaRegistryServer()
        let url = registry.url
        let schema = #"{"type":"record","name":"Price","fields":[{"name":"cents","type":"long"}]}"#
        _ = try KafkaTool.produceSR("prices", brokers: scenario.brokers, registry: url, format: .avro, schema: schema,
                                    records: [#"{"key":"apple","value":{"cents":100}}"#])
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "prices", registry: url, keyed: ["prices": .latest]),
                               logger: quietLogger()).run()
        _ = try KafkaTool.produceSR("prices", brokers: scenario.brokers, registry: url, format: .avro, schema: schema,
                                    records: [#"{"key":"apple","value":{"cents":120}}"#, #"{"key":"pear","value":{"cents":80}}"#])
        registry.stop()
        // The schema id is in the file: the registry being gone does not matter.
        let again = try IngestPipeline(databasePath: db, options: options(scenario.cluster, "prices", registry: url), logger: quietLogger()).run()
        #expect(again.decoding.decoded == 2 && again.decoding.pending == 0)
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare(#"SELECT CAST(key AS TEXT), value_json, decode_state FROM "prices:latest" ORDER BY 1"#)
        var latest: [String] = []
        while try query.step() { latest.append("\(query.text(0) ?? "")=\(query.text(1) ?? "NULL")/\(query.text(2) ?? "NULL")") }
        #expect(latest == [#"apple={"cents":120}/decoded"#, #"pear={"cents":80}/decoded"#])
        #expect(try store.verify().isSound)
    }
}
