@_spi(MockCluster) import KafkaReplay
import SpoolStore
import SpoolTestSupport
import Testing

/// One record a test expects a capture to hold: its partition, its offset (nil: the next after
/// the partition's previous expected record), its bytes and, where known, its timestamp.
public struct ExpectedRecord: Sendable {
    /// The partition it belongs to.
    public var partition: Int32
    /// Its offset; nil for the next one after the previous record of its partition.
    public var offset: Int64?
    /// The key bytes (nil: a null key).
    public var key: [UInt8]?
    /// The value bytes (nil: a null value).
    public var value: [UInt8]?
    /// Its timestamp in Unix milliseconds; nil leaves it unchecked.
    public var timestamp: Int64?

    /// A record produced into the mock cluster (its offset follows from the producing order).
    @_spi(MockCluster) public init(_ message: MockMessage) {
        self.init(partition: message.partition, offset: nil, key: message.key, value: message.value, timestamp: message.timestamp)
    }

    /// A record a real client reported producing (`KafkaTool.produce`), at its reported offset.
    public init(_ record: ProducedRecord) {
        self.init(partition: record.partition, offset: record.offset, key: record.key.map { Array($0.utf8) },
                  value: record.value.map { Array($0.utf8) }, timestamp: nil)
    }

    /// A record with every part given.
    public init(partition: Int32, offset: Int64?, key: [UInt8]?, value: [UInt8]?, timestamp: Int64?) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

/// THE exactly-once expectation every suite uses: the capture at `path` holds, for `topic`,
/// exactly `expected` — per partition in offset order (offsets not given run on from
/// `firstOffset`), with the same keys, values and (where given) timestamps, nothing more in
/// any of `partitions` (default: the partitions `expected` names) — and passes its own audit.
public func expectExactlyOnce(_ path: String, topic: String, records expected: [ExpectedRecord], partitions: Int32? = nil,
                              firstOffset: Int64 = 0, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try SpoolStore.openForReading(path: path)
    defer { store.close() }
    let checked = partitions.map { Array(0..<$0) } ?? Set(expected.map(\.partition)).sorted()
    for partition in checked {
        let want = expected.filter { $0.partition == partition }
        let wantOffsets = want.enumerated().reduce(into: [Int64]()) { offsets, item in
            offsets.append(item.element.offset ?? (offsets.last.map { $0 + 1 } ?? firstOffset))
        }
        let got = try store.messages(topic: topic, partition: partition)
        let name = "\(topic)[\(partition)]"
        #expect(got.count == want.count, "\(name) holds \(got.count) records, expected \(want.count)", sourceLocation: sourceLocation)
        #expect(got.map(\.offset) == wantOffsets, "offsets of \(name)", sourceLocation: sourceLocation)
        #expect(got.map(\.key) == want.map(\.key), "keys of \(name)", sourceLocation: sourceLocation)
        #expect(got.map(\.value) == want.map(\.value), "values of \(name)", sourceLocation: sourceLocation)
        let timed = zip(got, want).filter { $0.1.timestamp != nil }
        #expect(timed.allSatisfy { $0.0.timestamp == $0.1.timestamp }, "timestamps of \(name)", sourceLocation: sourceLocation)
    }
    #expect(try store.messageCounts()[topic] ?? 0 == Int64(expected.count), "records of \(topic) in all", sourceLocation: sourceLocation)
    let report = try store.verify()
    #expect(report.isSound, "\(report.problems)", sourceLocation: sourceLocation)
}

/// `expectExactlyOnce(_:topic:records:)` for messages produced into the mock cluster.
@_spi(MockCluster) public func expectExactlyOnce(_ path: String, topic: String, produced: [MockMessage], partitions: Int32, firstOffset: Int64 = 0,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
    try expectExactlyOnce(path, topic: topic, records: produced.map(ExpectedRecord.init), partitions: partitions,
                          firstOffset: firstOffset, sourceLocation: sourceLocation)
}

/// How many records of `topic` the capture at `path` holds (0 while it cannot be read yet).
public func storedCount(_ path: String, topic: String) -> Int64 {
    (try? SpoolStore.openForReading(path: path).messageCounts()[topic]) ?? 0
}
