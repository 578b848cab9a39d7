/// The offsets a broker holds for one partition: from `low` up to (not including) `high`.
public struct Watermarks: Hashable, Sendable {
    /// The earliest offset still held.
    public var low: Int64
    /// The offset the next produced message will get.
    public var high: Int64

    /// Creates watermarks.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
