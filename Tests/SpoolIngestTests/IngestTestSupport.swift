import KafkaReplay
import SpoolTestSupport
import Logging
import SpoolStore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Produces `count` messages per partition with distinct keys/values and increasing timestamps.
@discardableResult
func produce(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, count: Int, from: Int = 0,
             base: Int64 = 1_700_000_000_000, valueSize: Int = 0) throws -> [MockMessage] {
    var messages: [MockMessage] = []
    for i in from..<(from + count) {
        for p in 0..<partitions {
            let key: [UInt8]? = i % 7 == 0 ? nil : Array("\(topic)-\(p)-\(i)".utf8)
            var value = Array("{\"i\":\(i),\"p\":\(p)}".utf8)
            if valueSize > value.count { value += [UInt8](repeating: UInt8(i % 200), count: valueSize - value.count) }
            messages.append(MockMessage(partition: p, key: key, value: value, timestamp: base + Int64(i) * 10 + Int64(p)))
        }
    }
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
