/// A snapshot of a running ingest, for progress displays.
public struct IngestProgress: Sendable {
    /// Per-topic counts, sorted by topic.
    public struct TopicProgress: Sendable, Equatable {
        /// The topic.
        public var topic: String
        /// Messages stored in the database so far (all runs).
        public var stored: Int64
        /// Messages stored by this run.
        public var storedThisRun: Int64
        /// Messages still to read before every partition of the topic is caught up (estimate).
        public var remaining: Int64
        /// Partitions of the topic that are live.
        public var livePartitions: Int
        /// Partitions of the topic.
        public var partitions: Int
    }

    /// Per-topic progress.
    public var topics: [TopicProgress]
    /// Seconds since the run started.
    public var elapsedSeconds: Double
    /// Messages held by the consumer, not yet released.
    public var heldMessages: Int
    /// Partitions paused by backpressure.
    public var pausedPartitions: Int
    /// Whether every partition is live.
    public var isLive: Bool
    /// Messages stored by this run.
    public var storedThisRun: Int64 { topics.reduce(0) { $0 + $1.storedThisRun } }
}
