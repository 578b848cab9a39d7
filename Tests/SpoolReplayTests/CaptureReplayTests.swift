import Foundation
@_spi(MockCluster) import KafkaReplay
import Logging
import SpoolIngest
import SpoolReplay
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `ConsumerManager` over a Spool capture and the mock cluster: the same records in the same
/// release order as Kafka alone, history beyond Kafka's retention, gaps, the capture alone, and
/// a folder of shard files.
@Suite("ConsumerManager over a capture", .serialized, .timeLimit(.minutes(3)))
struct CaptureReplayTests {
    /// One released record, everything compared.
    struct Record: Equatable, CustomStringConvertible {
        var topic: String
        var partition: Int32
        var offset: Int64
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [MessageHeader]
        var description: String { "\(topic)[\(partition)]@\(offset)" }
    }

    /// `count` records per partition from index `from`: timestamps jump back and forth within a
    /// partition and interleave across partitions; every third record has headers (a duplicate
    /// name, a null and an empty value, binary bytes); some keys and values are null.
    static func records(partitions: Int32, from: Int, count: Int, valueSize: Int = 24) -> [MockMessage] {
        var out: [MockMessage] = []
        for index in from..<(from + count) {
            for partition in 0..<partitions {
                let wobble = Int64((index * 7_919 + Int(partition) * 104_729) % 50)
                let timestamp = 1_700_000_000_000 + Int64(index) * 20 - wobble * 7 + Int64(partition)
                let headers: [MessageHeader] = index % 3 == 0
                    ? [MessageHeader(name: "h", value: Array("v\(index)".utf8)), MessageHeader(name: "h", value: nil),
                       MessageHeader(name: "e", value: []), MessageHeader(name: "bin", value: [0, 255, 10, 0])]
                    : []
                let value: [UInt8]? = index % 11 == 5 ? nil : Array("value-\(partition)-\(index)-".utf8) + Array(repeating: 120, count: valueSize)
                out.append(MockMessage(partition: partition, key: index % 13 == 0 ? nil : Array("k\(index % 40)".utf8), value: value,
                                       timestamp: timestamp, headers: headers))
            }
        }
        return out
    }

    /// The position of the first record where two sequences differ (-1: none up to the shorter's end).
    static func firstDifference(_ first: [Record], _ second: [Record]) -> Int {
        zip(first.indices, zip(first, second)).first { $0.1.0 != $0.1.1 }?.0 ?? -1
    }

    /// Polls until every partition is live and a poll brings nothing more; fails after `limit`.
    static func drain(_ manager: ConsumerManager, limit: Duration = .seconds(60)) throws -> [Record] {
        var out: [Record] = []
        let deadline = ContinuousClock.now + limit
        while true {
            let batch = try manager.poll(timeoutMs: 100)
            for position in batch.indices {
                let message = batch[position]
                out.append(Record(topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp,
                                  key: message.key, value: message.value, headers: message.headers))
            }
            if batch.isEmpty && manager.isLive { return out }
            if ContinuousClock.now > deadline {
                Issue.record("the replay did not become live within \(limit); \(out.count) records so far")
                return out
            }
        }
    }

    /// Captures `topics` from `cluster` into `db` (a bounded backfill to now).
    static func capture(_ cluster: MockKafkaCluster, topics: [String], into db: String, shard: ShardSpec? = nil) throws {
        var options = IngestOptions(kafkaConfig: ["bootstrap.servers": cluster.bootstrapServers], topics: topics.map { SourceTopic.fromEarliest($0) },
                                    batchSize: 500)
        options.shard = shard
        _ = try IngestPipeline(databasePath: db, options: options, logger: quietLogger()).run()
    }

    static func kafka(_ cluster: MockKafkaCluster) -> [String: String] { ["bootstrap.servers": cluster.bootstrapServers] }

