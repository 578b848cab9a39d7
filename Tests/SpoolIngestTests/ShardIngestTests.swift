@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// `--shard I/N` through the pipeline, against the mock cluster.
@Suite("Shards: each process captures the partitions it owns", .timeLimit(.minutes(2)))
struct ShardIngestTests {
    static func options(_ cluster: MockKafkaCluster, shard: ShardSpec?) -> IngestOptions {
        var options = IngestOptions(kafkaConfig: cluster.clientConfig, topics: [.fromEarliest("big"), .fromEarliest("small")])
        options.shard = shard
        return options
    }

    /// A mock cluster with topics "big" (12 partitions, `bigCount` records each) and "small"
    /// (5 partitions, `smallCount` each), and what was produced to them.
    static func cluster(bigCount: Int, smallCount: Int) throws -> (MockKafkaCluster, big: [MockMessage], small: [MockMessage]) {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("big", partitions: 12)
        try cluster.createTopic("small", partitions: 5)
        let big = try MockScenario.produce(into: cluster, topic: "big", partitions: 12, indices: 0..<bigCount, valueSize: 0)
        return (cluster, big, try MockScenario.produce(into: cluster, topic: "small", partitions: 5, indices: 0..<smallCount, valueSize: 0))
    }

    @Test func threeShardsTogetherHoldEveryRecordExactlyOnce() throws {
        let dir = TemporaryDirectory()
        let (cluster, big, small) = try Self.cluster(bigCount: 40, smallCount: 30)
        var owners: [TopicPartition: Int] = [:]
        for index in 0..<3 {
            let shard = ShardSpec(index: index, count: 3)!
            let path = dir.file("s\(index).sqlite")
            _ = try IngestPipeline(databasePath: path, options: Self.options(cluster, shard: shard), logger: quietLogger()).run()
            let store = try SpoolStore.openForReading(path: path)
            #expect(try store.shards.spec() == shard)
            for partition in try store.storedPartitions() {
                #expect(shard.owns(partition.topicPartition), "\(partition.topicPartition) is not shard \(shard)'s")
                #expect(owners.updateValue(index, forKey: partition.topicPartition) == nil, "\(partition.topicPartition) is in two shards")
                let want = (partition.topicPartition.topic == "big" ? big : small).filter { $0.partition == partition.topicPartition.partition }
                let got = try store.messages(topic: partition.topicPartition.topic, partition: partition.topicPartition.partition)
                #expect(got.map(\.value) == want.map(\.value) && got.map(\.offset) == (0..<Int64(want.count)).map { $0 })
            }
            #expect(try store.verify().isSound)
        }
        #expect(owners.count == 17, "every partition of both topics is owned by exactly one shard")
    }

