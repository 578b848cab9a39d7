import KafkaReplay

/// Realistic sample messages for `spool dev-broker`: JSON values with a few fields, keys (some
/// null), a tombstone or two, timestamps spread over the last days, increasing per partition
/// and interleaved across partitions.
public enum SampleData {
    /// `count` messages for a topic with `partitions` partitions, ending around `nowMs`.
    public static func messages(topic: String, partitions: Int32, count: Int, nowMs: Int64, days: Int64 = 3,
                                seed: UInt64 = 42) -> [MockMessage] {
        var generator = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: topic.hashValueStable))
        let span = days * 86_400_000
        let start = nowMs - span
        let step = max(Int64(1), span / Int64(max(count, 1)))
        let events = ["view", "click", "add_to_cart", "purchase", "refund"]
        let countries = ["DE", "FR", "US", "JP", "BR", "IN", "NL"]
        var messages: [MockMessage] = []
        messages.reserveCapacity(count)
        for index in 0..<count {
            let partition = Int32(generator.next() % UInt64(max(partitions, 1)))
            let timestamp = start + Int64(index) * step + Int64(generator.next() % UInt64(max(step, 1)))
            let user = generator.next() % 500
            let key: [UInt8]? = index % 13 == 5 ? nil : Array("user-\(user)".utf8)
            let tombstone = count >= 20 && (index == count / 3 || index == 2 * count / 3)
            let event = events[Int(generator.next() % UInt64(events.count))]
            let cents = generator.next() % 20_000
            let value = "{\"id\":\(index),\"user\":\"user-\(user)\",\"event\":\"\(event)\",\"amount\":\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100),\"country\":\"\(countries[Int(generator.next() % UInt64(countries.count))])\"}"
            messages.append(MockMessage(partition: partition, key: tombstone ? Array("user-\(user)".utf8) : key,
                                        value: tombstone ? nil : Array(value.utf8), timestamp: timestamp))
        }
        return messages
    }
}

/// A small deterministic random generator (sample data must not depend on the platform).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per process).
    var hashValueStable: Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int(truncatingIfNeeded: hash)
    }
}
