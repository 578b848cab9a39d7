internal import CRdKafka
import Logging
import Synchronization
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// What librdkafka's callbacks need, reached through the handle's opaque pointer.
///
/// Callbacks run on librdkafka's own threads, so everything here is immutable or behind a mutex.
final class RDKafkaCallbackContext: Sendable {
    let logger: Logger
    let redactor: SecretRedactor
    let fatalError = Mutex<ReplayError?>(nil)
    let deliveryFailures = Mutex<[String]>([])
    /// Per partition, the offset after the last record delivered (a transactional producer
    /// clears it at each `begin`).
    let deliveredEnds = Mutex<[Int32: Int64]>([:])
    /// Set when the brokers say a topic or partition is unknown: the owner checks the metadata.
    let topicCheckNeeded = Mutex<Bool>(false)

    init(logger: Logger, redactor: SecretRedactor) {
        self.logger = logger
        self.redactor = redactor
    }
}

/// Owns one `rd_kafka_t` (producer or consumer) and destroys it in `deinit`.
///
/// Not `Sendable`: one owner drives a handle. The raw handle never leaves the module.
final class RDKafkaClient {
    enum Kind { case producer, consumer }

    /// The librdkafka handle; lent only through `withHandle`.
    private let handle: OpaquePointer
    let context: RDKafkaCallbackContext
    private let retainedContext: Unmanaged<RDKafkaCallbackContext>
    private let kind: Kind

