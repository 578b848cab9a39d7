import KafkaReplay
import SpoolDecode
import SpoolIngest
import SpoolStore

/// The exit codes of `spool`, documented in `--help` and docs/cli.md (Exit codes).
public enum ExitStatus: Int32, Sendable {
    /// Done.
    case success = 0
    /// `verify` found problems.
    case problemsFound = 1
    /// Usage or configuration error (bad flag, topic spec, time, SQL refused).
    case usage = 2
    /// Storage error (database file, disk, SQLite).
    case storage = 3
    /// Kafka or Schema Registry error (unknown topic, out-of-range offset, cluster mismatch, gap
    /// refused, registry unreachable during `spool decode`).
    case kafka = 4
    /// The database is in use by another writer.
    case inUse = 5

    /// The exit status for an error thrown by the libraries.
    public static func forError(_ error: Error) -> ExitStatus {
        switch error {
        case let error as StoreError:
            if case .inUse = error { return .inUse }
            if case .mergeRefused = error { return .usage }
            if case .pathConflict = error { return .usage }
            if case .notOneCapture = error { return .usage }
            return .storage
        case let error as IngestError:
            switch error {
            case .keyedModeChange, .shardMismatch, .shardForeignPartitions, .mergeUnfinished: return .usage
            case .registry(let registryError):
                switch registryError {
                case .badSetting, .unauthorized: return .usage
                default: return .kafka
                }
            default: return .kafka
            }
        case let error as ReplayError:
            switch error {
            case .invalidTopic, .duplicateTopic, .invalidArgument, .configuration: return .usage
            default: return .kafka
            }
        case is QueryError:
            return .usage
        case is TopicSpec.ParseError:
            return .usage
        case is MetricsFileError, is ShardFiles.Missing, is ShardFiles.Empty:
            return .usage
        default:
            return .storage
        }
    }
}
