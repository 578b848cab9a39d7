internal import CRdKafka
import Logging

/// Replays Kafka topics in timestamp order up to a cutoff, then follows them live.
///
/// On creation it reads each topic's partitions, resolves every partition's replay start (from
/// `startOffsets` where given, else the topic's policy) and replay end (the high watermark now),
/// and assigns every partition at its start. `poll` then releases messages merged across
/// partitions by timestamp, at most `batchSize` at a time, holding back whatever could still be
/// preceded by a message not yet read (see `ReplayCore`). No offsets are ever committed to Kafka;
/// resuming is the caller's job, through `startOffsets`.
///
/// Not `Sendable`: one owner polls it.
public final class ConsumerManager {
    /// How long blocking requests (metadata, watermarks, offsets for times) may take.
    public static let requestTimeoutMs: Int32 = 10_000

    private let driver: Driver
    private let logger: Logger

    /// The Kafka cluster id reported by the brokers, when they report one.
    public let clusterID: String?
    /// The cutoff between replay and live, in Unix milliseconds; `nil` when there is none (each
    /// partition is live once it reaches the high watermark seen at start).
    public let cutoffMs: Int64?
    /// The most messages one `poll` returns.
    public let batchSize: Int

    /// Connects, resolves every partition's replay range and starts fetching.
    ///
    /// Both spellings of kafkars are accepted: `ConsumerManager(config:topics:)` (no cutoff,
    /// 10,000 per batch) and the older `ConsumerManager(config:topics:cutoffMs:batchSize:)`.
    ///
    /// - Parameters:
    ///   - config: librdkafka properties (`bootstrap.servers`, security settings, ...). A missing
    ///     `group.id` gets a unique random one; `enable.auto.commit`, `auto.offset.reset=error`
    ///     and `enable.partition.eof` are set by the manager.
    ///   - topics: the topics to replay, each at most once.
    ///   - cutoffMs: the boundary between replay and live, in Unix milliseconds; `nil` for none.
    ///   - batchSize: the most messages one `poll` returns; must be positive.
    ///   - startOffsets: the next offset to read for partitions being resumed; overrides the
    ///     topic's policy there. An offset the broker no longer holds (or not yet) throws
    ///     `ReplayError.offsetOutOfRange`.
    ///   - endOffsets: replay end offsets to use instead of the current high watermark (a resumed
    ///     bounded backfill keeps the end it resolved first). Clamped to the high watermark.
    ///   - stopAtCutoff: a bounded backfill: nothing after a partition's catch-up point is ever
    ///     released, so a run that stops when live stores exactly the replay range. Otherwise
    ///     partitions added to a topic while it is read are found (metadata is checked every
    ///     `topic.metadata.refresh.interval.ms`, at most 5 s) and read from their first offset.
    ///   - shard: read only the partitions this shard owns (`ShardSpec`), also among partitions
    ///     added later; nil reads them all.
    ///   - logger: where librdkafka's and the manager's messages go (secrets redacted).
    public convenience init(config: [String: String], topics: [SourceTopic], cutoffMs: Int64? = nil, batchSize: Int = 10_000,
                            startOffsets: [TopicPartition: Int64] = [:],
                            endOffsets: [TopicPartition: Int64] = [:],
                            stopAtCutoff: Bool = false,
                            shard: ShardSpec? = nil,
                            logger: Logger = Logger(label: "spool.kafka")) throws {
        try self.init(config: config, topics: topics, cutoffMs: cutoffMs, batchSize: batchSize, startOffsets: startOffsets,
                      endOffsets: endOffsets, stopAtCutoff: stopAtCutoff, shard: shard, history: nil, acceptGaps: false, logger: logger)
    }

