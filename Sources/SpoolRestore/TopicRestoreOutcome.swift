/// What restoring one topic did, for the summary and for tests.
public struct TopicRestoreOutcome: Sendable, Equatable {
    /// The topics.
    public var mapping: TopicMapping
    /// The restore's transactional.id and consumer group.
    public var restoreID: String
    /// Records the restore selected in all (every run).
    public var selected: Int64 = 0
    /// Records this run wrote.
    public var written: Int64 = 0
    /// Records earlier runs had already written (found in Kafka's committed progress).
    public var alreadyRestored: Int64 = 0
    /// Records of the capture left out by `--from`/`--until` (this run).
    public var outsideWindow: Int64 = 0
    /// Records written whose captured timestamp could not be reproduced (-1 or 0); the broker
    /// gave them the time they were written.
    public var untimed: Int64 = 0
    /// Transactions committed by this run.
    public var transactions: Int = 0
    /// Transactions aborted and redone after a failure librdkafka called abortable.
    public var retries: Int = 0
    /// Whether a stop request ended the run before every record was written.
    public var stopped = false
    /// Warnings for the summary (unchecked configuration, progress not kept by the broker).
    public var warnings: [String] = []

    /// An empty outcome for `mapping`.
    public init(mapping: TopicMapping, restoreID: String) {
        self.mapping = mapping
        self.restoreID = restoreID
    }

    /// Whether every selected record is in the destination.
    public var isComplete: Bool { !stopped && alreadyRestored + written == selected }
}
