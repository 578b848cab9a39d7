internal import CRdKafka
import Logging

/// Reads single messages at chosen offsets, to find offsets by timestamp where the broker cannot
/// (librdkafka's mock cluster, or any broker answering ListOffsets-by-time with -1).
///
/// Probes of many partitions run together: each round assigns every partition still being
/// searched at its next offset and waits for the first message (or end) of each, so a
/// 64-partition topic costs about as many rounds as one partition.
final class PartitionProbe {
    private let client: RDKafkaClient
    private let timeoutMs: Int32
    /// Probe rounds made so far.
    private(set) var rounds = 0

    init(config: [String: String], logger: Logger, timeoutMs: Int32) throws {
        var probeConfig = config
        probeConfig["enable.partition.eof"] = "true"
        probeConfig["fetch.wait.max.ms"] = "10"
        probeConfig["fetch.error.backoff.ms"] = "5"
        probeConfig["queued.min.messages"] = "1"
        client = try RDKafkaClient(kind: .consumer, config: probeConfig, logger: logger)
        self.timeoutMs = timeoutMs
    }

    /// For each partition, the first message at or after the requested offset as (offset,
    /// timestamp), or nil when there is none before the end.
    func firstMessages(_ requests: [TopicPartition: Int64]) throws -> [TopicPartition: (offset: Int64, timestamp: Int64)?] {
        guard !requests.isEmpty else { return [:] }
        rounds += 1
        try client.assign(requests.map { ($0.key, $0.value) })
        var answers: [TopicPartition: (offset: Int64, timestamp: Int64)?] = [:]
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
        while answers.count < requests.count && clock.now < deadline {
            try client.throwPendingFatalError()
            // A short wait: a longer one is not cut short when the first fetch arrives.
            guard let message = client.withHandle({ rd_kafka_consumer_poll($0, 10) }) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            guard let rkt = m.rkt else { continue }
            let tp = TopicPartition(topic: String(cString: rd_kafka_topic_name(rkt)), partition: m.partition)
            guard let requested = requests[tp], answers[tp] == nil else { continue }
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                answers[tp] = .some(nil)
            } else if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RDKafkaClient.error(m.err, "reading \(tp) at offset \(requested) to find a timestamp")
            } else if m.offset >= requested {
                answers[tp] = (m.offset, rd_kafka_message_timestamp(message, nil))
            }
        }
        if answers.count < requests.count {
            let missing = requests.keys.filter { answers[$0] == nil }.sorted().map(\.description).joined(separator: ", ")
            throw ReplayError.timedOut(operation: "reading \(missing) to find offsets by timestamp", seconds: Double(timeoutMs) / 1000)
        }
        return answers
    }

    /// For each partition (with its watermarks), the smallest offset from which reading yields a
    /// message with timestamp >= `timestampMs`, or the high watermark when there is none.
    /// Assumes timestamps do not decrease within a partition.
    func offsets(for timestampMs: Int64, in partitions: [TopicPartition: Watermarks]) throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        // The last message of each partition (stepping back over trailing control records).
        var pending: [TopicPartition: Int64] = [:]
        var steps: [TopicPartition: Int64] = [:]
        for (tp, marks) in partitions {
            if marks.low < marks.high {
                pending[tp] = marks.high - 1
                steps[tp] = 1
            } else {
                result[tp] = marks.high
            }
        }
        var bounds: [TopicPartition: (lower: Int64, upper: Int64)] = [:]
        while !pending.isEmpty {
            let answers = try firstMessages(pending)
            var next: [TopicPartition: Int64] = [:]
            for (tp, requested) in pending {
                let marks = partitions[tp]!
                if let found = answers[tp] ?? nil {
                    if found.timestamp >= timestampMs {
                        bounds[tp] = (marks.low, found.offset)
                    } else {
                        result[tp] = marks.high
                    }
                } else if requested > marks.low {
                    let step = min(steps[tp]! * 2, marks.high - marks.low)
                    steps[tp] = step
                    next[tp] = max(marks.low, marks.high - step)
                } else {
                    result[tp] = marks.high
                }
            }
            pending = next
        }
        // Binary search: the answer lies in [lower, upper], and reading from upper qualifies.
        while !bounds.isEmpty {
            var requests: [TopicPartition: Int64] = [:]
            for (tp, bound) in bounds {
                if bound.lower >= bound.upper {
                    result[tp] = bound.lower
                } else {
                    requests[tp] = bound.lower + (bound.upper - bound.lower) / 2
                }
            }
            for tp in result.keys { bounds[tp] = nil }
            guard !requests.isEmpty else { break }
            let answers = try firstMessages(requests)
            for (tp, middle) in requests {
                if let found = answers[tp] ?? nil, found.timestamp >= timestampMs {
                    bounds[tp]!.upper = middle
                } else {
                    bounds[tp]!.lower = middle + 1
                }
            }
        }
        return result
    }
}
