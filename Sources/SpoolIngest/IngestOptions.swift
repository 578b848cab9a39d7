import SpoolDecode
import SpoolModel
import SpoolStore

/// What an ingest run reads, how it stops and how it writes.
public struct IngestOptions: Sendable {
    /// librdkafka properties (`bootstrap.servers`, security settings, any `-X key=value`).
    public var kafkaConfig: [String: String]
    /// The topics to capture with their start policies.
    public var topics: [SourceTopic]
    /// The cutoff between replay and live.
    public var cutoff: CutoffChoice
    /// The most messages per poll, and so per transaction.
    public var batchSize: Int
    /// Keep ingesting after every partition is live, until stopped (otherwise a bounded
    /// backfill that stores exactly the messages before the cutoff and the start-time end).
    public var follow: Bool
    /// Continue from the earliest available offset when retention deleted the next one
    /// (the gap is recorded either way).
    public var acceptGaps: Bool
    /// How hard commits are pushed to disk.
    public var durability: Durability
    /// How long one poll waits for messages.
    public var pollTimeoutMs: Int
    /// How long a write waits for another connection's lock.
    public var busyTimeoutMs: Int
    /// Topics whose latest-value table to keep, and how. Recorded in the database: later runs
    /// keep the mode without being asked.
    public var keyed: [String: KeyedMode] = [:]
    /// Topics whose latest-value table to stop keeping (its rows are deleted).
    public var keyedOff: Set<String> = []
    /// Whether a topic's recorded mode may switch between `latest` and `latest_only`.
    public var allowKeyedModeChange = false
    /// The Schema Registry to decode Confluent-framed keys and values with; nil: framed records
    /// are stored raw and marked pending (for `spool decode`).
    public var schemaRegistry: SchemaRegistryConfig?
    /// How long the first record of a schema id not seen before waits for its fetch before it is
    /// stored pending instead.
    public var schemaFirstWait: Duration = .seconds(2)
    /// A retention policy to record (replacing the recorded one); nil keeps what is recorded.
    public var retention: RetentionPolicy?
    /// Remove the recorded retention policy: keep everything from now on.
    public var retentionOff = false
    /// Capture only this shard's partitions (recorded in the database; nil keeps what is recorded).
    public var shard: ShardSpec?

    /// Options with Spool's defaults: a bounded backfill to now, 10,000 messages per batch.
    public init(kafkaConfig: [String: String], topics: [SourceTopic], cutoff: CutoffChoice = .now,
                batchSize: Int = 10_000, follow: Bool = false, acceptGaps: Bool = false,
                durability: Durability = .normal, pollTimeoutMs: Int = 200, busyTimeoutMs: Int = 5_000) {
        self.kafkaConfig = kafkaConfig
        self.topics = topics
        self.cutoff = cutoff
        self.batchSize = batchSize
        self.follow = follow
        self.acceptGaps = acceptGaps
        self.durability = durability
        self.pollTimeoutMs = pollTimeoutMs
        self.busyTimeoutMs = busyTimeoutMs
    }
}
