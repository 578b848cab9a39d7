internal import CRdKafka
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Why a transaction step failed, as librdkafka classifies it.
package enum TransactionFailure: Error, CustomStringConvertible, Sendable {
    /// The transaction must be aborted; the work since the last commit can then be redone.
    case abortable(String)
    /// The producer cannot go on: another instance with the same `transactional.id` fenced it,
    /// authorization failed, or the broker does not support transactions.
    case fatal(String)

    /// The sentence librdkafka gave, with the step that failed.
    package var description: String {
        switch self {
        case .abortable(let text): return text
        case .fatal(let text): return text
        }
    }
}

/// A librdkafka producer with a `transactional.id`: records and consumer-group offsets commit
/// together or not at all.
///
/// Starting one fences every earlier producer with the same `transactional.id` (its open
/// transaction is aborted by the broker). Each `commit` first waits until every record sent
/// since `begin` is delivered, so the offsets each partition reached are known
/// (`deliveredEnds`) and can travel in the committed offsets' metadata. Not `Sendable`: one
/// owner drives it. `init(idempotentConfig:logger:timeoutMs:)` makes the same producer without
/// transactions, for comparisons.
package final class TransactionalProducer {
    private let client: RDKafkaClient
    private let timeoutMs: Int32
    /// Whether a transaction is open: begun, and neither committed nor aborted yet.
    package private(set) var inTransaction = false

    /// Creates the producer and initialises transactions (fencing older instances).
    /// `config` is the user's librdkafka configuration; idempotence and `acks=all` are forced.
    package init(config: [String: String], transactionalID: String, logger: Logger, timeoutMs: Int32 = 60_000) throws {
        var effective = Self.producerConfig(config)
        effective["transactional.id"] = transactionalID
        effective["transaction.timeout.ms"] = effective["transaction.timeout.ms"] ?? "120000"
        client = try RDKafkaClient(kind: .producer, config: effective, logger: logger)
        self.timeoutMs = timeoutMs
        try check(client.withHandle { rd_kafka_init_transactions($0, timeoutMs) }, "starting transactions for transactional.id '\(transactionalID)'")
    }

    /// Creates a plain idempotent producer: the same configuration, sending and `flush`, but no
    /// `transactional.id` (one in `config` is dropped) and no transactions.
    ///
    /// For comparisons such as `make bench`'s restore row: only `send`, `serveDeliveries`,
    /// `flush` and `deliveredEnds` apply; `begin`, `commit` and `abort` fail, as librdkafka
    /// refuses transactional calls without a `transactional.id`.
    package init(idempotentConfig config: [String: String], logger: Logger, timeoutMs: Int32 = 60_000) throws {
        var effective = Self.producerConfig(config)
        effective["transactional.id"] = nil
        client = try RDKafkaClient(kind: .producer, config: effective, logger: logger)
        self.timeoutMs = timeoutMs
    }

    /// The batching defaults under the user's `config`, with idempotence and `acks=all` forced.
    /// A short linger: every transaction ends with a flush, so each one starts on an empty
    /// pipeline, and batches fill from the queue anyway (20 ms measured slower on the restore bench).
    private static func producerConfig(_ config: [String: String]) -> [String: String] {
        var effective: [String: String] = [
            "linger.ms": "5",
            "batch.num.messages": "10000",
            "batch.size": "1000000",
            "queue.buffering.max.messages": "500000",
            "queue.buffering.max.kbytes": "131072",
        ]
        effective.merge(config) { $1 }
        effective["enable.idempotence"] = "true"
        effective["acks"] = "all"
        return effective
    }

    /// Fetches `topic`'s metadata before the first send. A producer that meets a topic at its
    /// first message holds the messages until its next metadata refresh (about a second); the
    /// first transaction waited that long in its flush. A failure here is left to the sends.
    package func learnPartitions(of topic: String) {
        _ = try? client.partitionCounts(topics: [topic], timeoutMs: 5_000)
    }

    /// The cluster id, or nil when the brokers do not report one in time.
    package func clusterID() -> String? { client.clusterID(timeoutMs: 5_000) }

    /// Starts a transaction.
    package func begin() throws {
        client.context.deliveryFailures.withLock { $0.removeAll() }
        client.context.deliveredEnds.withLock { $0.removeAll() }
        try check(client.withHandle { rd_kafka_begin_transaction($0) }, "beginning a transaction")
        inTransaction = true
    }

    /// Sends one record to `topic`'s `partition` with the record's key, value and headers
    /// byte for byte and `timestampMs` as its CreateTime (0 lets the producer stamp "now").
    /// Waits while librdkafka's queue is full.
    package func send(_ record: LentRecord, topic: String, partition: Int32, timestampMs: Int64) throws {
        while true {
            let err = client.withHandle { handle in
                let headers = makeHeaders(record.headers)
                let err = spool_produce_with_headers(
                    handle, topic, partition,
                    record.key?.baseAddress ?? (record.key == nil ? nil : spool_empty_bytes()), record.key?.count ?? 0,
                    record.value?.baseAddress ?? (record.value == nil ? nil : spool_empty_bytes()), record.value?.count ?? 0,
                    timestampMs, headers)
                // librdkafka owns the headers only when the message was accepted.
                if err != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
                return err
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            guard err == RD_KAFKA_RESP_ERR__QUEUE_FULL else {
                let sentence = RDKafkaClient.error(err, "sending a record to \(topic)[\(partition)]").description
                if err == RD_KAFKA_RESP_ERR__FATAL { throw TransactionFailure.fatal("sending a record to \(topic)[\(partition)] failed: \(fatalErrorText())") }
                // A record the producer refuses by itself is refused again on every retry.
                if err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE { throw TransactionFailure.fatal(sentence) }
                throw TransactionFailure.abortable(sentence)
            }
            _ = client.withHandle { rd_kafka_poll($0, 5) }
            try client.throwPendingFatalError()
        }
    }

    /// The fatal error that stopped the producer, as librdkafka names and describes it (for
    /// example `_FENCED` when a newer instance with the same `transactional.id` started).
    private func fatalErrorText() -> String {
        var errstr = [CChar](repeating: 0, count: 512)
        let code = client.withHandle { rd_kafka_fatal_error($0, &errstr, errstr.count) }
        return client.context.redactor.redact(string(fromBuffer: errstr)) + " (\(String(cString: rd_kafka_err2name(code))))"
    }

    /// Serves delivery reports without waiting; call now and then while sending.
    package func serveDeliveries() {
        _ = client.withHandle { rd_kafka_poll($0, 0) }
    }

    /// Waits until every record sent since `begin` is delivered; throws `.abortable` naming the
    /// first failed partition when some were not.
    package func flush() throws {
        let err = client.withHandle { rd_kafka_flush($0, timeoutMs) }
        try client.throwPendingFatalError()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw TransactionFailure.abortable(RDKafkaClient.error(err, "waiting for records to be delivered").description)
        }
        let failures = client.context.deliveryFailures.withLock { $0 }
        if let first = failures.first {
            throw TransactionFailure.abortable("\(failures.count) record(s) were not delivered; first: \(first)")
        }
    }

    /// For each partition written since `begin`, the offset after its last delivered record
    /// (valid after `flush`).
    package func deliveredEnds() -> [Int32: Int64] {
        client.context.deliveredEnds.withLock { $0 }
    }

    /// Flushes, adds `offsets` (committed offset and metadata per partition of `topic`) for
    /// consumer group `group` to the transaction, and commits it.
    package func commit(offsets: [Int32: (offset: Int64, metadata: String)], topic: String, group: String) throws {
        try flush()
        if !offsets.isEmpty {
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (partition, entry) in offsets.sorted(by: { $0.key < $1.key }) {
                let element = rd_kafka_topic_partition_list_add(list, topic, partition)!
                element.pointee.offset = entry.offset
                let bytes = Array(entry.metadata.utf8)
                // The list frees the metadata with free() when it is destroyed.
                guard let copy = malloc(max(bytes.count, 1)) else { throw TransactionFailure.fatal("out of memory") }
                bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: bytes.count) } }
                element.pointee.metadata = copy
                element.pointee.metadata_size = bytes.count
            }
            guard let groupMetadata = rd_kafka_consumer_group_metadata_new(group) else {
                throw TransactionFailure.fatal("could not describe consumer group '\(group)'")
            }
            defer { rd_kafka_consumer_group_metadata_destroy(groupMetadata) }
            try retrying("adding the restore's progress (consumer group '\(group)') to the transaction") {
                client.withHandle { rd_kafka_send_offsets_to_transaction($0, list, groupMetadata, timeoutMs) }
            }
        }
        try retrying("committing the transaction", outcomeUnknownWhenExhausted: true) {
            client.withHandle { rd_kafka_commit_transaction($0, timeoutMs) }
        }
        inTransaction = false
    }

    /// Calls `step` again while librdkafka says its failure is retriable (a timeout, a
    /// coordinator moving), at most five times; then throws the classified failure. For a commit
    /// (`outcomeUnknownWhenExhausted`) a failure still retriable after five tries is fatal: the
    /// transaction may or may not have committed, so only a new run, reading the committed
    /// offsets, knows where to continue.
    private func retrying(_ what: String, outcomeUnknownWhenExhausted: Bool = false, _ step: () -> OpaquePointer?) throws {
        for _ in 1..<5 {
            guard let error = step() else { return }
            let retriable = rd_kafka_error_is_retriable(error) != 0 && rd_kafka_error_txn_requires_abort(error) == 0
            if !retriable { return try check(error, what) }
            rd_kafka_error_destroy(error)
        }
        guard let error = step() else { return }
        if outcomeUnknownWhenExhausted && rd_kafka_error_is_retriable(error) != 0 && rd_kafka_error_txn_requires_abort(error) == 0 {
            defer { rd_kafka_error_destroy(error) }
            let text = client.context.redactor.redact(String(cString: rd_kafka_error_string(error)))
            throw TransactionFailure.fatal("\(what) did not finish after five tries (\(text)): whether it committed is not known")
        }
        try check(error, what)
    }

    /// Aborts the open transaction, if one is open: its records are never visible to
    /// `read_committed` readers.
    package func abort() throws {
        guard inTransaction else { return }
        try check(client.withHandle { rd_kafka_abort_transaction($0, timeoutMs) }, "aborting the transaction")
        inTransaction = false
    }

    /// A librdkafka header list for `headers` (copied), or nil when there are none.
    private func makeHeaders(_ headers: [RawHeader]) -> OpaquePointer? {
        guard !headers.isEmpty, let list = rd_kafka_headers_new(headers.count) else { return nil }
        for header in headers {
            let name = header.name.bindMemory(to: CChar.self)
            if let value = header.value {
                _ = rd_kafka_header_add(list, name.baseAddress ?? spool_empty_name(), name.count,
                                        value.baseAddress ?? spool_empty_bytes(), value.count)
            } else {
                _ = rd_kafka_header_add(list, name.baseAddress ?? spool_empty_name(), name.count, nil, 0)
            }
        }
        return list
    }

    /// Throws the classified failure of a transactional call, if it failed.
    private func check(_ error: OpaquePointer?, _ what: String) throws {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        let name = String(cString: rd_kafka_error_name(error))
        let text = client.context.redactor.redact(String(cString: rd_kafka_error_string(error)))
        let sentence = "\(what) failed: \(text) (\(name))"
        if rd_kafka_error_is_fatal(error) != 0 { throw TransactionFailure.fatal(sentence) }
        if rd_kafka_error_txn_requires_abort(error) != 0 || rd_kafka_error_is_retriable(error) != 0 {
            throw TransactionFailure.abortable(sentence)
        }
        throw TransactionFailure.fatal(sentence)
    }
}
