import Foundation
import KafkaReplay
import SpoolIngest
import SpoolReplay
import SpoolStore
import SpoolScenarioSupport
import SpoolTestSupport
import Testing

/// A capture replayed with `noida-db`, the broker that writes real transaction markers: the
/// switch to Kafka at a marker or an aborted record's offset, and time policies resolved in the
/// capture by Kafka's rule.
@Suite("ConsumerManager over a capture and noida-db", .serialized, .timeLimit(.minutes(3)))
struct SecondBrokerReplayTests {
    static func config(_ scenario: NoidaScenario) -> [String: String] { ["bootstrap.servers": scenario.brokers] }

    static func capture(_ scenario: NoidaScenario, topic: String, into db: String) throws {
        let options = IngestOptions(kafkaConfig: config(scenario), topics: [.fromEarliest(topic)], batchSize: 50, pollTimeoutMs: 50)
        _ = try IngestPipeline(databasePath: db, options: options, logger: quietLogger()).run()
    }

    @Test func theSwitchAtAMarkerOrAnAbortedRecordDoesNotWait() throws {
        let scenario = try NoidaScenario()
        // "m": a committed transaction, captured, so the capture ends at its commit marker.
        // "a": plain records, captured, so the capture ends where an aborted transaction follows.
        for topic in ["m", "a"] { try scenario.topic(topic, partitions: 2) }
        _ = try scenario.produce("m", count: 20, keyPrefix: "c", valuePrefix: "first-", transactionalID: "replay-m")
        _ = try scenario.produce("a", count: 20, keyPrefix: "p", valuePrefix: "plain-")
        for topic in ["m", "a"] { try Self.capture(scenario, topic: topic, into: scenario.file("\(topic).sqlite")) }
        for topic in ["m", "a"] {
            _ = try scenario.produce(topic, count: 6, keyPrefix: "x", valuePrefix: "aborted-",
                                      transactionalID: "replay-\(topic)", abort: true)
            _ = try scenario.produce(topic, count: 10, keyPrefix: "c", valuePrefix: "later-",
                                      transactionalID: "replay-\(topic)")
        }
        for topic in ["m", "a"] {
            let alone = try CaptureReplayTests.drain(ConsumerManager(config: Self.config(scenario), topics: [.fromEarliest(topic)],
                                                                     logger: quietLogger()))
            #expect(alone.count == 30 && alone.allSatisfy { $0.value.map { !String(decoding: $0, as: UTF8.self).hasPrefix("aborted") } ?? true })
            let started = ContinuousClock.now
            let manager = try ConsumerManager(config: Self.config(scenario), topics: [.fromEarliest(topic)],
                                              capture: SpoolCapture(path: scenario.file("\(topic).sqlite")), logger: quietLogger())
            let both = try CaptureReplayTests.drain(manager, limit: .seconds(20))
            #expect(both == alone, "\(topic): first difference at \(CaptureReplayTests.firstDifference(both, alone))")
            #expect(ContinuousClock.now - started < .seconds(15), "\(topic): the switch waited for an offset Kafka never delivers")
        }
        // Where each capture ends: offset 10 of every partition (10 records each), which is the
        // commit marker of "m" and the first aborted record of "a": 21 offsets hold 18 records
        // and 3 markers (commit, abort, commit) in "m", 18 records and 2 markers in "a".
        for (topic, high) in [("m", Int64(21)), ("a", Int64(20))] {
            let stored = try SpoolStore.openForReading(path: scenario.file("\(topic).sqlite")).storedPartitions()
            #expect(stored.count == 2 && stored.allSatisfy { $0.nextOffset == 10 }, "\(topic): \(stored.map(\.nextOffset))")
            let marks = try KafkaTool.watermarks(topic, brokers: scenario.brokers, readUncommitted: true)
            #expect(marks.values.allSatisfy { $0.high == high }, "\(topic): \(marks)")
        }
    }

    /// The capture's answer to a time policy is Kafka's rule (the first offset whose timestamp is
    /// at or after the time), written out from the produced records, with Kafka and without; and
    /// wherever noida-db's own lookup answers (0.2.3 answers -1, "no offset", for a time before a
    /// partition's first record), it answers the same.
    @Test func timePoliciesResolvedInTheCaptureFollowKafkasRule() throws {
        let scenario = try NoidaScenario()
        let base: Int64 = 1_750_000_000_000
        try scenario.topic("times", partitions: 3)
        let produced = try scenario.produce("times", count: 90, keyPrefix: "k", timestampMs: base, timestampStepMs: 1_000)
        try Self.capture(scenario, topic: "times", into: scenario.file("times.sqlite"))
        let times = [base - 5_000, base, base + 1, base + 44_000, base + 44_500, base + 89_000, base + 89_001, base + 500_000]
        for time in times {
            var rule: [Int32: Int64] = [:]
            for partition in Int32(0)..<3 {
                let records = produced.filter { $0.partition == partition }.sorted { $0.offset < $1.offset }
                rule[partition] = records.first { $0.timestamp >= time }?.offset ?? Int64(records.count)
            }
            let answers = try KafkaTool.offsetsForTimes("times", timestampMs: time, brokers: scenario.brokers)
            for (partition, answer) in answers where answer >= 0 {
                #expect(answer == rule[partition], "noida-db, time \(time), partition \(partition)")
            }
            for (config, name) in [(Self.config(scenario), "capture + Kafka"), ([:], "the capture alone")] {
                let manager = try ConsumerManager(config: config, topics: [.fromAbsoluteTime("times", ms: time)],
                                                  capture: SpoolCapture(path: scenario.file("times.sqlite")), logger: quietLogger())
                let starts = Dictionary(uniqueKeysWithValues: manager.partitionState().map { ($0.partition, $0.replayStartOffset) })
                #expect(starts == rule, "\(name), time \(time)")
            }
        }
    }
}
