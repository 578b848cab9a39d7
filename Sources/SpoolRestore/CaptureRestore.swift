import KafkaReplay
import Logging
import SpoolModel
import SpoolReplay
import SpoolStore

/// What to restore, from where, to where.
public struct RestoreRequest: Sendable {
    /// The capture: a Spool file, a folder of shard files, or several shard files.
    public var paths: [String]
    /// The librdkafka configuration of the destination cluster.
    public var config: [String: String]
    /// The topics to restore.
    public var mappings: [TopicMapping]
    /// Only records with timestamps at or after this (ms since the epoch).
    public var fromMs: Int64?
    /// Only records with timestamps before this.
    public var untilMs: Int64?
    /// Create missing destination topics with the captured partition count.
    public var createTopics = false
    /// Read every destination back and compare it with the capture after restoring.
    public var verify = false
    /// The transactional.id and consumer group; derived from the capture's cluster, the topics
    /// and the window when nil.
    public var restoreID: String?
    /// Records per transaction.
    public var transactionRecords = 200_000

    /// A request to restore `mappings` from `paths` with `config`.
    public init(paths: [String], config: [String: String], mappings: [TopicMapping]) {
        self.paths = paths
        self.config = config
        self.mappings = mappings
    }
}

/// The restore of one capture into Kafka (`spool restore`): checks every destination before
/// anything is written, then restores each topic exactly once through Kafka transactions, and
/// optionally reads the destinations back to compare.
public final class CaptureRestore {
    private let request: RestoreRequest
    private let logger: Logger
    private let capture: SpoolCapture

    /// One topic, planned: what the capture selected and where it goes.
    private struct Plan {
        var mapping: TopicMapping
        var restoreID: String
        var latest: Bool
        var selections: [Int32: PartitionSelection]
        var destinationPartitions: Int
        var warnings: [String]
        /// The producer's configuration: the user's, with batch and request sizes that fit the
        /// destination's `max.message.bytes` and the largest record.
        var producerConfig: [String: String]
    }

    /// Opens the capture (read-only) for `request`.
    public init(request: RestoreRequest, logger: Logger) throws {
        self.request = request
        self.logger = logger
        capture = try SpoolCapture(paths: request.paths)
    }

    /// The records' time window.
    private var window: Range<Int64> { (request.fromMs ?? Int64.min)..<(request.untilMs ?? Int64.max) }

    /// Restores every topic; `progress` is called after each committed transaction. Returns
    /// each topic's outcome and, with `verify`, its comparison.
    public func run(shouldStop: @escaping () -> Bool,
                    progress: @escaping (TopicRestoreOutcome) -> Void) throws -> (outcomes: [TopicRestoreOutcome], verifications: [String: [PartitionVerification]]) {
        let admin = try TopicAdmin(config: request.config, logger: logger)
        // The destinations' configuration is asked for first and read while the capture is scanned.
        let pending = admin.startDescribingConfigs(of: request.mappings.map(\.target))
        let clusterID = admin.clusterID()
        let selected = try request.mappings.map { try select($0) }
        let plans = try zip(request.mappings, selected).map { mapping, selection in
            try plan(mapping, selection: selection, admin: admin, configs: pending, targetClusterID: clusterID)
        }
        var outcomes: [TopicRestoreOutcome] = []
        for plan in plans {
            let recorder = RestoreProgressRecorder(capture: capture, mapping: plan.mapping, targetClusterID: clusterID, logger: logger)
            let restorer = TopicRestorer(capture: capture, mapping: plan.mapping, restoreID: plan.restoreID,
                                         selectionID: try selectionID(), selections: plan.selections,
                                         latest: plan.latest, window: window,
                                         limits: .init(records: request.transactionRecords, seconds: 5, chunk: 5_000),
                                         recorder: recorder, logger: logger, shouldStop: shouldStop, report: progress)
            var outcome = try restorer.run(config: plan.producerConfig, destinationPartitions: plan.destinationPartitions)
            outcome.warnings = plan.warnings + outcome.warnings
            outcomes.append(outcome)
            if outcome.stopped { return (outcomes, [:]) }
        }
        guard request.verify else { return (outcomes, [:]) }
        var verifications: [String: [PartitionVerification]] = [:]
        for plan in plans {
            let verifier = RestoreVerifier(capture: capture, mapping: plan.mapping, selections: plan.selections, latest: plan.latest,
                                           window: window, shouldStop: shouldStop)
            do {
                verifications[plan.mapping.target] = try verifier.verify(config: request.config, group: plan.restoreID + ".verify",
                                                                        destinationPartitions: plan.destinationPartitions, logger: logger)
            } catch is RestoreVerifier.Stopped {
                outcomes[outcomes.count - 1].warnings.append("--verify was stopped before it finished comparing '\(plan.mapping.target)'")
                return (outcomes, verifications)
            }
        }
        return (outcomes, verifications)
    }

    /// What the capture holds of one source topic for this restore.
    private struct Selection {
        var latest: Bool
        var selections: [Int32: PartitionSelection]
        var capturedPartitions: Int
    }

