import KafkaReplay
import Logging
import SpoolModel
import SpoolReplay
import SpoolStore

/// Records a restore's progress in the capture, in the file holding each partition, after every
/// committed transaction — for `spool status`; Kafka's committed offsets decide where a
/// restarted restore continues.
///
/// Best effort: a capture on read-only media, or one that `spool ingest` is writing, is
/// restored all the same; the first failure is a warning and later commits do not try again.
final class RestoreProgressRecorder {
    private let capture: SpoolCapture
    private let mapping: TopicMapping
    private let targetClusterID: String?
    private let logger: Logger
    private(set) var failure: String?
    /// The progress not yet written, and when the file was last written.
    private var unwritten: (cursors: [Int32: PartitionCursor], outcome: TopicRestoreOutcome, selections: [Int32: PartitionSelection])?
    private var lastWritten: ContinuousClock.Instant?
    /// The capture files already found in the streams layout (checked once each, not per write).
    private var upToDate: Set<String> = []
    /// How often the file is written at most (every commit would reopen it every transaction).
    private static let interval = Duration.seconds(2)

    /// A recorder for `mapping`'s partitions of `capture`.
    init(capture: SpoolCapture, mapping: TopicMapping, targetClusterID: String?, logger: Logger) {
        self.capture = capture
        self.mapping = mapping
        self.targetClusterID = targetClusterID
        self.logger = logger
    }

    /// Takes every partition's cursor after a commit; writes them when the last write is at
    /// least two seconds old (`finish()` writes what is left).
    func record(cursors: [Int32: PartitionCursor], outcome: TopicRestoreOutcome, selections: [Int32: PartitionSelection]) {
        unwritten = (cursors, outcome, selections)
        if let lastWritten, ContinuousClock.now - lastWritten < Self.interval { return }
        finish()
    }

    /// Writes the progress not yet written, if any.
    func finish() {
        guard let (cursors, outcome, selections) = unwritten else { return }
        unwritten = nil
        lastWritten = .now
        write(cursors: cursors, outcome: outcome, selections: selections)
    }

    /// Writes every partition's cursor, one transaction per file.
    private func write(cursors: [Int32: PartitionCursor], outcome: TopicRestoreOutcome, selections: [Int32: PartitionSelection]) {
        guard failure == nil else { return }
        let now = WallClock.nowMs()
        do {
            var rowsByPath: [String: [RestoreProgress]] = [:]
            for (partition, cursor) in cursors {
                guard let path = try capture.path(holding: TopicPartition(topic: mapping.source, partition: partition)) else { continue }
                rowsByPath[path, default: []].append(RestoreProgress(
                    restoreID: outcome.restoreID, sourceTopic: mapping.source, targetTopic: mapping.target, targetClusterID: targetClusterID,
                    partition: partition, nextOffset: cursor.next, restored: cursor.restored,
                    selected: selections[partition]?.count ?? 0, updatedAt: now))
            }
            for (path, rows) in rowsByPath.sorted(by: { $0.key < $1.key }) {
                try refuseUpgrade(path)
                let store = try SpoolStore.openForWriting(path: path, busyTimeoutMs: 1_000)
                defer { store.close() }
                try store.restores.record(rows)
            }
        } catch {
            failure = "\(error)"
            logger.warning("the restore's progress is not recorded in the capture (spool status will not show it): \(error); the restore goes on, Kafka keeps its progress")
        }
    }

    /// Throws for a capture from before the streams layout: opening it for writing would rewrite
    /// every record in the middle of the restore.
    private func refuseUpgrade(_ path: String) throws {
        guard !upToDate.contains(path) else { return }
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        guard store.usesStreamsLayout else {
            throw StoreError.inconsistent(path: path, reason: "it was written by an earlier spool, and recording progress would first rewrite its records into the streams layout (spool compact \(path) does that)")
        }
        upToDate.insert(path)
    }

    /// Records the capture holds as restored into `partition` by `restoreID`, if it recorded any.
    func recordedRestored(restoreID: String, partition: Int32) -> Int64? {
        guard let path = try? capture.path(holding: TopicPartition(topic: mapping.source, partition: partition)),
              let store = try? SpoolStore.openForReading(path: path) else { return nil }
        defer { store.close() }
        return (try? store.restores.progress())?.first { $0.restoreID == restoreID && $0.partition == partition }?.restored
    }
}
