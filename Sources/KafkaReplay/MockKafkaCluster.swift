internal import CRdKafka
import Logging

/// A message to produce into `MockKafkaCluster`, with an explicit partition and timestamp.
@_spi(MockCluster) public struct MockMessage: Hashable, Sendable {
    /// The partition to write to.
    public var partition: Int32
    /// The key; `nil` produces a null key, `[]` an empty one.
    public var key: [UInt8]?
    /// The value; `nil` produces a null value (a tombstone), `[]` an empty one.
    public var value: [UInt8]?
    /// The CreateTime timestamp in Unix milliseconds; librdkafka replaces 0 with the current time.
    public var timestamp: Int64
    /// The record's headers, in order (sent through librdkafka's header API).
    public var headers: [MessageHeader]

    /// Creates a message to produce.
    public init(partition: Int32, key: [UInt8]?, value: [UInt8]?, timestamp: Int64, headers: [MessageHeader] = []) {
        self.partition = partition
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
    }
}

/// An in-process Kafka-protocol cluster on loopback: librdkafka's mock cluster (`rdkafka_mock.h`).
///
/// For tests and demos. It can create topics, take brokers down, move leaders, delay and fail
/// requests. Its limits (librdkafka 2.0.2): ListOffsets by timestamp always answers -1, each
/// partition keeps at most about 5 MiB and drops the oldest data beyond that, there is no
/// SASL/SSL and partitions cannot be added.
///
/// Not `Sendable`: one owner drives it; the brokers themselves run on librdkafka's threads.
@_spi(MockCluster) public final class MockKafkaCluster {
    private let owner: RDKafkaClient
    private let cluster: OpaquePointer
    private var producer: RDKafkaClient?
    private var transactionalProducer: RDKafkaClient?
    private let logger: Logger

    /// The `bootstrap.servers` string for clients of this cluster.
    public let bootstrapServers: String
    /// How many brokers the cluster has (ids 1...brokerCount).
    public let brokerCount: Int
    /// Extra librdkafka properties for the producers `produce` uses (for example
    /// `compression.codec`); set before the first `produce`.
    public var producerProperties: [String: String] = [:]

    /// Starts `brokers` brokers on loopback.
    public init(brokers: Int = 1, logger: Logger = Logger(label: "spool.mock")) throws {
        guard brokers >= 1 else {
            throw ReplayError.invalidArgument(name: "broker count", reason: "must be at least 1, got \(brokers)")
        }
        owner = try RDKafkaClient(kind: .producer, config: ["log_level": "3"], logger: logger)
        guard let cluster = owner.withHandle({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw ReplayError.invalidArgument(name: "mock cluster", reason: "librdkafka could not start the mock brokers")
        }
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
        self.logger = logger
    }

    deinit {
        producer = nil
        transactionalProducer = nil
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Client configuration that reaches this cluster.
    public var clientConfig: [String: String] { ["bootstrap.servers": bootstrapServers] }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaClient.error(err, "creating topic '\(name)'") }
    }

    /// Produces `messages` to `topic` and waits until every one is acknowledged.
    public func produce(topic: String, _ messages: [MockMessage]) throws {
        if producer == nil { producer = try makeProducer(extra: [:]) }
        try send(messages, topic: topic, through: producer!)
    }

    /// Produces `messages` to `topic` in one transaction, then commits or aborts it.
    ///
    /// Each transaction leaves a control record (commit or abort marker) after its messages.
    public func produceTransaction(topic: String, _ messages: [MockMessage], commit: Bool) throws {
        if transactionalProducer == nil {
            let client = try makeProducer(extra: ["transactional.id": "spool-mock-\(UInt32.random(in: 0...UInt32.max))"])
            try check(client.withHandle { rd_kafka_init_transactions($0, 30_000) }, "initialising transactions")
            transactionalProducer = client
        }
        let client = transactionalProducer!
        try check(client.withHandle { rd_kafka_begin_transaction($0) }, "beginning a transaction")
        try send(messages, topic: topic, through: client)
        if commit {
            try check(client.withHandle { rd_kafka_commit_transaction($0, 30_000) }, "committing a transaction")
        } else {
            try check(client.withHandle { rd_kafka_abort_transaction($0, 30_000) }, "aborting a transaction")
        }
    }

