/// The result of auditing a Spool database (`SpoolStore.verify()`).
public struct VerifyReport: Sendable {
    /// Every problem found, one sentence each; empty when the database is sound.
    public var problems: [String]
    /// The recorded gaps (not problems in themselves: they are known, recorded losses).
    public var gaps: [GapRecord]
    /// Messages stored.
    public var messageCount: Int64
    /// Partitions with state.
    public var partitionCount: Int
    /// Rows stored before their partition's header capture began (an upgraded database): they
    /// cannot say whether they had headers.
    public var rowsStoredBeforeHeaders: Int64 = 0
    /// Whether the audit read the whole file, so the counts are true (false: damage stopped it).
    public var countsKnown = true
    /// Whether no problem was found.
    public var isSound: Bool { problems.isEmpty }
}
