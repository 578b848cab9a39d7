/// How much of the log a capture keeps (`spool ingest --retain`, `--retain-size`); recorded in
/// the database so later runs keep applying it.
///
/// Retention removes a partition's records from its front only, in offset order, so what stays
/// is always a contiguous tail of what was stored and the partition records where it begins.
/// `latest` tables are never touched.
public struct RetentionPolicy: Equatable, Sendable, CustomStringConvertible {
    /// Records whose timestamp is older than now minus this (ms) are removed; a record
    /// without a timestamp (-1) is kept, and holds back the removal of what follows it in its
    /// partition, since its age is unknown.
    public var maxAgeMs: Int64?
    /// While the database's used pages exceed this (bytes), the oldest records across
    /// partitions are removed (records without a timestamp count as the oldest).
    public var maxBytes: Int64?

    /// A policy; at least one limit should be set.
    public init(maxAgeMs: Int64? = nil, maxBytes: Int64? = nil) {
        self.maxAgeMs = maxAgeMs
        self.maxBytes = maxBytes
    }

    /// The limits in words, e.g. `records older than 604800000 ms; above 2000000000 bytes`.
    public var description: String {
        let parts = [maxAgeMs.map { "records older than \($0) ms" }, maxBytes.map { "oldest records above \($0) bytes" }]
        return parts.compactMap { $0 }.joined(separator: "; ")
    }

    /// Whether the policy removes anything at all.
    public var isEmpty: Bool { maxAgeMs == nil && maxBytes == nil }
}