    /// Two topics (3 and 2 partitions), 120 records per partition captured, then 80 more produced.
    static func capturedThenGrown(_ dir: TemporaryDirectory) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        for (topic, partitions) in [("a", Int32(3)), ("b", Int32(2))] {
            try cluster.createTopic(topic, partitions: Int(partitions))
            try cluster.produce(topic: topic, records(partitions: partitions, from: 0, count: 120))
        }
        try capture(cluster, topics: ["a", "b"], into: dir.file("c.sqlite"))
        for (topic, partitions) in [("a", Int32(3)), ("b", Int32(2))] {
            try cluster.produce(topic: topic, records(partitions: partitions, from: 120, count: 80))
        }
        return cluster
    }

    /// For topics with a time policy, each partition's first offset (of the 200 produced by
    /// `capturedThenGrown`) whose timestamp is at or after the time.
    static func kafkaRuleStarts(_ topics: [SourceTopic]) -> [TopicPartition: Int64] {
        var starts: [TopicPartition: Int64] = [:]
        for topic in topics {
            guard case .absoluteTime(let ms) = topic.policy else { continue }
            let partitions: Int32 = topic.name == "a" ? 3 : 2
            let produced = records(partitions: partitions, from: 0, count: 200)
            for partition in 0..<partitions {
                let timestamps = produced.filter { $0.partition == partition }.map(\.timestamp)
                starts[TopicPartition(topic: topic.name, partition: partition)] = Int64(timestamps.firstIndex { $0 >= ms } ?? timestamps.count)
            }
        }
        return starts
    }

    @Test func captureThenKafkaReleasesWhatKafkaAloneReleases() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.capturedThenGrown(dir)
        let middle: Int64 = 1_700_000_000_000 + 100 * 20
        let cases: [(String, [SourceTopic], Int64?)] = [
            ("earliest", [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")], nil),
            ("earliest with a cutoff", [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")], middle + 1_000),
            ("a time inside the capture", [SourceTopic.fromAbsoluteTime("a", ms: middle), SourceTopic.fromAbsoluteTime("b", ms: middle)], nil),
            ("a time after the capture", [SourceTopic.fromAbsoluteTime("a", ms: middle + 2_800), SourceTopic.fromEarliest("b")], nil),
            ("latest", [SourceTopic.fromLatest("a"), SourceTopic.fromLatest("b")], nil),
        ]
        for (name, topics, cutoff) in cases {
            // Kafka alone starts where Kafka's rule puts a time policy (the first offset whose
            // timestamp is at or after the time), written out from the produced records: the
            // mock answers no time lookup, and the search Spool falls back on assumes ordered
            // timestamps, which these are not.
            let alone = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: topics, cutoffMs: cutoff, batchSize: 97,
                                                       startOffsets: Self.kafkaRuleStarts(topics), logger: quietLogger()))
            let capture = try SpoolCapture(path: dir.file("c.sqlite"))
            let both = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: topics, capture: capture, cutoffMs: cutoff,
                                                      batchSize: 97, logger: quietLogger()))
            #expect(both.count == alone.count, "\(name): \(both.count) records from capture + Kafka, \(alone.count) from Kafka alone")
            #expect(both == alone, "\(name): first difference at \(Self.firstDifference(both, alone))")
        }
        let all = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")],
                                                 logger: quietLogger()))
        #expect(all.count == 5 * 200, "every produced record once")
    }

    @Test func theCaptureAloneReplaysWhatItHoldsAndIsLiveAtItsEnd() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.capturedThenGrown(dir)
        let capture = try SpoolCapture(path: dir.file("c.sqlite"))
        let manager = try ConsumerManager(config: [:], topics: [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")], capture: capture,
                                          batchSize: 64, logger: quietLogger())
        let offline = try Self.drain(manager)
        #expect(manager.clusterID == nil)
        // Kafka alone over the first 120 offsets of each partition: the same records, same order.
        let kafka = try ConsumerManager(config: Self.kafka(cluster), topics: [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")],
                                        endOffsets: Dictionary(uniqueKeysWithValues: [("a", 3), ("b", 2)].flatMap { topic, count in
                                            (0..<Int32(count)).map { (TopicPartition(topic: topic, partition: $0), Int64(120)) }
                                        }), stopAtCutoff: true, logger: quietLogger())
        let bounded = try Self.drain(kafka)
        #expect(offline.count == 5 * 120)
        #expect(offline == bounded, "first difference at \(Self.firstDifference(offline, bounded))")
        #expect(manager.partitionState().allSatisfy { $0.isLive && $0.replayRange.end == 120 })
        #expect(throws: ReplayError.self) {
            try ConsumerManager(config: [:], topics: [SourceTopic.fromEarliest("missing")], capture: capture, logger: quietLogger())
        }
    }

    /// Topic "big" (1 partition, 10 KB records): `captured` records captured into `c.sqlite`,
    /// then produced up to `total`, past the mock's ~5 MiB per partition, so Kafka drops the
    /// head. Returns the cluster and what Kafka alone still replays.
    static func capturedThenOverflowed(_ dir: TemporaryDirectory, captured: Int, total: Int) throws -> (MockKafkaCluster, [Record]) {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("big", partitions: 1)
        try cluster.produce(topic: "big", records(partitions: 1, from: 0, count: captured, valueSize: 10_000))
        try capture(cluster, topics: ["big"], into: dir.file("c.sqlite"))
        for chunk in stride(from: captured, to: total, by: 50) {
            try cluster.produce(topic: "big", records(partitions: 1, from: chunk, count: 50, valueSize: 10_000))
        }
        return (cluster, try drain(ConsumerManager(config: kafka(cluster), topics: [SourceTopic.fromEarliest("big")], logger: quietLogger())))
    }

    @Test func historyBeyondKafkasRetentionComesFromTheCapture() throws {
        let dir = TemporaryDirectory()
        let (cluster, kafkaOnly) = try Self.capturedThenOverflowed(dir, captured: 450, total: 650)
        let low = try #require(kafkaOnly.first?.offset)
        try #require(low > 0 && low <= 450, "the mock dropped the head Kafka-side (low watermark \(low)) but not past the capture's end")
        let capture = try SpoolCapture(path: dir.file("c.sqlite"))
        let both = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: [SourceTopic.fromEarliest("big")], capture: capture,
                                                  batchSize: 100, logger: quietLogger()))
        #expect(both.map(\.offset) == Array(0..<650), "every offset once, in order, the head from the capture")
        #expect(Array(both.suffix(kafkaOnly.count)) == kafkaOnly, "what Kafka still holds is the same")
        #expect(both.first?.value == Self.records(partitions: 1, from: 0, count: 1, valueSize: 10_000).first?.value)
    }

    @Test func offsetsNeitherHoldsAreRefusedNamingTheRangeOrSkipped() throws {
        let dir = TemporaryDirectory()
        let (cluster, kafkaOnly) = try Self.capturedThenOverflowed(dir, captured: 100, total: 900)
        let low = try #require(kafkaOnly.first?.offset)
        try #require(low > 100, "Kafka lost offsets after the capture's end (low watermark \(low))")
        let capture = try SpoolCapture(path: dir.file("c.sqlite"))
        #expect(throws: ReplayError.historyGap(topic: "big", partition: 0, missing: ReplayRange(start: 100, end: low))) {
            try ConsumerManager(config: Self.kafka(cluster), topics: [SourceTopic.fromEarliest("big")], capture: capture, logger: quietLogger())
        }
        let skipped = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: [SourceTopic.fromEarliest("big")], capture: capture,
                                                     acceptGaps: true, logger: quietLogger()))
        #expect(skipped.map(\.offset) == Array(0..<100) + Array(low..<900))
    }

    @Test func aFolderOfShardFilesIsOneCapture() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.capturedThenGrown(dir)
        try FileManager.default.createDirectory(atPath: dir.file("shards"), withIntermediateDirectories: false)
        // Shards captured after the growth: they hold all 200 records per partition.
        for index in 0..<2 {
            try Self.capture(cluster, topics: ["a", "b"], into: dir.file("shards/s\(index).sqlite"), shard: ShardSpec(index: index, count: 2))
        }
        let topics = [SourceTopic.fromEarliest("a"), SourceTopic.fromEarliest("b")]
        let fromShards = try Self.drain(ConsumerManager(config: [:], topics: topics, capture: SpoolCapture(path: dir.file("shards")),
                                                        logger: quietLogger()))
        let fromKafka = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: topics, logger: quietLogger()))
        #expect(fromShards.count == 1_000)
        #expect(fromShards == fromKafka)
    }

    /// History is handed over in chunks; backpressure still bounds what is held: a poll drains at
    /// most a batch's worth of records (not of calls) before it looks, and a partition holding
    /// two chunks waits for them to be released (as a Kafka partition waits on its bounded fetch
    /// queue), so the capture is never read into memory whole, with few partitions or many.
    @Test(arguments: [(4, 3_000, 100), (32, 3_000, 1_000)])
    func backpressureBoundsWhatAReplayOfTheCaptureHolds(partitions: Int, perPartition: Int, batchSize: Int) throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("a", partitions: partitions)
        try cluster.produce(topic: "a", Self.records(partitions: Int32(partitions), from: 0, count: perPartition))
        try Self.capture(cluster, topics: ["a"], into: dir.file("c.sqlite"))
        let manager = try ConsumerManager(config: [:], topics: [.fromEarliest("a")], capture: SpoolCapture(path: dir.file("c.sqlite")),
                                          cutoffMs: Int64.max, batchSize: batchSize, stopAtCutoff: true, logger: quietLogger())
        var released = 0, mostHeld = 0
        let deadline = ContinuousClock.now + .seconds(90)
        while !manager.isLive && ContinuousClock.now < deadline {
            released += try manager.poll(timeoutMs: 100).count
            mostHeld = max(mostHeld, manager.heldMessageCount)
        }
        #expect(released == partitions * perPartition)
        // Five batches (the pause threshold), two chunks (each at most a batch) per partition, a batch.
        let chunk = min(256, batchSize)
        #expect(mostHeld <= 5 * batchSize + partitions * 2 * chunk + batchSize, "held \(mostHeld) records at once")
    }

    /// A `--latest-only` topic keeps no log: the capture alone refuses it by name, and with Kafka
    /// every record comes from Kafka.
    @Test func aLatestOnlyTopicIsReadFromKafkaAndRefusedWithoutIt() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("k", partitions: 2)
        try cluster.produce(topic: "k", Self.records(partitions: 2, from: 0, count: 50))
        var options = IngestOptions(kafkaConfig: Self.kafka(cluster), topics: [.fromEarliest("k")], batchSize: 500)
        options.keyed = ["k": .latestOnly]
        _ = try IngestPipeline(databasePath: dir.file("c.sqlite"), options: options, logger: quietLogger()).run()
        let capture = try SpoolCapture(path: dir.file("c.sqlite"))
        do {
            _ = try ConsumerManager(config: [:], topics: [.fromEarliest("k")], capture: capture, logger: quietLogger())
            Issue.record("the capture alone replayed a topic whose log it does not keep")
        } catch let error as ReplayError {
            #expect(error.description.contains("'k'") && error.description.contains("--latest-only"), "\(error)")
        }
        let both = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: [.fromEarliest("k")], capture: capture, logger: quietLogger()))
        let alone = try Self.drain(ConsumerManager(config: Self.kafka(cluster), topics: [.fromEarliest("k")], logger: quietLogger()))
        #expect(both.count == 100 && both == alone)
    }

    /// Rows the capture's retention removes after the replay opened are not skipped: the replay
    /// stops with an error naming the partition and the offsets.
    @Test func rowsRemovedByRetentionDuringAReplayStopItNamingThem() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("a", partitions: 1)
        try cluster.produce(topic: "a", Self.records(partitions: 1, from: 0, count: 200))
        try Self.capture(cluster, topics: ["a"], into: dir.file("c.sqlite"))
        let manager = try ConsumerManager(config: [:], topics: [.fromEarliest("a")], capture: SpoolCapture(path: dir.file("c.sqlite")),
                                          batchSize: 50, logger: quietLogger())
        // What retention does to the front of a partition, done by hand after the replay opened.
        let writer = try SpoolStore.openForWriting(path: dir.file("c.sqlite"))
        try writer.connection.execute("DELETE FROM messages WHERE offset < 120; UPDATE partition_state SET retained_from_offset = 120")
        writer.close()
        do {
            let released = try Self.drain(manager, limit: .seconds(20))
            Issue.record("the replay went on past removed rows: \(released.count) records")
        } catch let error as StoreError {
            #expect(error.description.contains("a[0]") && error.description.contains("removed offsets 0...119"), "\(error)")
        }
    }
}
