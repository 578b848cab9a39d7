internal import CRdKafka
import Logging

/// A plain librdkafka consume loop with no ordering: the yardstick `make bench` compares
/// `ConsumerManager` and `spool ingest` against.
///
/// It assigns every partition of the topics from the low watermark, takes one message per
/// `rd_kafka_consumer_poll`, copies key and value bytes into a reused buffer (as any consumer
/// that keeps data must), and stops after `messages` messages.
public enum BaselineConsumer {
    /// Consumes `messages` messages; returns how many payload bytes were copied.
    public static func consume(config: [String: String], topics: [String], messages: Int,
                               timeoutSeconds: Double = 300, logger: Logger = Logger(label: "spool.bench")) throws -> Int {
        var effective = ConsumerManager.effectiveConfig(config)
        effective["enable.partition.eof"] = "false"
        let client = try RDKafkaClient(kind: .consumer, config: effective, logger: logger)
        let counts = try client.partitionCounts(topics: topics, timeoutMs: ConsumerManager.requestTimeoutMs)
        var assignment: [(TopicPartition, Int64)] = []
        for topic in topics {
            for partition in 0..<Int32(counts[topic] ?? 0) {
                assignment.append((TopicPartition(topic: topic, partition: partition), Int64(RD_KAFKA_OFFSET_BEGINNING)))
            }
        }
        try client.assign(assignment)
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        var copied = 0
        var received = 0
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutSeconds * 1000)))
        while received < messages {
            guard clock.now < deadline else {
                throw ReplayError.timedOut(operation: "consuming \(messages) messages (got \(received))", seconds: timeoutSeconds)
            }
            guard let message = client.withHandle({ rd_kafka_consumer_poll($0, 100) }) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            buffer.removeAll(keepingCapacity: true)
            if let key = m.key { buffer.append(contentsOf: UnsafeRawBufferPointer(start: key, count: m.key_len)) }
            if let payload = m.payload { buffer.append(contentsOf: UnsafeRawBufferPointer(start: payload, count: m.len)) }
            copied += buffer.count
            received += 1
        }
        return copied
    }
}
