/// One `--topic SRC[:DST]`: a captured topic and the topic it is restored into.
public struct TopicMapping: Sendable, Equatable {
    /// The captured topic.
    public var source: String
    /// The topic written to (the source's name unless given).
    public var target: String

    /// Names both topics.
    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    /// Parses `SRC` or `SRC:DST`; throws `RestoreError.usage` naming the spec when a side is empty.
    public static func parse(_ spec: String) throws -> TopicMapping {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let source = parts[0], target = parts.count > 1 ? parts[1] : parts[0]
        guard !source.isEmpty, !target.isEmpty else {
            throw RestoreError.usage("--topic '\(spec)': expected SRC or SRC:DST, for example --topic orders or --topic orders:orders-restored")
        }
        return TopicMapping(source: source, target: target)
    }
}
