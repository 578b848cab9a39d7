import Logging
import SpoolTestSupport
import Testing
@_spi(MockCluster) @testable import KafkaReplay

/// A logger for tests that shows warnings and errors only.
func testLogger(_ label: String = "test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .warning
    return logger
}

/// The bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Polls until the manager is live, collecting every released message; throws when it is not
/// live within `timeout`.
func drainUntilLive(_ manager: ConsumerManager, timeout: Duration = .seconds(60), timeoutMs: Int = 100) throws -> [Message] {
    var collected: [Message] = []
    try waitUntil("the consumer is live (state: \(manager.partitionState()))", timeout: timeout, poll: .zero) {
        if manager.isLive { return true }
        let batch = try manager.poll(timeoutMs: timeoutMs)
        #expect(batch.count <= manager.batchSize)
        collected.append(contentsOf: batch)
        return false
    }
    return collected
}

/// Produces `perPartition` messages on each partition (`testMessages`, no nulls) with increasing
/// timestamps interleaved across partitions: message i of partition p has timestamp
/// base + i * partitions + p.
@discardableResult
func produceInterleaved(_ cluster: MockKafkaCluster, topic: String, partitions: Int32, perPartition: Int,
                        base: Int64 = 1_700_000_000_000) throws -> [MockMessage] {
    let messages = testMessages(partitions: partitions, indices: 0..<perPartition, base: base, timestampStep: Int64(partitions))
        .map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) }
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
