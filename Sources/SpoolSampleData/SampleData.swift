@_spi(MockCluster) import KafkaReplay

/// Sample messages for `spool dev-broker`, generated in chunks so any count fits in memory.
///
/// Three shapes: `.demo` is realistic (JSON values with a few fields, keys with some nulls, a
/// tombstone or two, timestamps spread over the last days, increasing per partition and
/// interleaved across partitions, a trace id header on every record, a content type on most,
/// a binary schema id on a few); `.bench` is the benchmark's fixed shape (16-byte keys with
/// every 10th null, 100-byte values, one message per partition in turn, timestamps
/// increasing, no headers); `.benchHeaders` is `.bench` with three headers per record (a
/// 16-byte UTF-8 value, a 36-byte UUID string and an 8-byte binary value); `.benchKeyed` is
/// `.bench` over 100,000 distinct 16-byte keys (no null keys) with every 20th value a tombstone;
/// `.benchAvro` is `.bench` with each value a Confluent-framed Avro `BenchAvroRecord`;
/// `.benchProtobuf` the same with a Confluent-framed Protobuf `BenchProtobufRecord`.
@_spi(MockCluster) public struct SampleData {
    /// The shape of the generated messages.
    public enum Shape: String, CaseIterable, Sendable {
        /// Realistic JSON events.
        case demo
        /// The benchmark's fixed-size messages.
        case bench
        /// The benchmark's messages with three headers each.
        case benchHeaders = "bench-headers"
        /// The benchmark's messages over 100,000 distinct keys, 5% of them tombstones.
        case benchKeyed = "bench-keyed"
        /// The benchmark's keys with Confluent-framed Avro values (`BenchAvroRecord`).
        case benchAvro = "bench-avro"
        /// The benchmark's keys with Confluent-framed Protobuf values (`BenchProtobufRecord`).
        case benchProtobuf = "bench-protobuf"
    }

    private let shape: Shape
    private let partitions: Int32
    private let total: Int
    private let start: Int64
    private let step: Int64
    private var generator: SplitMix64
    private var index = 0

