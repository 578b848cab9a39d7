import Logging
import SpoolTestSupport
import Testing
@_spi(MockCluster) @testable import KafkaReplay

/// Today's kafkars spelling, `ConsumerManager(config, topics, batch_size=None)`: no time cutoff,
/// 10,000 per batch, a random group id, live at the high watermark seen at start.
@Suite("ConsumerManager, today's kafkars spelling", .timeLimit(.minutes(2)))
struct KafkarsSpellingTests {
    private func quiet() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func withoutACutoffEverythingBeforeTheStartTimeEndIsReplayedThenLive() throws {
        let cluster = try MockKafkaCluster(logger: quiet())
        try cluster.createTopic("later", partitions: 2)
        // Timestamps far in the future: with a cutoff of "now" the first of them would end the
        // replay; without a cutoff every message up to the start-time high watermark is replay.
        let future: Int64 = 4_000_000_000_000
        let produced = (0..<40).map { i in
            MockMessage(partition: Int32(i % 2), key: Array("k\(i)".utf8), value: Array("v\(i)".utf8), timestamp: future + Int64(i))
        }
        try cluster.produce(topic: "later", produced)
        let consumer = try ConsumerManager(config: cluster.clientConfig, topics: [.fromEarliest("later")], logger: quiet())
        #expect(consumer.cutoffMs == nil)
        #expect(consumer.batchSize == 10_000)
        #expect(!consumer.isLive, "nothing was read yet, so the replay is not over")
        var released: [Message] = []
        try waitUntil("the consumer is live after the 40 messages", timeout: .seconds(30), poll: .zero) {
            released += try consumer.poll(timeoutMs: 100)
            return consumer.isLive
        }
        #expect(released.map(\.timestamp) == produced.map(\.timestamp), "all 40, merged in timestamp order")
        #expect(consumer.partitionState().map(\.replayEndOffset) == [20, 20])
        #expect(consumer.partitionState().map(\.nextOffset) == [20, 20])
        #expect(consumer.completeUntil != nil)
    }

    @Test func theOlderSpellingWithCutoffAndBatchSizeStillWorks() throws {
        let cluster = try MockKafkaCluster(logger: quiet())
        try cluster.createTopic("old", partitions: 1)
        try cluster.produce(topic: "old", (0..<10).map {
            MockMessage(partition: 0, key: nil, value: Array("v\($0)".utf8), timestamp: 1_000 + Int64($0))
        })
        let cutoff: Int64 = 1_005
        let consumer = try ConsumerManager(config: cluster.clientConfig, topics: [.fromEarliest("old")], cutoffMs: cutoff, batchSize: 3,
                                           logger: quiet())
        #expect(consumer.cutoffMs == 1_005)
        var batches: [MessageBatch] = []
        try waitUntil("the consumer is live at the cutoff", timeout: .seconds(30), poll: .zero) {
            let batch = try consumer.poll(timeoutMs: 100)
            if !batch.isEmpty { batches.append(batch) }
            return consumer.isLive
        }
        #expect(batches.allSatisfy { $0.count <= 3 })
        // Live at the first message at or after the cutoff (offset 5): everything before it is
        // released by then, in order; what follows may come in the same batch.
        let offsets = batches.flatMap { $0 }.map(\.offset)
        #expect(offsets == Array(0..<Int64(offsets.count)))
        #expect(offsets.count >= 5)
    }

    @Test func aMissingGroupIDGetsARandomOneAndAGivenOneIsKept() {
        let first = ConsumerManager.effectiveConfig(["bootstrap.servers": "x:1"])
        let second = ConsumerManager.effectiveConfig(["bootstrap.servers": "x:1"])
        #expect(first["group.id"]?.hasPrefix("spool-") == true)
        #expect(first["group.id"] != second["group.id"])
        #expect(ConsumerManager.effectiveConfig(["group.id": "mine"])["group.id"] == "mine")
        #expect(first["enable.auto.commit"] == "false" && first["auto.offset.reset"] == "error")
    }

    @Test func aBoundedRunAsksBrokersToHoldEmptyFetchesBrieflyUnlessTheCallerChose() {
        let base = ["bootstrap.servers": "x:1"]
        func config(_ user: [String: String], stopAtCutoff: Bool) -> [String: String] {
            ConsumerManager.consumerConfig(user, userConfig: user, partitions: 64, stopAtCutoff: stopAtCutoff)
        }
        #expect(config(base, stopAtCutoff: true)["fetch.wait.max.ms"] == "50")
        #expect(config(base, stopAtCutoff: false)["fetch.wait.max.ms"] == nil)
        #expect(config(base.merging(["fetch.wait.max.ms": "700"]) { $1 }, stopAtCutoff: true)["fetch.wait.max.ms"] == "700")
    }

    @Test func thePrefetchIsSharedByThePartitionsWithinFloorsUnlessTheCallerChose() {
        let base = ["bootstrap.servers": "x:1"]
        let many = ConsumerManager.consumerConfig(base, userConfig: base, partitions: 64, stopAtCutoff: false)
        #expect(many["queued.min.messages"] == "500" && many["queued.max.messages.kbytes"] == "256")
        let thousands = ConsumerManager.consumerConfig(base, userConfig: base, partitions: 5_000, stopAtCutoff: false)
        #expect(thousands["queued.min.messages"] == "100" && thousands["queued.max.messages.kbytes"] == "64")
        let one = ConsumerManager.consumerConfig(base, userConfig: base, partitions: 0, stopAtCutoff: false)
        #expect(one["queued.min.messages"] == "32000" && one["queued.max.messages.kbytes"] == "16384")
        let user = base.merging(["queued.min.messages": "7", "queued.max.messages.kbytes": "9"]) { $1 }
        let chosen = ConsumerManager.consumerConfig(user, userConfig: user, partitions: 64, stopAtCutoff: false)
        #expect(chosen["queued.min.messages"] == "7" && chosen["queued.max.messages.kbytes"] == "9")
    }
}