    /// Creates a handle from `config`; an unknown key or bad value names the key (never a secret value).
    init(kind: Kind, config: [String: String], logger: Logger) throws {
        let redactor = SecretRedactor(config: config)
        let context = RDKafkaCallbackContext(logger: logger, redactor: redactor)
        guard let conf = rd_kafka_conf_new() else {
            throw ReplayError.configuration(key: "*", reason: "librdkafka could not allocate a configuration")
        }
        var errstr = [CChar](repeating: 0, count: 512)
        for key in config.keys.sorted() {
            let value = config[key] ?? ""
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = redactor.redact(string(fromBuffer: errstr))
                throw ReplayError.configuration(key: key, reason: reason)
            }
        }
        let retained = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        if kind == .producer {
            rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryCallback)
        }
        // rd_kafka_new takes ownership of conf only when it succeeds.
        guard let rk = rd_kafka_new(kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                                    conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            retained.release()
            throw ReplayError.configuration(key: "*", reason: redactor.redact(string(fromBuffer: errstr)))
        }
        self.handle = rk
        self.context = context
        self.retainedContext = retained
        self.kind = kind
        if kind == .consumer {
            rd_kafka_poll_set_consumer(rk)
        }
    }

    deinit {
        // NO_CONSUMER_CLOSE: partitions are assigned manually and no offsets are committed, so
        // there is nothing to leave; it also avoids librdkafka 2.0.2's hang in consumer close.
        // Destroy can still hang in 2.0.2 after some broker errors, so it runs on another
        // thread and is abandoned after 5 s (the context then stays alive for its callbacks).
        let handle = DestroyableHandle(pointer: self.handle)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            rd_kafka_destroy_flags(handle.pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
            done.signal()
        }
        if done.wait(timeout: .now() + .seconds(5)) == .success {
            retainedContext.release()
        } else {
            context.logger.warning("librdkafka did not finish shutting down within 5 s; leaving it behind")
        }
    }

    /// Calls `body` with the librdkafka handle; the pointer must not escape `body` (it is
    /// destroyed with this object).
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try body(handle)
    }

    /// Throws the first fatal error reported through the error callback, if any.
    func throwPendingFatalError() throws {
        if let error = context.fatalError.withLock({ $0 }) { throw error }
    }

    /// The cluster id, or nil when the broker does not report one in time.
    func clusterID(timeoutMs: Int32) -> String? {
        guard let raw = rd_kafka_clusterid(handle, timeoutMs) else { return nil }
        defer { rd_kafka_mem_free(handle, raw) }
        return String(cString: raw)
    }

    /// The id of a broker of the cluster (the first the metadata lists), or nil when the brokers
    /// do not answer in time.
    func anyBrokerID(timeoutMs: Int32) -> Int32? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(handle, 0, nil, &metadata, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        return metadata.pointee.broker_cnt > 0 ? metadata.pointee.brokers[0].id : nil
    }

    /// The number of partitions of each of `topics`, retrying transient metadata errors until the timeout.
    ///
    /// Asks for the metadata of all topics rather than of the named ones: a request naming a
    /// topic may create it on brokers with automatic topic creation, and replaying must never
    /// create what it was asked to read.
    func partitionCounts(topics: [String], timeoutMs: Int32) throws -> [String: Int] {
        try partitionLeaders(topics: topics, timeoutMs: timeoutMs).mapValues(\.count)
    }

    /// The leader broker id of every partition of each of `topics` (index = partition number).
    func partitionLeaders(topics: [String], timeoutMs: Int32) throws -> [String: [Int32]] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
        var lastProblem = "no answer"
        repeat {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let remaining = max(Int32(1), Int32(clamping: clock.now.duration(to: deadline).milliseconds))
            let err = rd_kafka_metadata(handle, 1, nil, &metadata, remaining)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                defer { rd_kafka_metadata_destroy(metadata) }
                let md = metadata.pointee
                var found: [String: (leaders: [Int32], err: rd_kafka_resp_err_t)] = [:]
                for index in 0..<Int(md.topic_cnt) {
                    let entry = md.topics[index]
                    var leaders = [Int32](repeating: -1, count: Int(entry.partition_cnt))
                    for p in 0..<Int(entry.partition_cnt) {
                        let partition = entry.partitions[p]
                        if partition.id >= 0 && Int(partition.id) < leaders.count { leaders[Int(partition.id)] = partition.leader }
                    }
                    found[String(cString: entry.topic)] = (leaders, entry.err)
                }
                var counts: [String: [Int32]] = [:]
                for topic in topics {
                    guard let entry = found[topic] else { throw ReplayError.unknownTopic(name: topic) }
                    if entry.err == RD_KAFKA_RESP_ERR_NO_ERROR && !entry.leaders.isEmpty {
                        counts[topic] = entry.leaders
                        continue
                    }
                    switch entry.err {
                    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
                        throw ReplayError.unknownTopic(name: topic)
                    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
                        throw Self.error(entry.err, "not authorized to read topic '\(topic)'; check the credentials and ACLs")
                    default:
                        lastProblem = "topic '\(topic)': \(String(cString: rd_kafka_err2str(entry.err)))"
                    }
                }
                if counts.count == topics.count { return counts }
            } else if err != RD_KAFKA_RESP_ERR__TIMED_OUT {
                lastProblem = String(cString: rd_kafka_err2str(err))
            }
            try throwPendingFatalError()
            usleep(50_000)
        } while clock.now < deadline
        throw ReplayError.timedOut(operation: "fetching topic metadata (last problem: \(lastProblem))",
                                   seconds: Double(timeoutMs) / 1000)
    }

    /// The low and high watermarks of one partition.
    func watermarks(_ tp: TopicPartition, timeoutMs: Int32) throws -> Watermarks {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMs)
        if err == RD_KAFKA_RESP_ERR__TIMED_OUT {
            throw ReplayError.timedOut(operation: "reading the watermarks of \(tp)", seconds: Double(timeoutMs) / 1000)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.error(err, "reading the watermarks of \(tp) failed")
        }
        return Watermarks(low: low, high: high)
    }

    /// Asks the broker for the first offset at or after `timestampMs` on each partition;
    /// `nil` where it answers "no offset" (-1).
    func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64, timeoutMs: Int32) throws -> [TopicPartition: Int64?] {
        guard !partitions.isEmpty else { return [:] }
        let list = RDKafkaPartitionList(partitions.map { ($0, timestampMs) })
        let err = list.withPointer { rd_kafka_offsets_for_times(handle, $0, timeoutMs) }
        if err == RD_KAFKA_RESP_ERR__TIMED_OUT {
            throw ReplayError.timedOut(operation: "looking up offsets for time \(timestampMs)", seconds: Double(timeoutMs) / 1000)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.error(err, "looking up offsets for time \(timestampMs) failed")
        }
        var result: [TopicPartition: Int64?] = [:]
        for (tp, offset, partErr) in list.entries() {
            if partErr != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw Self.error(partErr, "looking up the offset for time \(timestampMs) on \(tp) failed")
            }
            result[tp] = offset >= 0 ? offset : nil
        }
        return result
    }

    /// Assigns exactly these partitions at these offsets.
    func assign(_ offsets: [(TopicPartition, Int64)]) throws {
        let list = RDKafkaPartitionList(offsets)
        let err = list.withPointer { rd_kafka_assign(handle, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw Self.error(err, "assigning partitions failed") }
    }

    /// Adds these partitions, at these offsets, to the current assignment; partitions already
    /// assigned keep their positions and queues.
    func incrementalAssign(_ offsets: [(TopicPartition, Int64)]) throws {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaPartitionList(offsets)
        guard let failure = list.withPointer({ rd_kafka_incremental_assign(handle, $0) }) else { return }
        defer { rd_kafka_error_destroy(failure) }
        let code = rd_kafka_error_code(failure)
        let text = rd_kafka_error_string(failure).map { String(cString: $0) } ?? ""
        throw Self.error(code, "adding partitions to the assignment failed (\(text))")
    }

    /// Pauses or resumes fetching these partitions.
    func setPaused(_ partitions: [TopicPartition], paused: Bool) throws {
        guard !partitions.isEmpty else { return }
        let list = RDKafkaPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
        let err = list.withPointer { paused ? rd_kafka_pause_partitions(handle, $0) : rd_kafka_resume_partitions(handle, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.error(err, "\(paused ? "pausing" : "resuming") partitions failed")
        }
    }

    /// Turns a librdkafka error code into a `ReplayError` with context.
    static func error(_ code: rd_kafka_resp_err_t, _ context: String) -> ReplayError {
        .kafka(code: code.rawValue, name: String(cString: rd_kafka_err2name(code)),
               message: "\(context): \(String(cString: rd_kafka_err2str(code)))", fatal: false)
    }
}

/// A handle passed to the destroying thread. `@unchecked Sendable` because after `deinit` starts
/// nothing else uses the handle: only that thread touches it.
private struct DestroyableHandle: @unchecked Sendable { let pointer: OpaquePointer }

/// Owns an `rd_kafka_topic_partition_list_t`, lent only through `withPointer`.
final class RDKafkaPartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ entries: [(TopicPartition, Int64)]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)
            element?.pointee.offset = offset
        }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    /// Calls `body` with the list; the pointer must not escape `body` (the list is destroyed
    /// with this object, which stays alive for the call).
    func withPointer<R>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> R) rethrows -> R {
        try body(pointer)
    }

    /// Each element's partition, offset and error.
    func entries() -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        let list = pointer.pointee
        return (0..<Int(list.cnt)).map { index in
            let element = list.elems[index]
            return (TopicPartition(topic: String(cString: element.topic), partition: element.partition),
                    element.offset, element.err)
        }
    }
}

