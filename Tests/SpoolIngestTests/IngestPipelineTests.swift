@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
@_spi(MockCluster) import KafkaReplay
import Testing
@testable import SpoolIngest
@testable import SpoolStore

@Suite("IngestPipeline: Kafka to SQLite, exactly once", .timeLimit(.minutes(2)))
struct IngestPipelineTests {
    private func options(_ cluster: MockKafkaCluster, _ topics: [SourceTopic], batchSize: Int = 100,
                         cutoff: CutoffChoice = .now, follow: Bool = false, acceptGaps: Bool = false) -> IngestOptions {
        IngestOptions(kafkaConfig: cluster.clientConfig, topics: topics, cutoff: cutoff, batchSize: batchSize,
                      follow: follow, acceptGaps: acceptGaps, pollTimeoutMs: 50)
    }

    @Test func aBoundedBackfillStoresEverythingOnceAndGoesLive() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("a.sqlite")
        let cluster = try MockKafkaCluster(brokers: 2, logger: quietLogger())
        try cluster.createTopic("orders", partitions: 3)
        try cluster.createTopic("users", partitions: 1)
        let orders = try MockScenario.produce(into: cluster, topic: "orders", partitions: 3, indices: 0..<500, valueSize: 0)
        let users = try MockScenario.produce(into: cluster, topic: "users", partitions: 1, indices: 0..<50, valueSize: 0)
        var progressCalls = 0
        let summary = try IngestPipeline(databasePath: db, options: options(cluster, [.fromEarliest("orders"), .fromEarliest("users")]),
                                         logger: quietLogger())
            .run(progressInterval: 0) { _ in progressCalls += 1 }
        #expect(summary.isLive)
        #expect(!summary.stoppedOnRequest)
        #expect(summary.storedPerTopic == ["orders": 1_500, "users": 50])
        #expect(progressCalls > 0)
        try expectExactlyOnce(db, topic: "orders", produced: orders, partitions: 3)
        try expectExactlyOnce(db, topic: "users", produced: users, partitions: 1)
        let store = try SpoolStore.openForReading(path: db)
        let run = try #require(try store.runs.latest())
        #expect(run.status == .live && run.bounded)
        #expect(run.ranges.count == 4)
        #expect(try store.storedPartitions().allSatisfy { $0.checkpoint.isLive })
        #expect(try store.completeUntil() != nil)
        #expect(try store.clusterID() != nil)
    }

    @Test func rerunningStoresOnlyWhatIsNew() throws {
        let scenario = try MockScenario()
        let db = scenario.file("b.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let first = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 0..<100, valueSize: 0)
        let opts = options(scenario.cluster, [.fromEarliest("t")])
        _ = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        let again = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        #expect(again.storedTotal == 0)
        let second = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 100..<(100 + 40), valueSize: 0)
        let third = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        #expect(third.storedTotal == 80)
        try expectExactlyOnce(db, topic: "t", produced: first + second, partitions: 2)
    }

    @Test func aStoppedBackfillContinuesTheSameJob() throws {
        let scenario = try MockScenario()
        let db = scenario.file("c.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 0..<2_000, valueSize: 0)
        let opts = options(scenario.cluster, [.fromEarliest("t")], batchSize: 50)
        let stop = StopSignal()
        var calls = 0
        let first = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger())
            .run(stop: stop, progressInterval: 0) { progress in
                calls += 1
                if progress.storedThisRun > 500 { stop.stop() }
            }
        #expect(first.stoppedOnRequest)
        #expect(!first.isLive)
        #expect(first.storedTotal > 500 && first.storedTotal < 4_000)
        let firstRun = try #require(try SpoolStore.openForReading(path: db).runs.latest())
        #expect(firstRun.status == .stopped)
        // Messages produced after the first run's start are past its end: the same job ignores them.
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 2_000..<(2_000 + 10), base: 1_700_000_000_000, valueSize: 0)
        let second = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        #expect(second.isLive)
        #expect(second.runID == first.runID)
        #expect(first.storedTotal + second.storedTotal == 4_000)
        try expectExactlyOnce(db, topic: "t", produced: produced, partitions: 2)
    }

    @Test func anUntilCutoffStoresOnlyEarlierMessagesAndALaterOneContinues() throws {
        let scenario = try MockScenario()
        let db = scenario.file("d.sqlite")
        try scenario.cluster.createTopic("t", partitions: 2)
        let base: Int64 = 1_700_000_000_000
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 0..<300, base: base, valueSize: 0)
        // Message i of partition p has timestamp base + 10 i + p.
        let until = base + 1_000
        let first = try IngestPipeline(databasePath: db, options: options(scenario.cluster, [.fromEarliest("t")], cutoff: .at(until)),
                                       logger: quietLogger()).run()
        #expect(first.isLive)
        let before = produced.filter { $0.timestamp < until }
        #expect(first.storedTotal == Int64(before.count))
        try expectExactlyOnce(db, topic: "t", produced: before, partitions: 2)
        let second = try IngestPipeline(databasePath: db, options: options(scenario.cluster, [.fromEarliest("t")], cutoff: .at(base + 2_000)),
                                        logger: quietLogger()).run()
        #expect(second.runID != first.runID)
        try expectExactlyOnce(db, topic: "t", produced: produced.filter { $0.timestamp < base + 2_000 }, partitions: 2)
    }

    @Test func followKeepsIngestingUntilStopped() throws {
        let scenario = try MockScenario()
        let db = scenario.file("e.sqlite")
        try scenario.cluster.createTopic("t", partitions: 1)
        let early = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 0..<10, valueSize: 0)
        let stop = StopSignal()
        var producedLate: [MockMessage] = []
        var producedYet = false
        // A failed produce stops the run at once (waiting for messages that never come would
        // only end at the time limit) and is rethrown below.
        var produceError: (any Error)?
        // Likewise a run that never stores all 15 is stopped after a minute and fails below.
        let deadline = ContinuousClock.now + .seconds(60)
        var timedOut = false
        let summary = try IngestPipeline(databasePath: db, options: options(scenario.cluster, [.fromEarliest("t")], follow: true),
                                         logger: quietLogger())
            .run(stop: stop, progressInterval: 0) { progress in
                if progress.isLive && !producedYet {
                    producedYet = true
                    do {
                        producedLate = try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 10..<(10 + 5), base: 1_900_000_000_000, valueSize: 0)
                    } catch {
                        produceError = error
                        stop.stop()
                    }
                }
                if progress.storedThisRun >= 15 {
                    stop.stop()
                } else if ContinuousClock.now > deadline {
                    timedOut = true
                    stop.stop()
                }
            }
        if let produceError { throw produceError }
        #expect(!timedOut, "the run did not store the 15 messages within 60 s")
        #expect(summary.stoppedOnRequest)
        #expect(producedLate.count == 5)
        try expectExactlyOnce(db, topic: "t", produced: early + producedLate, partitions: 1)
    }

    @Test func aRetentionGapIsRecordedAndRefusedThenAccepted() throws {
        let scenario = try MockScenario()
        let db = scenario.file("g.sqlite")
        try scenario.cluster.createTopic("t", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 0..<5, valueSize: 100_000)
        let opts = options(scenario.cluster, [.fromEarliest("t")])
        _ = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        // About 7 MiB more: the mock scenario.cluster keeps 5 MiB per partition and drops the oldest.
        for round in 0..<7 { try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 5 + round * 10..<(5 + round * 10 + 10), valueSize: 100_000) }
        #expect {
            _ = try IngestPipeline(databasePath: db, options: opts, logger: quietLogger()).run()
        } throws: { error in
            guard case .gapRefused(let topic, let partition, let stored, let earliest) = error as? IngestError else { return false }
            return topic == "t" && partition == 0 && stored == 5 && earliest > 5
        }
        var gaps = try SpoolStore.openForReading(path: db).runs.gaps()
        #expect(gaps.count == 1)
        #expect(gaps.first?.firstMissingOffset == 5)
        #expect(gaps.first?.accepted == false)
        let accepted = try IngestPipeline(databasePath: db, options: options(scenario.cluster, [.fromEarliest("t")], acceptGaps: true),
                                          logger: quietLogger()).run()
        #expect(accepted.isLive)
        #expect(accepted.gapsAccepted == 1)
        gaps = try SpoolStore.openForReading(path: db).runs.gaps()
        #expect(gaps.count == 2)
        #expect(gaps.last?.accepted == true)
        let store = try SpoolStore.openForReading(path: db)
        let rows = try store.messages(topic: "t", partition: 0)
        #expect(rows.first?.offset == 0)
        #expect(rows.last?.offset == 74)
        #expect(try store.verify().isSound)
    }

    @Test func anotherClusterBehindTheSameDatabaseIsRefused() throws {
        let dir = TemporaryDirectory()
        let db = dir.file("h.sqlite")
        let first = try MockKafkaCluster(logger: quietLogger())
        try first.createTopic("t", partitions: 1)
        try MockScenario.produce(into: first, topic: "t", partitions: 1, indices: 0..<3, valueSize: 0)
        _ = try IngestPipeline(databasePath: db, options: options(first, [.fromEarliest("t")]), logger: quietLogger()).run()
        let second = try MockKafkaCluster(logger: quietLogger())
        try second.createTopic("t", partitions: 1)
        try MockScenario.produce(into: second, topic: "t", partitions: 1, indices: 0..<3, valueSize: 0)
        #expect {
            _ = try IngestPipeline(databasePath: db, options: options(second, [.fromEarliest("t")]), logger: quietLogger()).run()
        } throws: { error in
            if case .clusterMismatch = error as? IngestError { return true }
            return false
        }
    }

    @Test func aStoredOffsetBeyondTheBrokerIsRefused() throws {
        let scenario = try MockScenario()
        let db = scenario.file("i.sqlite")
        try scenario.cluster.createTopic("t", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 0..<20, valueSize: 0)
        _ = try IngestPipeline(databasePath: db, options: options(scenario.cluster, [.fromEarliest("t")]), logger: quietLogger()).run()
        // The mock cannot delete a topic, so a second scenario.cluster plays the recreated topic, and the
        // stored scenario.cluster id is cleared so that check does not stop it first.
        let recreated = try MockKafkaCluster(logger: quietLogger())
        try recreated.createTopic("t", partitions: 1)
        try MockScenario.produce(into: recreated, topic: "t", partitions: 1, indices: 0..<5, valueSize: 0)
        let store = try SpoolStore.openForWriting(path: db)
        try store.connection.execute("UPDATE progress SET cluster_id = NULL")
        store.close()
        #expect {
            _ = try IngestPipeline(databasePath: db, options: options(recreated, [.fromEarliest("t")]), logger: quietLogger()).run()
        } throws: { error in
            guard case .aheadOfBroker(_, _, let stored, let high) = error as? IngestError else { return false }
            return stored == 20 && high == 5
        }
    }
}
