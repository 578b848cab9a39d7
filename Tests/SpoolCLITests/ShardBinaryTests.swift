@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// Three `spool ingest --shard I/3` processes on one mock cluster, one killed part way; the
/// folder read as one capture; refusals; `spool merge` then `verify`.
@Suite("spool shards", .serialized, .timeLimit(.minutes(4)))
struct ShardBinaryTests {
    @Test func threeShardProcessesKillOneResumeMergeAndVerify() throws {
        let scenario = try MockScenario()
        let folder = scenario.file("shards")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        try scenario.cluster.createTopic("big", partitions: 12)
        try scenario.cluster.createTopic("small", partitions: 5)
        let big = testMessages(partitions: 12, indices: 0..<2_000, base: 1_700_000_000_000, valueSize: 64, withNulls: true)
        let small = testMessages(partitions: 5, indices: 0..<2_000, base: 1_700_000_000_000, valueSize: 64, withNulls: true)
        try scenario.cluster.produce(topic: "big", big.map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) })
        try scenario.cluster.produce(topic: "small", small.map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) })
        func arguments(_ index: Int, count: Int = 3) -> [String] {
            ["ingest", "--brokers", scenario.brokers, "--topic", "big", "--topic", "small", "--db", "shards/s\(index).sqlite",
             "--shard", "\(index)/\(count)", "--batch-size", "200", "--quiet"]
        }
        // All three at once; shard 1 is killed part way, then run again.
        let running = try (0..<3).map { try SpoolProcess.Running(arguments($0), directory: scenario.directory.path) }
        let shardOne = scenario.file("shards/s1.sqlite")
        try waitUntil("shard 1 stores some records before the kill", timeout: .seconds(60)) {
            storedCount(shardOne, topic: "big") + storedCount(shardOne, topic: "small") >= 1_000 || !running[1].isRunning
        }
        let killed = running[1].isRunning
        running[1].signal(SIGKILL)
        _ = running[1].wait()
        for index in [0, 2] { #expect(running[index].wait().status == 0) }
        let again = try SpoolProcess.run(arguments(1), directory: scenario.directory.path)
        #expect(again.status == 0, "\(again.output)")
        #expect(killed, "shard 1 was killed while it ran")
        // Every record exactly once across the files.
        let counted = try SpoolProcess.run(["query", "shards", "SELECT topic, count(*), count(DISTINCT topic || ':' || partition || ':' || offset) FROM messages GROUP BY topic ORDER BY topic",
                                            "--format", "csv"], directory: scenario.directory.path)
        #expect(counted.status == 0, "\(counted.output)")
        #expect(counted.stdout.split(separator: "\n").dropFirst().map(String.init) == ["big,24000,24000", "small,10000,10000"], "\(counted.stdout)")
        let status = try SpoolProcess.run(["status", "shards"], directory: scenario.directory.path)
        #expect(status.status == 0 && status.stdout.contains("coverage: complete"), "\(status.output)")
        // Another spec on an existing shard file is refused; a second writer of one file exits 5.
        let other = try SpoolProcess.run(arguments(1, count: 4), directory: scenario.directory.path)
        #expect(other.status == 2 && other.stderr.contains("is shard 1/3 of its capture, not 1/4"), "\(other.output)")
        try scenario.cluster.produce(topic: "small", (0..<5).map { MockMessage(partition: Int32($0), key: nil, value: [1], timestamp: 1_800_000_000_000) })
        let shardZero = scenario.file("shards/s0.sqlite")
        let before = storedCount(shardZero, topic: "small")
        let follower = try SpoolProcess.Running(arguments(0) + ["--follow"], directory: scenario.directory.path)
        defer { follower.signal(SIGKILL); _ = follower.wait() }
        // Once it has stored the new records of its partitions, the follower holds the lock.
        try waitUntil("the following shard 0 stores the new records", timeout: .seconds(30)) {
            storedCount(shardZero, topic: "small") > before || !follower.isRunning
        }
        var second: SpoolProcess.Result?
        try waitUntil("a second writer of shard 0's file is refused while the follower runs", timeout: .seconds(30)) {
            second = try? SpoolProcess.run(arguments(0), directory: scenario.directory.path)
            return second?.status == 5 || !follower.isRunning
        }
        #expect(follower.isRunning, "the follower runs: \((try? String(contentsOfFile: follower.stderrPath, encoding: .utf8)) ?? "")")
        #expect(second?.status == 5 && second?.stderr.contains("in use by another writer") == true, "\(second?.output ?? "")")
        let whileWriting = try SpoolProcess.run(["merge", "shards", "--db", "early.sqlite"], directory: scenario.directory.path)
        #expect(whileWriting.status == 5 && whileWriting.stderr.contains("s0.sqlite"), "a shard being written is not merged: \(whileWriting.output)")
        #expect(!FileManager.default.fileExists(atPath: scenario.file("early.sqlite")), "the refused merge created nothing")
        follower.signal(SIGINT)
        #expect(follower.wait().status == 0)
        // Merge, then verify: the one file holds every record once.
        let brokered = try SpoolProcess.run(["status", "shards", "--brokers", scenario.brokers], directory: scenario.directory.path)
        #expect(brokered.status == 0 && brokered.stdout.contains("coverage: complete"), "against the brokers' partition counts: \(brokered.output)")
        // A merge killed part way continues when run again.
        let interrupted = try SpoolProcess.Running(["merge", "shards", "--db", "all.sqlite", "--chunk-size", "20"], directory: scenario.directory.path)
        try waitUntil("the merge copies some rows before the kill", timeout: .seconds(60)) {
            storedCount(scenario.file("all.sqlite"), topic: "big") >= 2_000 || !interrupted.isRunning
        }
        #expect(interrupted.isRunning, "the merge was still running when killed")
        interrupted.signal(SIGKILL)
        _ = interrupted.wait()
        // Consistent, and said to be unfinished: that is verify's only finding.
        let partial = try SpoolProcess.run(["verify", "all.sqlite"], directory: scenario.directory.path)
        let findings = partial.stdout.split(separator: "\n").filter { $0.hasPrefix("problem: ") }
        #expect(partial.status == 1 && findings.count == 1 && findings[0].contains("spool merge that has not finished"),
                "a killed merge leaves a consistent file, marked unfinished: \(partial.output)")
        let merged = try SpoolProcess.run(["merge", "shards", "--db", "all.sqlite", "--chunk-size", "1000"], directory: scenario.directory.path)
        #expect(merged.status == 0, "\(merged.output)")
        let verify = try SpoolProcess.run(["verify", "all.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0, "\(verify.output)")
        let store = try SpoolStore.openForReading(path: scenario.file("all.sqlite"))
        let shardSmall = (0..<3).reduce(Int64(0)) { $0 + storedCount(scenario.file("shards/s\($1).sqlite"), topic: "small") }
        #expect(shardSmall > 10_000, "the follower stored the records produced to shard 0's partitions")
        #expect(try store.messageCounts() == ["big": 24_000, "small": shardSmall], "row counts add up")
        let folderVerify = try SpoolProcess.run(["verify", "shards"], directory: scenario.directory.path)
        #expect(folderVerify.status == 0 && folderVerify.stdout.contains("coverage: complete (3 shard files)"), "\(folderVerify.output)")
    }
}
