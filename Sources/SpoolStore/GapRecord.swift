/// Offsets of a partition that were deleted by retention before Spool could read them.
public struct GapRecord: Equatable, Sendable {
    /// The topic.
    public var topic: String
    /// The partition.
    public var partition: Int32
    /// The first offset that is missing (the stored next offset).
    public var firstMissingOffset: Int64
    /// The last offset that is missing (the broker's earliest offset - 1).
    public var lastMissingOffset: Int64
    /// When it was seen (Unix ms).
    public var detectedAt: Int64
    /// Whether the user accepted it and ingest continued past it.
    public var accepted: Bool

    /// How many offsets are missing.
    public var missingCount: Int64 { lastMissingOffset - firstMissingOffset + 1 }

    /// Creates a gap record.
    public init(topic: String, partition: Int32, firstMissingOffset: Int64, lastMissingOffset: Int64, detectedAt: Int64, accepted: Bool) {
        self.topic = topic
        self.partition = partition
        self.firstMissingOffset = firstMissingOffset
        self.lastMissingOffset = lastMissingOffset
        self.detectedAt = detectedAt
        self.accepted = accepted
    }
}
