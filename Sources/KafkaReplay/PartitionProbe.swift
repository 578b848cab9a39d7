internal import CRdKafka
import Logging

/// Reads single messages at chosen offsets, to find an offset by timestamp where the broker
/// cannot (librdkafka's mock cluster, or any broker answering ListOffsets-by-time with -1).
final class PartitionProbe {
    private let client: RDKafkaClient
    private let timeoutMs: Int32
    private(set) var reads = 0

    init(config: [String: String], logger: Logger, timeoutMs: Int32) throws {
        var probeConfig = config
        probeConfig["enable.partition.eof"] = "true"
        probeConfig["fetch.wait.max.ms"] = "10"
        probeConfig["queued.min.messages"] = "1"
        client = try RDKafkaClient(kind: .consumer, config: probeConfig, logger: logger)
        self.timeoutMs = timeoutMs
    }

    /// The first message at or after `offset` as (offset, timestamp), or nil when none is before the end.
    func firstMessage(_ tp: TopicPartition, atOrAfter offset: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        reads += 1
        try client.assign([(tp, offset)])
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
        while clock.now < deadline {
            try client.throwPendingFatalError()
            guard let message = rd_kafka_consumer_poll(client.handle, 10) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            guard m.partition == tp.partition, let rkt = m.rkt,
                  String(cString: rd_kafka_topic_name(rkt)) == tp.topic else { continue }
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RDKafkaClient.error(m.err, "reading \(tp) at offset \(offset) to find a timestamp")
            }
            if m.offset >= offset { return (m.offset, rd_kafka_message_timestamp(message, nil)) }
        }
        throw ReplayError.timedOut(operation: "reading \(tp) at offset \(offset)", seconds: Double(timeoutMs) / 1000)
    }

    /// The last message before `high` (skipping trailing control records), or nil when none from `low`.
    func lastMessage(_ tp: TopicPartition, low: Int64, high: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        var step: Int64 = 1
        while high - step >= low {
            if let found = try firstMessage(tp, atOrAfter: high - step) { return found }
            if high - step == low { return nil }
            step = min(step * 2, high - low)
        }
        return nil
    }

    /// The smallest offset from which reading yields a message with timestamp >= `timestampMs`,
    /// or `high` when there is none. Assumes timestamps do not decrease within the partition.
    func offset(for timestampMs: Int64, in tp: TopicPartition, low: Int64, high: Int64) throws -> Int64 {
        guard low < high, let last = try lastMessage(tp, low: low, high: high), last.timestamp >= timestampMs else {
            return high
        }
        var lower = low
        var upper = last.offset
        while lower < upper {
            let middle = lower + (upper - lower) / 2
            if let found = try firstMessage(tp, atOrAfter: middle), found.timestamp >= timestampMs {
                upper = middle
            } else {
                lower = middle + 1
            }
        }
        return lower
    }
}
