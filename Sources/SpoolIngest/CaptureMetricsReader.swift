import KafkaReplay
import SpoolModel
import SpoolStore

/// Builds `CaptureMetrics` snapshots during a run: committed state from a read-only connection
/// of its own (what `spool status` would show at that moment; WAL readers never block the
/// writer) and live state from the consumer, with no request to the brokers.
final class CaptureMetricsReader {
    private let databasePath: String
    private var store: SpoolStore?

    /// A reader for the database at `databasePath` (opened on first use).
    init(databasePath: String) {
        self.databasePath = databasePath
    }

    deinit { store?.close() }

    /// One snapshot of the committed state and the consumer's view.
    func snapshot(_ manager: ConsumerManager) throws -> CaptureMetrics {
        let store = try openStore()
        let watermarks = manager.cachedHighWatermarks()
        let live = Dictionary(manager.partitionState().map { ($0.topicPartition, $0.isLive) }, uniquingKeysWith: { $1 })
        var retained: [String: Int64] = [:]
        let partitions = try store.storedPartitions().map { row -> CaptureMetrics.Partition in
            retained[row.topicPartition.topic, default: 0] += row.retainedDeleted
            let lag = watermarks[row.topicPartition].map { max(0, $0 - row.nextOffset) }
            return CaptureMetrics.Partition(topic: row.topicPartition.topic, partition: row.topicPartition.partition,
                                            storedTotal: row.storedCount + row.retainedDeleted, lagMessages: lag,
                                            isLive: live[row.topicPartition] ?? row.checkpoint.isLive)
        }
        return CaptureMetrics(partitions: partitions, heldMessages: manager.heldMessageCount,
                              pausedPartitions: manager.pausedPartitionCount, lastCommitMs: try store.lastCommitAt(),
                              completeUntilMs: try store.completeUntil(), retainedDeleted: retained,
                              databaseBytes: store.fileSize())
    }

    private func openStore() throws -> SpoolStore {
        if let store { return store }
        let opened = try SpoolStore.openForReading(path: databasePath)
        store = opened
        return opened
    }
}
