/// Where a topic's replay starts on each of its partitions.
///
/// Times are Unix milliseconds (UTC). A time policy resolves, per partition, to the first
/// offset whose timestamp is at or after the target time; a partition with no such message
/// starts at its high watermark (it has nothing to replay).
public enum OffsetPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The earliest offset the broker still holds (the low watermark).
    case earliest
    /// The high watermark at creation: only messages produced afterwards.
    case latest
    /// The first offset at or after `now - ms`.
    case relativeTime(ms: Int64)
    /// The first offset at or after the Unix timestamp `ms`.
    case absoluteTime(ms: Int64)

    /// The seed's spelling: `earliest`, `latest`, `relative_time:MS`, `absolute_time:MS`.
    public var description: String {
        switch self {
        case .earliest: return "earliest"
        case .latest: return "latest"
        case .relativeTime(let ms): return "relative_time:\(ms)"
        case .absoluteTime(let ms): return "absolute_time:\(ms)"
        }
    }

    /// Parses the seed's spelling (see `description`); `nil` when it is not one of the four forms.
    public init?(seedSpelling text: String) {
        switch text {
        case "earliest": self = .earliest
        case "latest": self = .latest
        default:
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let ms = Int64(parts[1]) else { return nil }
            switch parts[0] {
            case "relative_time": self = .relativeTime(ms: ms)
            case "absolute_time": self = .absoluteTime(ms: ms)
            default: return nil
            }
        }
    }
}
