import Logging

/// Time lookups against the brokers: `offsets_for_times` first, then reading the partitions
/// (`PartitionProbe`, created on first need) where the broker answers "no offset".
struct BrokerOffsetLookup: OffsetTimeLookup {
    private let client: RDKafkaClient
    private let config: [String: String]
    private let logger: Logger
    private let timeoutMs: Int32
    private var probe: PartitionProbe?

    init(client: RDKafkaClient, config: [String: String], logger: Logger, timeoutMs: Int32) {
        self.client = client
        self.config = config
        self.logger = logger
        self.timeoutMs = timeoutMs
    }

    func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64) throws -> [TopicPartition: Int64?] {
        try client.offsetsForTimes(partitions, timestampMs: timestampMs, timeoutMs: timeoutMs)
    }

    mutating func searchOffsets(for timestampMs: Int64, in partitions: [TopicPartition: Watermarks]) throws -> [TopicPartition: Int64] {
        if probe == nil { probe = try PartitionProbe(config: config, logger: logger, timeoutMs: timeoutMs) }
        let before = probe!.rounds
        let found = try probe!.offsets(for: timestampMs, in: partitions)
        logger.info("timestamp lookup read \(probe!.rounds - before) probe rounds over \(partitions.count) partitions")
        return found
    }

    /// Lets the probe's consumer go (it holds a librdkafka handle).
    mutating func close() { probe = nil }
}
