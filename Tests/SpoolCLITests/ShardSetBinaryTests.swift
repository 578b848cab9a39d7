import Foundation
@_spi(MockCluster) import KafkaReplay
@testable import SpoolStore
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Testing

/// Issue 19 through the binary: `merge`, `query`, `status` and `verify` refuse the same shard
/// sets; a merge never lands on another capture; an unfinished or incomplete merge and a
/// damaged file are reported as such, never as a sound whole capture.
@Suite("spool shard sets and merges that would mislead", .serialized, .timeLimit(.minutes(4)))
struct ShardSetBinaryTests {
    /// A cluster with topic `t` (4 partitions × 400 records) and its two shard files
    /// `shards/s0.sqlite` and `shards/s1.sqlite`.
    struct Sharded {
        let dir = TemporaryDirectory()
        let cluster: MockKafkaCluster

        init() throws {
            cluster = try MockKafkaCluster(logger: quietLogger())
            try cluster.createTopic("t", partitions: 4)
            try MockScenario.produce(into: cluster, topic: "t", partitions: 4, indices: 0..<400)
            try FileManager.default.createDirectory(atPath: dir.file("shards"), withIntermediateDirectories: false)
            for index in 0..<2 { try capture(shard: index, into: "shards/s\(index).sqlite", from: cluster) }
        }

