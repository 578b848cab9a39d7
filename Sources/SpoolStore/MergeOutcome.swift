import SpoolModel

/// What `ShardRole.merge` did: rows copied now, partitions completed, and what the user
/// should know about the result.
public struct MergeOutcome: Equatable, Sendable {
    /// Log rows copied by this call (0 when a finished merge is run again).
    public var rowsCopied: Int64
    /// Partitions the merged file holds.
    public var partitions: Int
    /// The retention the merged file records (the shards' common one), nil for none.
    public var retention: RetentionPolicy? = nil
    /// Each shard's retention when they differ (the merged file then records none).
    public var differingRetentions: [String: RetentionPolicy?] = [:]
    /// What the shards did not cover, when an incomplete set was allowed.
    public var coverageProblems: [String] = []
}
