import Foundation
import KafkaReplay
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Synchronization
import Testing
@testable import SpoolIngest
@testable import SpoolStore

/// Ingest against `noida-db`, a second Kafka-protocol broker that can do what librdkafka's mock
/// cluster cannot: grow a topic's partitions and write real transaction markers. Data is
/// produced by the confluent-kafka Python client (`Tests/tools/kafka_tool.py`).
@Suite("Ingest against a second broker (noida-db)", .serialized, .timeLimit(.minutes(3)))
struct SecondBrokerTests {
    /// An ingest running on a thread of its own until `stop` fires.
    final class BackgroundIngest: Sendable {
        /// The run's result once it returned, shared with its thread.
        private final class Outcome: Sendable {
            let result = Mutex<Result<IngestSummary, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
        }

        let stop = StopSignal()
        private let outcome = Outcome()

        init(path: String, options: IngestOptions) {
            let thread = Thread { [stop, outcome] in
                let result = Result { try IngestPipeline(databasePath: path, options: options, logger: quietLogger()).run(stop: stop) }
                outcome.result.withLock { $0 = result }
                outcome.done.signal()
            }
            thread.start()
        }

        /// Asks the ingest to stop and returns its summary (throws its error, or after 60 s).
        func finish() throws -> IngestSummary {
            stop.stop()
            guard outcome.done.wait(timeout: .now() + 60) == .success else {
                throw KafkaTestError("the background ingest did not stop within 60 s of being asked")
            }
            return try outcome.result.withLock { $0! }.get()
        }

        /// The ingest's error if it ended by itself.
        var failure: (any Error)? {
            outcome.result.withLock { result in
                if case .failure(let error) = result { return error }
                return nil
            }
        }
    }

    private func options(_ scenario: NoidaScenario, _ topics: [SourceTopic], follow: Bool = false) -> IngestOptions {
        IngestOptions(kafkaConfig: ["bootstrap.servers": scenario.brokers, "topic.metadata.refresh.interval.ms": "300"],
                      topics: topics, batchSize: 50, follow: follow, pollTimeoutMs: 50)
    }

    @Test func partitionsAddedDuringAFollowAreReadExactlyOnce() throws {
        let scenario = try NoidaScenario()
        let db = scenario.file("grow.sqlite")
        try scenario.topic("grow", partitions: 2)
        var produced = try scenario.produce("grow", count: 20, keyPrefix: "a-", valuePrefix: "first-")
        let ingest = BackgroundIngest(path: db, options: options(scenario, [.fromEarliest("grow")], follow: true))
        try waitUntil("the first 20 messages are stored", timeout: .seconds(60)) {
            if let failure = ingest.failure { throw failure }
            return storedCount(db, topic: "grow") == 20
        }
        try KafkaTool.addPartitions("grow", total: 4, brokers: scenario.brokers)
        let later = try scenario.produce("grow", count: 100, keyPrefix: "b-", valuePrefix: "second-")
        #expect(Set(later.map(\.partition)) == [0, 1, 2, 3], "the producer spread the messages over all four partitions")
        produced += later
        try waitUntil("all 120 messages are stored, those of the new partitions included", timeout: .seconds(60)) {
            if let failure = ingest.failure { throw failure }
            return storedCount(db, topic: "grow") == 120
        }
        let summary = try ingest.finish()
        #expect(summary.storedPerTopic == ["grow": 120])
        try expectExactlyOnce(db, topic: "grow", records: produced.map(ExpectedRecord.init))
        let store = try SpoolStore.openForReading(path: db)
        // The new partitions are in the partition state and recorded with the run, from offset 0.
        #expect(try store.storedPartitions().map(\.topicPartition.partition) == [0, 1, 2, 3])
        let run = try #require(try store.runs.latest())
        #expect(run.ranges.keys.map(\.partition).sorted() == [0, 1, 2, 3])
        #expect(run.ranges[TopicPartition(topic: "grow", partition: 3)]?.start == 0)

        // A later run resumes all four partitions: nothing twice, nothing missed.
        produced += try scenario.produce("grow", count: 40, keyPrefix: "c-", valuePrefix: "third-")
        let resumed = try IngestPipeline(databasePath: db, options: options(scenario, [.fromEarliest("grow")]), logger: quietLogger()).run()
        #expect(resumed.storedPerTopic == ["grow": 40])
        try expectExactlyOnce(db, topic: "grow", records: produced.map(ExpectedRecord.init))
    }