        func capture(shard index: Int, into db: String, from cluster: MockKafkaCluster, more: [String] = []) throws {
            let result = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t", "--db", db,
                                               "--shard", "\(index)/2", "--quiet"] + more, directory: dir.path)
            try #require(result.status == 0, "\(result.output)")
        }

        func run(_ arguments: [String]) throws -> SpoolProcess.Result {
            try SpoolProcess.run(arguments, directory: dir.path)
        }

        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: dir.file(name)) }
    }

    @Test func mergeIntoAFileHoldingAnotherCaptureIsRefused() throws {
        let sharded = try Sharded()
        let whole = try sharded.run(["ingest", "--brokers", sharded.cluster.bootstrapServers, "--topic", "t", "--db", "whole.sqlite", "--quiet"])
        try #require(whole.status == 0, "\(whole.output)")
        let before = FileManager.default.contents(atPath: sharded.dir.file("whole.sqlite"))
        let refused = try sharded.run(["merge", "shards", "--db", "whole.sqlite"])
        #expect(refused.status == 2 && refused.stderr.contains("already holds a capture of its own") && refused.stderr.contains("nothing was written"),
                "\(refused.output)")
        #expect(FileManager.default.contents(atPath: sharded.dir.file("whole.sqlite")) == before, "the other capture was changed")
        // A finished merge taken over by ingest is a capture of its own too.
        let merged = try sharded.run(["merge", "shards", "--db", "merged.sqlite"])
        #expect(merged.status == 0, "\(merged.output)")
        let again = try sharded.run(["merge", "shards", "--db", "merged.sqlite"])
        #expect(again.status == 0 && again.stdout.contains("0 row(s) copied now"), "the same merge again is fine: \(again.output)")
        let resumed = try sharded.run(["ingest", "--brokers", sharded.cluster.bootstrapServers, "--topic", "t", "--db", "merged.sqlite", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.output)")
        let afterIngest = try sharded.run(["merge", "shards", "--db", "merged.sqlite"])
        #expect(afterIngest.status == 2 && afterIngest.stderr.contains("spool ingest has captured into it since it was merged"), "\(afterIngest.output)")
        // The merge of other shard files (another capture of the same topic) is refused.
        try FileManager.default.createDirectory(atPath: sharded.dir.file("later"), withIntermediateDirectories: false)
        for index in 0..<2 { try sharded.capture(shard: index, into: "later/s\(index).sqlite", from: sharded.cluster) }
        let other = try sharded.run(["merge", "later", "--db", "merged2.sqlite"])
        #expect(other.status == 0, "\(other.output)")
        let mixed = try sharded.run(["merge", "shards", "--db", "merged2.sqlite"])
        #expect(mixed.status == 2 && mixed.stderr.contains("it holds the merge of other shard files"), "\(mixed.output)")
    }

    @Test func aMergeTargetThatIsAShardOrItsCompanionIsRefused() throws {
        let sharded = try Sharded()
        try FileManager.default.createSymbolicLink(atPath: sharded.dir.file("link.sqlite"), withDestinationPath: "shards/s1.sqlite")
        // A connection of the test's own keeps shard 1's -wal file in place meanwhile.
        let holder = try SQLiteConnection(path: sharded.dir.file("shards/s1.sqlite"), readOnly: false, create: false)
        defer { holder.close() }
        _ = try holder.integer("SELECT count(*) FROM messages")
        let before = (0..<2).map { FileManager.default.contents(atPath: sharded.dir.file("shards/s\($0).sqlite")) }
        let cases: [(String, String)] = [
            ("shards/s0.sqlite", "it is itself shard 0/2's file"),
            ("link.sqlite", "it is itself shard 1/2's file"),
            ("shards/s1.sqlite-wal", "is the -wal file SQLite keeps for shards/s1.sqlite"),
            ("./shards/../shards/s1.sqlite-shm", "is the -shm file SQLite keeps for"),
        ]
        for (target, expected) in cases {
            let result = try sharded.run(["merge", "shards", "--db", target])
            #expect(result.status == 2 && result.stderr.contains(expected) && result.stderr.contains("nothing was written"), "\(target): \(result.output)")
        }
        let explicit = try sharded.run(["merge", "shards/s0.sqlite", "shards/s1.sqlite", "--db", "link.sqlite"])
        #expect(explicit.status == 2 && explicit.stderr.contains("shard 1/2's file"), "\(explicit.output)")
        #expect((0..<2).map { FileManager.default.contents(atPath: sharded.dir.file("shards/s\($0).sqlite")) } == before, "a shard was changed")
    }

    @Test func anIncompleteSetIsRefusedByMergeAndQueryAndReportedByStatusAndVerify() throws {
        let sharded = try Sharded()
        // The owner of partition 1 loses it (as if it never captured it): both shards present, a partition missing.
        try FileManager.default.createDirectory(atPath: sharded.dir.file("partial"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: sharded.dir.file("shards/s0.sqlite"), toPath: sharded.dir.file("partial/s0.sqlite"))
        try FileManager.default.copyItem(atPath: sharded.dir.file("shards/s1.sqlite"), toPath: sharded.dir.file("partial/s1.sqlite"))
        let owner = ShardSpec.owner(of: TopicPartition(topic: "t", partition: 1), shards: 2)
        do {
            let store = try SpoolStore.openForWriting(path: sharded.dir.file("partial/s\(owner).sqlite"))
            try store.connection.execute("DELETE FROM messages WHERE partition = 1; DELETE FROM partition_state WHERE partition = 1")
            store.close()
        }
        // A shard missing, or a partition missing: refused by merge and query, nothing created.
        for set in [["shards/s0.sqlite"], ["partial"]] {
            let merge = try sharded.run(["merge"] + set + ["--db", "m.sqlite"])
            #expect(merge.status == 2 && merge.stderr.contains("--allow-incomplete") && !sharded.exists("m.sqlite"), "\(set): \(merge.output)")
        }
        let query = try sharded.run(["query", "partial", "SELECT count(*) FROM messages"])
        #expect(query.status == 2 && query.stderr.contains("t[1] is stored by no file") && query.stderr.contains("--allow-incomplete"),
                "\(query.output)")
        let missingPartition = try sharded.run(["merge", "partial", "--db", "m.sqlite"])
        #expect(missingPartition.stderr.contains("t[1] is stored by no file"), "\(missingPartition.output)")
        let status = try sharded.run(["status", "partial"])
        #expect(status.status == 1 && status.stdout.contains("coverage: INCOMPLETE") && status.stdout.contains("t[1] is stored by no file"), "\(status.output)")
        let verify = try sharded.run(["verify", "partial"])
        #expect(verify.status == 1 && verify.stdout.contains("t[1] is stored by no file"), "\(verify.output)")
        let allowedQuery = try sharded.run(["query", "partial", "SELECT count(*) FROM messages", "--format", "csv", "--allow-incomplete"])
        #expect(allowedQuery.status == 0 && allowedQuery.stdout.contains("1200") && allowedQuery.stderr.contains("warning: t[1] is stored by no file"),
                "\(allowedQuery.output)")
        // Allowed explicitly: merged, but the file says it is not a whole capture.
        let allowed = try sharded.run(["merge", "partial", "--db", "m.sqlite", "--allow-incomplete"])
        #expect(allowed.status == 0 && allowed.stderr.contains("t[1] is stored by no file"), "\(allowed.output)")
        let store = try SpoolStore.openForReading(path: sharded.dir.file("m.sqlite"))
        #expect(try store.completeUntil() == nil, "an incomplete merge claims no complete_until")
        store.close()
        let verifyMerged = try sharded.run(["verify", "m.sqlite"])
        #expect(verifyMerged.status == 1 && verifyMerged.stdout.contains("did not hold every partition"), "\(verifyMerged.output)")
        let statusMerged = try sharded.run(["status", "m.sqlite"])
        #expect(statusMerged.stdout.hasPrefix("WARNING: m.sqlite was merged from shards that did not hold every partition"), "\(statusMerged.output)")
    }

    @Test func shardsOfDifferentClustersAndForeignFilesAreRefusedByEveryCommand() throws {
        let sharded = try Sharded()
        let otherCluster = try MockKafkaCluster(logger: quietLogger())
        try otherCluster.createTopic("t", partitions: 4)
        try MockScenario.produce(into: otherCluster, topic: "t", partitions: 4, indices: 0..<400)
        try FileManager.default.createDirectory(atPath: sharded.dir.file("mixed"), withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: sharded.dir.file("shards/s0.sqlite"), toPath: sharded.dir.file("mixed/s0.sqlite"))
        try sharded.capture(shard: 1, into: "mixed/s1.sqlite", from: otherCluster)
        let commands: [[String]] = [["status", "mixed"], ["verify", "mixed"], ["query", "mixed", "SELECT count(*) FROM messages"],
                                    ["merge", "mixed", "--db", "m.sqlite"]]
        for arguments in commands {
            let result = try sharded.run(arguments)
            #expect(result.status == 2 && result.stderr.contains("comes from Kafka cluster"), "\(arguments): \(result.output)")
            #expect(!result.stdout.contains("coverage: complete") && !result.stdout.contains("ok:"), "\(arguments): \(result.stdout)")
        }
        #expect(!sharded.exists("m.sqlite"))
        // Another application's SQLite file in a shard folder is named; a folder named like a
        // database is not a database and is passed over.
        try FileManager.default.createDirectory(atPath: sharded.dir.file("shards/old.sqlite"), withIntermediateDirectories: false)
        let status = try sharded.run(["status", "shards"])
        #expect(status.status == 0 && status.stdout.contains("coverage: complete"), "\(status.output)")
        let foreign = try SQLiteConnection(path: sharded.dir.file("shards/notes.db"), readOnly: false, create: true)
        try foreign.execute("CREATE TABLE notes (text TEXT)")
        foreign.close()
        for arguments in commands.map({ $0.map { $0 == "mixed" ? "shards" : $0 } }) {
            let result = try sharded.run(arguments)
            #expect(result.status == 2 && result.stderr.contains("shards/notes.db is not a Spool database")
                    && result.stderr.contains("move it out of the folder"), "\(arguments): \(result.output)")
            #expect(!result.stderr.contains("disk I/O") && !result.stderr.contains("--db file"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func anUnfinishedMergeIsReportedByEveryReader() throws {
        let sharded = try Sharded()
        let merging = try SpoolProcess.Running(["merge", "shards", "--db", "m.sqlite", "--chunk-size", "1"], directory: sharded.dir.path)
        try waitUntil("the merge copies some rows", timeout: .seconds(60)) {
            storedCount(sharded.dir.file("m.sqlite"), topic: "t") >= 200 || !merging.isRunning
        }
        #expect(merging.isRunning, "the merge was still running when stopped")
        merging.signal(SIGINT)
        let stopped = merging.wait()
        #expect(stopped.status == 0 && stopped.stdout.contains("stopped: run the same command again"), "\(stopped.output)")
        let notice = "m.sqlite is the target of a spool merge that has not finished"
        let status = try sharded.run(["status", "m.sqlite"])
        #expect(status.status == 0 && status.stdout.hasPrefix("WARNING: \(notice)"), "\(status.output)")
        let json = try sharded.run(["status", "m.sqlite", "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["warnings"] as? [String])?.first?.hasPrefix(notice) == true, "\(json.output)")
        let verify = try sharded.run(["verify", "m.sqlite"])
        #expect(verify.status == 1 && verify.stdout.contains("problem: \(notice)"), "\(verify.output)")
        let query = try sharded.run(["query", "m.sqlite", "SELECT count(*) FROM messages", "--format", "csv"])
        #expect(query.status == 0 && query.stderr.contains("warning: \(notice)"), "\(query.output)")
        let finished = try sharded.run(["merge", "shards", "--db", "m.sqlite"])
        #expect(finished.status == 0, "\(finished.output)")
        let sound = try sharded.run(["verify", "m.sqlite"])
        #expect(sound.status == 0 && !sound.output.contains("not finished"), "\(sound.output)")
        #expect(storedCount(sharded.dir.file("m.sqlite"), topic: "t") == 1_600)
    }

    @Test func damageIsAFindingForVerifyAndNamedByMerge() throws {
        let sharded = try Sharded()
        let damaged = sharded.dir.file("shards/s1.sqlite")
        let handle = try #require(FileHandle(forUpdatingAtPath: damaged))
        try handle.seek(toOffset: 4_096 * 4)
        handle.write(Data(repeating: 0xDE, count: 8_192))
        try handle.close()
        let verify = try sharded.run(["verify", "shards/s1.sqlite"])
        #expect(verify.status == 1 && verify.stdout.contains("damaged") && !verify.output.contains("rolled back"), "\(verify.output)")
        #expect(!verify.stdout.contains("0 messages in 0 partitions"), "a damaged file's counts are not claimed: \(verify.stdout)")
        let merge = try sharded.run(["merge", "shards", "--db", "m.sqlite"])
        #expect(merge.status == 3 && merge.stderr.contains("shards/s1.sqlite") && merge.stderr.contains("damaged"), "\(merge.output)")
        #expect(!merge.stderr.contains("m.sqlite:") && !sharded.exists("m.sqlite"), "the target is neither blamed nor created: \(merge.output)")
    }

    @Test func aShardThatOwnsNoPartitionSaysSo() throws {
        let sharded = try Sharded()
        let result = try sharded.run(["ingest", "--brokers", sharded.cluster.bootstrapServers, "--topic", "t", "--db", "far.sqlite",
                                      "--shard", "0/100000"])
        // 4 partitions of "t" go to 4 consecutive shards from the topic's starting shard; 0/100000 is not among them here.
        let owners = (0..<4).map { ShardSpec.owner(of: TopicPartition(topic: "t", partition: $0), shards: 100_000) }
        try #require(!owners.contains(0), "shard 0/100000 owns none of t's partitions (owners: \(owners))")
        #expect(result.status == 0 && result.stderr.contains("shard 0/100000 owns none of the current partitions of t: it captures nothing"),
                "\(result.output)")
    }

    @Test func mergeSaysWhatBecameOfTheShardsRetention() throws {
        let sharded = try Sharded()
        try FileManager.default.createDirectory(atPath: sharded.dir.file("kept"), withIntermediateDirectories: false)
        try sharded.capture(shard: 0, into: "kept/s0.sqlite", from: sharded.cluster, more: ["--retain", "3650d"])
        try sharded.capture(shard: 1, into: "kept/s1.sqlite", from: sharded.cluster, more: ["--retain", "3650d"])
        let same = try sharded.run(["merge", "kept", "--db", "same.sqlite"])
        #expect(same.status == 0 && same.stdout.contains("retention"), "\(same.output)")
        try sharded.capture(shard: 1, into: "kept/s1.sqlite", from: sharded.cluster, more: ["--no-retain"])
        let differ = try sharded.run(["merge", "kept", "--db", "differ.sqlite"])
        #expect(differ.status == 0 && differ.stderr.contains("the shards record different retention")
                && differ.stderr.contains("kept/s1.sqlite: none"), "\(differ.output)")
        let store = try SpoolStore.openForReading(path: sharded.dir.file("differ.sqlite"))
        #expect(try store.retention.policy() == nil)
        store.close()
    }
}
