import KafkaReplay
import Logging
import SpoolDecode
import SpoolModel
import SpoolStore

/// Captures Kafka topics into a Spool database: `ConsumerManager` → `SpoolStore`, exactly once.
///
/// Every released batch is written together with the partition checkpoints after it in one
/// transaction, so a restart resumes each partition right after its last stored message. A
/// bounded backfill (the default) stops once every partition is live and stores exactly the
/// messages before the cutoff and the start-time high watermark; an interrupted one continues
/// the same job (same cutoff, same resolved ranges) when run again. With `follow` it keeps
/// going until `StopSignal` fires, and partitions added to a topic meanwhile are read from their
/// first offset and recorded with the run. Either way a stop finishes the current transaction.
///
/// The pipeline alone maps the consumer's state to what the store keeps, and alone checks
/// that the brokers are the cluster the database was filled from.
public final class IngestPipeline {
    /// The database file.
    public let databasePath: String
    /// What to read and how.
    public let options: IngestOptions
    private let logger: Logger

    /// Prepares a run; nothing is opened until `run`.
    public init(databasePath: String, options: IngestOptions, logger: Logger = Logger(label: "spool.ingest")) {
        self.databasePath = databasePath
        self.options = options
        self.logger = logger
    }

    /// Runs until live (bounded) or until `stop` fires (follow), then returns what it did.
    ///
    /// The database is opened before Kafka is contacted, so a bad path fails fast. Throws
    /// `IngestError` for Kafka-side refusals (gap, recreated topic, other cluster),
    /// `StoreError` for the database and `ReplayError` for the consumer.
    ///
    /// `metrics`, when given, receives a `CaptureMetrics` snapshot about every
    /// `metricsInterval` seconds (on the consuming thread) and once at the end.
    public func run(stop: StopSignal = StopSignal(), progressInterval: Double = 1.0,
                    progress: ((IngestProgress) -> Void)? = nil, metricsInterval: Double = 5,
                    metrics: ((CaptureMetrics) -> Void)? = nil) throws -> IngestSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let store = try SpoolStore.openForWriting(path: databasePath, durability: options.durability,
                                                  busyTimeoutMs: options.busyTimeoutMs, upgradeNotice: { [logger] in logger.notice("\($0)") })
        defer { store.close() }
        if try store.shards.mergeInProgress() { throw IngestError.mergeUnfinished(path: databasePath) }
        try applyKeyedModes(store)
        let shard = try applyShard(store)
        let decoding = try DecodeStage(options: options, store: store, logger: logger, stop: stop)
        let plan = try RunPlan.make(store: store, options: options)
        var gapsAccepted = 0
        let manager = try openConsumer(store: store, plan: plan, shard: shard, gapsAccepted: &gapsAccepted)
        if let shard, manager.partitionState().isEmpty {
            let topics = options.topics.map(\.name).joined(separator: ", ")
            logger.warning("shard \(shard) owns none of the current partitions of \(topics): it captures nothing\(options.follow ? " until partitions it owns are added" : ""). With more shards than partitions, some shards own none; see README (Shards).")
        }
        if let stored = try store.clusterID(), let current = manager.clusterID, stored != current {
            throw IngestError.clusterMismatch(path: databasePath, stored: stored, current: current)
        }
        // Recorded only once the run is known to go ahead: a refused run changes no setting.
        try applyRetention(store)
        let runID = try recordRun(store: store, plan: plan, manager: manager)
        var tally = IngestTally(storedBefore: try store.messageCounts(), topics: options.topics.map(\.name),
                                partitions: manager.partitionState().map(\.topicPartition))
        let report = { (tally: IngestTally) -> Void in
            progress?(tally.snapshot(manager, elapsed: (clock.now - started).seconds))
        }
        var stoppedOnRequest = false
        do {
            let housekeeping = Housekeeping(retention: try store.retention.policy() != nil, metricsInterval: metricsInterval,
                                            metrics: metrics.map { ($0, CaptureMetricsReader(databasePath: databasePath)) })
            stoppedOnRequest = try consume(manager, into: store, runID: runID, stop: stop, decoding: decoding, tally: &tally,
                                           progressInterval: progressInterval, report: progress == nil ? nil : report,
                                           housekeeping: housekeeping)
            try store.write(batch: MessageBatch(), checkpoints: manager.partitionState(), completeUntil: manager.completeUntil,
                            schemas: decoding.takeNewSchemas())
            try decoding.finishPending(store: store, stop: stop)
            if !options.follow { try finishRetention(store, stop: stop) }
            try store.runs.finish(runID, status: manager.isLive ? .live : .stopped)
            if let metrics { publishMetrics(metrics, CaptureMetricsReader(databasePath: databasePath), manager) }
        } catch {
            try? store.runs.finish(runID, status: .failed)
            throw error
        }
        report(tally)
        return IngestSummary(runID: runID, storedPerTopic: tally.storedThisRunPerTopic, elapsedSeconds: (clock.now - started).seconds,
                             isLive: manager.isLive, stoppedOnRequest: stoppedOnRequest,
                             databaseBytes: store.fileSize(), gapsAccepted: gapsAccepted, decoding: decoding.counts)
    }

    /// Records the keyed modes asked for (building a table from a stored log in one transaction);
    /// a recorded mode changes only with `allowKeyedModeChange`, and is removed only by `keyedOff`.
    private func applyKeyedModes(_ store: SpoolStore) throws {
        let recorded = Dictionary(uniqueKeysWithValues: try store.keyed.topics().map { ($0.topic, $0.mode) })
        for (topic, asked) in options.keyed.sorted(by: { $0.key < $1.key }) {
            if let current = recorded[topic], current != asked, !options.allowKeyedModeChange {
                throw IngestError.keyedModeChange(topic: topic, recorded: current, asked: asked)
            }
        }
        for (topic, asked) in options.keyed.sorted(by: { $0.key < $1.key }) where recorded[topic] != asked {
            logger.info("topic '\(topic)': keeping its latest table (\(asked.flag))")
            try store.keyed.setMode(asked, for: topic)
        }
        for topic in options.keyedOff.sorted() where recorded[topic] != nil {
            try store.keyed.setMode(nil, for: topic)
        }
    }

    /// Hands a metrics snapshot to `deliver`; a snapshot that cannot be read is logged and
    /// skipped (metrics never stop a capture).
    private func publishMetrics(_ deliver: (CaptureMetrics) -> Void, _ reader: CaptureMetricsReader, _ manager: ConsumerManager) {
        do {
            deliver(try reader.snapshot(manager))
        } catch {
            logger.warning("metrics snapshot skipped: \(String(describing: error))")
        }
    }

    /// Records the retention policy asked for (replacing the recorded one) or removes it.
    private func applyRetention(_ store: SpoolStore) throws {
        if options.retentionOff {
            if try store.retention.policy() != nil { logger.info("retention removed: keeping every record from now on") }
            try store.retention.set(nil)
        } else if let policy = options.retention, try store.retention.policy() != policy {
            logger.info("retention recorded: \(policy)")
            try store.retention.set(policy)
        }
    }

    /// The shard this run captures: the recorded one, or the one asked for, recorded now. A
    /// different spec, or a file holding partitions the shard would not own, is refused.
    private func applyShard(_ store: SpoolStore) throws -> ShardSpec? {
        let recorded = try store.shards.spec()
        guard let asked = options.shard else { return recorded }
        if let recorded {
            guard recorded == asked else { throw IngestError.shardMismatch(path: databasePath, recorded: recorded, asked: asked) }
            return recorded
        }
        let foreign = try store.storedPartitions().map(\.topicPartition).filter { !asked.owns($0) }
        guard foreign.isEmpty else { throw IngestError.shardForeignPartitions(path: databasePath, shard: asked, partitions: foreign) }
        try store.shards.record(asked)
        logger.info("\(databasePath) is shard \(asked) of its capture")
        return asked
    }

    /// At the end of a bounded run, removes what retention still has due, a chunk per
    /// transaction, so the backfill leaves the file within its limits.
    private func finishRetention(_ store: SpoolStore, stop: StopSignal) throws {
        while !stop.isStopped, try store.retention.retainOnce() > 0 {}
    }

    /// Records a new run (or continues the interrupted one) and stores the starting checkpoints.
    private func recordRun(store: SpoolStore, plan: RunPlan, manager: ConsumerManager) throws -> Int64 {
        let runID: Int64
        if let continued = plan.continuedRunID {
            runID = continued
            logger.info("continuing run \(continued) with cutoff \(plan.cutoff)")
        } else {
            var ranges = plan.savedRanges
            for state in manager.partitionState() where ranges[state.topicPartition] == nil {
                ranges[state.topicPartition] = state.replayRange
            }
            runID = try store.runs.start(clusterID: manager.clusterID, cutoff: plan.cutoff, bounded: !options.follow,
                                       topics: options.topics, ranges: ranges)
        }
        try store.write(batch: MessageBatch(), checkpoints: manager.partitionState(), completeUntil: manager.completeUntil)
        return runID
    }

    /// Polls and hands batches to the writer thread until live (bounded) or stopped; returns
    /// whether a stop was asked for.
    private func consume(_ manager: ConsumerManager, into store: SpoolStore, runID: Int64, stop: StopSignal,
                         decoding: DecodeStage, tally: inout IngestTally, progressInterval: Double,
                         report: ((IngestTally) -> Void)?, housekeeping: Housekeeping) throws -> Bool {
        let clock = ContinuousClock()
        var lastProgress = clock.now
        var lastWrite = clock.now
        var lastMetrics = clock.now
        var wasLive = manager.isLive
        let writer = BatchWriter(store: store, capacity: 3)
        defer { try? writer.finish() }
        while !stop.isStopped {
            if !options.follow && manager.isLive { break }
            let batch = try manager.poll(timeoutMs: options.pollTimeoutMs)
            let states = manager.partitionState()
            let added = tally.admit(states)
            let live = manager.isLive
            if !batch.isEmpty || live != wasLive || !added.isEmpty {
                for (tp, range) in added.sorted(by: { $0.key < $1.key }) {
                    logger.info("\(tp) joined the run: reading offsets \(range)")
                }
                try writer.submit(batch: batch, checkpoints: states,
                                  completeUntil: manager.completeUntil,
                                  addedPartitions: added.isEmpty ? nil : .init(runID: runID, ranges: added),
                                  decoded: decoding.decode(batch), schemas: decoding.takeNewSchemas())
                tally.count(batch)
                wasLive = live
                lastWrite = clock.now
            } else if housekeeping.retention, clock.now - lastWrite >= .seconds(1) {
                // Retention runs inside batch transactions; an idle capture still ages.
                try writer.submit(batch: batch, checkpoints: states, completeUntil: manager.completeUntil)
                lastWrite = clock.now
            }
            if let (deliver, reader) = housekeeping.metrics, clock.now - lastMetrics >= .seconds(housekeeping.metricsInterval) {
                lastMetrics = clock.now
                publishMetrics(deliver, reader, manager)
            }
            if let report, (clock.now - lastProgress) >= .seconds(progressInterval) {
                lastProgress = clock.now
                report(tally)
            }
        }
        try writer.finish()
        return stop.isStopped
    }

    /// Creates the consumer; a stored offset that retention deleted is recorded as a gap and
    /// either refused or (with `acceptGaps`) skipped to the earliest available offset.
    private func openConsumer(store: SpoolStore, plan: RunPlan, shard: ShardSpec?, gapsAccepted: inout Int) throws -> ConsumerManager {
        var startOffsets = plan.startOffsets
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try ConsumerManager(config: options.kafkaConfig, topics: plan.consumerTopics(options.topics), cutoffMs: plan.cutoff,
                                           batchSize: options.batchSize, startOffsets: startOffsets,
                                           endOffsets: plan.savedRanges.mapValues(\.end), stopAtCutoff: !options.follow,
                                           shard: shard, logger: logger)
            } catch ReplayError.offsetOutOfRange(let topic, let partition, let requested, let earliest, let latest) {
                if requested > latest {
                    throw IngestError.aheadOfBroker(topic: topic, partition: partition, storedNextOffset: requested, highWatermark: latest)
                }
                let gap = GapRecord(topic: topic, partition: partition, firstMissingOffset: requested,
                                    lastMissingOffset: earliest - 1, detectedAt: WallClock.nowMs(), accepted: options.acceptGaps)
                try store.runs.recordGap(gap)
                guard options.acceptGaps, attempts < 10_000 else {
                    throw IngestError.gapRefused(topic: topic, partition: partition, storedNextOffset: requested, earliestOffset: earliest)
                }
                logger.warning("\(topic)[\(partition)]: offsets \(requested)...\(earliest - 1) were deleted by retention; continuing from \(earliest) (--accept-gaps)")
                gapsAccepted += 1
                startOffsets[TopicPartition(topic: topic, partition: partition)] = earliest
            }
        }
    }
}

/// What the consuming loop does besides consuming: an empty transaction now and then while
/// idle when retention is on, and metrics snapshots.
struct Housekeeping {
    /// Whether a retention policy is recorded.
    var retention: Bool
    /// Seconds between metrics snapshots.
    var metricsInterval: Double
    /// Where snapshots go and what builds them; nil: no metrics.
    var metrics: (((CaptureMetrics) -> Void), CaptureMetricsReader)?
}
