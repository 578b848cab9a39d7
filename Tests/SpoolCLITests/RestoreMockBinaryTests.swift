@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolModel
import SpoolStore
import SpoolTestSupport
import Testing

/// `spool restore` through the built binary into librdkafka's mock cluster: headers, null and
/// empty keys and values and binary bytes over several partitions; a `--latest-only` topic
/// rebuilt from its table; and what happens on a broker that does not keep transactional offsets.
@Suite("spool restore on the mock cluster", .serialized, .timeLimit(.minutes(5)))
struct RestoreMockBinaryTests {
    /// `perPartition` records on each of 4 partitions: every byte value in values, null and empty
    /// keys and values, duplicate/null/empty headers; keys repeat within a partition (k0-P...k9-P,
    /// as Kafka's partitioner keeps a key on one partition) so a latest table keeps one record
    /// per key.
    static func records(perPartition: Int) -> [MockMessage] {
        let now = Int64(Date().timeIntervalSince1970 * 1000) - 100_000
        return (0..<perPartition).flatMap { index in
            (Int32(0)..<4).map { partition in
                let key: [UInt8]? = index % 9 == 0 ? nil : (index % 7 == 0 ? [] : Array("k\(index % 10)-\(partition)".utf8))
                let value: [UInt8]? = index % 11 == 3 ? [] : (0..<(index % 40)).map { UInt8(($0 * 37 + index) % 256) }
                let headers = index % 3 == 0
                    ? [MessageHeader(name: "h", value: [0, 255]), MessageHeader(name: "h", value: nil), MessageHeader(name: "e", value: [])]
                    : []
                return MockMessage(partition: partition, key: key, value: value, timestamp: now + Int64(index), headers: headers)
            }
        }
    }

    /// Ingests `topic` from the scenario's cluster into `db` with extra ingest arguments.
    static func ingest(_ scenario: MockScenario, topic: String, db: String, extra: [String] = []) throws {
        let result = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", topic, "--db", db, "--quiet"] + extra,
                                          directory: scenario.directory.path)
        try #require(result.status == 0, "\(result.output)")
    }

    @Test("a 4-partition capture with headers, null, empty and binary bytes restores equal; a rerun refuses because the mock keeps no progress")
    func restoreIntoMock() throws {
        let scenario = try MockScenario()
        try scenario.topic("src", partitions: 4)
        try scenario.topic("dst", partitions: 4)
        let produced = Self.records(perPartition: 500)
        try scenario.cluster.produce(topic: "src", produced)
        try Self.ingest(scenario, topic: "src", db: scenario.file("a.db"))

        let restore = ["restore", scenario.file("a.db"), "--brokers", scenario.brokers, "--topic", "src:dst", "--verify", "--transaction-records", "700"]
        let first = try SpoolProcess.run(restore, directory: scenario.directory.path)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stderr.contains("2000 records written"), "\(first.stderr)")
        #expect(first.stderr.contains("verify dst: 4 of 4 partition(s) equal"), "\(first.stderr)")
        #expect(first.stderr.contains("did not keep this restore's committed progress"), "the mock's missing offsets are reported: \(first.stderr)")

        try Self.ingest(scenario, topic: "dst", db: scenario.file("b.db"))
        let copy = try SpoolStore.openForReading(path: scenario.file("b.db"))
        defer { copy.close() }
        for partition in Int32(0)..<4 {
            let want = produced.filter { $0.partition == partition }
            let got = try copy.messages(topic: "dst", partition: partition)
            let same = got.map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp, headers: $0.headers) } == want
            #expect(same, "dst[\(partition)] holds the produced records byte for byte (got \(got.count), want \(want.count))")
        }

        let second = try SpoolProcess.run(restore, directory: scenario.directory.path)
        #expect(second.status == 4, "\(second.output)")
        #expect(second.stderr.contains("holds records this restore did not write"), "\(second.stderr)")
        #expect(second.stderr.contains("The capture records that restore"), "the refusal says what the capture knows: \(second.stderr)")
        #expect(try copy.messageCounts()["dst"] == 2_000)
    }

    @Test("a --latest-only topic restores one record per key: the latest, in offset order")
    func latestOnly() throws {
        let scenario = try MockScenario()
        try scenario.topic("prices", partitions: 4)
        try scenario.topic("prices-compacted", partitions: 4)
        let produced = Self.records(perPartition: 200).filter { $0.key != nil }
        try scenario.cluster.produce(topic: "prices", produced)
        try Self.ingest(scenario, topic: "prices", db: scenario.file("l.db"), extra: ["--latest-only", "prices"])

        let result = try SpoolProcess.run(["restore", scenario.file("l.db"), "--brokers", scenario.brokers, "--topic", "prices:prices-compacted", "--verify"],
                                          directory: scenario.directory.path)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stderr.contains("verify prices-compacted: 4 of 4 partition(s) equal"), "\(result.stderr)")

        try Self.ingest(scenario, topic: "prices-compacted", db: scenario.file("m.db"))
        let copy = try SpoolStore.openForReading(path: scenario.file("m.db"))
        defer { copy.close() }
        // The table keeps the last record of each key of the topic (the empty key is on every
        // partition here, so only its last one is kept).
        var latest: [[UInt8]: MockMessage] = [:]
        for message in produced.sorted(by: { ($0.timestamp, $0.partition) < ($1.timestamp, $1.partition) }) { latest[message.key ?? []] = message }
        for partition in Int32(0)..<4 {
            let want = latest.values.filter { $0.partition == partition }.sorted { $0.timestamp < $1.timestamp }
            let got = try copy.messages(topic: "prices-compacted", partition: partition)
            #expect(want.count >= 10, "partition \(partition) has a record per key")
            let same = got.map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp, headers: $0.headers) } == want
            #expect(same, "prices-compacted[\(partition)]: the last record of each key, in their order (got \(got.count), want \(want.count))")
        }
    }

    @Test("a broker that refuses the restore's group mid-way: the transaction is rolled back and the restore exits 4 at once naming the error and the ACLs")
    func authorizationFailureMidway() throws {
        let scenario = try MockScenario()
        try scenario.topic("src", partitions: 2)
        try scenario.topic("dst", partitions: 2)
        try scenario.cluster.produce(topic: "src", Array(Self.records(perPartition: 300).filter { $0.partition < 2 }))
        try Self.ingest(scenario, topic: "src", db: scenario.file("a.db"))
        // AddOffsetsToTxn (API 25) answers GROUP_AUTHORIZATION_FAILED (30) from now on.
        scenario.cluster.pushRequestErrors(KafkaAPIKey(rawValue: 25), Array(repeating: KafkaErrorCode(rawValue: 30), count: 50))
        let result = try SpoolProcess.run(["restore", scenario.file("a.db"), "--brokers", scenario.brokers, "--topic", "src:dst"],
                                          directory: scenario.directory.path)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("GROUP_AUTHORIZATION_FAILED"), "\(result.stderr)")
        #expect(result.stderr.contains("ACLs"), "the error says what to check: \(result.stderr)")
        #expect(!result.stderr.contains("restore src → dst: 600 records written"), "no success is claimed")
    }
}
