internal import CRdKafka
import Logging

/// An offset a consumer group committed, with the metadata string committed along.
package struct CommittedOffset: Sendable, Equatable {
    /// The committed offset.
    package var offset: Int64
    /// The metadata committed with it (empty when none).
    package var metadata: String
}

/// Reads what a destination topic holds as a `read_committed` consumer sees it, and what a
/// consumer group committed for it.
///
/// Records of aborted transactions and transaction markers are skipped by the broker. The
/// group is never joined: partitions are assigned by hand and nothing is committed. Not
/// `Sendable`: one owner drives it.
package final class CommittedReader {
    private let client: RDKafkaClient
    private let timeoutMs: Int32
    private var lentHeaders: [RawHeader] = []

    /// A consumer of `config` (the user's librdkafka configuration) in consumer group `group`.
    package init(config: [String: String], group: String, logger: Logger, timeoutMs: Int32 = 30_000) throws {
        var effective = config
        effective["group.id"] = group
        effective["isolation.level"] = "read_committed"
        effective["enable.auto.commit"] = "false"
        effective["enable.auto.offset.store"] = "false"
        effective["enable.partition.eof"] = "true"
        effective["auto.offset.reset"] = "error"
        client = try RDKafkaClient(kind: .consumer, config: effective, logger: logger)
        self.timeoutMs = timeoutMs
    }

    /// The offsets the group committed on `topic`'s partitions `0..<partitions`; partitions it
    /// never committed are absent.
    package func committed(topic: String, partitions: Int) throws -> [Int32: CommittedOffset] {
        guard partitions > 0 else { return [:] }
        let list = RDKafkaPartitionList((0..<Int32(partitions)).map { (TopicPartition(topic: topic, partition: $0), Int64(RD_KAFKA_OFFSET_INVALID)) })
        return try list.withPointer { pointer in
            let err = client.withHandle { rd_kafka_committed($0, pointer, timeoutMs) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw RDKafkaClient.error(err, "reading the committed offsets of topic '\(topic)'")
            }
            var found: [Int32: CommittedOffset] = [:]
            for index in 0..<Int(pointer.pointee.cnt) {
                let element = pointer.pointee.elems[index]
                if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    throw RDKafkaClient.error(element.err, "reading the committed offset of \(topic)[\(element.partition)]")
                }
                guard element.offset >= 0 else { continue }
                let metadata = element.metadata.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: element.metadata_size), as: UTF8.self)
                } ?? ""
                found[element.partition] = CommittedOffset(offset: element.offset, metadata: metadata)
            }
            return found
        }
    }

    /// The low and high watermarks of `topic`'s partitions `0..<partitions`, in two ListOffsets
    /// requests (earliest, latest) rather than two per partition. As a `read_committed` reader
    /// asks, the high one is the last stable offset.
    package func watermarks(topic: String, partitions: Int) throws -> [Int32: Watermarks] {
        let all = (0..<Int32(partitions)).map { TopicPartition(topic: topic, partition: $0) }
        let earliest = try client.offsetsForTimes(all, timestampMs: -2, timeoutMs: timeoutMs)
        let latest = try client.offsetsForTimes(all, timestampMs: -1, timeoutMs: timeoutMs)
        var marks: [Int32: Watermarks] = [:]
        for tp in all {
            guard let low = earliest[tp] ?? nil, let high = latest[tp] ?? nil else {
                marks[tp.partition] = try client.watermarks(tp, timeoutMs: timeoutMs)
                continue
            }
            marks[tp.partition] = Watermarks(low: low, high: high)
        }
        return marks
    }

    /// The low and high watermarks of `partition`.
    package func watermarks(_ partition: TopicPartition) throws -> Watermarks {
        try client.watermarks(partition, timeoutMs: timeoutMs)
    }

    /// Hands `body` every committed record of `partition` from offset `start` to the end (the
    /// last stable offset), in offset order; returns how many. The bytes are lent for one call.
    package func scan(_ partition: TopicPartition, from start: Int64, _ body: (LentRecord) throws -> Void) throws -> Int {
        try client.assign([(partition, start)])
        defer { try? client.assign([]) }
        var handed = 0
        let clock = ContinuousClock()
        var deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
        while clock.now < deadline {
            try client.throwPendingFatalError()
            guard let message = client.withHandle({ rd_kafka_consumer_poll($0, 100) }) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            // Any message, aborted records' progress included, shows the partition is being read.
            deadline = clock.now.advanced(by: .milliseconds(Int64(timeoutMs)))
            if m.rkt == nil, m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw RDKafkaClient.error(m.err, "reading \(partition) from offset \(start)")
            }
            guard m.partition == partition.partition, let rkt = m.rkt, String(cString: rd_kafka_topic_name(rkt)) == partition.topic else { continue }
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return handed }
            guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw RDKafkaClient.error(m.err, "reading \(partition) from offset \(start)")
            }
            lendHeaders(of: message, into: &lentHeaders)
            let record = LentRecord(offset: m.offset, timestamp: rd_kafka_message_timestamp(message, nil),
                                    key: m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) },
                                    value: m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) },
                                    headers: lentHeaders)
            try body(record)
            handed += 1
        }
        throw ReplayError.timedOut(operation: "reading \(partition) to its end (\(handed) record(s) read)", seconds: Double(timeoutMs) / 1000)
    }
}