    /// A generator of `total` messages for a topic with `partitions` partitions, ending near `nowMs`.
    public init(shape: Shape, topic: String, partitions: Int32, total: Int, nowMs: Int64, days: Int64 = 3, seed: UInt64 = 42) {
        self.shape = shape
        self.partitions = max(partitions, 1)
        self.total = total
        let span = days * 86_400_000
        start = nowMs - span
        step = max(Int64(1), span / Int64(max(total, 1)))
        generator = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: topic.hashValueStable))
    }

    /// Whether every message has been generated.
    public var isDone: Bool { index >= total }

    /// The next `count` messages (fewer at the end).
    public mutating func next(_ count: Int) -> [MockMessage] {
        let end = min(total, index + count)
        var messages: [MockMessage] = []
        messages.reserveCapacity(end - index)
        while index < end {
            switch shape {
            case .demo: messages.append(demoMessage(index))
            case .bench: messages.append(benchMessage(index))
            case .benchHeaders: messages.append(benchMessage(index, headers: true))
            case .benchKeyed: messages.append(keyedBenchMessage(index))
            case .benchAvro:
                var message = benchMessage(index)
                message.value = BenchAvroRecord.framed(index)
                messages.append(message)
            case .benchProtobuf:
                var message = benchMessage(index)
                message.value = BenchProtobufRecord.framed(index)
                messages.append(message)
            }
            index += 1
        }
        return messages
    }

    /// All `count` messages of the demo shape at once (small counts).
    public static func messages(topic: String, partitions: Int32, count: Int, nowMs: Int64) -> [MockMessage] {
        var generator = SampleData(shape: .demo, topic: topic, partitions: partitions, total: count, nowMs: nowMs)
        return generator.next(count)
    }

    private static let events = ["view", "click", "add_to_cart", "purchase", "refund"]
    private static let countries = ["DE", "FR", "US", "JP", "BR", "IN", "NL"]

    private mutating func demoMessage(_ index: Int) -> MockMessage {
        let partition = Int32(generator.next() % UInt64(partitions))
        let timestamp = start + Int64(index) * step + Int64(generator.next() % UInt64(step))
        let user = generator.next() % 500
        let tombstone = total >= 20 && (index == total / 3 || index == 2 * total / 3)
        let key: [UInt8]? = index % 13 == 5 && !tombstone ? nil : Array("user-\(user)".utf8)
        let event = Self.events[Int(generator.next() % UInt64(Self.events.count))]
        let cents = generator.next() % 20_000
        let country = Self.countries[Int(generator.next() % UInt64(Self.countries.count))]
        let amount = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
        let value = "{\"id\":\(index),\"user\":\"user-\(user)\",\"event\":\"\(event)\",\"amount\":\(amount),\"country\":\"\(country)\"}"
        return MockMessage(partition: partition, key: key, value: tombstone ? nil : Array(value.utf8), timestamp: timestamp,
                           headers: demoHeaders(index))
    }

    /// A trace id on every record, a content type on most, a binary schema id on every 50th.
    private mutating func demoHeaders(_ index: Int) -> [MessageHeader] {
        var headers = [MessageHeader(name: "trace_id", value: Array(hexID(16).utf8))]
        if index % 10 != 7 { headers.append(MessageHeader(name: "content-type", value: Array("application/json".utf8))) }
        if index % 50 == 0 { headers.append(MessageHeader(name: "schema-id", value: [0, 0, 0x01, 0xF4])) }
        return headers
    }

    private mutating func hexID(_ digits: Int) -> String {
        var text = ""
        while text.count < digits { text += String(generator.next(), radix: 16) }
        return String(text.prefix(digits))
    }

    private func benchMessage(_ index: Int, headers: Bool = false) -> MockMessage {
        let partition = Int32(index % Int(partitions))
        let digits = String(index)
        let key: [UInt8]? = index % 10 == 9 ? nil : Array(("key-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits).utf8)
        var value = Array("{\"seq\":\(index),\"payload\":\"".utf8)
        while value.count < 98 { value.append(UInt8(ascii: "a") + UInt8(truncatingIfNeeded: (index &+ value.count) % 26)) }
        value += Array("\"}".utf8)
        return MockMessage(partition: partition, key: key, value: value, timestamp: 1_700_000_000_000 + Int64(index),
                           headers: headers ? Self.benchHeaders(index) : [])
    }

    /// A record of `bench-keyed`: one of 100,000 keys drawn pseudo-randomly (a multiplicative
    /// hash of the index, so each key recurs about 20 times in no particular order), in the
    /// partition the key's number picks (a keyed producer keeps a key in one partition); every
    /// 20th record is a tombstone.
    private func keyedBenchMessage(_ index: Int) -> MockMessage {
        var message = benchMessage(index)
        let keyNumber = Int(((UInt64(index) &* 0x9E37_79B9_7F4A_7C15) >> 32) % 100_000)
        let digits = String(keyNumber)
        message.key = Array(("key-" + String(repeating: "0", count: 12 - digits.count) + digits).utf8)
        message.partition = Int32(keyNumber % Int(partitions))
        if index % 20 == 7 { message.value = nil }
        return message
    }

    /// A 16-byte UTF-8 value, a 36-byte UUID string and an 8-byte binary value.
    private static func benchHeaders(_ index: Int) -> [MessageHeader] {
        let sequence = UInt64(index)
        let hex = String(sequence, radix: 16)
        let uuid = "00000000-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        let binary = (0..<8).map { UInt8(truncatingIfNeeded: (sequence &* 0x9e37_79b9_7f4a_7c15) >> ($0 * 8)) }
        let tenant = String(index % 1_000_000_000)
        return [MessageHeader(name: "tenant", value: Array(("tenant-" + String(repeating: "0", count: 9 - tenant.count) + tenant).utf8)),
                MessageHeader(name: "request-id", value: Array(uuid.utf8)),
                MessageHeader(name: "seq", value: binary)]
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
        Int(truncatingIfNeeded: StableHash.fnv1a64(utf8))
    }
}
