import KafkaReplay
import Logging
import SpoolModel
import SpoolReplay
import SpoolStore

/// How one destination partition compares with the records the capture selected for it.
public struct PartitionVerification: Sendable, Equatable {
    /// The destination partition.
    public var partition: Int32
    /// Records the capture selected.
    public var expected: Int64
    /// Committed records the destination holds.
    public var found: Int64
    /// The first destination record that differs from its captured counterpart; nil when
    /// every compared record is equal.
    public var firstDifference: Difference?
    /// The order-dependent checksum of the selected captured records and of the destination's.
    public var expectedChecksum: UInt64
    /// The destination's checksum.
    public var foundChecksum: UInt64

    /// Whether the partition holds exactly the selected records, in order.
    public var isEqual: Bool { expected == found && firstDifference == nil && expectedChecksum == foundChecksum }

    /// Where the destination first differs from the capture.
    public struct Difference: Sendable, Equatable {
        /// The destination offset.
        public var destination: Int64
        /// The captured offset it should hold, -1 when the capture selected fewer records.
        public var source: Int64

        /// Names both offsets.
        public init(destination: Int64, source: Int64) {
            self.destination = destination
            self.source = source
        }
    }
}

/// Reads a destination topic back as a `read_committed` consumer and compares each partition,
/// record by record, with what the capture selected: count, order, key, value, headers and
/// (where it can be reproduced) timestamp.
struct RestoreVerifier {
    var capture: SpoolCapture
    var mapping: TopicMapping
    var selections: [Int32: PartitionSelection]
    var latest: Bool
    var window: Range<Int64>
    /// Whether a stop was requested (SIGINT/SIGTERM): the comparison ends early, unfinished.
    var shouldStop: () -> Bool

    /// Thrown when a stop ends the comparison.
    struct Stopped: Error {}

    /// Compares every partition of the destination (`destinationPartitions` of them); throws
    /// `Stopped` when a stop is requested first.
    func verify(config: [String: String], group: String, destinationPartitions: Int, logger: Logger) throws -> [PartitionVerification] {
        let reader = try CommittedReader(config: config, group: group, logger: logger)
        return try (0..<Int32(destinationPartitions)).map { try verify(partition: $0, reader: reader) }
    }

    /// One partition: the capture's digests first, then the destination's in the same order.
    private func verify(partition: Int32, reader: CommittedReader) throws -> PartitionVerification {
        var digests: [UInt64] = []
        var sourceOffsets: [Int64] = []
        var untimed: Set<Int> = []
        if let selection = selections[partition] {
            var next = selection.firstOffset
            while true {
                let handed = try capture.withStoredRecords(of: TopicPartition(topic: mapping.source, partition: partition),
                                                           from: next, limit: 10_000, latest: latest) { record in
                    next = record.offset + 1
                    if shouldStop() { throw Stopped() }
                    guard window.contains(record.timestamp) else { return }
                    let timed = RecordDigest.isReproducible(record.timestamp)
                    if !timed { untimed.insert(digests.count) }
                    digests.append(RecordDigest.of(record, includeTimestamp: timed))
                    sourceOffsets.append(record.offset)
                }
                if handed < 10_000 { break }
            }
        }
        var result = PartitionVerification(partition: partition, expected: Int64(digests.count), found: 0, firstDifference: nil,
                                           expectedChecksum: Self.chain(digests), foundChecksum: 0)
        var foundDigests: [UInt64] = []
        let tp = TopicPartition(topic: mapping.target, partition: partition)
        let low = try reader.watermarks(tp).low
        _ = try reader.scan(tp, from: low) { record in
            if shouldStop() { throw Stopped() }
            let index = foundDigests.count
            let digest = RecordDigest.of(record, includeTimestamp: !untimed.contains(index))
            foundDigests.append(digest)
            if result.firstDifference == nil, index >= digests.count || digests[index] != digest {
                result.firstDifference = PartitionVerification.Difference(destination: record.offset, source: index < sourceOffsets.count ? sourceOffsets[index] : -1)
            }
        }
        result.found = Int64(foundDigests.count)
        result.foundChecksum = Self.chain(foundDigests)
        return result
    }

    /// Folds digests in order into one checksum.
    private static func chain(_ digests: [UInt64]) -> UInt64 {
        digests.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ $1) &* 0x0000_0100_0000_01b3 }
    }
}
