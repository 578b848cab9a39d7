@_spi(MockCluster) import SpoolScenarioSupport
@_spi(MockCluster) @testable import SpoolSampleData
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolCLI
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `spool ingest` and `spool decode` against registries that misbehave, through the binary:
/// redirects (credentials must stay with the configured registry), a schema over the size
/// limit, a registry too slow to answer before a stop, and the start-up rule.
@Suite("spool and a hostile Schema Registry", .serialized, .timeLimit(.minutes(3)))
struct RegistryHostileBinaryTests {
    /// The Authorization value `registerSchema` sends as user "setup", password "setup-pw".
    static let setupAuthorization = "Basic " + Data("setup:setup-pw".utf8).base64EncodedString()

    /// Registers the bench schema (id 1) at `registry` as user "setup", and produces `count`
    /// bench Avro records framed with it to `topic` (one partition).
    static func produceFramed(_ cluster: MockKafkaCluster, topic: String, count: Int, registry: SchemaRegistryServer) throws {
        let id = try KafkaTool.registerSchema("\(topic)-value", schema: BenchAvroRecord.schema, registry: registry.url,
                                              user: "setup", password: "setup-pw").id
        try #require(id == BenchAvroRecord.schemaID, "a fresh registry gives the first schema id 1")
        try cluster.createTopic(topic, partitions: 1)
        try cluster.produce(topic: topic, (0..<count).map { index in
            MockMessage(partition: 0, key: Array("k\(index)".utf8), value: BenchAvroRecord.framed(index),
                        timestamp: 1_700_000_000_000 + Int64(index))
        })
    }

    /// Count of records per decode state in `db` (`"NULL"` for none).
    static func states(_ db: String) throws -> [String: Int64] {
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let query = try store.connection.prepare("SELECT coalesce(decode_state, 'NULL'), count(*) FROM messages GROUP BY 1")
        var counts: [String: Int64] = [:]
        while try query.step() { counts[query.text(0) ?? "?"] = query.int64(1) }
        return counts
    }

    /// The three ways to give credentials, each with its secret.
    static let credentialForms: [(name: String, secret: String, arguments: @Sendable (String) -> [String])] = [
        ("in the URL", "url-secret-1", { ["--schema-registry", $0.replacing("http://", with: "http://alice:url-secret-1@")] }),
        ("basic.auth.user.info", "basic-secret-2", { ["--schema-registry", $0, "-S", "basic.auth.user.info=alice:basic-secret-2"] }),
        ("bearer.auth.token", "bearer-secret-3", { ["--schema-registry", $0, "-S", "bearer.auth.token=bearer-secret-3"] }),
    ]