    @Test func partitionsAddedDuringAFollowGoToTheirShard() throws {
        let scenario = try NoidaScenario()
        try scenario.topic("grown", partitions: 2)
        var produced = try scenario.produce("grown", count: 20, keyPrefix: "a-", valuePrefix: "first-")
        let shards = (0..<2).map { ShardSpec(index: $0, count: 2)! }
        let paths = (0..<2).map { scenario.file("shard\($0).sqlite") }
        let ingests = zip(shards, paths).map { shard, path in
            var options = options(scenario, [.fromEarliest("grown")], follow: true)
            options.shard = shard
            return BackgroundIngest(path: path, options: options)
        }
        func stored() throws -> Int64 {
            for ingest in ingests { if let failure = ingest.failure { throw failure } }
            return paths.reduce(0) { $0 + storedCount($1, topic: "grown") }
        }
        try waitUntil("the first 20 messages are stored across the shards", timeout: .seconds(60)) { try stored() == 20 }
        try KafkaTool.addPartitions("grown", total: 5, brokers: scenario.brokers)
        let later = try scenario.produce("grown", count: 100, keyPrefix: "b-", valuePrefix: "second-")
        #expect(Set(later.map(\.partition)) == [0, 1, 2, 3, 4], "the producer spread the messages over all five partitions")
        produced += later
        try waitUntil("all 120 messages are stored, the new partitions' by their owners", timeout: .seconds(60)) { try stored() == 120 }
        for ingest in ingests { _ = try ingest.finish() }
        for (shard, path) in zip(shards, paths) {
            let store = try SpoolStore.openForReading(path: path)
            let partitions = try store.storedPartitions().map(\.topicPartition.partition)
            let owned = (0..<Int32(5)).filter { shard.owns(TopicPartition(topic: "grown", partition: $0)) }
            #expect(partitions == owned, "shard \(shard) holds exactly its partitions, the added ones included")
            for partition in owned {
                let want = produced.filter { $0.partition == partition }.sorted { $0.offset < $1.offset }
                #expect(try store.messages(topic: "grown", partition: partition).map(\.offset) == want.map(\.offset))
            }
            #expect(try store.verify().isSound)
        }
    }

    @Test func partitionsAddedWhileSpoolWasStoppedStartAtTheirFirstOffset() throws {
        let scenario = try NoidaScenario()
        let db = scenario.file("later.sqlite")
        try scenario.topic("later", partitions: 1)
        var produced = try scenario.produce("later", count: 10, keyPrefix: "k", valuePrefix: "v")
        // The topic is captured from "latest" on: only what comes after the first run.
        let first = try IngestPipeline(databasePath: db, options: options(scenario, [.fromLatest("later")]), logger: quietLogger()).run()
        #expect(first.storedPerTopic == ["later": 0])
        produced = []
        try KafkaTool.addPartitions("later", total: 3, brokers: scenario.brokers)
        produced += try scenario.produce("later", count: 30, keyPrefix: "k", valuePrefix: "w")
        // Partition 0 resumes where it was; partitions 1 and 2 are new, so they start at their
        // first offset although the topic's policy is "latest".
        let second = try IngestPipeline(databasePath: db, options: options(scenario, [.fromLatest("later")]), logger: quietLogger()).run()
        #expect(second.storedPerTopic == ["later": 30])
        try expectExactlyOnce(db, topic: "later", records: produced.map(ExpectedRecord.init))
    }

    @Test func transactionMarkersAreNotWorkLeftAndAbortedRecordsAreNotStored() throws {
        let scenario = try NoidaScenario()
        let db = scenario.file("tx.sqlite")
        try scenario.topic("tx", partitions: 2)
        var committed = try scenario.produce("tx", count: 20, keyPrefix: "c", valuePrefix: "commit-",
                                              transactionalID: "spool-test-tx")
        _ = try scenario.produce("tx", count: 6, keyPrefix: "a", valuePrefix: "abort-",
                                  transactionalID: "spool-test-tx", abort: true)
        committed += try scenario.produce("tx", count: 10, keyPrefix: "c", valuePrefix: "again-",
                                           transactionalID: "spool-test-tx")
        var last: IngestProgress?
        let summary = try IngestPipeline(databasePath: db, options: options(scenario, [.fromEarliest("tx")]), logger: quietLogger())
            .run(progressInterval: 0) { last = $0 }
        #expect(summary.isLive)
        #expect(summary.storedPerTopic == ["tx": 30])
        let topic = try #require(last?.topics.first)
        #expect(topic.topic == "tx")
        #expect(topic.remaining == 0, "a finished topic has nothing to go, whatever markers follow its last record")
        #expect(topic.livePartitions == 2)
        try expectExactlyOnce(db, topic: "tx", records: committed.map(ExpectedRecord.init))
        // The markers do occupy offsets: the high watermark is past the last stored offset.
        let store = try SpoolStore.openForReading(path: db)
        for row in try store.storedPartitions() {
            #expect(row.checkpoint.replayEndOffset > row.nextOffset,
                    "\(row.topicPartition): end \(row.checkpoint.replayEndOffset), next \(row.nextOffset)")
        }
    }
}
