import ArgumentParser
import KafkaReplay
import SpoolCLI
import SpoolModel
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// `spool status`: progress, lag, the saved run, gaps and complete_until of a database.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a database's progress per partition, its saved run, gaps and complete_until.",
        discussion: """
            With --brokers, also the lag of every partition against its current high watermark.

            With --watch, the report is redrawn every --interval seconds until SIGINT/SIGTERM \
            (exit 0): on a terminal the screen is cleared before each draw; otherwise the reports \
            follow each other, separated by a blank line. With --format json, each refresh prints \
            one JSON object on one line (JSON Lines) with an added observed_at (epoch ms). When \
            the database cannot be read on a later refresh, the error is shown and watching \
            goes on.
            """
    )

    /// The `--interval` bounds, in seconds.
    static let intervalRange = 0.5...60.0

    @Argument(help: ArgumentHelp("The database file; or a folder of shard files, or several files (each shard's progress and the coverage; exit 1 when incomplete).", valueName: "file"))
    var files: [String]

    /// The file (or files) as given, for headings.
    var file: String { files.joined(separator: " ") }

    @OptionGroup var kafka: KafkaOptions

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "table|json"))
    var format: Format = .table

    /// The output formats of `spool status` (`spool query` also has csv and jsonl).
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case table, json
    }

    @Flag(name: .long, help: "Redraw the report every --interval seconds until Ctrl-C.")
    var watch = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds between redraws with --watch, 0.5 to 60 (default 2).", valueName: "seconds"))
    var interval: Double?

    func validate() throws {
        if files.isEmpty { throw ValidationError("name the database file (or a folder of shard files)") }
        if let interval {
            guard watch else { throw ValidationError("--interval is used only with --watch; add --watch or drop --interval") }
            guard Self.intervalRange.contains(interval) else {
                throw ValidationError("--interval must be from 0.5 to 60 seconds (got \(interval.argumentText))")
            }
        }
    }

    func run() throws {
        let config = try kafka.config()
        if watch {
            try StatusWatch(command: self, config: config).run()
        } else if isFolder {
            let coverage = try folderCoverage(config: config)
            print(format == .json ? coverage.json() : coverage.table(), terminator: "")
            if !coverage.problems.isEmpty { throw ExitCode(1) }
        } else {
            print(try render(config: config), terminator: "")
        }
    }

    /// Whether FILE names several shard files (a folder, or more than one file).
    var isFolder: Bool {
        var info = stat()
        return files.count > 1 || (stat(files[0], &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The shard folder's report (with the brokers' partition counts when asked).
    func folderCoverage(config: [String: String]) throws -> ShardCoverage {
        let paths = try ShardFiles.expand(files, excluding: "")
        var counts: [String: Int]?
        if config["bootstrap.servers"] != nil {
            let topics = Set(try paths.flatMap { try SpoolStore.openForReading(path: $0).storedPartitions().map(\.topicPartition.topic) })
            let marks = try ClusterInspector.watermarks(config: config, topics: topics.sorted(),
                                                        logger: makeLogger(label: "spool", verbose: false, quiet: true)).partitions
            counts = Dictionary(grouping: marks.keys, by: \.topic).mapValues(\.count)
        }
        return try ShardCoverage(paths: paths, partitionCounts: counts)
    }

    /// The report as text or JSON (ending in a newline), read afresh from the file (and the brokers).
    func render(config: [String: String]) throws -> String {
        if isFolder {
            let coverage = try folderCoverage(config: config)
            return format == .json ? coverage.json() : coverage.table()
        }
        let store = try SpoolStore.openForReading(path: files[0])
        defer { store.close() }
        var watermarks: [TopicPartition: Watermarks]?
        if config["bootstrap.servers"] != nil {
            let topics = Array(Set(try store.storedPartitions().map(\.topicPartition.topic))).sorted()
            watermarks = try ClusterInspector.watermarks(config: config, topics: topics,
                                                         logger: makeLogger(label: "spool", verbose: false, quiet: true)).partitions
        }
        let report = try StatusReport(store: store, watermarks: watermarks)
        let notices = try store.readerNotices()
        guard format == .json else { return notices.map { "WARNING: \(TerminalText.safe($0))\n" }.joined() + report.table() }
        // The notices as the object's first field, so a script sees them without parsing the rest.
        let json = report.json()
        guard json.hasPrefix("{") else { return json }
        return "{\"warnings\":" + JSONText.array(notices.map(JSONText.string)) + "," + json.dropFirst()
    }
}

/// `spool status --watch`: draws the report every interval until SIGINT or SIGTERM.
///
/// The first draw fails like plain `status` (same message, same exit code); a later failure
/// (the file being replaced, a broker away) is drawn in place of the report and watching goes on.
/// Nothing changes the terminal's modes, so an exit at any moment leaves it as it was.
private struct StatusWatch {
    let command: StatusCommand
    let config: [String: String]
    let terminal = isatty(STDOUT_FILENO) != 0
    var interval: Double { command.interval ?? 2 }
    var json: Bool { command.format == .json }

    func run() throws {
        // Quiet: the "stopping after the current batch" line is about ingest.
        installStopHandlers(announce: false)
        let clock = ContinuousClock()
        var draws = 0
        repeat {
            let started = clock.now
            let body: String
            do {
                body = stamped(try command.render(config: config))
            } catch where draws > 0 {
                body = failure(error)
            }
            writeAll(STDOUT_FILENO, frame(body, first: draws == 0))
            draws += 1
            sleepUntil(started + .milliseconds(Int64(interval * 1_000)), clock: clock)
        } while !stopRequested.isStopped
    }

    /// Waits until `deadline` in short steps, returning early once a stop is requested.
    private func sleepUntil(_ deadline: ContinuousClock.Instant, clock: ContinuousClock) {
        while !stopRequested.isStopped, clock.now < deadline {
            usleep(UInt32(min(50, max(1, (deadline - clock.now).milliseconds))) * 1_000)
        }
    }

    /// What one refresh writes: JSON Lines as they are; text under a heading line, after
    /// clear-screen on a terminal and after a blank line between reports otherwise.
    private func frame(_ body: String, first: Bool) -> String {
        if json { return body }
        let heading = "spool status \(TerminalText.safe(command.file)) — every \(intervalText), Ctrl-C to exit — \(clockText()) UTC\n"
        if terminal { return "\u{1B}[H\u{1B}[2J" + heading + "\n" + body }
        return (first ? "" : "\n") + heading + body
    }

    /// A JSON report with `observed_at` (epoch ms) added as its first field; text as it is.
    private func stamped(_ report: String) -> String {
        guard json, report.hasPrefix("{") else { return report }
        return "{\"observed_at\":\(WallClock.nowMs())," + report.dropFirst()
    }

    /// A refresh that could not read the report: the error line plain `status` prints, or in
    /// JSON an object with `observed_at`, `database` and `error`.
    private func failure(_ error: Error) -> String {
        guard json else { return "spool: error: \(TerminalText.safe(describe(error), keepingLineBreaks: true))\n" }
        return JSONText.object([("observed_at", String(WallClock.nowMs())), ("database", JSONText.string(command.file)),
                                ("error", JSONText.string(describe(error)))]) + "\n"
    }

    /// The interval as people write it: `2s`, `0.5s`.
    private var intervalText: String {
        interval == interval.rounded() ? "\(Int(interval))s" : "\(interval)s"
    }

    /// The current time of day in UTC, `HH:MM:SS`.
    private func clockText() -> String {
        String(TimeText.iso8601(WallClock.nowMs()).dropFirst(11).prefix(8))
    }
}
