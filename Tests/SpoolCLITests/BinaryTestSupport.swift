@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import Logging
import SpoolStore
import Testing

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