    /// The manager over a history (a capture) and Kafka: each partition's offsets the history
    /// holds are read from it, every later offset from Kafka (see `HistoryRoute`); offset
    /// policies resolve over both. Without `bootstrap.servers` in `config` the history is
    /// replayed alone, each partition live at the history's end. `acceptGaps` skips offsets
    /// neither holds instead of throwing `ReplayError.historyGap`.
    package init(config: [String: String], topics: [SourceTopic], cutoffMs: Int64?, batchSize: Int,
                 startOffsets: [TopicPartition: Int64], endOffsets: [TopicPartition: Int64], stopAtCutoff: Bool,
                 shard: ShardSpec?, history: (any ReplayHistory)?, acceptGaps: Bool, logger: Logger) throws {
        try Self.validate(topics: topics, batchSize: batchSize, startOffsets: startOffsets)
        let request = Request(topics: topics, cutoffMs: cutoffMs, batchSize: batchSize, startOffsets: startOffsets,
                              endOffsets: endOffsets, stopAtCutoff: stopAtCutoff, acceptGaps: acceptGaps)
        if let history, config["bootstrap.servers"] == nil, config["metadata.broker.list"] == nil {
            driver = .hybrid(try Self.historyAlone(history, request, logger: logger))
            clusterID = nil
        } else {
            (driver, clusterID) = try Self.withKafka(config: config, request, shard: shard, history: history, logger: logger)
        }
        self.logger = logger
        self.cutoffMs = cutoffMs
        self.batchSize = batchSize
    }

    /// What the caller asked for, beyond where to read.
    private struct Request {
        var topics: [SourceTopic]
        var cutoffMs: Int64?
        var batchSize: Int
        var startOffsets: [TopicPartition: Int64]
        var endOffsets: [TopicPartition: Int64]
        var stopAtCutoff: Bool
        var acceptGaps: Bool
    }

    /// Kafka, with a history read first where one is given.
    private static func withKafka(config: [String: String], _ request: Request, shard: ShardSpec?, history: (any ReplayHistory)?,
                                  logger: Logger) throws -> (Driver, String?) {
        let effective = effectiveConfig(config)
        // Metadata, watermarks and time lookups go through a client of their own, so the
        // consumer can be created with prefetch bounds sized for the number of partitions.
        let client = try RDKafkaClient(kind: .consumer, config: effective, logger: logger)
        let timeout = requestTimeoutMs
        let leaders = try client.partitionLeaders(topics: request.topics.map(\.name), timeoutMs: timeout)
        var watermarks: [TopicPartition: Watermarks] = [:]
        for topic in request.topics {
            for partition in 0..<Int32(leaders[topic.name]?.count ?? 0) {
                let tp = TopicPartition(topic: topic.name, partition: partition)
                guard shard?.owns(tp) ?? true else { continue }
                watermarks[tp] = try client.watermarks(tp, timeoutMs: timeout)
            }
        }
        let broker = BrokerOffsetLookup(client: client, config: effective, logger: logger, timeoutMs: timeout)
        var specs: [ReplayCore.PartitionSpec]
        var routes: [TopicPartition: HistoryRoute] = [:]
        if let history {
            let holdings = try Self.holdings(history, request.topics, leaders: leaders, shard: shard)
            var lookup = HistoryOffsetLookup(history: history, holdings: holdings, kafka: watermarks, broker: broker)
            let union = watermarks.reduce(into: [TopicPartition: Watermarks]()) { $0[$1.key] = HistoryRoute.union(history: holdings[$1.key], kafka: $1.value) }
            specs = try resolve(request, watermarks: union, lookup: &lookup, logger: logger)
            lookup.close()
            routes = try plan(specs, request, holdings: holdings, kafka: watermarks, logger: logger)
        } else {
            var lookup = broker
            specs = try resolve(request, watermarks: watermarks, lookup: &lookup, logger: logger)
            lookup.close()
        }
        // After the metadata requests above the cluster id is known without another round trip.
        let clusterID = client.clusterID(timeoutMs: timeout)
        try client.throwPendingFatalError()

        var core = ReplayCore(partitions: specs, cutoffMs: request.cutoffMs, batchSize: request.batchSize, stopAtCutoff: request.stopAtCutoff)
        let consumerConfig = Self.consumerConfig(effective, userConfig: config, partitions: specs.count, stopAtCutoff: request.stopAtCutoff)
        let consumer = try RDKafkaClient(kind: .consumer, config: consumerConfig, logger: logger)
        let source = try RDKafkaMessageSource(client: consumer, partitions: core.cursors.map(\.topicPartition),
                                              leaders: onePartitionPerLeader(leaders),
                                              discovery: request.stopAtCutoff ? nil : PartitionDiscovery(
                                                  interval: discoveryInterval(config),
                                                  counts: request.topics.reduce(into: [:]) { $0[$1.name] = leaders[$1.name]?.count ?? 0 },
                                                  shard: shard),
                                              logger: logger, redactor: SecretRedactor(config: effective))
        guard let history else {
            try source.assign(core.cursors.map { ($0.topicPartition, $0.startOffset) })
            return (.kafka(ReplayDriver(core: core, source: source)), clusterID)
        }
        let ordered = core.cursors.map { routes[$0.topicPartition] ?? .kafka(from: $0.startOffset) }
        try source.assign(zip(core.cursors, ordered).compactMap { cursor, route in
            if case .kafka(let from) = route { return (cursor.topicPartition, from) } else { return nil }
        })
        let hybrid = HybridMessageSource(history: history, kafka: source, partitions: core.cursors.map(\.topicPartition), routes: ordered)
        try hybrid.start(into: &core)
        return (.hybrid(ReplayDriver(core: core, source: hybrid)), clusterID)
    }

