/// How far one partition of a restore (`spool restore`) got, as recorded in the capture.
public struct RestoreProgress: Sendable, Equatable {
    /// The restore's id: its transactional.id and the consumer group holding its progress.
    public var restoreID: String
    /// The captured topic.
    public var sourceTopic: String
    /// The topic written to.
    public var targetTopic: String
    /// The target cluster's id, when its brokers reported one.
    public var targetClusterID: String?
    /// The partition (the same number in both topics).
    public var partition: Int32
    /// The next source offset to restore.
    public var nextOffset: Int64
    /// Records restored into the partition so far.
    public var restored: Int64
    /// Records of the partition the restore selected in all.
    public var selected: Int64
    /// When this was recorded (ms since the epoch).
    public var updatedAt: Int64

    /// Names every field.
    public init(restoreID: String, sourceTopic: String, targetTopic: String, targetClusterID: String?, partition: Int32,
                nextOffset: Int64, restored: Int64, selected: Int64, updatedAt: Int64) {
        self.restoreID = restoreID
        self.sourceTopic = sourceTopic
        self.targetTopic = targetTopic
        self.targetClusterID = targetClusterID
        self.partition = partition
        self.nextOffset = nextOffset
        self.restored = restored
        self.selected = selected
        self.updatedAt = updatedAt
    }
}
