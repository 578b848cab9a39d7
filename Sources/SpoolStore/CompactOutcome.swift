/// What `SpoolStore.compact(stop:)` did.
public struct CompactOutcome: Equatable, Sendable {
    /// The size of the database before, in bytes (the file and its WAL).
    public var before: Int64
    /// The size after, in bytes.
    public var after: Int64
    /// Whether a stop came before the rewrite committed; the file's content is then as it was.
    public var stopped: Bool
}
