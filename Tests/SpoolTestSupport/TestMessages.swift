/// One generated test message, before a test target turns it into whatever it produces
/// (this target must not depend on KafkaReplay, so it cannot build a `MockMessage` itself).
public struct TestMessage: Hashable, Sendable {
    /// The partition it goes to.
    public var partition: Int32
    /// Its index within the partition (its offset when the partition started empty).
    public var index: Int
    /// The key; `nil` is a null key.
    public var key: [UInt8]?
    /// The value; `nil` is a null value.
    public var value: [UInt8]?
    /// The timestamp in Unix milliseconds.
    public var timestamp: Int64
}

/// Messages `indices` of partitions `0..<partitions`, in producing order: index by index, and
/// within one index partition by partition, so timestamps interleave across partitions.
///
/// Message i of partition p has the key "k<p>-<i>", the value `{"i":<i>,"p":<p>}` padded with
/// spaces to `valueSize` bytes, and the timestamp `base + i * timestampStep + p` (so with a step
/// above the partition count, timestamps are distinct and increase along the order). With
/// `withNulls`, message i has a null key when `i % 10 == 3` and a null value when `i % 97 == 5`.
public func testMessages(partitions: Int32, indices: Range<Int>, base: Int64 = 1_700_000_000_000, timestampStep: Int64 = 10,
                         valueSize: Int = 0, withNulls: Bool = false) -> [TestMessage] {
    var messages: [TestMessage] = []
    messages.reserveCapacity(indices.count * Int(max(0, partitions)))
    for i in indices {
        for p in 0..<partitions {
            var value = Array("{\"i\":\(i),\"p\":\(p)}".utf8)
            if value.count < valueSize { value += [UInt8](repeating: UInt8(ascii: " "), count: valueSize - value.count) }
            messages.append(TestMessage(partition: p, index: i,
                                        key: withNulls && i % 10 == 3 ? nil : Array("k\(p)-\(i)".utf8),
                                        value: withNulls && i % 97 == 5 ? nil : value,
                                        timestamp: base + Int64(i) * timestampStep + Int64(p)))
        }
    }
    return messages
}
