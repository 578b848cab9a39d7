import SpoolTestSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import Logging
import SpoolStore
import Testing

/// Produces `perPartition` messages on each partition of `topic` (`testMessages` with nulls,
/// values padded to `valueSize` bytes), in chunks of at most 20,000; returns them.
@discardableResult
func fill(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, perPartition: Int, valueSize: Int = 40) throws -> [MockMessage] {
    let all = testMessages(partitions: partitions, indices: 0..<perPartition, valueSize: valueSize, withNulls: true)
        .map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) }
    for start in stride(from: 0, to: all.count, by: 20_000) {
        try cluster.produce(topic: topic, Array(all[start..<min(start + 20_000, all.count)]))
    }
    return all
}

/// How many messages of `topic` the database at `path` holds (0 while it cannot be read yet).
func storedCount(_ path: String, topic: String) -> Int64 {
    (try? SpoolStore.openForReading(path: path).messageCounts()[topic]) ?? 0
}

/// Checks the database holds every produced message exactly once with the produced bytes.
func expectExactlyOnce(_ path: String, topic: String, produced: [MockMessage], partitions: Int32,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try SpoolStore.openForReading(path: path)
    defer { store.close() }
    for p in 0..<partitions {
        let want = produced.filter { $0.partition == p }
        let got = try store.messages(topic: topic, partition: p)
        #expect(got.map(\.offset) == (0..<Int64(want.count)).map { $0 }, "offsets of \(topic)[\(p)]", sourceLocation: sourceLocation)
        if got.count == want.count {
            #expect(zip(got, want).allSatisfy { $0.key == $1.key && $0.value == $1.value && $0.timestamp == $1.timestamp },
                    "bytes of \(topic)[\(p)]", sourceLocation: sourceLocation)
        }
    }
    let report = try store.verify()
    #expect(report.isSound, "\(report.problems)", sourceLocation: sourceLocation)
}


/// Starts `spool` with `arguments` once per target and kills it with SIGKILL as soon as `db`
/// holds `target` rows of `topic` (a run that finishes first is not killed); returns how many
/// runs were killed mid-way.
func runKilledAt(_ targets: [Int64], arguments: [String], directory: String, db: String, topic: String) throws -> Int {
    var kills = 0
    for target in targets {
        let running = try SpoolProcess.Running(arguments, directory: directory)
        try waitUntil("\(target) rows of \(topic) are stored before the kill", timeout: .seconds(60)) {
            storedCount(db, topic: topic) >= target || !running.isRunning
        }
        if running.isRunning {
            running.signal(SIGKILL)
            kills += 1
        }
        _ = running.wait()
    }
    return kills
}

/// Runs the ingest `arguments` (of `topic` into `db`) killed with SIGKILL once `db` holds each of
/// `targets` rows, then once more to the end: at least two kills happen mid-run, the last run
/// exits 0, and `db` holds `count` rows of `topic`.
func ingestKilledThenResumed(_ arguments: [String], killedAt targets: [Int64], directory: String, db: String, topic: String,
                             count: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let kills = try runKilledAt(targets, arguments: arguments, directory: directory, db: db, topic: topic)
    #expect(kills >= 2, "the ingest was killed mid-run at least twice", sourceLocation: sourceLocation)
    let last = try SpoolProcess.run(arguments, directory: directory)
    #expect(last.status == 0, "\(last.output)", sourceLocation: sourceLocation)
    #expect(storedCount(db, topic: topic) == count, sourceLocation: sourceLocation)
}