    /// A history replayed alone: its partitions of the topics, each live at the history's end.
    private static func historyAlone(_ history: any ReplayHistory, _ request: Request, logger: Logger) throws -> ReplayDriver<HybridMessageSource> {
        let holdings = try Self.holdings(history, request.topics, leaders: nil, shard: nil)
        var lookup = HistoryOffsetLookup(history: history, holdings: holdings, kafka: [:], broker: nil)
        let union = holdings.mapValues { Watermarks(low: $0.start, high: $0.end) }
        let specs = try resolve(request, watermarks: union, lookup: &lookup, logger: logger)
        let routes = try plan(specs, request, holdings: holdings, kafka: nil, logger: logger)
        var core = ReplayCore(partitions: specs, cutoffMs: request.cutoffMs, batchSize: request.batchSize, stopAtCutoff: request.stopAtCutoff)
        let ordered = core.cursors.map { routes[$0.topicPartition]! }
        let hybrid = HybridMessageSource(history: history, kafka: nil, partitions: core.cursors.map(\.topicPartition), routes: ordered)
        try hybrid.start(into: &core)
        return ReplayDriver(core: core, source: hybrid)
    }

    /// The history's runs of offsets for `topics`. With Kafka (`leaders`), a partition Kafka
    /// does not have means the topic was recreated; without, a topic the history does not hold
    /// at all is refused.
    private static func holdings(_ history: any ReplayHistory, _ topics: [SourceTopic], leaders: [String: [Int32]]?,
                                 shard: ShardSpec?) throws -> [TopicPartition: ReplayRange] {
        var holdings: [TopicPartition: ReplayRange] = [:]
        for topic in topics {
            let held = try history.holdings(topic: topic.name)
            if let leaders {
                let count = leaders[topic.name]?.count ?? 0
                if let beyond = held.keys.max(), Int(beyond) >= count {
                    throw ReplayError.partitionsRemoved(topic: topic.name, reading: Int(beyond) + 1, now: count)
                }
            } else if held.values.allSatisfy(\.isEmpty) {
                throw ReplayError.invalidTopic(name: topic.name, reason: "the capture holds none of its records (a topic kept with --latest-only keeps no log); check the name, or give --brokers to read it from Kafka")
            }
            for (partition, range) in held {
                let tp = TopicPartition(topic: topic.name, partition: partition)
                if shard?.owns(tp) ?? true { holdings[tp] = range }
            }
        }
        return holdings
    }

    /// Every partition's replay range, resolved over `watermarks`.
    private static func resolve(_ request: Request, watermarks: [TopicPartition: Watermarks], lookup: inout some OffsetTimeLookup,
                                logger: Logger) throws -> [ReplayCore.PartitionSpec] {
        var specs: [ReplayCore.PartitionSpec] = []
        for topic in request.topics {
            let resolution = try StartOffsetResolver.resolve(topic: topic, watermarks: watermarks, startOffsets: request.startOffsets,
                                                             endOffsets: request.endOffsets, nowMs: WallClock.nowMs(), lookup: &lookup)
            for (tp, offset) in resolution.searched.sorted(by: { $0.key < $1.key }) {
                logger.info("no offset was given for the start time of \(tp); found offset \(offset) by binary search")
            }
            specs += resolution.ranges.map { ReplayCore.PartitionSpec(topicPartition: $0.key, range: $0.value) }
        }
        return specs
    }

