import SpoolModel

/// One row of `partition_state`: a partition's progress as of the last committed batch.
public struct StoredPartition: Equatable, Sendable {
    /// The partition's checkpoint (PARTITION_STATE_SCHEMA) when the batch was committed.
    public var checkpoint: PartitionState
    /// The next offset to read on resume.
    public var nextOffset: Int64
    /// How many messages of the partition are stored.
    public var storedCount: Int64
    /// The timestamp of the last stored message, if any.
    public var lastStoredTimestamp: Int64?
    /// When the row was last written (Unix ms).
    public var updatedAt: Int64
    /// The first offset captured with its headers; rows below it were stored before the schema
    /// had headers and cannot say whether they had any. `nil` only for rows read from a
    /// database that was never upgraded (opened read-only).
    public var headersFromOffset: Int64?
    /// Every stored offset below this was removed by retention, on purpose (nil: none was).
    public var retainedFromOffset: Int64?
    /// How many of the partition's rows retention removed.
    public var retainedDeleted: Int64 = 0

    /// The partition this row describes.
    public var topicPartition: TopicPartition { checkpoint.topicPartition }

    /// Creates a row.
    public init(checkpoint: PartitionState, nextOffset: Int64, storedCount: Int64, lastStoredTimestamp: Int64?, updatedAt: Int64,
                headersFromOffset: Int64? = nil) {
        self.checkpoint = checkpoint
        self.nextOffset = nextOffset
        self.storedCount = storedCount
        self.lastStoredTimestamp = lastStoredTimestamp
        self.updatedAt = updatedAt
        self.headersFromOffset = headersFromOffset
    }
}
