internal import CRdKafka
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The production `MessageSource`: one message at a time from per-partition queues.
///
/// Every partition gets its own librdkafka queue (split from the consumer queue before
/// assignment, so assignment never re-routes it), and messages are taken round-robin in short
/// bursts from the partitions that are not paused. That interleaves partitions finely instead of
/// in whole fetch responses, so held messages stay few and pausing is rare: in librdkafka 2.0.2
/// a resumed partition may wait up to a second for its next fetch. When every queue is empty
/// the source sleeps on a pipe that librdkafka writes to as soon as any queue receives data.
///
/// librdkafka 2.0.2's batch consume calls can lose or repeat messages when combined with
/// pause/resume, so this deliberately uses the single-message call. Key and value bytes are
/// handed to the core while the message is alive and copied there; the message is destroyed
/// right after.
///
/// A following consumer (`discovery` set) also checks the metadata now and then and starts
/// reading partitions added to its topics (see `PartitionDiscovery`).
final class RDKafkaMessageSource: MessageSource {
    let client: RDKafkaClient
    private(set) var partitions: [TopicPartition]
    private var indexByTopic: [String: [Int]] = [:]
    private var indexByTopicHandle: [OpaquePointer: [Int]] = [:]
    private let logger: Logger
    private let redactor: SecretRedactor
    private var queues: [OpaquePointer] = []
    private var paused: [Bool]
    private var turn = 0
    private var burstLeft = 0
    private var callsSinceMainQueue = 0
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var nudger: FetchNudger?
    private var discovery: PartitionDiscovery?
    /// How many messages are taken from one partition before moving to the next.
    static let burst = 32

    /// `partitions` in the core's order; events name partitions by their index in it. Splits
    /// every partition's queue from the consumer queue; call `assign` afterwards.
    init(client: RDKafkaClient, partitions: [TopicPartition], leaders: [TopicPartition] = [],
         discovery: PartitionDiscovery? = nil, logger: Logger, redactor: SecretRedactor) throws {
        self.client = client
        self.partitions = []
        self.logger = logger
        self.redactor = redactor
        self.paused = []
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw ReplayError.invalidArgument(name: "consumer", reason: "could not create a wake-up pipe")
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        try addQueues(for: partitions)
        if let consumerQueue = client.withHandle({ rd_kafka_queue_get_consumer($0) }) {
            rd_kafka_queue_io_event_enable(consumerQueue, wakeWrite, "w", 1)
            rd_kafka_queue_destroy(consumerQueue)
        }
        if !leaders.isEmpty {
            nudger = FetchNudger(client: client, partitions: leaders, intervalMs: 20)
        }
        self.discovery = discovery
    }

    /// Splits each partition's queue from the consumer queue (before it is assigned) and gives
    /// it the next index.
    private func addQueues(for added: [TopicPartition]) throws {
        for tp in added {
            guard let queue = client.withHandle({ rd_kafka_queue_get_partition($0, tp.topic, tp.partition) }) else {
                throw ReplayError.invalidArgument(name: "partition \(tp)", reason: "librdkafka has no queue for it")
            }
            // An application forward (here: none) is never overridden by assignment.
            rd_kafka_queue_forward(queue, nil)
            rd_kafka_queue_io_event_enable(queue, wakeWrite, "w", 1)
            queues.append(queue)
            var slots = indexByTopic[tp.topic] ?? []
            let needed = Int(tp.partition) + 1
            if slots.count < needed { slots.append(contentsOf: repeatElement(-1, count: needed - slots.count)) }
            slots[Int(tp.partition)] = partitions.count
            indexByTopic[tp.topic] = slots
            partitions.append(tp)
            paused.append(false)
        }
        indexByTopicHandle.removeAll()
    }

    deinit {
        nudger?.stop()
        for queue in queues {
            rd_kafka_queue_io_event_enable(queue, -1, nil, 0)
            rd_kafka_queue_destroy(queue)
        }
        if let consumerQueue = client.withHandle({ rd_kafka_queue_get_consumer($0) }) {
            rd_kafka_queue_io_event_enable(consumerQueue, -1, nil, 0)
            rd_kafka_queue_destroy(consumerQueue)
        }
        close(wakeRead)
        close(wakeWrite)
    }

    /// Starts fetching every partition at its offset.
    func assign(_ offsets: [(TopicPartition, Int64)]) throws {
        try client.assign(offsets)
    }

    /// Starts fetching more of the partitions given at creation (whose queues exist), each at
    /// its offset, keeping those already assigned.
    func startReading(_ offsets: [(TopicPartition, Int64)]) throws {
        try client.incrementalAssign(offsets)
    }

