import Testing
@testable import KafkaReplay

@Suite("ConsumerManager against the mock cluster", .timeLimit(.minutes(2)))
struct ConsumerManagerTests {
    @Test func earliestReplaysEverythingInTimestampOrder() throws {
        let cluster = try MockKafkaCluster(brokers: 2, logger: testLogger())
        try cluster.createTopic("orders", partitions: 3)
        let produced = try produceInterleaved(cluster, topic: "orders", partitions: 3, perPartition: 200)
        let manager = try ConsumerManager(config: cluster.clientConfig, topics: [.fromEarliest("orders")],
                                          cutoffMs: Int64.max, batchSize: 50, logger: testLogger())
        let released = try drainUntilLive(manager)
        #expect(released.count == produced.count)
        expectOrdered(released)
        #expect(released.map(\.timestamp) == produced.map(\.timestamp).sorted())
        let states = manager.partitionState()
        #expect(states.count == 3)
        for state in states {
            #expect(state.replayStartOffset == 0)
            #expect(state.replayEndOffset == 200)
            #expect(state.releasedOffset == 199)
            #expect(state.consumedOffset == 199)
            #expect(state.isLive)
            #expect(!state.isPaused)
        }
        #expect(manager.primingWatermark == nil)
        #expect(manager.heldMessageCount == 0)
    }
}
