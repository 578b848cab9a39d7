import KafkaReplay
import SpoolDecode
import SpoolModel
import SpoolStore

/// A Spool capture opened as a replay source: one file, or the shard files of one capture
/// (a folder, or several files) read as one. Give it to `ConsumerManager(config:topics:capture:)`.
///
/// Opened read-only: a capture that `spool ingest` is writing can be replayed at the same time.
/// What each partition holds is fixed when the capture opens.
///
/// This module joins the two layers that must not know each other: `KafkaReplay` reads a
/// history through its `ReplayHistory` seam without knowing SQLite, and `SpoolStore` reads
/// rows without knowing Kafka. Not `Sendable`: one owner drives it.
public final class SpoolCapture {
    /// The files, in the order given (a folder expanded to its shard files).
    public let paths: [String]
    private let readers: [CaptureReader]
    private var readerOf: [TopicPartition: Int] = [:]
    private var heldRange: [TopicPartition: ReplayRange] = [:]
    private var decodedTopicNames: Set<String>?
    private var scannedTopics: Set<String> = []
    /// Header bytes of the record being handed over (reused).
    private var headerBytes: [UInt8] = []
    private var headerSpans: [(name: Range<Int>, value: Range<Int>?)] = []

    /// Opens `paths`: a Spool file, a folder of shard files, or several shard files. Several
    /// files must be distinct shards of one capture from one cluster (`ShardSet`); a shard
    /// set missing partitions is accepted (those partitions come from Kafka alone).
    public init(paths: [String]) throws {
        let files = try ShardFiles.expand(paths, excluding: "")
        if files.count > 1 { try ShardSet(paths: files).requireOneCapture(allowIncomplete: true, flag: nil) }
        self.paths = files
        readers = try files.map { try CaptureReader(path: $0) }
    }

    /// Opens one file or folder (see `init(paths:)`).
    public convenience init(path: String) throws {
        try self.init(paths: [path])
    }

    deinit { readers.forEach { $0.close() } }

    /// The topics the capture holds records of.
    public func topics() throws -> [String] {
        try Set(readers.flatMap { try $0.topics() }).sorted()
    }

    /// The `key_json` and `value_json` the capture holds for the rows of `batch` (released by a
    /// `ConsumerManager` over this capture), row for row: a row is `.decoded` with its JSON when
    /// its record came from the capture and was decoded from Confluent framing, `.none`
    /// otherwise (records read from Kafka are not decoded). Nil when no row can have any, which
    /// costs one set lookup per topic of the batch.
    public func decoded(for batch: MessageBatch) throws -> DecodedColumns? {
        if decodedTopicNames == nil { decodedTopicNames = try Set(readers.flatMap { try $0.decodedTopics() }) }
        guard let names = decodedTopicNames, batch.topicNames.contains(where: names.contains) else { return nil }
        let found = try decodedJSON(for: batch, topics: names)
        guard !found.isEmpty else { return nil }
        var columns = DecodedColumns()
        for row in batch.indices {
            let json = found[TopicPartition(topic: batch.topic(at: row), partition: batch.partitions[row])]?[batch.offsets[row]]
            columns.appendRow { writer in
                guard let json else { return .none }
                if let key = json.key {
                    writer.begin()
                    writer.bytes += key
                    writer.finishKey()
                }
                if let value = json.value {
                    writer.begin()
                    writer.bytes += value
                    writer.finishValue()
                }
                return .decoded
            }
        }
        return columns
    }

    /// The decoded JSON of the batch's records of `topics` that the capture held when it opened,
    /// by partition and offset.
    private func decodedJSON(for batch: MessageBatch, topics: Set<String>) throws -> [TopicPartition: [Int64: (key: [UInt8]?, value: [UInt8]?)]] {
        var spans: [TopicPartition: ClosedRange<Int64>] = [:]
        for row in batch.indices where topics.contains(batch.topic(at: row)) {
            let tp = TopicPartition(topic: batch.topic(at: row), partition: batch.partitions[row])
            let offset = batch.offsets[row]
            spans[tp] = spans[tp].map { min($0.lowerBound, offset)...max($0.upperBound, offset) } ?? offset...offset
        }
        var found: [TopicPartition: [Int64: (key: [UInt8]?, value: [UInt8]?)]] = [:]
        for (tp, span) in spans {
            guard let reader = try reader(for: tp), let held = heldRange[tp], span.lowerBound < held.end else { continue }
            try reader.withDecoded(of: tp, from: span.lowerBound, through: min(span.upperBound, held.end - 1)) { offset, key, value in
                found[tp, default: [:]][offset] = (key.map { Array($0) }, value.map { Array($0) })
            }
        }
        return found
    }

    private func reader(for partition: TopicPartition) throws -> CaptureReader? {
        if !scannedTopics.contains(partition.topic) { _ = try holdings(topic: partition.topic) }
        return readerOf[partition].map { readers[$0] }
    }
}

