import KafkaReplay
import Logging
import SpoolStore

/// Captures Kafka topics into a Spool database: `ConsumerManager` → `SpoolStore`, exactly once.
///
/// Every released batch is written together with the partition state after it in one
/// transaction, so a restart resumes each partition right after its last stored message. A
/// bounded backfill (the default) stops once every partition is live and stores exactly the
/// messages before the cutoff and the start-time high watermark; an interrupted one continues
/// the same job (same cutoff, same resolved ranges) when run again. With `follow` it keeps
/// going until `StopSignal` fires. Either way a stop finishes the current transaction first.
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
    public func run(stop: StopSignal = StopSignal(), progressInterval: Double = 1.0,
                    progress: ((IngestProgress) -> Void)? = nil) throws -> IngestSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let store = try SpoolStore.openForWriting(path: databasePath, durability: options.durability,
                                                  busyTimeoutMs: options.busyTimeoutMs)
        defer { store.close() }
        let plan = try RunPlan.make(store: store, options: options)
        var gapsAccepted = 0
        let manager = try openConsumer(store: store, plan: plan, gapsAccepted: &gapsAccepted)

        if let stored = try store.clusterID(), let current = manager.clusterID, stored != current {
            throw IngestError.clusterMismatch(path: databasePath, stored: stored, current: current)
        }
        let states = manager.partitionState()
        var ranges: [TopicPartition: ReplayRange] = plan.savedRanges
        for state in states where ranges[TopicPartition(topic: state.topic, partition: state.partition)] == nil {
            ranges[TopicPartition(topic: state.topic, partition: state.partition)] =
                ReplayRange(start: state.replayStartOffset, end: state.replayEndOffset)
        }
        let runID: Int64
        if let continued = plan.continuedRunID {
            runID = continued
            logger.info("continuing run \(continued) with cutoff \(plan.cutoff)")
        } else {
            runID = try store.startRun(clusterID: manager.clusterID, cutoff: plan.cutoff, bounded: !options.follow,
                                       topics: options.topics, ranges: ranges)
        }
        try store.write(batch: MessageBatch(), states: states, completeUntil: manager.completeUntil)

        var storedThisRun: [String: Int64] = [:]
        var storedBefore = try store.messageCounts()
        for topic in options.topics where storedBefore[topic.name] == nil { storedBefore[topic.name] = 0 }
        var lastProgress = clock.now
        var stoppedOnRequest = false
        var wasLive = manager.isLive
        let writer = BatchWriter(store: store, capacity: 3)
        do {
            defer { try? writer.finish() }
            while true {
                if stop.isStopped {
                    stoppedOnRequest = true
                    break
                }
                if !options.follow && manager.isLive { break }
                let batch = try manager.poll(timeoutMs: options.pollTimeoutMs)
                let live = manager.isLive
                if !batch.isEmpty || live != wasLive {
                    try writer.submit(batch: batch, states: manager.partitionState(), completeUntil: manager.completeUntil)
                    count(batch, into: &storedThisRun)
                    wasLive = live
                }
                if let progress, (clock.now - lastProgress) >= .seconds(progressInterval) {
                    lastProgress = clock.now
                    progress(snapshot(manager, storedBefore: storedBefore, storedThisRun: storedThisRun,
                                      elapsed: (clock.now - started).seconds))
                }
            }
            try writer.finish()
            try store.write(batch: MessageBatch(), states: manager.partitionState(), completeUntil: manager.completeUntil)
            let status: RunStatus = manager.isLive ? .live : .stopped
            // A follow run keeps its run open-ended; a bounded one is finished when live.
            try store.finishRun(runID, status: status)
        } catch {
            try? store.finishRun(runID, status: .failed)
            throw error
        }
        progress?(snapshot(manager, storedBefore: storedBefore, storedThisRun: storedThisRun,
                           elapsed: (clock.now - started).seconds))
        var perTopic: [String: Int64] = [:]
        for topic in options.topics { perTopic[topic.name] = storedThisRun[topic.name] ?? 0 }
        return IngestSummary(runID: runID, storedPerTopic: perTopic, elapsedSeconds: (clock.now - started).seconds,
                             isLive: manager.isLive, stoppedOnRequest: stoppedOnRequest,
                             databaseBytes: store.fileSize(), gapsAccepted: gapsAccepted)
    }

    /// Creates the consumer; a stored offset that retention deleted is recorded as a gap and
    /// either refused or (with `acceptGaps`) skipped to the earliest available offset.
    private func openConsumer(store: SpoolStore, plan: RunPlan, gapsAccepted: inout Int) throws -> ConsumerManager {
        var startOffsets = plan.startOffsets
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try ConsumerManager(config: options.kafkaConfig, topics: options.topics, cutoffMs: plan.cutoff,
                                           batchSize: options.batchSize, startOffsets: startOffsets,
                                           endOffsets: plan.endOffsets, stopAtCutoff: !options.follow, logger: logger)
            } catch ReplayError.offsetOutOfRange(let topic, let partition, let requested, let earliest, let latest) {
                if requested > latest {
                    throw IngestError.aheadOfBroker(topic: topic, partition: partition, storedNextOffset: requested, highWatermark: latest)
                }
                let gap = GapRecord(topic: topic, partition: partition, firstMissingOffset: requested,
                                    lastMissingOffset: earliest - 1, detectedAt: WallClock.nowMs(), accepted: options.acceptGaps)
                try store.recordGap(gap)
                guard options.acceptGaps, attempts < 10_000 else {
                    throw IngestError.gapRefused(topic: topic, partition: partition, storedNextOffset: requested, earliestOffset: earliest)
                }
                logger.warning("\(topic)[\(partition)]: offsets \(requested)...\(earliest - 1) were deleted by retention; continuing from \(earliest) (--accept-gaps)")
                gapsAccepted += 1
                startOffsets[TopicPartition(topic: topic, partition: partition)] = earliest
            }
        }
    }

    /// Adds the batch's rows per topic (counting runs of one topic, not row by row lookups).
    private func count(_ batch: MessageBatch, into counts: inout [String: Int64]) {
        var perTopic = [Int64](repeating: 0, count: batch.topicNames.count)
        for index in batch.topicIndexes { perTopic[Int(index)] += 1 }
        for (index, name) in batch.topicNames.enumerated() where perTopic[index] > 0 {
            counts[name, default: 0] += perTopic[index]
        }
    }

    private func snapshot(_ manager: ConsumerManager, storedBefore: [String: Int64], storedThisRun: [String: Int64],
                          elapsed: Double) -> IngestProgress {
        var byTopic: [String: IngestProgress.TopicProgress] = [:]
        for state in manager.partitionState() {
            var entry = byTopic[state.topic] ?? IngestProgress.TopicProgress(
                topic: state.topic, stored: (storedBefore[state.topic] ?? 0) + (storedThisRun[state.topic] ?? 0),
                storedThisRun: storedThisRun[state.topic] ?? 0, remaining: 0, livePartitions: 0, partitions: 0)
            entry.partitions += 1
            if state.isLive { entry.livePartitions += 1 }
            entry.remaining += max(0, state.replayEndOffset - state.nextOffset)
            byTopic[state.topic] = entry
        }
        return IngestProgress(topics: byTopic.values.sorted { $0.topic < $1.topic }, elapsedSeconds: elapsed,
                              heldMessages: manager.heldMessageCount, pausedPartitions: manager.pausedPartitionCount,
                              isLive: manager.isLive)
    }

}
