/// A snapshot of one partition's replay progress (PARTITION_STATE_SCHEMA).
///
/// Offsets name messages, not positions: `consumedOffset` is the offset of the last message read
/// from Kafka and `releasedOffset` the offset of the last message returned by `poll`; before the
/// first one each is `replayStartOffset - 1`. The next offset to read after a restart is therefore
/// always `releasedOffset + 1` (`nextOffset`).
public struct PartitionState: Hashable, Sendable {
    /// The topic name.
    public var topic: String
    /// The partition number.
    public var partition: Int32
    /// The first offset this replay reads.
    public var replayStartOffset: Int64
    /// The high watermark when the replay started; replay ends before it.
    public var replayEndOffset: Int64
    /// The offset of the last message consumed from Kafka (`replayStartOffset - 1` before any).
    public var consumedOffset: Int64
    /// The offset of the last message released by `poll` (`replayStartOffset - 1` before any).
    public var releasedOffset: Int64
    /// The timestamp of the last consumed message, `nil` before any.
    public var lastConsumedTimestamp: Int64?
    /// Whether the partition has caught up and released everything up to that point.
    public var isLive: Bool
    /// Whether the partition is paused by backpressure.
    public var isPaused: Bool

    /// The next offset to read to continue after everything released: `releasedOffset + 1`.
    public var nextOffset: Int64 { releasedOffset + 1 }

    /// The partition this snapshot describes.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The replay range: `replayStartOffset..<replayEndOffset`.
    public var replayRange: ReplayRange { ReplayRange(start: replayStartOffset, end: replayEndOffset) }

    /// Creates a snapshot.
    public init(topic: String, partition: Int32, replayStartOffset: Int64, replayEndOffset: Int64,
                consumedOffset: Int64, releasedOffset: Int64, lastConsumedTimestamp: Int64?,
                isLive: Bool, isPaused: Bool) {
        self.topic = topic
        self.partition = partition
        self.replayStartOffset = replayStartOffset
        self.replayEndOffset = replayEndOffset
        self.consumedOffset = consumedOffset
        self.releasedOffset = releasedOffset
        self.lastConsumedTimestamp = lastConsumedTimestamp
        self.isLive = isLive
        self.isPaused = isPaused
    }

    /// Creates a snapshot of `topicPartition` over `range` (the form the store reads back).
    public init(topicPartition: TopicPartition, range: ReplayRange, consumedOffset: Int64, releasedOffset: Int64,
                lastConsumedTimestamp: Int64?, isLive: Bool, isPaused: Bool) {
        self.init(topic: topicPartition.topic, partition: topicPartition.partition, replayStartOffset: range.start,
                  replayEndOffset: range.end, consumedOffset: consumedOffset, releasedOffset: releasedOffset,
                  lastConsumedTimestamp: lastConsumedTimestamp, isLive: isLive, isPaused: isPaused)
    }
}
