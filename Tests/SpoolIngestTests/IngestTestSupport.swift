@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport
import Logging
import SpoolStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Produces messages `from..<from + count` of each partition (`testMessages` with nulls, values
/// padded to `valueSize` bytes): message i of partition p has timestamp base + 10 i + p.
@discardableResult
func produce(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, count: Int, from: Int = 0,
             base: Int64 = 1_700_000_000_000, valueSize: Int = 0) throws -> [MockMessage] {
    let messages = testMessages(partitions: partitions, indices: from..<(from + count), base: base, valueSize: valueSize, withNulls: true)
        .map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) }
    try cluster.produce(topic: topic, messages)
    return messages
}

/// Checks the database holds exactly `expected` for `topic` (per partition, in offset order
/// from `firstOffset`), and that it passes its own audit.
func expectStored(_ path: String, topic: String, partitions: Int32, expected: [MockMessage], firstOffset: Int64 = 0,
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try SpoolStore.openForReading(path: path)
    defer { store.close() }
    for p in 0..<partitions {
        let want = expected.filter { $0.partition == p }
        let got = try store.messages(topic: topic, partition: p)
        #expect(got.count == want.count, "\(topic)[\(p)] holds \(got.count), expected \(want.count)", sourceLocation: sourceLocation)
        #expect(got.map(\.offset) == (0..<Int64(want.count)).map { firstOffset + $0 }, sourceLocation: sourceLocation)
        #expect(got.map(\.key) == want.map(\.key), sourceLocation: sourceLocation)
        #expect(got.map(\.value) == want.map(\.value), sourceLocation: sourceLocation)
        #expect(got.map(\.timestamp) == want.map(\.timestamp), sourceLocation: sourceLocation)
    }
    let report = try store.verify()
    #expect(report.isSound, "\(report.problems)", sourceLocation: sourceLocation)
}