extension SpoolCapture: ReplayHistory {
    package func holdings(topic: String) throws -> [Int32: ReplayRange] {
        var held: [Int32: ReplayRange] = [:]
        for (index, reader) in readers.enumerated() {
            for (partition, range) in try reader.holdings(topic: topic) where held[partition] == nil {
                held[partition] = range
                readerOf[TopicPartition(topic: topic, partition: partition)] = index
                heldRange[TopicPartition(topic: topic, partition: partition)] = range
            }
        }
        scannedTopics.insert(topic)
        return held
    }

    package func firstOffset(of partition: TopicPartition, atOrAfter timestampMs: Int64) throws -> Int64? {
        try reader(for: partition)?.firstOffset(of: partition, atOrAfter: timestampMs)
    }

    package func withRecords(of partition: TopicPartition, from start: Int64, before end: Int64, limit: Int,
                             _ body: (LentRecord) -> Void) throws -> Int {
        guard let reader = try reader(for: partition) else { return 0 }
        return try reader.withRows(of: partition, from: start, before: end, limit: limit) { row in
            guard let json = row.headersJSON else {
                body(LentRecord(offset: row.offset, timestamp: row.timestamp, key: row.key, value: row.value, headers: []))
                return
            }
            try readHeaders(json, of: partition, offset: row.offset)
            headerBytes.withUnsafeBytes { bytes in
                let headers = headerSpans.map { span in
                    RawHeader(name: UnsafeRawBufferPointer(rebasing: bytes[span.name]),
                              value: span.value.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) })
                }
                body(LentRecord(offset: row.offset, timestamp: row.timestamp, key: row.key, value: row.value, headers: headers))
            }
        }
    }

    /// Rebuilds a record's headers from the `headers` column's JSON into `headerBytes` and
    /// `headerSpans`; a value that is not the documented shape throws, naming the record.
    private func readHeaders(_ json: UnsafeRawBufferPointer, of partition: TopicPartition, offset: Int64) throws {
        guard HeadersJSON.decode(json, into: &headerBytes, spans: &headerSpans) else {
            throw StoreError.inconsistent(path: paths.joined(separator: ", "), reason: "\(partition) offset \(offset): the headers column is not the documented JSON array; run spool verify")
        }
    }
}

extension SpoolCapture {
    /// Per partition of `topic`, what a restore selects: records with timestamps in
    /// `fromMs..<untilMs`, from the log or (`latest`) from the `latest` table.
    package func selections(topic: String, fromMs: Int64, untilMs: Int64, latest: Bool) throws -> [Int32: PartitionSelection] {
        _ = try holdings(topic: topic)
        var found: [Int32: PartitionSelection] = [:]
        for reader in readers {
            for (partition, selection) in try reader.selections(topic: topic, fromMs: fromMs, untilMs: untilMs, latest: latest)
            where found[partition] == nil && readerOf[TopicPartition(topic: topic, partition: partition)].map({ readers[$0] === reader }) ?? true {
                found[partition] = selection
            }
        }
        return found
    }

    /// How many partitions `topic` had when it was captured.
    package func partitionCount(topic: String) throws -> Int {
        try readers.map { try $0.partitionCount(topic: topic) }.max() ?? 0
    }

    /// Whether `topic` is kept only as its `latest` table (`--latest-only`).
    package func isLatestOnly(topic: String) throws -> Bool {
        try readers.contains { try $0.isLatestOnly(topic: topic) }
    }

    /// The cluster the capture was fed from, when known.
    package func clusterID() throws -> String? {
        try readers.lazy.compactMap { try $0.clusterID() }.first
    }

    /// The file holding `partition`'s records.
    package func path(holding partition: TopicPartition) throws -> String? {
        try reader(for: partition)?.path
    }

    /// Hands `body` up to `limit` stored records of `partition` from offset `start` in offset
    /// order (from the `latest` table when `latest`), headers rebuilt; returns how many. The
    /// bytes are lent for one call.
    package func withStoredRecords(of partition: TopicPartition, from start: Int64, limit: Int, latest: Bool,
                                   _ body: (LentRecord) throws -> Void) throws -> Int {
        guard let reader = try reader(for: partition) else { return 0 }
        let hand: (CapturedRow) throws -> Void = { row in
            guard let json = row.headersJSON else {
                try body(LentRecord(offset: row.offset, timestamp: row.timestamp, key: row.key, value: row.value, headers: []))
                return
            }
            try self.readHeaders(json, of: partition, offset: row.offset)
            try self.headerBytes.withUnsafeBytes { bytes in
                let headers = self.headerSpans.map { span in
                    RawHeader(name: UnsafeRawBufferPointer(rebasing: bytes[span.name]),
                              value: span.value.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) })
                }
                try body(LentRecord(offset: row.offset, timestamp: row.timestamp, key: row.key, value: row.value, headers: headers))
            }
        }
        if latest { return try reader.withLatestRows(of: partition, from: start, limit: limit, hand) }
        return try reader.withRows(of: partition, from: start, before: Int64.max, limit: limit, hand)
    }
}
