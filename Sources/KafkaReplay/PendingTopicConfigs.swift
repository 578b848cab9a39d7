internal import CRdKafka

/// What DescribeConfigs said of one topic.
package enum TopicConfigAnswer: Sendable, Equatable {
    /// The effective configuration, defaults included.
    case configs([String: String])
    /// The broker does not know the topic.
    case missing
    /// The configuration could not be described; the reason says why.
    case unavailable(String)

    /// A description with `partitionCount` partitions and this answer's configuration.
    package func description(partitionCount: Int) -> TopicDescription {
        switch self {
        case .configs(let configs): return TopicDescription(partitionCount: partitionCount, configs: configs, configsUnavailable: nil)
        case .missing: return TopicDescription(partitionCount: partitionCount, configs: nil, configsUnavailable: "the broker did not know the topic yet")
        case .unavailable(let reason): return TopicDescription(partitionCount: partitionCount, configs: nil, configsUnavailable: reason)
        }
    }
}

/// A DescribeConfigs request in flight for some topics (`TopicAdmin.startDescribingConfigs`):
/// the request is sent when this is made, and `wait()` collects the answer.
///
/// Owns the private result queue; the client it was sent through stays alive with it.
/// Not `Sendable`: one owner drives it.
package final class PendingTopicConfigs {
    private let client: RDKafkaClient
    private let topics: [String]
    private let timeoutMs: Int32
    private let queue: OpaquePointer?
    private var answer: [String: TopicConfigAnswer]?

    /// Sends the request for `topics` through `client` to broker `brokerID` (any broker answers
    /// for topics; without one librdkafka waits for the controller, which a broker without the
    /// API never reports, instead of failing at once), to be answered within `timeoutMs`.
    init(client: RDKafkaClient, topics: [String], brokerID: Int32?, timeoutMs: Int32) {
        self.client = client
        self.topics = topics
        self.timeoutMs = timeoutMs
        queue = client.withHandle { handle -> OpaquePointer? in
            guard let queue = rd_kafka_queue_new(handle) else { return nil }
            guard let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS) else {
                rd_kafka_queue_destroy(queue)
                return nil
            }
            defer { rd_kafka_AdminOptions_destroy(options) }
            var errstr = [CChar](repeating: 0, count: 512)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errstr, errstr.count)
            if let brokerID { _ = rd_kafka_AdminOptions_set_broker(options, brokerID, &errstr, errstr.count) }
            var resources: [OpaquePointer?] = topics.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
            defer { resources.forEach { $0.map { rd_kafka_ConfigResource_destroy($0) } } }
            // librdkafka copies the resources and options.
            rd_kafka_DescribeConfigs(handle, &resources, resources.count, options, queue)
            return queue
        }
    }

    deinit { queue.map { rd_kafka_queue_destroy($0) } }

    /// Each topic's answer; waits for the broker at most the timeout given when it was sent.
    package func wait() -> [String: TopicConfigAnswer] {
        if let answer { return answer }
        var found: [String: TopicConfigAnswer] = [:]
        let unanswered = TopicConfigAnswer.unavailable("the broker did not answer DescribeConfigs within \(timeoutMs / 1000) s")
        if let queue, let event = rd_kafka_queue_poll(queue, timeoutMs + 2_000) {
            defer { rd_kafka_event_destroy(event) }
            found = Self.read(event)
        }
        let fallback = found.removeValue(forKey: Self.requestFailed) ?? unanswered
        for topic in topics where found[topic] == nil { found[topic] = fallback }
        answer = found
        return found
    }

    /// The key under which `read` reports a failure of the whole request (not a topic name:
    /// topic names cannot be empty).
    private static let requestFailed = ""

    /// Each described topic's answer from a DescribeConfigs result event.
    private static func read(_ event: OpaquePointer) -> [String: TopicConfigAnswer] {
        let err = rd_kafka_event_error(event)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(err))
            let unsupported = err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION
            return [requestFailed: .unavailable(unsupported ? "the broker does not support DescribeConfigs" : text)]
        }
        var count = 0
        guard let result = rd_kafka_event_DescribeConfigs_result(event),
              let resources = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return [:] }
        var found: [String: TopicConfigAnswer] = [:]
        for index in 0..<count {
            let name = String(cString: rd_kafka_ConfigResource_name(resources[index]))
            let code = rd_kafka_ConfigResource_error(resources[index])
            if code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART {
                found[name] = .missing
                continue
            }
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let text = rd_kafka_ConfigResource_error_string(resources[index]).map { String(cString: $0) } ?? ""
                found[name] = .unavailable("\(String(cString: rd_kafka_err2name(code))): \(text)")
                continue
            }
            var configs: [String: String] = [:]
            var entryCount = 0
            if let entries = rd_kafka_ConfigResource_configs(resources[index], &entryCount) {
                for entry in 0..<entryCount {
                    guard let key = rd_kafka_ConfigEntry_name(entries[entry]) else { continue }
                    configs[String(cString: key)] = rd_kafka_ConfigEntry_value(entries[entry]).map { String(cString: $0) }
                }
            }
            found[name] = .configs(configs)
        }
        return found
    }
}
