/// What the store keeps of one partition after a committed batch (PARTITION_STATE_SCHEMA).
///
/// Offsets name messages: `consumedOffset` and `releasedOffset` are the offsets of the last
/// message read and the last one handed out for storing (`range.start - 1` before any), so the
/// next offset to read on resume is `releasedOffset + 1` (`nextOffset`).
public struct PartitionCheckpoint: Hashable, Sendable {
    /// The partition.
    public var topicPartition: TopicPartition
    /// The replay range the partition was read with.
    public var range: ReplayRange
    /// The offset of the last message read from Kafka (`range.start - 1` before any).
    public var consumedOffset: Int64
    /// The offset of the last message handed out for storing (`range.start - 1` before any).
    public var releasedOffset: Int64
    /// The timestamp of the last message read, `nil` before any.
    public var lastConsumedTimestamp: Int64?
    /// Whether the partition had caught up and everything before that point was handed out.
    public var isLive: Bool
    /// Whether the partition was paused by backpressure.
    public var isPaused: Bool

    /// The next offset to read to continue after everything stored: `releasedOffset + 1`.
    public var nextOffset: Int64 { releasedOffset + 1 }

    /// Creates a checkpoint.
    public init(topicPartition: TopicPartition, range: ReplayRange, consumedOffset: Int64, releasedOffset: Int64,
                lastConsumedTimestamp: Int64?, isLive: Bool, isPaused: Bool) {
        self.topicPartition = topicPartition
        self.range = range
        self.consumedOffset = consumedOffset
        self.releasedOffset = releasedOffset
        self.lastConsumedTimestamp = lastConsumedTimestamp
        self.isLive = isLive
        self.isPaused = isPaused
    }
}
