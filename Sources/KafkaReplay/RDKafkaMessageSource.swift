internal import CRdKafka
import Logging

/// The production `MessageSource`: one message at a time from `rd_kafka_consumer_poll`.
///
/// librdkafka 2.0.2's batch consume calls can lose or repeat messages when combined with
/// pause/resume, so this deliberately uses the single-message call. Key and value bytes are
/// handed to the core while the message is alive and copied there; the message is destroyed
/// right after.
final class RDKafkaMessageSource: MessageSource {
    let client: RDKafkaClient
    let partitions: [TopicPartition]
    private let indexByTopic: [String: [Int]]
    private var indexByTopicHandle: [OpaquePointer: [Int]] = [:]
    private let logger: Logger
    private let redactor: SecretRedactor

    /// `partitions` in the core's order; events name partitions by their index in it.
    init(client: RDKafkaClient, partitions: [TopicPartition], logger: Logger, redactor: SecretRedactor) {
        self.client = client
        self.partitions = partitions
        self.logger = logger
        self.redactor = redactor
        var byTopic: [String: [Int]] = [:]
        for (index, tp) in partitions.enumerated() {
            var slots = byTopic[tp.topic] ?? []
            let needed = Int(tp.partition) + 1
            if slots.count < needed { slots.append(contentsOf: repeatElement(-1, count: needed - slots.count)) }
            slots[Int(tp.partition)] = index
            byTopic[tp.topic] = slots
        }
        indexByTopic = byTopic
    }

    func next(timeoutMs: Int32, handle: (SourceEvent) throws -> Void) throws -> Bool {
        try client.throwPendingFatalError()
        guard let message = rd_kafka_consumer_poll(client.handle, timeoutMs) else { return false }
        defer { rd_kafka_message_destroy(message) }
        let m = message.pointee
        let index = partitionIndex(topicHandle: m.rkt, partition: m.partition)
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            try handleError(message, index: index, handle: handle)
            return true
        }
        guard let index else {
            logger.warning("ignoring a message from an unassigned partition \(m.partition)")
            return true
        }
        let timestamp = rd_kafka_message_timestamp(message, nil)
        let key = m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) }
        let value = m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) }
        try handle(.message(partitionIndex: index, offset: m.offset, timestamp: timestamp, key: key, value: value))
        return true
    }

    func pause(_ partitionIndexes: [Int]) throws {
        try client.setPaused(partitionIndexes.map { partitions[$0] }, paused: true)
    }

    func resume(_ partitionIndexes: [Int]) throws {
        try client.setPaused(partitionIndexes.map { partitions[$0] }, paused: false)
    }

    private func partitionIndex(topicHandle: OpaquePointer?, partition: Int32) -> Int? {
        guard let topicHandle, partition >= 0 else { return nil }
        let slots: [Int]
        if let known = indexByTopicHandle[topicHandle] {
            slots = known
        } else {
            let name = String(cString: rd_kafka_topic_name(topicHandle))
            slots = indexByTopic[name] ?? []
            indexByTopicHandle[topicHandle] = slots
        }
        let slot = Int(partition)
        return slot < slots.count && slots[slot] >= 0 ? slots[slot] : nil
    }

    private func handleError(_ message: UnsafeMutablePointer<rd_kafka_message_t>, index: Int?,
                             handle: (SourceEvent) throws -> Void) throws {
        let m = message.pointee
        let code = m.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            if let index { try handle(.endOfPartition(partitionIndex: index, nextOffset: m.offset)) }
            return
        }
        let text = redactor.redact(rd_kafka_message_errstr(message).map { String(cString: $0) } ?? "")
        let tp = index.map { partitions[$0] }
        let place = tp.map { " on \($0)" } ?? ""
        switch code {
        case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
            if let tp, let marks = try? client.watermarks(tp, timeoutMs: 5_000) {
                throw ReplayError.offsetOutOfRange(topic: tp.topic, partition: tp.partition,
                                                   requested: m.offset, earliest: marks.low, latest: marks.high)
            }
            throw RDKafkaClient.error(code, "offset out of range\(place) (\(text))")
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
             RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            throw RDKafkaClient.error(code, "the topic or partition\(place) no longer exists (\(text))")
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
             RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__AUTHENTICATION,
             RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
            throw RDKafkaClient.error(code, "not authorized to read\(place); check the credentials and ACLs (\(text))")
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            throw RDKafkaClient.error(code, "a message at offset \(m.offset)\(place) is larger than the configured maximum; raise fetch.message.max.bytes/fetch.max.bytes (\(text))")
        default:
            try client.throwPendingFatalError()
            logger.warning("Kafka: \(text)\(place) (\(String(cString: rd_kafka_err2name(code)))); retrying")
        }
    }
}
