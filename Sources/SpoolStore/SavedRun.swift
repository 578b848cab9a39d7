import SpoolModel

/// An ingest run as recorded in the database: what was asked for and what it resolved to.
public struct SavedRun: Equatable, Sendable {
    /// The run's id (increasing).
    public var id: Int64
    /// When it started (Unix ms).
    public var startedAt: Int64
    /// The Kafka cluster id it read from, when the brokers reported one.
    public var clusterID: String?
    /// Its cutoff between replay and live (Unix ms).
    public var cutoff: Int64
    /// Whether it was a bounded backfill (stops when live) rather than a follow.
    public var bounded: Bool
    /// How it ended.
    public var status: RunStatus
    /// When it ended (Unix ms), if it did.
    public var finishedAt: Int64?
    /// Each topic with its policy in the seed's spelling, sorted by topic.
    public var topics: [SourceTopic]
    /// Each partition's resolved replay start and end offsets.
    public var ranges: [TopicPartition: ReplayRange]

    /// Creates a run record.
    public init(id: Int64, startedAt: Int64, clusterID: String?, cutoff: Int64, bounded: Bool, status: RunStatus,
                finishedAt: Int64?, topics: [SourceTopic], ranges: [TopicPartition: ReplayRange]) {
        self.id = id
        self.startedAt = startedAt
        self.clusterID = clusterID
        self.cutoff = cutoff
        self.bounded = bounded
        self.status = status
        self.finishedAt = finishedAt
        self.topics = topics
        self.ranges = ranges
    }
}
