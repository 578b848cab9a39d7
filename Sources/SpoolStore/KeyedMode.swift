/// How a topic's latest-value table (`latest`) is kept.
public enum KeyedMode: String, Sendable, CaseIterable {
    /// The table and the log (`messages`) are both kept (`--latest`).
    case latest
    /// Only the table is kept; the topic's records are not stored in `messages` (`--latest-only`).
    case latestOnly = "latest_only"

    /// The CLI flag that asks for this mode.
    public var flag: String { self == .latest ? "--latest" : "--latest-only" }
}

/// A keyed topic as recorded in the database, with its counters.
public struct KeyedTopic: Equatable, Sendable {
    /// The topic.
    public var topic: String
    /// How its table is kept.
    public var mode: KeyedMode
    /// Whether the stored log holds every record the table was made from.
    public var logComplete: Bool
    /// Keys in the table now.
    public var keys: Int64
    /// Tombstones (null values with a key) applied: each deleted its key's row, if any.
    public var tombstonesApplied: Int64
    /// Records with a null key, which the table cannot hold.
    public var nullKeysSkipped: Int64
    /// Partitions with an accepted retention gap: keys whose last update was lost may be stale.
    public var stalePartitions: [Int32]

    /// Creates a record.
    public init(topic: String, mode: KeyedMode, logComplete: Bool, keys: Int64, tombstonesApplied: Int64,
                nullKeysSkipped: Int64, stalePartitions: [Int32]) {
        self.topic = topic
        self.mode = mode
        self.logComplete = logComplete
        self.keys = keys
        self.tombstonesApplied = tombstonesApplied
        self.nullKeysSkipped = nullKeysSkipped
        self.stalePartitions = stalePartitions
    }
}