    @Test func aRedirectToAnotherOriginNeverGetsTheCredentials() throws {
        let scenario = try MockScenario()
        let requests = scenario.file("target-requests.txt")
        // The target has the schema and wants no credentials: following the redirect would work.
        let target = try SchemaRegistryServer(misbehaviour: .init(recordAuthorization: requests))
        try Self.produceFramed(scenario.cluster, topic: "t", count: 10, registry: target)
        let moved = try SchemaRegistryServer(misbehaviour: .init(redirectTo: target.url))
        for (index, form) in Self.credentialForms.enumerated() {
            let db = "r\(index).sqlite"
            let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", db]
                                              + form.arguments(moved.url), directory: scenario.directory.path)
            #expect(ingest.status == 0, "\(form.name): \(ingest.output)")
            #expect(ingest.stderr.contains("schema registry \(moved.url) answered HTTP 302, a redirect to \(target.url)")
                    && ingest.stderr.contains("final URL in --schema-registry"), "\(form.name): \(ingest.stderr)")
            #expect(try Self.states(scenario.file(db)) == ["pending": 10], "\(form.name)")
            let decode = try SpoolProcess.run(["decode", db] + form.arguments(moved.url), directory: scenario.directory.path)
            #expect(decode.status == 4, "\(form.name): \(decode.output)")
            #expect(decode.stderr.contains("answered HTTP 302, a redirect to \(target.url)"), "\(form.name): \(decode.stderr)")
            #expect(!(ingest.output + decode.output).contains(form.secret), "\(form.name): a secret was printed")
        }
        let lines = try String(contentsOfFile: requests, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.hasSuffix(Self.setupAuthorization) }, "the target records the Authorization it gets: \(lines)")
        let leaked = lines.filter { !$0.hasSuffix(" -") && !$0.hasSuffix(Self.setupAuthorization) }
        #expect(leaked.isEmpty, "the redirect target got credentials: \(leaked)")
    }

    @Test func aRedirectToAnotherSchemeOrToItselfIsAClearError() throws {
        let scenario = try MockScenario()
        let registry = try SchemaRegistryServer()
        try Self.produceFramed(scenario.cluster, topic: "t", count: 5, registry: registry)
        let capture = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "t.sqlite"],
                                           directory: scenario.directory.path)
        #expect(capture.status == 0, "\(capture.output)")
        let ftp = try SchemaRegistryServer(misbehaviour: .init(redirectTo: "ftp://127.0.0.1:21/pub"))
        let loop = try SchemaRegistryServer(misbehaviour: .init(redirectTo: "self"))
        for (server, target) in [(ftp, "ftp://127.0.0.1:21"), (loop, loop.url)] {
            let decode = try SpoolProcess.run(["decode", "t.sqlite", "--schema-registry", server.url], directory: scenario.directory.path)
            #expect(decode.status == 4, "\(decode.output)")
            #expect(decode.stderr.contains("schema registry \(server.url) answered HTTP 302, a redirect to \(target); Spool does not follow redirects"),
                    "\(decode.stderr)")
            #expect(!decode.stderr.contains("network error") && !decode.stderr.contains("is not in schema registry"), "\(decode.stderr)")
        }
        #expect(try Self.states(scenario.file("t.sqlite")) == ["pending": 5])
    }

    @Test func aSchemaOverTheSizeLimitFailsItsRecordsWithTheReason() throws {
        let scenario = try MockScenario()
        let registry = try SchemaRegistryServer()
        try Self.produceFramed(scenario.cluster, topic: "small", count: 20, registry: registry)
        let big = #"{"type":"record","name":"Big","doc":"\#(String(repeating: "x", count: 6_000))","fields":[{"name":"n","type":"long"}]}"#
        let bigID = try KafkaTool.registerSchema("big-value", schema: big, registry: registry.url).id
        try scenario.cluster.createTopic("big", partitions: 1)
        // Confluent framing (0, the id big-endian), then the Avro long 5 (zigzag 10).
        let framed = [0] + withUnsafeBytes(of: bigID.bigEndian, Array.init) + [10]
        try scenario.cluster.produce(topic: "big", (0..<20).map { MockMessage(partition: 0, key: nil, value: framed, timestamp: 1_700_000_000_000 + Int64($0)) })
        let limit = ["-S", "max.response.bytes=4096"]
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "small", "--topic", "big",
                                           "--db", "l.sqlite", "--schema-registry", registry.url] + limit, directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let store = try SpoolStore.openForReading(path: scenario.file("l.sqlite"))
        defer { store.close() }
        let status = try store.decoding.status()
        #expect(status.map(\.topic) == ["big", "small"] && status.last?.decoded == 20, "\(status)")
        let failed = try #require(status.first)
        #expect(failed.failed == 20 && failed.decoded == 0 && failed.pending == 0, "\(failed)")
        let reason = failed.firstError ?? ""
        #expect(reason.contains("schema id \(bigID)") && reason.contains("larger than the limit of 4096 bytes"), "\(reason)")
        #expect(try store.decoding.storedSchemas().map(\.id) == [BenchAvroRecord.schemaID], "the big schema is not kept")
        // spool decode applies the same limit to what it finishes.
        let raw = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "big", "--db", "raw.sqlite"],
                                       directory: scenario.directory.path)
        #expect(raw.status == 0, "\(raw.output)")
        let decode = try SpoolProcess.run(["decode", "raw.sqlite", "--schema-registry", registry.url] + limit, directory: scenario.directory.path)
        #expect(decode.status == 0 && decode.stdout.contains("decoded 0 record(s), 20 failed, 0 still pending"), "\(decode.output)")
    }

    /// Sends SIGTERM to `running` once the registry has begun to delay an answer; returns the
    /// result and the seconds from the signal to the exit.
    static func stopWhileTheRegistryDelays(_ running: SpoolProcess.Running, registry: SchemaRegistryServer) throws
        -> (SpoolProcess.Result, Double) {
        try running.waitUntil("the registry delays an answer to spool: \(registry.logTail)", timeout: .seconds(60)) {
            registry.logTail.contains("delaying GET /schemas/ids/1")
        }
        let clock = ContinuousClock()
        let signalled = clock.now
        running.signal(SIGTERM)
        let result = running.wait(timeout: 30)
        let elapsed = clock.now - signalled
        return (result, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    @Test func aStopWhileDecodeWaitsForASlowRegistryExitsAtOnceWithTrueCounts() throws {
        let scenario = try MockScenario()
        let registry = try SchemaRegistryServer(delayMs: 30_000)
        try Self.produceFramed(scenario.cluster, topic: "slow", count: 12_000, registry: registry)
        let capture = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "slow", "--db", "s.sqlite"],
                                           directory: scenario.directory.path)
        #expect(capture.status == 0, "\(capture.output)")
        let running = try SpoolProcess.Running(["decode", "s.sqlite", "--schema-registry", registry.url, "--chunk-size", "1000"],
                                               directory: scenario.directory.path)
        let (result, seconds) = try Self.stopWhileTheRegistryDelays(running, registry: registry)
        #expect(result.status == 0, "\(result.output)")
        #expect(seconds < 3, "the stop took \(seconds) s")
        let pending = try #require(try Self.states(scenario.file("s.sqlite"))["pending"])
        #expect(pending == 12_000)
        #expect(result.stdout.contains("decoded 0 record(s), 0 failed, \(pending) still pending") && result.stdout.contains("stopped on request"),
                "\(result.stdout)")
    }

    @Test func aStopWhileIngestWaitsForASlowRegistryExitsAtOnce() throws {
        let scenario = try MockScenario()
        let registry = try SchemaRegistryServer(delayMs: 30_000)
        try Self.produceFramed(scenario.cluster, topic: "slow", count: 3_000, registry: registry)
        let running = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "slow", "--db", "i.sqlite",
                                                "--follow", "--schema-registry", registry.url], directory: scenario.directory.path)
        let (result, seconds) = try Self.stopWhileTheRegistryDelays(running, registry: registry)
        #expect(result.status == 0, "\(result.output)")
        #expect(seconds < 3, "the stop took \(seconds) s")
        let states = try Self.states(scenario.file("i.sqlite"))
        #expect(states["pending", default: 0] > 0, "the batch that waited for the registry is stored: \(states)")
        #expect(states.keys.allSatisfy { $0 == "pending" }, "a record was decoded although the registry never answered: \(states)")
    }

    @Test func onlyRefusedCredentialsStopIngestAtStartWhileDecodeNeedsTheRegistry() throws {
        let scenario = try MockScenario()
        let noSubjects = try SchemaRegistryServer(misbehaviour: .init(missingPath: "/subjects"))
        try Self.produceFramed(scenario.cluster, topic: "t", count: 10, registry: noSubjects)
        // A registry (or proxy) without GET /subjects: a warning; the schemas still come.
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "a.sqlite",
                                           "--schema-registry", noSubjects.url], directory: scenario.directory.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        #expect(ingest.stderr.contains("schema registry \(noSubjects.url) gave an unexpected answer: HTTP 404 for /subjects"), "\(ingest.stderr)")
        #expect(try Self.states(scenario.file("a.sqlite")) == ["decoded": 10])
        // Nothing listening: a warning too, and the records wait.
        let gone = try SchemaRegistryServer()
        let goneURL = gone.url
        gone.stop()
        let refused = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "b.sqlite",
                                            "--schema-registry", goneURL, "-S", "max.retries=0"], directory: scenario.directory.path)
        #expect(refused.status == 0, "\(refused.output)")
        #expect(refused.stderr.contains("schema registry \(goneURL) is unavailable: connection refused"), "\(refused.stderr)")
        #expect(try Self.states(scenario.file("b.sqlite")) == ["pending": 10])
        // spool decode's whole job needs the registry: both are exit 4, naming the registry.
        let decode404 = try SpoolProcess.run(["decode", "b.sqlite", "--schema-registry", noSubjects.url], directory: scenario.directory.path)
        #expect(decode404.status == 4 && decode404.stderr.contains("\(noSubjects.url) gave an unexpected answer: HTTP 404 for /subjects"),
                "\(decode404.output)")
        let decodeRefused = try SpoolProcess.run(["decode", "b.sqlite", "--schema-registry", goneURL, "-S", "max.retries=0"], directory: scenario.directory.path)
        #expect(decodeRefused.status == 4 && decodeRefused.stderr.contains("\(goneURL) is unavailable: connection refused"),
                "\(decodeRefused.output)")
        #expect(try Self.states(scenario.file("b.sqlite")) == ["pending": 10])
    }
}
