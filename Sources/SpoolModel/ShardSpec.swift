/// Which share of a capture's partitions one Spool process owns (`spool ingest --shard I/N`).
///
/// The owner of a partition is Flink's Kafka-source formula, so it is stable, needs no
/// coordinator and is the same in every Spool version:
///
///     start = ((javaHashCode(topic) * 31) & 0x7FFFFFFF) % N      (32-bit int arithmetic)
///     owner = (start + partition) % N
///
/// where `javaHashCode` is Java's `String.hashCode` (s[0]·31^(n−1) + … + s[n−1] over the UTF-16
/// code units, wrapping at 32 bits). Consecutive partitions of a topic go to consecutive shards,
/// and each topic starts at its own shard, so small topics do not all land on shard 0.
public struct ShardSpec: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// This process's shard, 0 ..< count.
    public let index: Int
    /// How many shards share the capture.
    public let count: Int

    /// A shard spec; nil unless 0 <= index < count.
    public init?(index: Int, count: Int) {
        guard count >= 1, (0..<count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` (e.g. `0/3`); nil for anything else.
    public static func parse(_ text: String) -> ShardSpec? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let index = Int(parts[0]), let count = Int(parts[1]), count <= 1_000_000 else { return nil }
        return ShardSpec(index: index, count: count)
    }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    /// Whether this shard owns `partition`.
    public func owns(_ partition: TopicPartition) -> Bool {
        Self.owner(of: partition, shards: count) == index
    }

    /// The shard (0 ..< shards) that owns `partition` when `shards` share the capture.
    public static func owner(of partition: TopicPartition, shards: Int) -> Int {
        let start = Int((javaHashCode(partition.topic) &* 31) & 0x7FFF_FFFF) % shards
        return (start + Int(partition.partition)) % shards
    }

    /// Java's `String.hashCode`: over the UTF-16 code units, 32-bit wrapping.
    public static func javaHashCode(_ text: String) -> Int32 {
        var hash: Int32 = 0
        for unit in text.utf16 { hash = hash &* 31 &+ Int32(unit) }
        return hash
    }
}
