@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `spool ingest --latest` through the binary: exact after `kill -9` loops, and its usage errors.
@Suite("spool and keyed tables", .serialized, .timeLimit(.minutes(3)))
struct LatestBinaryTests {
    /// 4,000 keys over 3 partitions, a tombstone every 9th record, a null key every 13th;
    /// timestamps are distinct, so release order is timestamp order.
    static func records(count: Int) -> [MockMessage] {
        (0..<count).map { index in
            let key: [UInt8]? = index % 13 == 6 ? nil : Array("key-\((index * 7_919) % 4_000)".utf8)
            return MockMessage(partition: Int32(index % 3), key: key, value: index % 9 == 4 ? nil : Array("v\(index)".utf8),
                               timestamp: 1_700_000_000_000 + Int64(index))
        }
    }

    /// The table the records imply: key → value.
    static func expected(_ records: [MockMessage]) -> [[UInt8]: [UInt8]] {
        var table: [[UInt8]: [UInt8]] = [:]
        for record in records.sorted(by: { $0.timestamp < $1.timestamp }) {
            guard let key = record.key else { continue }
            table[key] = record.value
        }
        return table
    }

    @Test func theTableIsExactAfterKillNineAndResume() throws {
        let scenario = try MockScenario()
        let db = scenario.file("k.sqlite")
        try scenario.cluster.createTopic("k", partitions: 3)
        let produced = Self.records(count: 60_000)
        try scenario.cluster.produce(topic: "k", produced)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "k", "--latest", "k", "--db", "k.sqlite",
                         "--batch-size", "300", "--quiet"]
        let kills = try runKilledAt([5_000, 21_000, 43_000], arguments: arguments, directory: scenario.directory.path, db: db, topic: "k")
        #expect(kills >= 2, "the ingest was killed mid-run at least twice")
        // The last run is not told --latest: the mode is the database's.
        let last = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "k", "--db", "k.sqlite", "--quiet"],
                                        directory: scenario.directory.path)
        #expect(last.status == 0, "\(last.output)")
        let store = try SpoolStore.openForReading(path: db)
        let query = try store.connection.prepare("SELECT key, value FROM \"k:latest\"")
        var table: [[UInt8]: [UInt8]] = [:]
        while try query.step() { table[query.blob(0) ?? []] = query.blob(1) }
        let want = Self.expected(produced).compactMapValues { $0 }
        #expect(table.count == want.count)
        #expect(table == want)
        #expect(try store.verify().isSound)
    }

    @Test func usageErrorsNameTheFlagAndChangeNothing() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("u", partitions: 1)
        try scenario.cluster.produce(topic: "u", Self.records(count: 30).map { MockMessage(partition: 0, key: $0.key, value: $0.value, timestamp: $0.timestamp) })
        let base = ["ingest", "--brokers", scenario.brokers, "--topic", "u", "--db", "u.sqlite"]
        let notATopic = try SpoolProcess.run(base + ["--latest", "users"], directory: scenario.directory.path)
        #expect(notATopic.status == 2)
        #expect(notATopic.stderr.contains("--latest users: 'users' is not one of the --topic topics"), "\(notATopic.stderr)")
        let both = try SpoolProcess.run(base + ["--latest", "u", "--latest-only", "u"], directory: scenario.directory.path)
        #expect(both.status == 2 && both.stderr.contains("choose one"), "\(both.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scenario.file("u.sqlite")), "a usage error creates no file")
        #expect(try SpoolProcess.run(base + ["--latest", "u", "--quiet"], directory: scenario.directory.path).status == 0)
        let switching = try SpoolProcess.run(base + ["--latest-only", "u"], directory: scenario.directory.path)
        #expect(switching.status == 2)
        #expect(switching.stderr.contains("needs --change-latest-mode"), "\(switching.stderr)")
        #expect(storedCount(scenario.file("u.sqlite"), topic: "u") == 30, "the refused switch kept the log")
        let status = try SpoolProcess.run(["status", "u.sqlite", "--format", "json"], directory: scenario.directory.path)
        #expect(status.stdout.contains("\"latest_tables\":[{\"topic\":\"u\",\"mode\":\"latest\""), "\(status.stdout)")
    }
}
