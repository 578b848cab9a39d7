import ArgumentParser
import KafkaReplay
import SpoolCLI
import SpoolIngest
import SpoolReplay
#if canImport(Glibc)
import Glibc
#endif

extension ReplayOutputFormatter.Format: ExpressibleByArgument {}

/// `spool replay`: the released records of a capture, of Kafka, or of a capture then Kafka, on
/// standard output in release order.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay topics in timestamp order from a capture, from Kafka, or from a capture then Kafka, to standard output.",
        discussion: """
            With FILE (a Spool file, a folder of shard files, or several shard files) and --brokers, \
            each partition's history comes from the capture and continues from Kafka at exactly the \
            offset where the capture ends. With FILE alone the capture is replayed offline; with \
            --brokers alone, Kafka. Records are released in the ConsumerManager's order: by \
            timestamp across partitions and topics, by offset within a partition.

            Without --follow the replay ends once every partition has caught up (the cutoff, now \
            unless --cutoff; or --until TIME: only records before TIME); --follow keeps going live \
            until SIGINT/SIGTERM. Running the same command again replays the same records.

            jsonl (the default) writes one object per record: topic, partition, offset, timestamp \
            (ms), key, value (per --blobs; null stays null), headers (the messages.headers JSON \
            array, or null), and key_json/value_json when the capture decoded the record. \
            Progress and the summary go to standard error, on a terminal only unless --verbose.

            Exit codes: 0 done (also on SIGINT/SIGTERM, --limit, or a closed output such as | head); \
            2 usage; 3 file; 4 Kafka (unknown topic, out-of-range offset, gap refused).
            """
    )

    @Argument(help: ArgumentHelp("A capture to replay first: a Spool file, a folder of shard files, or several shard files (optional).", valueName: "file|dir"))
    var files: [String] = []

    @OptionGroup var kafka: KafkaOptions

    @Option(name: .long, help: ArgumentHelp("A topic to replay, with an optional start policy (repeatable).", valueName: "spec"))
    var topic: [String] = []

    @Option(name: .long, help: ArgumentHelp("The boundary between replay and live: now (default), ISO-8601 or epoch ms.", valueName: "time"))
    var cutoff: CutoffChoice?

    @Option(name: .long, help: ArgumentHelp("A bounded replay: only records before TIME (ISO-8601 or epoch ms).", valueName: "time"))
    var until: FixedTime?

    @Flag(name: .long, help: "Keep replaying live records after catching up, until SIGINT/SIGTERM (needs --brokers).")
    var follow = false

    @Flag(name: .long, help: "Skip offsets that neither the capture nor Kafka holds instead of exiting 4.")
    var acceptGaps = false

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "jsonl|csv|table"))
    var format: ReplayOutputFormatter.Format = .jsonl

    @Option(name: .long, help: ArgumentHelp("How keys and values are written: text (UTF-8 when valid, else hex), hex or base64.", valueName: "text|hex|base64"))
    var blobs: BlobStyle = .text

    @Option(name: .long, parsing: .unconditional, help: "Most records per poll.")
    var batchSize: Int = 10_000

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Stop after N records.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "No progress and no summary; errors only.")
    var quiet = false

    @Flag(name: .long, help: "Progress and summary even when standard error is not a terminal, and informational logs.")
    var verbose = false

    func validate() throws {
        if topic.isEmpty { throw ValidationError("--topic is required: name at least one topic to replay, e.g. --topic orders") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
        for spec in topic {
            do { _ = try TopicSpec.parse(spec) } catch let error as TopicSpec.ParseError { throw ValidationError(error.description) }
        }
        _ = try timeChoice(nowMs: 0)
        if acceptGaps && files.isEmpty {
            throw ValidationError("--accept-gaps applies to a capture joined with Kafka; give the capture FILE, or leave the flag out")
        }
    }

    /// The cutoff in Unix ms and whether the replay is bounded (ends once every partition has
    /// caught up): `--until TIME` is bounded at TIME; otherwise `--cutoff` (now by default),
    /// bounded unless `--follow`.
    private func timeChoice(nowMs: Int64) throws -> (cutoffMs: Int64, bounded: Bool) {
        if let until {
            if follow { throw ValidationError("--until is a bounded replay and cannot be combined with --follow") }
            if cutoff != nil { throw ValidationError("--until sets the cutoff itself; give either --until or --cutoff") }
            return (until.ms, true)
        }
        switch cutoff ?? .now {
        case .now: return (nowMs, !follow)
        case .at(let ms): return (ms, !follow)
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let config = try kafka.config()
        let hasBrokers = config["bootstrap.servers"] != nil || config["metadata.broker.list"] != nil
        if files.isEmpty && !hasBrokers {
            throw ValidationError("nothing to replay from: give a capture FILE (or a folder of shard files), --brokers, or both")
        }
        if follow && !hasBrokers {
            throw ValidationError("--follow needs --brokers: a capture alone ends at its last record")
        }
        let showProgress = verbose || (!quiet && isatty(STDERR_FILENO) != 0)
        let display = ReplayProgressDisplay(enabled: showProgress)
        installStopHandlers(announce: showProgress)
        let capture = try files.isEmpty ? nil : SpoolCapture(paths: files)
        let time = try timeChoice(nowMs: WallClock.nowMs())
        let manager = try makeManager(config: config, capture: capture, time: time)
        let (written, ending) = try replay(manager, capture: capture, bounded: time.bounded, display: display)
        display.finish(written: written, ending: ending)
    }

    /// The consumer: over the capture (and Kafka, when the config names brokers), or Kafka alone.
    private func makeManager(config: [String: String], capture: SpoolCapture?, time: (cutoffMs: Int64, bounded: Bool)) throws -> ConsumerManager {
        let topics = try topic.map(TopicSpec.parse)
        let logger = makeLogger(label: "spool", verbose: verbose, quiet: quiet)
        if let capture {
            return try ConsumerManager(config: config, topics: topics, capture: capture, cutoffMs: time.cutoffMs, batchSize: batchSize,
                                       stopAtCutoff: time.bounded, acceptGaps: acceptGaps, logger: logger)
        }
        return try ConsumerManager(config: config, topics: topics, cutoffMs: time.cutoffMs, batchSize: batchSize,
                                   stopAtCutoff: time.bounded, logger: logger)
    }

    /// Polls and writes until the replay ends; returns how many records were written and why it ended.
    private func replay(_ manager: ConsumerManager, capture: SpoolCapture?, bounded: Bool,
                        display: ReplayProgressDisplay) throws -> (Int64, ReplayProgressText.Ending) {
        let formatter = ReplayOutputFormatter(format: format, blobs: blobs)
        let output = BufferedOutput(descriptor: STDOUT_FILENO, name: "standard output")
        output.buffer += Array(formatter.preamble.utf8)
        var written: Int64 = 0
        func end(_ ending: ReplayProgressText.Ending) throws -> (Int64, ReplayProgressText.Ending) {
            (written, try output.flush() ? ending : .outputClosed)
        }
        while true {
            if stopRequested.isStopped { return try end(.stopRequested) }
            if bounded && manager.isLive { return try end(.caughtUp) }
            let batch = try manager.poll(timeoutMs: 200)
            let take = limit.map { min(batch.count, $0 - Int(written)) } ?? batch.count
            if take > 0 {
                let decoded = try capture?.decoded(for: batch)
                guard try write(batch, rows: 0..<take, decoded: decoded, formatter: formatter, to: output) else { return (written, .outputClosed) }
                written += Int64(take)
            } else if output.readerHasGone {
                return (written, .outputClosed)
            }
            if let limit, written >= limit { return try end(.limit) }
            display.show(written: written, manager: manager)
        }
    }

    /// Formats `rows` of `batch` into `output` in chunks, flushing whenever the buffer is full
    /// and once at the end; false when the reader has gone.
    private func write(_ batch: MessageBatch, rows: Range<Int>, decoded: DecodedColumns?, formatter: ReplayOutputFormatter,
                       to output: BufferedOutput) throws -> Bool {
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: 512) {
            formatter.append(batch, rows: start..<min(start + 512, rows.upperBound), decoded: decoded, to: &output.buffer)
            if output.isFull, !(try output.flush()) { return false }
        }
        return try output.flush()
    }
}