    /// Each partition's route between the history and Kafka; accepted gaps are logged.
    private static func plan(_ specs: [ReplayCore.PartitionSpec], _ request: Request, holdings: [TopicPartition: ReplayRange],
                             kafka: [TopicPartition: Watermarks]?, logger: Logger) throws -> [TopicPartition: HistoryRoute] {
        var routes: [TopicPartition: HistoryRoute] = [:]
        for spec in specs {
            let tp = spec.topicPartition
            let (route, skipped) = try HistoryRoute.plan(tp, start: spec.range.start, history: holdings[tp],
                                                         kafka: kafka.map { $0[tp] ?? Watermarks(low: 0, high: 0) },
                                                         acceptGaps: request.acceptGaps)
            if let skipped {
                logger.warning("\(tp): offsets \(skipped.start)...\(skipped.end - 1) are neither in the capture nor in Kafka; skipping them (gaps accepted)")
            }
            routes[tp] = route
        }
        return routes
    }

    private static func validate(topics: [SourceTopic], batchSize: Int, startOffsets: [TopicPartition: Int64]) throws {
        guard batchSize > 0 else {
            throw ReplayError.invalidArgument(name: "batch size", reason: "must be at least 1, got \(batchSize)")
        }
        guard !topics.isEmpty else {
            throw ReplayError.invalidArgument(name: "topics", reason: "give at least one topic to replay")
        }
        var seen = Set<String>()
        for topic in topics {
            try validateSourceTopic(topic)
            guard seen.insert(topic.name).inserted else { throw ReplayError.duplicateTopic(name: topic.name) }
        }
        for tp in startOffsets.keys where !seen.contains(tp.topic) {
            throw ReplayError.invalidArgument(name: "start offset for \(tp)",
                                              reason: "topic '\(tp.topic)' is not among the topics to replay")
        }
    }

    /// One partition led by each broker (the fetch nudger asks each leader once per tick).
    private static func onePartitionPerLeader(_ leaders: [String: [Int32]]) -> [TopicPartition] {
        var representatives: [Int32: TopicPartition] = [:]
        for topic in leaders.keys.sorted() {
            for (partition, leader) in leaders[topic]!.enumerated() where leader >= 0 && representatives[leader] == nil {
                representatives[leader] = TopicPartition(topic: topic, partition: Int32(partition))
            }
        }
        return representatives.keys.sorted().map { representatives[$0]! }
    }

    /// How often a following consumer checks the metadata for added partitions: librdkafka's
    /// `topic.metadata.refresh.interval.ms` when set (at least 100 ms), else 5 s.
    static func discoveryInterval(_ config: [String: String]) -> Duration {
        guard let text = config["topic.metadata.refresh.interval.ms"], let ms = Int64(text), ms > 0 else { return .seconds(5) }
        return .milliseconds(max(ms, 100))
    }

    /// Returns the next released messages, at most `batchSize`, waiting up to `timeoutMs`.
    ///
    /// An empty batch means nothing could be released in time (still catching up, or no new
    /// messages). Throws on fatal consumer errors, an offset the broker no longer holds, a topic
    /// that disappeared or an authorization failure.
    public func poll(timeoutMs: Int) throws -> MessageBatch {
        guard timeoutMs >= 0 else {
            throw ReplayError.invalidArgument(name: "poll timeout", reason: "must not be negative, got \(timeoutMs) ms")
        }
        do {
            return try driver.poll(timeoutMs: timeoutMs)
        } catch ReplayError.messageTooLarge(_, let detail) {
            // Name where reading is stuck: every partition not caught up, at its next offset.
            var waiting: [TopicPartition: Int64] = [:]
            for cursor in driver.core.cursors where !cursor.caughtUp {
                waiting[cursor.topicPartition] = cursor.consumedOffset + 1
            }
            throw ReplayError.messageTooLarge(waiting: waiting, detail: detail)
        }
    }

    /// Whether every partition has caught up and released everything before that point.
    public var isLive: Bool { driver.core.isLive }

    /// A snapshot of every partition, in (topic, partition) order.
    public func partitionState() -> [PartitionState] { driver.core.partitionStates() }

