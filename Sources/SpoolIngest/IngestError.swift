import SpoolDecode
import SpoolModel
import SpoolStore

/// Why an ingest run could not continue, beyond the store's and the consumer's own errors.
public enum IngestError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Retention deleted offsets Spool had not read yet, and gaps were not accepted.
    case gapRefused(topic: String, partition: Int32, storedNextOffset: Int64, earliestOffset: Int64)
    /// The stored next offset is beyond the broker's high watermark: the topic was recreated.
    case aheadOfBroker(topic: String, partition: Int32, storedNextOffset: Int64, highWatermark: Int64)
    /// The brokers belong to another cluster than the one the database was filled from.
    case clusterMismatch(path: String, stored: String, current: String)
    /// A keyed topic's recorded mode would change without the flag that allows it.
    case keyedModeChange(topic: String, recorded: KeyedMode, asked: KeyedMode)
    /// The Schema Registry refused the credentials, or `spool decode` could not reach it.
    case registry(RegistryError)
    /// The file is recorded as another shard's than the one asked for.
    case shardMismatch(path: String, recorded: ShardSpec, asked: ShardSpec)
    /// `spool merge` into the file was interrupted and has not finished.
    case mergeUnfinished(path: String)
    /// The file holds partitions the shard asked for would not own.
    case shardForeignPartitions(path: String, shard: ShardSpec, partitions: [TopicPartition])

    /// A sentence naming what failed and what to do.
    public var description: String {
        switch self {
        case let .gapRefused(topic, partition, stored, earliest):
            return "\(topic)[\(partition)]: the next offset to read is \(stored), but the broker's earliest offset is \(earliest): retention deleted \(earliest - stored) message(s) before they were captured. The gap is recorded; rerun with --accept-gaps to continue from offset \(earliest)."
        case let .aheadOfBroker(topic, partition, stored, high):
            return "\(topic)[\(partition)]: the next offset to read is \(stored), beyond the broker's high watermark \(high); the topic was probably deleted and recreated. Spool will not restart it silently: capture it into a new --db file."
        case let .keyedModeChange(topic, recorded, asked):
            let consequence = asked == .latestOnly ? " (its stored log is deleted; the table stays)" : " (the log is kept from now on)"
            return "topic '\(topic)' is kept with \(recorded.flag) in this database; switching it to \(asked.flag)\(consequence) needs --change-latest-mode. To stop keeping its table, use --latest-off \(topic)."
        case let .registry(error):
            return error.description
        case let .mergeUnfinished(path):
            return "\(path) is the target of a spool merge that has not finished; run the same spool merge again to complete it before capturing into it."
        case let .shardMismatch(path, recorded, asked):
            return "\(path) is shard \(recorded) of its capture, not \(asked); give --shard \(recorded) (or leave it out), or use another --db file. To change the number of shards: stop them all, spool merge the files, and start the new shards from empty files."
        case let .shardForeignPartitions(path, shard, partitions):
            let names = partitions.prefix(5).map(\.description).joined(separator: ", ") + (partitions.count > 5 ? ", ..." : "")
            return "\(path) holds partitions shard \(shard) does not own (\(names)); a shard's file may hold only its own partitions. Use a new --db file for this shard."
        case let .clusterMismatch(path, stored, current):
            return "\(path) was filled from Kafka cluster '\(stored)', but the brokers belong to cluster '\(current)'; use a new --db file for a different cluster."
        }
    }
}
