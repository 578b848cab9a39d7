@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
import KafkaReplay
import SpoolTestSupport
@testable import SpoolStore
import Testing

/// `spool restore` through the built binary into noida-db (real transactions, markers and topic
/// configurations): byte-exact round trips read back by an independent client (confluent-kafka,
/// `read_committed`), exactly once across `kill -9` and SIGTERM, and every refusal with nothing
/// written.
@Suite("spool restore on noida-db", .serialized, .timeLimit(.minutes(10)))
struct RestoreBinaryTests {
    /// A capture of `count` mixed records (null, empty and binary keys and values; duplicate, null
    /// and empty headers) of a new 3-partition topic `source`, made by `spool ingest`. The topic
    /// keeps its records forever: noida-db's retention would delete old timestamps under the test.
    static func capture(_ source: String, count: Int, in scenario: NoidaScenario, into db: String, timestampMs: Int64? = nil) throws {
        try scenario.topic(source, partitions: 3, configs: ["retention.ms=-1"])
        try KafkaTool.produceMixed(source, count: count, brokers: scenario.brokers, timestampMs: timestampMs)
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", source, "--db", db, "--quiet"],
                                          directory: scenario.path, timeout: 300)
        try #require(ingest.status == 0, "\(ingest.output)")
        try #require(storedCount(db, topic: source) == Int64(count))
    }

    /// The total of the high watermarks of `topic` as a read_uncommitted reader sees them
    /// (records of open and aborted transactions and markers included).
    static func highWatermarkSum(_ topic: String, brokers: String) -> Int64 {
        ((try? KafkaTool.watermarks(topic, brokers: brokers, readUncommitted: true)) ?? [:]).values.reduce(0) { $0 + $1.high }
    }

    @Test("a capture restored, read back by confluent-kafka, captured again: equal record for record; a second run writes nothing")
    func roundTrip() throws {
        let scenario = try NoidaScenario()
        try Self.capture("orders", count: 3_000, in: scenario, into: scenario.file("a.db"))

        let restore = ["restore", scenario.file("a.db"), "--brokers", scenario.brokers, "--topic", "orders:orders-copy", "--create-topics", "--verify"]
        let first = try SpoolProcess.run(restore, directory: scenario.path, timeout: 300)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stderr.contains("3000 records written"), "\(first.stderr)")
        #expect(first.stderr.contains("verify orders-copy: 3 of 3 partition(s) equal"), "\(first.stderr)")
        let source = try KafkaTool.digest("orders", brokers: scenario.brokers)
        #expect(source.values.map(\.count).reduce(0, +) == 3_000)
        #expect(try KafkaTool.digest("orders-copy", brokers: scenario.brokers) == source)

        let marks = try KafkaTool.watermarks("orders-copy", brokers: scenario.brokers, readUncommitted: true)
        let second = try SpoolProcess.run(restore, directory: scenario.path, timeout: 300)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.stderr.contains("nothing to write; all 3000 records were already restored"), "\(second.stderr)")
        #expect(try KafkaTool.watermarks("orders-copy", brokers: scenario.brokers, readUncommitted: true) == marks)

        let again = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "orders-copy", "--db", scenario.file("b.db"), "--quiet"],
                                         directory: scenario.path, timeout: 300)
        try #require(again.status == 0, "\(again.output)")
        let original = try SpoolStore.openForReading(path: scenario.file("a.db"))
        let copy = try SpoolStore.openForReading(path: scenario.file("b.db"))
        defer { original.close(); copy.close() }
        for partition in Int32(0)..<3 {
            let want = try original.messages(topic: "orders", partition: partition)
            let got = try copy.messages(topic: "orders-copy", partition: partition)
            #expect(got.count == want.count, "partition \(partition)")
            #expect(zip(got, want).allSatisfy { $0.key == $1.key && $0.value == $1.value && $0.headers == $1.headers && $0.timestamp == $1.timestamp },
                    "partition \(partition): key, value, headers and timestamp of every record")
        }
        #expect(try original.restores.progress().map(\.restored).reduce(0, +) == 3_000, "the capture records the restore")
    }

    @Test("kill -9 at several points of a 200,000-record restore, SIGTERM once, then the same command: every record once, in order")
    func killedAndResumed() throws {
        let scenario = try NoidaScenario()
        let count = 200_000
        try Self.capture("events", count: count, in: scenario, into: scenario.file("c.db"))
        try scenario.topic("events-copy", partitions: 3)
        let restore = ["restore", scenario.file("c.db"), "--brokers", scenario.brokers, "--topic", "events:events-copy", "--transaction-records", "7000"]

        var kills = 0
        for target in [Int64(15_000), 70_000, 130_000] {
            let running = try SpoolProcess.Running(restore, directory: scenario.path)
            try running.waitUntil("\(target) records in events-copy before the kill", timeout: .seconds(240)) {
                Self.highWatermarkSum("events-copy", brokers: scenario.brokers) >= target || !running.isRunning
            }
            if running.isRunning {
                running.signal(SIGKILL)
                kills += 1
            }
            _ = running.wait()
        }
        #expect(kills >= 2, "the restore was killed mid-way at least twice")

        let stopped = try SpoolProcess.Running(restore + ["--verbose"], directory: scenario.path)
        let before = Self.highWatermarkSum("events-copy", brokers: scenario.brokers)
        try stopped.waitUntil("the restore writes again before SIGTERM", timeout: .seconds(240)) {
            Self.highWatermarkSum("events-copy", brokers: scenario.brokers) > before + 3_000 || !stopped.isRunning
        }
        stopped.signal(SIGTERM)
        let stoppedResult = stopped.wait()
        #expect(stoppedResult.status == 0, "SIGTERM ends the restore with exit 0: \(stoppedResult.output)")

        let last = try SpoolProcess.run(restore + ["--verify"], directory: scenario.path, timeout: 300)
        #expect(last.status == 0, "\(last.output)")
        #expect(last.stderr.contains("verify events-copy: 3 of 3 partition(s) equal"), "\(last.stderr)")
        let copied = try KafkaTool.digest("events-copy", brokers: scenario.brokers)
        #expect(copied.values.map(\.count).reduce(0, +) == count)
        #expect(copied == (try KafkaTool.digest("events", brokers: scenario.brokers)))
    }

    @Test("a second restore with the same id fences the first: the first exits 4 naming the fence, the second finishes, every record once")
    func aNewInstanceFencesTheOld() throws {
        let scenario = try NoidaScenario()
        let count = 150_000
        try Self.capture("fenced", count: count, in: scenario, into: scenario.file("f.db"))
        try scenario.topic("fenced-copy", partitions: 3)
        let restore = ["restore", scenario.file("f.db"), "--brokers", scenario.brokers, "--topic", "fenced:fenced-copy", "--transaction-records", "3000"]
        let old = try SpoolProcess.Running(restore, directory: scenario.path)
        try old.waitUntil("the first restore writes", timeout: .seconds(240)) {
            Self.highWatermarkSum("fenced-copy", brokers: scenario.brokers) >= 10_000 || !old.isRunning
        }
        try #require(old.isRunning, "the first restore is still running when the second starts")
        let new = try SpoolProcess.run(restore, directory: scenario.path, timeout: 300)
        let first = old.wait()
        #expect(new.status == 0, "\(new.output)")
        #expect(first.status == 4, "the fenced restore exits 4: \(first.output)")
        #expect(first.stderr.contains("fenced this one"), "\(first.stderr)")
        let copied = try KafkaTool.digest("fenced-copy", brokers: scenario.brokers)
        #expect(copied.values.map(\.count).reduce(0, +) == count)
        #expect(copied == (try KafkaTool.digest("fenced", brokers: scenario.brokers)))
    }

    @Test("a shard folder restores as one capture; records without a reproducible timestamp are counted and compared without it")
    func shardsAndUntimedRecords() throws {
        let scenario = try NoidaScenario()
        try scenario.topic("sharded", partitions: 3)
        try KafkaTool.produceMixed("sharded", count: 1_500, brokers: scenario.brokers)
        try FileManager.default.createDirectory(atPath: scenario.file("shards"), withIntermediateDirectories: true)
        for index in 0..<2 {
            let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "sharded", "--shard", "\(index)/2",
                                               "--db", scenario.file("shards/s\(index).db"), "--quiet"], directory: scenario.path)
            try #require(ingest.status == 0, "\(ingest.output)")
        }
        // Timestamps a producer cannot give back: -1 (none) and 0 (librdkafka reads it as "now").
        var untimed = 0
        for index in 0..<2 {
            let store = try SpoolStore.openForWriting(path: scenario.file("shards/s\(index).db"))
            defer { store.close() }
            // messages is a view (its INSTEAD OF trigger writes records; changes() does not count those).
            untimed += Int(try store.connection.integer("SELECT count(*) FROM messages WHERE offset % 100 = 7") ?? 0)
            try store.connection.execute("UPDATE messages SET timestamp = CASE WHEN offset % 2 = 0 THEN -1 ELSE 0 END WHERE offset % 100 = 7")
            #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE offset % 100 = 7 AND timestamp > 0") == 0)
        }
        try #require(untimed > 0)
        let result = try SpoolProcess.run(["restore", scenario.file("shards"), "--brokers", scenario.brokers, "--topic", "sharded:sharded-copy",
                                           "--create-topics", "--verify"], directory: scenario.path, timeout: 300)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stderr.contains("1500 records written"), "\(result.stderr)")
        #expect(result.stderr.contains("\(untimed) record(s) had no reproducible timestamp (-1 or 0) and got the broker's time"), "\(result.stderr)")
        #expect(result.stderr.contains("verify sharded-copy: 3 of 3 partition(s) equal"), "\(result.stderr)")
    }

    /// One destination the restore must refuse, and a phrase its error must contain.
    struct Refusal: CustomStringConvertible {
        var name: String
        var partitions: Int?
        var configs: [String] = []
        var foreignRecords = false
        var phrase: String
        var description: String { name }
    }

    @Test("every refusal exits 4 with a sentence naming the setting, and writes nothing")
    func refusals() throws {
        let scenario = try NoidaScenario()
        // Records from ten days ago: older than a day's retention or timestamp limit.
        let tenDaysAgo = Int64(Date().timeIntervalSince1970 * 1000) - 10 * 86_400_000
        try Self.capture("old", count: 600, in: scenario, into: scenario.file("old.db"), timestampMs: tenDaysAgo)
        let cases = [
            Refusal(name: "missing", partitions: nil, phrase: "does not exist on the destination cluster"),
            Refusal(name: "too-few", partitions: 2, phrase: "has 2 partition(s) but the capture holds records of 'old' partition 2"),
            Refusal(name: "log-append", partitions: 3, configs: ["message.timestamp.type=LogAppendTime"], phrase: "message.timestamp.type=LogAppendTime"),
            Refusal(name: "short-retention", partitions: 3, configs: ["retention.ms=86400000"], phrase: "retention.ms=86400000"),
            Refusal(name: "time-difference", partitions: 3, configs: ["message.timestamp.difference.max.ms=3600000"],
                    phrase: "message.timestamp.difference.max.ms=3600000"),
            Refusal(name: "time-before", partitions: 3, configs: ["message.timestamp.before.max.ms=3600000"],
                    phrase: "message.timestamp.before.max.ms=3600000"),
            Refusal(name: "small-messages", partitions: 3, configs: ["max.message.bytes=100"], phrase: "max.message.bytes=100"),
            Refusal(name: "compacted", partitions: 3, configs: ["cleanup.policy=compact"], phrase: "have a null key"),
            Refusal(name: "foreign", partitions: 3, configs: ["retention.ms=-1"], foreignRecords: true,
                    phrase: "dst-foreign[1] holds records this restore did not write"),
        ]
        for refusal in cases {
            let topic = "dst-" + refusal.name
            if let partitions = refusal.partitions {
                try KafkaTool.createTopic(topic, partitions: partitions, brokers: scenario.brokers, configs: refusal.configs)
            }
            if refusal.foreignRecords {
                _ = try scenario.produce(topic, count: 1, partition: 1)
            }
            let marks = refusal.partitions == nil ? [:] : try KafkaTool.watermarks(topic, brokers: scenario.brokers, readUncommitted: true)
            let result = try SpoolProcess.run(["restore", scenario.file("old.db"), "--brokers", scenario.brokers, "--topic", "old:\(topic)"],
                                              directory: scenario.path, timeout: 120)
            #expect(result.status == 4, "\(refusal): \(result.output)")
            #expect(result.stderr.contains(refusal.phrase), "\(refusal): \(result.stderr)")
            if refusal.partitions == nil {
                #expect(try KafkaTool.topics(brokers: scenario.brokers)[topic] == nil, "\(refusal): no topic was created")
            } else {
                #expect(try KafkaTool.watermarks(topic, brokers: scenario.brokers, readUncommitted: true) == marks, "\(refusal): nothing was written")
            }
        }

        // The same --restore-id over another selection (window) would skip records: refused.
        try KafkaTool.createTopic("dst-window", partitions: 3, brokers: scenario.brokers, configs: ["retention.ms=-1"])
        let windowed = ["restore", scenario.file("old.db"), "--brokers", scenario.brokers, "--topic", "old:dst-window", "--restore-id", "fixed"]
        let later = try SpoolProcess.run(windowed + ["--from", "\(tenDaysAgo + 300)"], directory: scenario.path, timeout: 120)
        #expect(later.status == 0, "\(later.output)")
        let marks = try KafkaTool.watermarks("dst-window", brokers: scenario.brokers, readUncommitted: true)
        let wider = try SpoolProcess.run(windowed, directory: scenario.path, timeout: 120)
        #expect(wider.status == 4, "\(wider.output)")
        #expect(wider.stderr.contains("for another selection"), "\(wider.stderr)")
        #expect(try KafkaTool.watermarks("dst-window", brokers: scenario.brokers, readUncommitted: true) == marks, "nothing was written")

        // Records of an aborted transaction are not "records this restore did not write": they
        // were never visible. The same destination with them restores.
        try KafkaTool.createTopic("dst-aborted", partitions: 3, brokers: scenario.brokers, configs: ["retention.ms=-1"])
        _ = try scenario.produce("dst-aborted", count: 50, transactionalID: "someone-else", abort: true)
        let restored = try SpoolProcess.run(["restore", scenario.file("old.db"), "--brokers", scenario.brokers, "--topic", "old:dst-aborted", "--verify"],
                                            directory: scenario.path, timeout: 120)
        #expect(restored.status == 0, "\(restored.output)")
        #expect(restored.stderr.contains("verify dst-aborted: 3 of 3 partition(s) equal"), "\(restored.stderr)")
    }
}