    @Test func aShardFileKeepsItsSpecAndRefusesAnother() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.cluster(bigCount: 5, smallCount: 5).0
        let path = dir.file("s1.sqlite")
        let one = ShardSpec(index: 1, count: 3)!
        _ = try IngestPipeline(databasePath: path, options: Self.options(cluster, shard: one), logger: quietLogger()).run()
        let before = try SpoolStore.openForReading(path: path).storedPartitions().map(\.topicPartition)
        // A later run without --shard keeps the recorded shard.
        try MockScenario.produce(into: cluster, topic: "big", partitions: 12, indices: 5..<(5 + 5), valueSize: 0)
        _ = try IngestPipeline(databasePath: path, options: Self.options(cluster, shard: nil), logger: quietLogger()).run()
        #expect(try SpoolStore.openForReading(path: path).storedPartitions().map(\.topicPartition) == before)
        #expect(throws: IngestError.shardMismatch(path: path, recorded: one, asked: ShardSpec(index: 1, count: 4)!)) {
            _ = try IngestPipeline(databasePath: path, options: Self.options(cluster, shard: ShardSpec(index: 1, count: 4)!),
                                   logger: quietLogger()).run()
        }
        // A whole capture cannot become a shard's file.
        let whole = dir.file("whole.sqlite")
        _ = try IngestPipeline(databasePath: whole, options: Self.options(cluster, shard: nil), logger: quietLogger()).run()
        let zero = ShardSpec(index: 0, count: 3)!
        #expect(throws: IngestError.self) {
            _ = try IngestPipeline(databasePath: whole, options: Self.options(cluster, shard: zero), logger: quietLogger()).run()
        }
        #expect(try SpoolStore.openForReading(path: whole).shards.spec() == nil, "the refused run recorded nothing")
    }

    @Test func mergeIsExactResumableAndRefusesAnIncompleteSet() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.cluster(bigCount: 40, smallCount: 30).0
        let paths = (0..<3).map { dir.file("s\($0).sqlite") }
        for (index, path) in paths.enumerated() {
            _ = try IngestPipeline(databasePath: path, options: Self.options(cluster, shard: ShardSpec(index: index, count: 3)!),
                                   logger: quietLogger()).run()
        }
        let whole = dir.file("whole.sqlite")
        _ = try IngestPipeline(databasePath: whole, options: Self.options(cluster, shard: nil), logger: quietLogger()).run()
        let total: Int64 = 12 * 40 + 5 * 30
        #expect(throws: StoreError.self) { try ShardRole.check(Array(paths.prefix(2)), target: dir.file("m.sqlite")) }
        let merged = try SpoolStore.openForWriting(path: dir.file("m.sqlite"))
        var chunks = 0
        let first = try merged.shards.merge(paths, chunkSize: 7, stop: { chunks += 1; return chunks > 20 })
        #expect(first.rowsCopied > 0 && first.rowsCopied < total, "the first merge was stopped part way (\(first.rowsCopied) rows)")
        let problems = try merged.verify().problems
        #expect(problems.count == 1 && problems[0].contains("spool merge that has not finished"),
                "a stopped merge is consistent (every partition's state matches its rows) and said to be unfinished: \(problems)")
        #expect(try merged.shards.mergeInProgress(), "the stopped merge is marked unfinished")
        merged.close()
        #expect(throws: IngestError.mergeUnfinished(path: dir.file("m.sqlite"))) {
            _ = try IngestPipeline(databasePath: dir.file("m.sqlite"), options: Self.options(cluster, shard: nil), logger: quietLogger()).run()
        }
        let resumed = try SpoolStore.openForWriting(path: dir.file("m.sqlite"))
        let second = try resumed.shards.merge(paths, chunkSize: 50)
        #expect(first.rowsCopied + second.rowsCopied == total, "nothing copied twice, nothing left out")
        #expect(try !resumed.shards.mergeInProgress(), "the finished merge is no longer marked")
        #expect(try resumed.shards.merge(paths).rowsCopied == 0)
        #expect(try resumed.verify().isSound)
        #expect(try resumed.shards.spec() == nil, "the result is a whole capture")
        let reference = try SpoolStore.openForReading(path: whole)
        #expect(try resumed.storedPartitions().map(\.topicPartition) == reference.storedPartitions().map(\.topicPartition))
        for partition in try reference.storedPartitions().map(\.topicPartition) {
            let got = try resumed.messages(topic: partition.topic, partition: partition.partition)
            let want = try reference.messages(topic: partition.topic, partition: partition.partition)
            #expect(got == want, "\(partition)")
        }
        // The merged file resumes as a whole capture without --shard.
        try MockScenario.produce(into: cluster, topic: "small", partitions: 5, indices: 30..<(30 + 10), valueSize: 0)
        resumed.close()
        _ = try IngestPipeline(databasePath: dir.file("m.sqlite"), options: Self.options(cluster, shard: nil), logger: quietLogger()).run()
        #expect(try SpoolStore.openForReading(path: dir.file("m.sqlite")).messageCounts()["small"] == 5 * 40)
    }
}