    /// Selects `mapping`'s records from the capture; a topic it does not hold is a usage error.
    private func select(_ mapping: TopicMapping) throws -> Selection {
        let captured = try capture.topics()
        guard captured.contains(mapping.source) else {
            throw RestoreError.usage("the capture holds no topic '\(mapping.source)'; it holds: \(captured.isEmpty ? "none" : captured.joined(separator: ", "))")
        }
        let latest = try capture.isLatestOnly(topic: mapping.source)
        let selections = try capture.selections(topic: mapping.source, fromMs: window.lowerBound, untilMs: window.upperBound, latest: latest)
        let capturedPartitions = max(try capture.partitionCount(topic: mapping.source), Int((selections.keys.max() ?? -1) + 1))
        return Selection(latest: latest, selections: selections, capturedPartitions: capturedPartitions)
    }

    /// Checks (or creates) `mapping`'s destination for what was selected; throws the refusal.
    private func plan(_ mapping: TopicMapping, selection: Selection, admin: TopicAdmin, configs: PendingTopicConfigs,
                      targetClusterID: String?) throws -> Plan {
        let (latest, selections, capturedPartitions) = (selection.latest, selection.selections, selection.capturedPartitions)
        var description = try admin.partitionCount(of: mapping.target).map { partitions in
            (configs.wait()[mapping.target] ?? .unavailable("the broker did not describe it")).description(partitionCount: partitions)
        }
        var created = false
        if description == nil {
            guard request.createTopics else {
                throw RestoreError.refused("topic '\(mapping.target)' does not exist on the destination cluster; create it with \(capturedPartitions) partition(s) ('\(mapping.source)' had \(capturedPartitions)), or pass --create-topics to create it with the broker's defaults")
            }
            try admin.create(topic: mapping.target, partitions: capturedPartitions)
            logger.notice("created topic '\(mapping.target)' with \(capturedPartitions) partition(s)")
            description = try admin.describe(topic: mapping.target)
            created = true
        }
        guard let description else {
            throw RestoreError.refused("topic '\(mapping.target)' was created but the cluster does not show it; run the command again")
        }
        let check = DestinationCheck(mapping: mapping, selections: selections, nowMs: WallClock.nowMs())
        let (refusals, warnings) = check.problems(with: description)
        guard refusals.isEmpty else {
            let createdNote = created ? " (--create-topics created '\(mapping.target)' with the broker's defaults, which do not fit: change them or create it yourself)" : ""
            throw RestoreError.refused("nothing was written\(createdNote): " + refusals.joined(separator: "; also, "))
        }
        let restoreID = try request.restoreID ?? defaultRestoreID(mapping, targetClusterID: targetClusterID)
        return Plan(mapping: mapping, restoreID: restoreID, latest: latest,
                    selections: selections, destinationPartitions: description.partitionCount, warnings: warnings,
                    producerConfig: producerConfig(for: description, selections: selections))
    }

    /// The user's configuration with sizes that fit: batches under the destination's
    /// `max.message.bytes` (the broker refuses a larger batch whole, and librdkafka does not split
    /// it), requests large enough for the largest record. Settings the user gave win.
    private func producerConfig(for destination: TopicDescription, selections: [Int32: PartitionSelection]) -> [String: String] {
        var config = request.config
        let largest = selections.values.map(\.largestRecordBytes).max() ?? 0
        if config["message.max.bytes"] == nil, largest + 4_096 > 1_000_000 {
            config["message.max.bytes"] = String(largest + 4_096)
        }
        if config["batch.size"] == nil, let limit = destination.configs?["max.message.bytes"].flatMap({ Int64($0) }), limit < 1_000_000 {
            config["batch.size"] = String(max(limit - 1_024, 1))
        }
        return config
    }

    /// Names the capture's cluster and the window, so that committed progress of another
    /// selection under the same restore id is refused rather than continued.
    private func selectionID() throws -> String {
        let parts = [try capture.clusterID() ?? "", request.fromMs.map(String.init) ?? "", request.untilMs.map(String.init) ?? ""]
        return String(StableHash.fnv1a64(Array(parts.joined(separator: "\u{0}").utf8)), radix: 16)
    }

    /// `spool-restore-DST-HASH`: the same for every run of the same restore (capture cluster,
    /// destination cluster, topics and window), different for another.
    private func defaultRestoreID(_ mapping: TopicMapping, targetClusterID: String?) throws -> String {
        guard let targetClusterID else {
            throw RestoreError.kafka("the destination cluster did not report its id within 5 s, and the default restore id is made from it (a rerun must find the same id to continue); pass --restore-id NAME to name this restore, and the same NAME on every run of it")
        }
        let parts = [try capture.clusterID() ?? "", targetClusterID, mapping.source, mapping.target,
                     request.fromMs.map(String.init) ?? "", request.untilMs.map(String.init) ?? ""]
        let hash = StableHash.fnv1a64(Array(parts.joined(separator: "\u{0}").utf8))
        let hex = String(hash, radix: 16)
        return "spool-restore-\(mapping.target)-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