    /// Disconnects broker `id` (-1 for all) and refuses new connections; leaders do not move.
    public func setBrokerDown(_ id: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster, id), "taking broker \(id) down")
    }

    /// Lets broker `id` (-1 for all) accept connections again.
    public func setBrokerUp(_ id: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster, id), "bringing broker \(id) up")
    }

    /// Makes broker `id` (-1 for all) answer every request `ms` milliseconds late.
    public func setBrokerRoundTripTime(_ id: Int32, ms: Int) throws {
        try check(rd_kafka_mock_broker_set_rtt(cluster, id, Int32(ms)), "setting the round-trip time of broker \(id)")
    }

    /// Moves the leader of one partition to broker `id`, or to none with -1.
    public func setPartitionLeader(topic: String, partition: Int32, broker id: Int32) throws {
        try check(rd_kafka_mock_partition_set_leader(cluster, topic, partition, id), "moving the leader of \(topic)[\(partition)]")
    }

    /// Makes the next `errors.count` requests of type `api` fail with these errors, in order.
    public func pushRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaErrorCode]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        rd_kafka_mock_push_request_errors_array(cluster, api.rawValue, codes.count, codes)
    }

    /// Makes the next request of type `api` to broker `id` fail with `error` after `rttMs`.
    public func pushBrokerRequestError(broker id: Int32, _ api: KafkaAPIKey, _ error: KafkaErrorCode, rttMs: Int = 0) throws {
        try check(spool_mock_broker_push_error_rtt(cluster, id, api.rawValue, rd_kafka_resp_err_t(rawValue: error.rawValue), Int32(rttMs)),
                  "pushing an error for broker \(id)")
    }

    /// Clears the pushed errors of request type `api`.
    public func clearRequestErrors(_ api: KafkaAPIKey) {
        rd_kafka_mock_clear_request_errors(cluster, api.rawValue)
    }

    /// Makes Metadata requests report `error` for `topic` (`.noError` to clear), as if deleted.
    public func setTopicError(_ topic: String, _ error: KafkaErrorCode) {
        rd_kafka_mock_topic_set_error(cluster, topic, rd_kafka_resp_err_t(rawValue: error.rawValue))
    }

    // MARK: private

    private func makeProducer(extra: [String: String]) throws -> RDKafkaClient {
        var config = [
            "bootstrap.servers": bootstrapServers,
            "linger.ms": "5",
            "batch.num.messages": "10000",
            "batch.size": "4000000",
            "queue.buffering.max.messages": "1000000",
            "queue.buffering.max.kbytes": "2097152",
            "message.max.bytes": "20000000",
            "acks": "all",
        ]
        config.merge(producerProperties) { $1 }
        config.merge(extra) { $1 }
        return try RDKafkaClient(kind: .producer, config: config, logger: logger)
    }

    /// A librdkafka header list for `headers` (copied), or nil when there are none.
    private static func makeHeaders(_ headers: [MessageHeader]) -> OpaquePointer? {
        guard !headers.isEmpty, let list = rd_kafka_headers_new(headers.count) else { return nil }
        for header in headers {
            let name = Array(header.name.utf8)
            if let value = header.value {
                value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(list, name.map { CChar(bitPattern: $0) }, name.count,
                                            bytes.baseAddress ?? spool_empty_bytes(), bytes.count)
                }
            } else {
                _ = rd_kafka_header_add(list, name.map { CChar(bitPattern: $0) }, name.count, nil, 0)
            }
        }
        return list
    }

    private func send(_ messages: [MockMessage], topic: String, through client: RDKafkaClient) throws {
        client.context.deliveryFailures.withLock { $0.removeAll() }
        for message in messages {
            while true {
                let err = withOptionalBytes(message.key) { key in
                    withOptionalBytes(message.value) { value in
                        client.withHandle { handle in
                            let headers = Self.makeHeaders(message.headers)
                            let err = spool_produce_with_headers(
                                handle, topic, message.partition,
                                key?.baseAddress ?? (key == nil ? nil : spool_empty_bytes()), key?.count ?? 0,
                                value?.baseAddress ?? (value == nil ? nil : spool_empty_bytes()), value?.count ?? 0,
                                message.timestamp, headers)
                            // librdkafka owns the headers only when the message was accepted.
                            if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
                            return err
                        }
                    }
                }
                if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                    _ = client.withHandle { rd_kafka_poll($0, 10) }
                    continue
                }
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw RDKafkaClient.error(err, "producing to \(topic)[\(message.partition)]")
                }
                break
            }
        }
        let err = client.withHandle { rd_kafka_flush($0, 60_000) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaClient.error(err, "flushing messages to '\(topic)'") }
        let failures = client.context.deliveryFailures.withLock { $0 }
        if let first = failures.first {
            throw ReplayError.kafka(code: -1, name: "DELIVERY_FAILED",
                                    message: "\(failures.count) message(s) to '\(topic)' were not delivered; first: \(first)", fatal: false)
        }
    }

    private func check(_ err: rd_kafka_resp_err_t, _ what: String) throws {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RDKafkaClient.error(err, what) }
    }

    private func check(_ error: OpaquePointer?, _ what: String) throws {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        throw ReplayError.kafka(code: rd_kafka_error_code(error).rawValue, name: String(cString: rd_kafka_error_name(error)),
                                message: "\(what): \(String(cString: rd_kafka_error_string(error)))", fatal: false)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
