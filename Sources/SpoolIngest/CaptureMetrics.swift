/// A snapshot of a running capture for `--metrics-file`: what the database holds (committed
/// state, read like `spool status` reads it) and what the consumer sees right now.
public struct CaptureMetrics: Sendable, Equatable {
    /// One captured partition.
    public struct Partition: Sendable, Equatable {
        /// The topic's name.
        public var topic: String
        /// The partition number.
        public var partition: Int32
        /// Records ever committed to the log for this partition (retention does not lower it).
        public var storedTotal: Int64
        /// Records the broker has that are not stored yet (its high watermark as last seen by
        /// the consumer minus the next offset to store); nil before the consumer has seen one.
        public var lagMessages: Int64?
        /// Whether the partition has caught up with the replay end and is following live.
        public var isLive: Bool

        /// Describes one partition.
        public init(topic: String, partition: Int32, storedTotal: Int64, lagMessages: Int64?, isLive: Bool) {
            self.topic = topic
            self.partition = partition
            self.storedTotal = storedTotal
            self.lagMessages = lagMessages
            self.isLive = isLive
        }
    }

    /// Every captured partition, sorted by topic then partition.
    public var partitions: [Partition]
    /// Records the consumer holds back to keep timestamp order.
    public var heldMessages: Int
    /// Partitions paused for backpressure.
    public var pausedPartitions: Int
    /// When the last transaction committed (ms since the epoch); nil when none has.
    public var lastCommitMs: Int64?
    /// Every record with a timestamp at or below this is stored (ms); nil when unknown.
    public var completeUntilMs: Int64?
    /// Records removed by `--retain`/`--retain-size`, per topic, since the capture began.
    public var retainedDeleted: [String: Int64]
    /// The database file's size plus its WAL's, in bytes.
    public var databaseBytes: Int64

    /// Gathers a snapshot.
    public init(partitions: [Partition], heldMessages: Int, pausedPartitions: Int, lastCommitMs: Int64?,
                completeUntilMs: Int64?, retainedDeleted: [String: Int64], databaseBytes: Int64) {
        self.partitions = partitions
        self.heldMessages = heldMessages
        self.pausedPartitions = pausedPartitions
        self.lastCommitMs = lastCommitMs
        self.completeUntilMs = completeUntilMs
        self.retainedDeleted = retainedDeleted
        self.databaseBytes = databaseBytes
    }
}