    /// Each partition's high watermark as the consumer last saw it (from fetch responses; no
    /// request is made, so it is cheap to ask often). Partitions not fetched yet are missing.
    public func cachedHighWatermarks() -> [TopicPartition: Int64] { driver.cachedHighWatermarks() }

    /// Messages consumed but not yet released.
    public var heldMessageCount: Int { driver.core.heldCount }

    /// Partitions currently paused by backpressure.
    public var pausedPartitionCount: Int { driver.core.pausedCount }

    /// The low-water mark timestamp while any partition is not live; `nil` once all are live
    /// (and while a partition that must deliver first has delivered nothing).
    public var primingWatermark: Int64? { driver.core.primingWatermark }

    /// The timestamp up to which every partition has released everything it will ever release
    /// below it; `nil` before that is known. `Int64.max` once every partition has caught up.
    public var releaseLimit: Int64? { driver.core.releaseLimit }

    /// The timestamp up to which every partition has released everything (assuming timestamps
    /// do not decrease within a partition); `nil` while unknown. Stored as `complete_until`.
    public var completeUntil: Int64? { driver.core.completeUntil }

    static func effectiveConfig(_ config: [String: String]) -> [String: String] {
        var effective = config
        if (effective["group.id"] ?? "").isEmpty {
            effective["group.id"] = "spool-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        }
        effective["client.id"] = effective["client.id"] ?? "spool"
        effective["enable.auto.commit"] = "false"
        effective["enable.auto.offset.store"] = "false"
        effective["auto.offset.reset"] = "error"
        effective["enable.partition.eof"] = "true"
        return effective
    }

    /// The consumer's configuration: `effective` with two bounds, each unless the caller set its
    /// properties (`userConfig`).
    ///
    /// librdkafka's prefetch per partition, so all partitions together hold about 32,000
    /// messages and 16 MiB. Held messages are bounded by backpressure; this bounds what
    /// librdkafka buffers ahead of them (a partition paused by backpressure keeps its fetched
    /// messages queued there). librdkafka 2.0.2 stops fetching when a queue is full and may look
    /// again only a second later; `FetchNudger` wakes it, so the queues can stay this small
    /// without starving the consumer.
    ///
    /// For a run that stops at its cutoff, how long a broker may hold a fetch that finds no new
    /// records: 50 ms. librdkafka's default (500 ms) makes every bounded run wait up to half a
    /// second at its end: destroying the consumer waits for the fetch the broker is holding for
    /// partitions that have reached their end. A run that follows the topic keeps the default
    /// (an idle tail fetches less often).
    static func consumerConfig(_ effective: [String: String], userConfig: [String: String], partitions: Int,
                               stopAtCutoff: Bool) -> [String: String] {
        var bounded = effective
        let count = max(partitions, 1)
        if userConfig["queued.max.messages.kbytes"] == nil {
            bounded["queued.max.messages.kbytes"] = String(min(max(16_384 / count, 64), 65_536))
        }
        if userConfig["queued.min.messages"] == nil {
            bounded["queued.min.messages"] = String(min(max(32_000 / count, 100), 100_000))
        }
        if stopAtCutoff, userConfig["fetch.wait.max.ms"] == nil {
            bounded["fetch.wait.max.ms"] = "50"
        }
        return bounded
    }
}

/// The replay driver over Kafka alone, or over a history and Kafka (kept apart so the
/// Kafka-only path calls librdkafka's source directly).
private enum Driver {
    case kafka(ReplayDriver<RDKafkaMessageSource>)
    case hybrid(ReplayDriver<HybridMessageSource>)

    var core: ReplayCore {
        switch self {
        case .kafka(let driver): driver.core
        case .hybrid(let driver): driver.core
        }
    }

    func poll(timeoutMs: Int) throws -> MessageBatch {
        switch self {
        case .kafka(let driver): try driver.poll(timeoutMs: timeoutMs)
        case .hybrid(let driver): try driver.poll(timeoutMs: timeoutMs)
        }
    }

    func cachedHighWatermarks() -> [TopicPartition: Int64] {
        switch self {
        case .kafka(let driver): driver.source.cachedHighWatermarks()
        case .hybrid(let driver): driver.source.cachedHighWatermarks()
        }
    }
}