    func next(timeoutMs: Int32, into core: inout ReplayCore) throws -> Bool {
        if try takeOne(&core) { return true }
        guard timeoutMs > 0 else { return false }
        drainWakeups()
        // Data may have arrived between the last look and draining the pipe.
        if try takeOne(&core) { return true }
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, timeoutMs)
        return try takeOne(&core)
    }

    /// Serves the consumer queue now and then (errors, callbacks), then takes one message from
    /// the partition queues, round-robin in bursts over the partitions not paused.
    private func takeOne(_ core: inout ReplayCore) throws -> Bool {
        callsSinceMainQueue += 1
        if callsSinceMainQueue >= 256 {
            callsSinceMainQueue = 0
            if try serveConsumerQueue(&core) { return true }
        }
        let count = queues.count
        for step in 0..<count {
            let index = (turn + step) % count
            if paused[index] { continue }
            if step > 0 || burstLeft <= 0 { burstLeft = Self.burst }
            guard let message = rd_kafka_consume_queue(queues[index], 0) else {
                burstLeft = 0
                continue
            }
            burstLeft -= 1
            turn = burstLeft > 0 ? index : index + 1
            nudger?.markActive()
            defer { rd_kafka_message_destroy(message) }
            try deliver(message, &core)
            return true
        }
        callsSinceMainQueue = 0
        return try serveConsumerQueue(&core)
    }

    private func serveConsumerQueue(_ core: inout ReplayCore) throws -> Bool {
        try client.throwPendingFatalError()
        try checkTopicsIfAsked()
        try discoverPartitionsIfDue(&core)
        guard let message = client.withHandle({ rd_kafka_consumer_poll($0, 0) }) else { return false }
        defer { rd_kafka_message_destroy(message) }
        try deliver(message, &core)
        return true
    }

    private var lastTopicCheck: ContinuousClock.Instant?

    /// After the brokers called a topic unknown, asks the metadata (at most once a second)
    /// whether every topic still exists; a deleted one ends the replay.
    private func checkTopicsIfAsked() throws {
        guard client.context.topicCheckNeeded.withLock({ $0 }) else { return }
        let now = ContinuousClock.now
        if let last = lastTopicCheck, now - last < .seconds(1) { return }
        lastTopicCheck = now
        client.context.topicCheckNeeded.withLock { $0 = false }
        let topics = Array(Set(partitions.map(\.topic))).sorted()
        do {
            _ = try client.partitionLeaders(topics: topics, timeoutMs: 5_000)
        } catch ReplayError.unknownTopic(let name) {
            throw ReplayError.topicDeleted(name: name)
        } catch {
            // Brokers unreachable or busy: keep reading, check again later.
            client.context.topicCheckNeeded.withLock { $0 = true }
        }
    }

    /// Every `discovery` interval, asks the metadata whether the topics gained partitions and
    /// starts reading new ones at their first offset; fewer partitions end the replay.
    private func discoverPartitionsIfDue(_ core: inout ReplayCore) throws {
        guard var discovery, discovery.isDue() else { return }
        defer { self.discovery = discovery }
        guard let found = try discovery.newPartitions(client: client) else { return }
        let specs = try found.map { tp in
            ReplayCore.PartitionSpec(topicPartition: tp, range: try discovery.range(of: tp, client: client))
        }
        for (topic, added) in Dictionary(grouping: found, by: \.topic).sorted(by: { $0.key < $1.key }) {
            logger.info("topic '\(topic)' gained partitions \(added.map(\.partition).sorted()); reading them from their first offset")
        }
        let indexes = core.addPartitions(specs)
        try addQueues(for: indexes.map { core.cursors[$0].topicPartition })
        try client.incrementalAssign(indexes.map { (core.cursors[$0].topicPartition, core.cursors[$0].startOffset) })
    }

    private func drainWakeups() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ read(wakeRead, $0.baseAddress, 256) }) > 0 {}
    }

    private func deliver(_ message: UnsafeMutablePointer<rd_kafka_message_t>, _ core: inout ReplayCore) throws {
        let m = message.pointee
        let index = partitionIndex(topicHandle: m.rkt, partition: m.partition)
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            try handleError(message, index: index, core: &core)
            return
        }
        guard let index else {
            logger.warning("ignoring a message from an unassigned partition \(m.partition)")
            return
        }
        let timestamp = rd_kafka_message_timestamp(message, nil)
        let key = m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) }
        let value = m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) }
        lendHeaders(of: message, into: &lentHeaders)
        core.accept(.message(partitionIndex: index, offset: m.offset, timestamp: timestamp, key: key, value: value,
                             headers: lentHeaders))
    }

    /// Headers of the message being delivered, lent from it (reused: no allocation per message).
    private var lentHeaders: [RawHeader] = []

    /// Backpressure pauses by no longer taking the partition's messages: they stay in its
    /// librdkafka queue, which stops fetching once it holds `queued.max.messages.kbytes`. Unlike
    /// `rd_kafka_pause_partitions`, nothing fetched is thrown away and a resume costs no
    /// refetch (librdkafka 2.0.2 may take a second to fetch a resumed partition again).
    /// Each partition's high watermark as librdkafka last saw it in a fetch response (no
    /// request is made); partitions not fetched yet are missing.
    func cachedHighWatermarks() -> [TopicPartition: Int64] {
        var marks: [TopicPartition: Int64] = [:]
        for partition in partitions {
            var low: Int64 = -1, high: Int64 = -1
            let rc = client.withHandle { rd_kafka_get_watermark_offsets($0, partition.topic, partition.partition, &low, &high) }
            if rc == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 { marks[partition] = high }
        }
        return marks
    }

    func pause(_ partitionIndexes: [Int]) throws {
        for index in partitionIndexes { paused[index] = true }
    }

    func resume(_ partitionIndexes: [Int]) throws {
        for index in partitionIndexes { paused[index] = false }
    }

    /// A bounded backfill is done with the partition: stop fetching it at the broker too.
    func stop(_ partitionIndexes: [Int]) throws {
        try client.setPaused(partitionIndexes.map { partitions[$0] }, paused: true)
        for index in partitionIndexes { paused[index] = true }
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
                             core: inout ReplayCore) throws {
        let m = message.pointee
        let code = m.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
            if let index { core.accept(.endOfPartition(partitionIndex: index, nextOffset: m.offset)) }
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
            throw RDKafkaClient.error(code, "not authorized to read\(tp.map { " \($0)" } ?? ""); check the credentials and ACLs (\(text))")
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            throw RDKafkaClient.error(code, "a message at offset \(m.offset)\(place) is larger than the configured maximum; raise fetch.message.max.bytes/fetch.max.bytes (\(text))")
        default:
            try client.throwPendingFatalError()
            logger.warning("Kafka: \(text)\(place) (\(String(cString: rd_kafka_err2name(code)))); retrying")
        }
    }
}
