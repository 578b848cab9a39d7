@_spi(MockCluster) import SpoolScenarioSupport
@_spi(MockCluster) @testable import SpoolSampleData
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolCLI
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `spool ingest --schema-registry` and `spool decode` through the binary: exactly once after
/// `kill -9`, refused credentials, and pending records finished later.
@Suite("spool and the Schema Registry", .serialized, .timeLimit(.minutes(3)))
struct SchemaRegistryBinaryTests {
    /// `count` bench Avro records over 3 partitions (record i in partition i % 3), framed with
    /// the id `BenchAvroRecord.schema` gets in a fresh registry.
    static func produceAvro(_ cluster: MockKafkaCluster, topic: String, count: Int, registry: SchemaRegistryServer) throws {
        let id = try KafkaTool.registerSchema("\(topic)-value", schema: BenchAvroRecord.schema, registry: registry.url,
                                              user: registry.user, password: registry.password).id
        try #require(id == BenchAvroRecord.schemaID, "a fresh registry gives the first schema id 1")
        try cluster.createTopic(topic, partitions: 3)
        try cluster.produce(topic: topic, (0..<count).map { index in
            MockMessage(partition: Int32(index % 3), key: Array("k\(index)".utf8), value: BenchAvroRecord.framed(index),
                        timestamp: 1_700_000_000_000 + Int64(index))
        })
    }

    /// Checks every record of `topic` is decoded once, its order id matching its position.
    static func expectAllDecoded(_ db: String, topic: String, count: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE decode_state = 'decoded'") == Int64(count),
                sourceLocation: sourceLocation)
        let mismatched = try store.connection.integer("""
            SELECT count(*) FROM messages
            WHERE value_json ->> '$.order_id' IS NOT printf('order-%010d', offset * 3 + partition)
            """)
        #expect(mismatched == 0, "records whose JSON is not their own", sourceLocation: sourceLocation)
        #expect(try store.decoding.status() == [DecodeStatus(topic: topic, decoded: Int64(count), pending: 0, failed: 0, firstError: nil)],
                sourceLocation: sourceLocation)
        #expect(try store.verify().isSound, sourceLocation: sourceLocation)
    }

    @Test func decodedExactlyOnceAfterKillNineAndResume() throws {
        let scenario = try MockScenario()
        let db = scenario.file("a.sqlite")
        let registry = try SchemaRegistryServer()
        try Self.produceAvro(scenario.cluster, topic: "orders", count: 45_000, registry: registry)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "orders", "--db", "a.sqlite",
                         "--schema-registry", registry.url, "--batch-size", "300", "--quiet"]
        try ingestKilledThenResumed(arguments, killedAt: [4_000, 17_000, 33_000], directory: scenario.directory.path, db: db, topic: "orders", count: 45_000)
        try Self.expectAllDecoded(db, topic: "orders", count: 45_000)
    }

    @Test func refusedCredentialsExitTwoWithoutTheSecret() throws {
        let scenario = try MockScenario()
        let registry = try SchemaRegistryServer(user: "spool", password: "right-pw")
        try Self.produceAvro(scenario.cluster, topic: "p", count: 10, registry: registry)
        let withFlag = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "p", "--db", "p.sqlite",
                                             "--schema-registry", registry.url, "-S", "basic.auth.user.info=spool:wrong-pw-123"],
                                            directory: scenario.directory.path)
        #expect(withFlag.status == 2, "\(withFlag.output)")
        #expect(withFlag.stderr.contains(registry.url) && withFlag.stderr.contains("refused the credentials"), "\(withFlag.stderr)")
        #expect(!withFlag.output.contains("wrong-pw-123"))
        let inURL = registry.url.replacing("http://", with: "http://spool:wrong-pw-123@")
        let withURL = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "p", "--db", "p.sqlite",
                                            "--schema-registry", inURL], directory: scenario.directory.path)
        #expect(withURL.status == 2, "\(withURL.output)")
        #expect(!withURL.output.contains("wrong-pw-123") && withURL.stderr.contains(registry.url), "\(withURL.stderr)")
        #expect(storedCount(scenario.file("p.sqlite"), topic: "p") == 0, "nothing is captured when the registry refuses")
        let unknownSetting = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "p", "--db", "p.sqlite",
                                                   "--schema-registry", registry.url, "-S", "no.such=1"], directory: scenario.directory.path)
        #expect(unknownSetting.status == 2 && unknownSetting.stderr.contains("-S no.such"), "\(unknownSetting.stderr)")
    }

    @Test func decodeFinishesWhatWasCapturedWithoutARegistry() throws {
        let scenario = try MockScenario()
        let db = scenario.file("d.sqlite")
        var registry = try SchemaRegistryServer(user: "u", password: "decode-pw", stateFile: scenario.file("registry.json"))
        try Self.produceAvro(scenario.cluster, topic: "later", count: 12_000, registry: registry)
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "later", "--db", "d.sqlite"],
                                          directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let status = try SpoolProcess.run(["status", "d.sqlite"], directory: scenario.directory.path)
        #expect(status.stdout.contains("12000") && status.stdout.contains("spool decode"), "\(status.stdout)")
        registry.stop()
        let credentials = ["-S", "basic.auth.user.info=u:decode-pw", "-S", "max.retries=0", "-S", "request.timeout.ms=1000"]
        let down = try SpoolProcess.run(["decode", "d.sqlite", "--schema-registry", registry.url] + credentials, directory: scenario.directory.path)
        #expect(down.status == 4, "\(down.output)")
        #expect(down.stderr.contains(registry.url) && !down.output.contains("decode-pw"), "\(down.stderr)")
        registry = try registry.restart()
        let decode = try SpoolProcess.run(["decode", "d.sqlite", "--schema-registry", registry.url, "--chunk-size", "1000"] + credentials,
                                          directory: scenario.directory.path)
        #expect(decode.status == 0, "\(decode.output)")
        #expect(decode.stdout.contains("decoded 12000 record(s), 0 failed, 0 still pending"), "\(decode.stdout)")
        try Self.expectAllDecoded(db, topic: "later", count: 12_000)
        let again = try SpoolProcess.run(["decode", "d.sqlite", "--schema-registry", registry.url] + credentials, directory: scenario.directory.path)
        #expect(again.status == 0 && again.stdout.contains("decoded 0 record(s)"), "\(again.output)")
        let query = try SpoolProcess.run(["query", "d.sqlite", "SELECT value_json ->> '$.customer.country' AS c, count(*) FROM later GROUP BY 1 ORDER BY 1 LIMIT 1"],
                                         directory: scenario.directory.path)
        #expect(query.status == 0 && query.stdout.contains("BR"), "\(query.output)")
    }
}
