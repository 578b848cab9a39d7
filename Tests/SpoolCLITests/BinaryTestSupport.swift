import SpoolTestSupport
import Foundation
import KafkaReplay
import Logging
import SpoolStore
import Testing

/// Produces `perPartition` messages on each partition of `topic`; returns them.
@discardableResult
func fill(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, perPartition: Int, valueSize: Int = 40) throws -> [MockMessage] {
    var all: [MockMessage] = []
    var chunk: [MockMessage] = []
    for i in 0..<perPartition {
        for p in 0..<partitions {
            var value = Array("{\"n\":\(i),\"p\":\(p)}".utf8)
            if value.count < valueSize { value += [UInt8](repeating: UInt8(ascii: " "), count: valueSize - value.count) }
            let key: [UInt8]? = i % 10 == 3 ? nil : Array("k\(i)".utf8)
            chunk.append(MockMessage(partition: p, key: key, value: i % 97 == 5 ? nil : value,
                                     timestamp: 1_700_000_000_000 + Int64(i) * 10 + Int64(p)))
        }
        if chunk.count >= 20_000 {
            try cluster.produce(topic: topic, chunk)
            all += chunk
            chunk.removeAll()
        }
    }
    try cluster.produce(topic: topic, chunk)
    return all + chunk
}

/// Checks the database holds every produced message exactly once with the produced bytes.
func expectExactlyOnce(_ path: String, topic: String, produced: [MockMessage], partitions: Int32,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
    let store = try SpoolStore.openForReading(path: path)
    defer { store.close() }
    for p in 0..<partitions {
        let want = produced.filter { $0.partition == p }
        let got = try store.messages(topic: topic, partition: p)
        #expect(got.map(\.offset) == (0..<Int64(want.count)).map { $0 }, "offsets of \(topic)[\(p)]", sourceLocation: sourceLocation)
        if got.count == want.count {
            #expect(zip(got, want).allSatisfy { $0.key == $1.key && $0.value == $1.value && $0.timestamp == $1.timestamp },
                    "bytes of \(topic)[\(p)]", sourceLocation: sourceLocation)
        }
    }
    let report = try store.verify()
    #expect(report.isSound, "\(report.problems)", sourceLocation: sourceLocation)
}

