internal import CRdKafka
import Logging

/// A topic as the cluster describes it: its partition count and effective configuration.
package struct TopicDescription: Sendable {
    /// How many partitions the topic has.
    package var partitionCount: Int
    /// The effective configuration (name → value, defaults included); nil when the broker
    /// cannot describe configurations (`configsUnavailable` says why).
    package var configs: [String: String]?
    /// Why `configs` is nil.
    package var configsUnavailable: String?

    /// Names every field.
    package init(partitionCount: Int, configs: [String: String]?, configsUnavailable: String?) {
        self.partitionCount = partitionCount
        self.configs = configs
        self.configsUnavailable = configsUnavailable
    }
}

/// Looks up and creates topics with librdkafka's Admin API (Metadata, DescribeConfigs,
/// CreateTopics). Not `Sendable`: one owner drives it.
package final class TopicAdmin {
    private let client: RDKafkaClient
    private let timeoutMs: Int32

    /// A client for `config` (the user's librdkafka configuration).
    package init(config: [String: String], logger: Logger, timeoutMs: Int32 = 30_000) throws {
        client = try RDKafkaClient(kind: .producer, config: config, logger: logger)
        self.timeoutMs = timeoutMs
    }

    /// The cluster id, or nil when the brokers do not report one in time.
    package func clusterID() -> String? { client.clusterID(timeoutMs: 5_000) }

    /// `topic`'s partition count, or nil when the topic does not exist.
    package func partitionCount(of topic: String) throws -> Int? {
        do {
            return try client.partitionCounts(topics: [topic], timeoutMs: timeoutMs)[topic]
        } catch ReplayError.unknownTopic {
            return nil
        }
    }

    /// `topic`'s partition count and configuration, or nil when the topic does not exist.
    package func describe(topic: String) throws -> TopicDescription? {
        let pending = startDescribingConfigs(of: [topic])
        guard let partitions = try partitionCount(of: topic) else { return nil }
        return pending.wait()[topic]?.description(partitionCount: partitions)
            ?? TopicDescription(partitionCount: partitions, configs: nil, configsUnavailable: "the broker did not describe it")
    }

    /// Sends one DescribeConfigs request for `topics` and returns at once; `wait()` on the
    /// result collects the answer. The caller can read its own data meanwhile.
    package func startDescribingConfigs(of topics: [String]) -> PendingTopicConfigs {
        PendingTopicConfigs(client: client, topics: topics, brokerID: client.anyBrokerID(timeoutMs: timeoutMs), timeoutMs: timeoutMs)
    }

    /// Creates `topic` with `partitions` partitions and the broker's default replication and
    /// configuration, then waits until its metadata shows every partition.
    package func create(topic: String, partitions: Int) throws {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic, Int32(partitions), -1, &errstr, errstr.count) else {
            throw ReplayError.invalidArgument(name: "topic '\(topic)'", reason: string(fromBuffer: errstr))
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        try withAdminResult(RD_KAFKA_ADMIN_OP_CREATETOPICS, operation: "creating topic '\(topic)'") { handle, options, queue in
            var topics: [OpaquePointer?] = [newTopic]
            rd_kafka_CreateTopics(handle, &topics, 1, options, queue)
        } read: { event in
            var count = 0
            guard let result = rd_kafka_event_CreateTopics_result(event),
                  let topics = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(topics[index])
                guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let text = rd_kafka_topic_result_error_string(topics[index]).map { String(cString: $0) } ?? ""
                throw RDKafkaClient.error(err, "creating topic '\(topic)' with \(partitions) partition(s) failed (\(text))")
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
        while clock.now < deadline {
            if let count = try? client.partitionCounts(topics: [topic], timeoutMs: 2_000)[topic], count >= partitions { return }
            try client.throwPendingFatalError()
        }
        throw ReplayError.timedOut(operation: "waiting for the new topic '\(topic)' to appear in the metadata", seconds: Double(timeoutMs) / 1000)
    }

    /// Runs one Admin request through a private queue and hands its result event to `read`;
    /// throws the request-level error naming `operation`.
    private func withAdminResult(_ op: rd_kafka_admin_op_t, operation: String,
                                 request: (OpaquePointer, OpaquePointer, OpaquePointer) -> Void,
                                 read: (OpaquePointer) throws -> Void) throws {
        try client.withHandle { handle in
            guard let queue = rd_kafka_queue_new(handle) else { throw ReplayError.timedOut(operation: operation, seconds: 0) }
            defer { rd_kafka_queue_destroy(queue) }
            guard let options = rd_kafka_AdminOptions_new(handle, op) else { throw ReplayError.timedOut(operation: operation, seconds: 0) }
            defer { rd_kafka_AdminOptions_destroy(options) }
            var errstr = [CChar](repeating: 0, count: 512)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errstr, errstr.count)
            request(handle, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeoutMs + 5_000) else {
                throw ReplayError.timedOut(operation: operation, seconds: Double(timeoutMs) / 1000)
            }
            defer { rd_kafka_event_destroy(event) }
            let err = rd_kafka_event_error(event)
            if err == RD_KAFKA_RESP_ERR__TIMED_OUT {
                throw ReplayError.timedOut(operation: operation, seconds: Double(timeoutMs) / 1000)
            }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
                throw RDKafkaClient.error(err, "\(operation) failed (\(text))")
            }
            try read(event)
        }
    }
}