/// librdkafka's log callback: forwards to swift-log with secrets redacted.
private func rdKafkaLogCallback(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>?) {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let text = context.redactor.redact(buffer.map { String(cString: $0) } ?? "")
    let fac = facility.map { String(cString: $0) } ?? ""
    let logLevel: Logger.Level
    switch level {
    case ...3: logLevel = .error
    case 4: logLevel = .warning
    case 5, 6: logLevel = .info
    default: logLevel = .debug
    }
    context.logger.log(level: logLevel, "librdkafka \(fac): \(text)")
}

/// librdkafka's delivery report callback: records failed deliveries, and how far each partition's
/// delivered records reach, for the producer's owner.
private func rdKafkaDeliveryCallback(_ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque, let message else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    guard message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR else {
        let partition = message.pointee.partition, end = message.pointee.offset + 1
        context.deliveredEnds.withLock { ends in
            if end > ends[partition, default: 0] { ends[partition] = end }
        }
        return
    }
    let code = message.pointee.err
    let text = "partition \(message.pointee.partition): \(String(cString: rd_kafka_err2str(code)))"
    context.deliveryFailures.withLock { $0.append(text) }
}

/// librdkafka's error callback: records fatal errors for the owner to throw, logs the rest.
private func rdKafkaErrorCallback(_ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let text = context.redactor.redact(reason.map { String(cString: $0) } ?? "")
    let code = rd_kafka_resp_err_t(rawValue: err)
    let name = String(cString: rd_kafka_err2name(code))
    func record(_ error: ReplayError) {
        context.fatalError.withLock { if $0 == nil { $0 = error } }
    }
    switch code {
    case RD_KAFKA_RESP_ERR__FATAL:
        guard let rk else { return }
        var errstr = [CChar](repeating: 0, count: 512)
        let fatalCode = rd_kafka_fatal_error(rk, &errstr, errstr.count)
        record(.kafka(code: fatalCode.rawValue, name: String(cString: rd_kafka_err2name(fatalCode)),
                      message: context.redactor.redact(string(fromBuffer: errstr)), fatal: true))
        context.logger.error("Kafka fatal error: \(text)")
    case RD_KAFKA_RESP_ERR__BAD_MSG:
        // librdkafka keeps refetching a response it cannot take (a message larger than
        // receive.message.max.bytes); it never resolves by itself.
        record(.messageTooLarge(waiting: [:], detail: text))
    case RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
         RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        record(.kafka(code: code.rawValue, name: name, message: "not authorized: \(text); check the credentials and ACLs", fatal: true))
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        context.topicCheckNeeded.withLock { $0 = true }
        context.logger.warning("Kafka: \(text) (\(name)); checking the topics")
    default:
        context.logger.warning("Kafka: \(text) (\(name))")
    }
}

/// Decodes a NUL-terminated C string held in a fixed-size buffer.
func string(fromBuffer buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
