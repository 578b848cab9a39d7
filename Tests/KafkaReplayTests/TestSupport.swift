import Logging
import Testing
@testable import KafkaReplay

/// A quiet logger for tests; set SPOOL_TEST_LOG=debug to see everything.
func testLogger(_ label: String = "test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

/// The bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Polls until the manager is live (and then once more to drain held live messages), collecting
/// every released message. Fails the test after `maxPolls`.
func drainUntilLive(_ manager: ConsumerManager, maxPolls: Int = 2_000, timeoutMs: Int = 100) throws -> [Message] {
    var collected: [Message] = []
    var polls = 0
    while !manager.isLive {
        polls += 1
        guard polls <= maxPolls else {
            Issue.record("not live after \(maxPolls) polls; state: \(manager.partitionState())")
            return collected
        }
        let batch = try manager.poll(timeoutMs: timeoutMs)
        #expect(batch.count <= manager.batchSize)
        collected.append(contentsOf: batch)
    }
    return collected
}

/// Produces `perPartition` messages on each partition with increasing timestamps interleaved
/// across partitions: message i of partition p has timestamp base + i * partitions + p.
@discardableResult
func produceInterleaved(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, perPartition: Int,
                        base: Int64 = 1_700_000_000_000) throws -> [MockMessage] {
    var messages: [MockMessage] = []
    for i in 0..<perPartition {
        for p in 0..<partitions {
            let ts = base + Int64(i) * Int64(partitions) + Int64(p)
            messages.append(MockMessage(partition: p, key: bytes("k\(p)-\(i)"), value: bytes("v\(p)-\(i)"), timestamp: ts))
        }
    }
    try cluster.produce(topic: topic, messages)
    return messages
}

/// Checks released messages are in non-decreasing timestamp order and offsets increase per partition.
func expectOrdered(_ messages: [Message], sourceLocation: SourceLocation = #_sourceLocation) {
    var lastOffset: [TopicPartition: Int64] = [:]
    var lastTimestamp = Int64.min
    for message in messages {
        let tp = TopicPartition(topic: message.topic, partition: message.partition)
        if let previous = lastOffset[tp] {
            #expect(message.offset > previous, "offset order broken on \(tp)", sourceLocation: sourceLocation)
        }
        lastOffset[tp] = message.offset
        #expect(message.timestamp >= lastTimestamp, "timestamp order broken at \(tp)@\(message.offset)", sourceLocation: sourceLocation)
        lastTimestamp = max(lastTimestamp, message.timestamp)
    }
}
