import ArgumentParser
import KafkaReplay
import Logging
import SpoolCLI
import SpoolIngest
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

extension Durability: ExpressibleByArgument {}

extension CutoffChoice: ExpressibleByArgument {
    /// `now`, ISO-8601 or epoch milliseconds (`--cutoff`); nil for anything else, which
    /// ArgumentParser reports naming the option.
    public init?(argument: String) {
        if argument == "now" {
            self = .now
        } else if let ms = TimeText.parseInstant(argument, nowMs: 0) {
            self = .at(ms)
        } else {
            return nil
        }
    }

    /// How a default is shown in --help.
    public var defaultValueDescription: String {
        switch self {
        case .now: "now"
        case .at(let ms): String(ms)
        }
    }
}

/// `spool ingest`: capture topics into a database until live (or forever with --follow).
struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Capture Kafka topics into a SQLite database, exactly once.",
        discussion: """
            Stops when every partition has caught up (a bounded backfill) unless --follow. \
            Running the same command again resumes: nothing is stored twice, and an interrupted \
            backfill continues the same job (same cutoff, same resolved start and end offsets).

            TOPIC SPEC is NAME[:POLICY]; POLICY is earliest (default), latest, relative_time:MS, \
            absolute_time:MS, -DURATION (e.g. -2h30m) or @TIME (e.g. @2026-11-01T00:00:00Z). \
            TIME is now, ISO-8601 (2026-11-01T00:00:00Z) or epoch milliseconds.

            SIGINT/SIGTERM finish or roll back the current transaction, print the summary and \
            exit 0; a second SIGINT exits at once (still safe).

            With --schema-registry, Confluent-framed keys and values (Avro, JSON Schema) are \
            also stored as JSON in key_json and value_json, and their schemas in the table \
            schemas. When the registry cannot answer, records are stored raw and marked pending; \
            spool decode finishes them. Refused registry credentials exit 2.

            Exit codes: 0 done; 2 usage or configuration; 3 storage; 4 Kafka (unknown topic, \
            out-of-range offset, cluster mismatch, gap refused); 5 database in use.
            """
    )

    @OptionGroup var kafka: KafkaOptions

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, help: ArgumentHelp("A topic to capture, with an optional start policy (repeatable).", valueName: "spec"))
    var topic: [String] = []

    @Option(name: .long, help: ArgumentHelp("The SQLite database file (created if missing).", valueName: "file"))
    var db: String

    @Option(name: .long, help: ArgumentHelp("The boundary between replay and live: now, ISO-8601 (e.g. 2026-11-01T00:00:00Z) or epoch ms.", valueName: "time"))
    var cutoff: CutoffChoice = .now

    @Option(name: .long, help: ArgumentHelp("Bounded backfill to TIME (ISO-8601 or epoch ms): store only messages before it.",
                                            valueName: "time"))
    var until: FixedTime?

    @Option(name: .long, parsing: .unconditional, help: "Most messages per poll and per transaction.")
    var batchSize: Int = 10_000

    @Option(name: .long, help: ArgumentHelp("normal: a power loss may roll back the last batches (read again on resume); full: fsync every commit.", valueName: "normal|full"))
    var durability: Durability = .normal

    @Option(name: .long, help: ArgumentHelp("Also keep TOPIC's latest value per key in the table latest (a tombstone deletes the key; repeatable). Recorded in the database.", valueName: "topic"))
    var latest: [String] = []

    @Option(name: .customLong("latest-only"), help: ArgumentHelp("Keep only TOPIC's latest value per key, not its records (repeatable). Recorded in the database.", valueName: "topic"))
    var latestOnly: [String] = []

    @Option(name: .customLong("latest-off"), help: ArgumentHelp("Stop keeping TOPIC's latest table and delete it (repeatable).", valueName: "topic"))
    var latestOff: [String] = []

    @Flag(name: .customLong("change-latest-mode"), help: "Allow a topic recorded with --latest to switch to --latest-only (deleting its stored records) or back.")
    var changeLatestMode = false

    @Flag(name: .long, help: "Continue from the earliest available offset when retention deleted unread messages (the gap is recorded).")
    var acceptGaps = false

    @Flag(name: .long, help: "Keep ingesting after catching up, until SIGINT/SIGTERM.")
    var follow = false

    @Option(name: .long, help: ArgumentHelp("Remove stored records older than DURATION (e.g. 7d, 36h), continuously, oldest first per partition. Recorded in the database.", valueName: "duration"))
    var retain: String?

    @Option(name: .customLong("retain-size"), help: ArgumentHelp("Keep the database near SIZE (e.g. 2GB, 500MiB) by removing the oldest records first. Recorded in the database.", valueName: "size"))
    var retainSize: String?

    @Flag(name: .customLong("no-retain"), help: "Remove the recorded retention: keep every record from now on.")
    var noRetain = false

    @Option(name: .long, help: ArgumentHelp("Capture only the partitions shard I of N owns (Flink's formula; see README). Recorded in the database.", valueName: "I/N"))
    var shard: String?

    @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Every few seconds, atomically replace PATH with Prometheus text-format metrics (node_exporter textfile collector).", valueName: "path"))
    var metricsFile: String?

    @Option(name: .customLong("metrics-interval"), parsing: .unconditional, help: ArgumentHelp("Seconds between metrics-file updates (1-3600).", valueName: "seconds"))
    var metricsInterval: Double = 5

    @Flag(name: .long, help: "No progress display and no summary; errors only.")
    var quiet = false

    @Flag(name: .long, help: "Log librdkafka's and Spool's informational messages.")
    var verbose = false

    func validate() throws {
        if topic.isEmpty { throw ValidationError("--topic is required: name at least one topic to capture, e.g. --topic orders") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        _ = try cutoffChoice()
        for spec in topic {
            do { _ = try TopicSpec.parse(spec) } catch let error as TopicSpec.ParseError { throw ValidationError(error.description) }
        }
        _ = try keyedChoices()
        _ = try retentionChoice()
        _ = try shardChoice()
        if !(1...3600).contains(metricsInterval) {
            throw ValidationError("--metrics-interval must be between 1 and 3600 seconds (got \(metricsInterval.argumentText))")
        }
    }

    /// `--shard I/N` as a `ShardSpec`.
    private func shardChoice() throws -> ShardSpec? {
        guard let shard else { return nil }
        guard let spec = ShardSpec.parse(shard) else {
            throw ValidationError("--shard '\(shard)' is not I/N with 0 <= I < N, e.g. --shard 0/3")
        }
        return spec
    }

    /// `--retain` and `--retain-size` as a policy (nil: keep what is recorded); `--no-retain`
    /// excludes both.
    private func retentionChoice() throws -> RetentionPolicy? {
        if noRetain, retain != nil || retainSize != nil {
            throw ValidationError("--no-retain removes retention; it cannot be combined with --retain or --retain-size")
        }
        var policy = RetentionPolicy()
        if let retain {
            guard let ms = TimeText.parseDuration(retain), ms > 0 else {
                throw ValidationError("--retain '\(retain)' is not a duration; use e.g. 7d, 36h, 90m or 1w2d")
            }
            policy.maxAgeMs = ms
        }
        if let retainSize {
            guard let bytes = ByteText.parseSize(retainSize), bytes >= 1_048_576 else {
                throw ValidationError("--retain-size '\(retainSize)' is not a size of at least 1MiB; use e.g. 2GB, 500MB or 512MiB")
            }
            policy.maxBytes = bytes
        }
        return policy.isEmpty ? nil : policy
    }

    /// `--latest`, `--latest-only` and `--latest-off` as modes per topic; each must name a `--topic`.
    private func keyedChoices() throws -> (modes: [String: KeyedMode], off: Set<String>) {
        let captured = Set(topic.compactMap { try? TopicSpec.parse($0).name })
        var modes: [String: KeyedMode] = [:]
        for (flag, names, mode) in [("--latest", latest, KeyedMode.latest), ("--latest-only", latestOnly, .latestOnly)] {
            for name in names {
                guard captured.contains(name) else {
                    throw ValidationError("\(flag) \(name): '\(name)' is not one of the --topic topics; add --topic \(name) or fix the name")
                }
                if let other = modes[name], other != mode {
                    throw ValidationError("\(flag) \(name): the topic is also given to \(other.flag); choose one")
                }
                modes[name] = mode
            }
        }
        for name in latestOff {
            guard captured.contains(name) else {
                throw ValidationError("--latest-off \(name): '\(name)' is not one of the --topic topics; add --topic \(name) or fix the name")
            }
            if let mode = modes[name] { throw ValidationError("--latest-off \(name): the topic is also given to \(mode.flag); choose one") }
        }
        return (modes, Set(latestOff))
    }

    /// `--until` or `--cutoff` as a `CutoffChoice` (they exclude each other and --follow).
    private func cutoffChoice() throws -> CutoffChoice {
        guard let until else { return cutoff }
        if follow { throw ValidationError("--until is a bounded backfill and cannot be combined with --follow") }
        if cutoff != .now { throw ValidationError("--until sets the cutoff itself; give either --until or --cutoff") }
        return .at(until.ms)
    }

    func run() throws {
        let config = try kafka.config()
        guard config["bootstrap.servers"] != nil || config["metadata.broker.list"] != nil else {
            throw ValidationError("--brokers is required (or bootstrap.servers in -X or --config-file)")
        }
        try DatabaseFiles.refuseAsDatabase(db, flag: "--db")
        try metricsFile.map { try MetricsFile(path: $0).check(database: db) }
        let topics = try topic.map(TopicSpec.parse)
        let choice = try cutoffChoice()
        let logger = makeLogger(label: "spool", verbose: verbose, quiet: quiet)
        var options = IngestOptions(kafkaConfig: config, topics: topics, cutoff: choice, batchSize: batchSize,
                                    follow: follow, acceptGaps: acceptGaps, durability: durability)
        (options.keyed, options.keyedOff) = try keyedChoices()
        options.allowKeyedModeChange = changeLatestMode
        options.schemaRegistry = try registry.config()
        options.retention = try retentionChoice()
        options.retentionOff = noRetain
        options.shard = try shardChoice()
        installStopHandlers(announce: !quiet)
        let display = ProgressDisplay(enabled: !quiet)
        let metrics = metricsFile.map { MetricsPublisher(file: MetricsFile(path: $0), logger: logger) }
        try metrics?.start()
        defer { metrics?.finish() }
        let summary = try IngestPipeline(databasePath: db, options: options, logger: logger)
            .run(stop: stopRequested, progressInterval: display.interval, progress: { display.show($0) },
                 metricsInterval: metricsInterval, metrics: metrics.map { publisher in { publisher.publish($0) } })
        if !quiet { print(ProgressText.summary(summary, path: db), terminator: "") }
    }
}

/// A logger writing to standard error; secrets are redacted before anything reaches it.
func makeLogger(label: String, verbose: Bool, quiet: Bool) -> Logger {
    var logger = Logger(label: label) { TerminalLogHandler(label: $0) }
    logger.logLevel = verbose ? .info : (quiet ? .error : .warning)
    return logger
}
