/// A partition's resolved replay range: from `start` up to (not including) `end`.
///
/// The one type for a range wherever it travels: resolved by the consumer, reported in its
/// partition state, recorded with a run in the database, and given back to the consumer when an
/// interrupted bounded backfill continues.
public struct ReplayRange: Hashable, Sendable, CustomStringConvertible {
    /// The first offset to read.
    public var start: Int64
    /// The high watermark when the range was resolved; replay ends before it.
    public var end: Int64

    /// Creates a range.
    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    /// Whether the range holds no offset.
    public var isEmpty: Bool { start >= end }

    /// `start..<end`, as in log lines and errors.
    public var description: String { "\(start)..<\(end)" }
}
