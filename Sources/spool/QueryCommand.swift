import ArgumentParser
import SpoolCLI
import SpoolStore

extension OutputFormat: ExpressibleByArgument {}
extension BlobStyle: ExpressibleByArgument {}

/// `spool query`: one read-only SQL statement over a Spool database.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Run one read-only SQL statement over a Spool database.",
        discussion: """
            Tables: messages (key, value, topic, partition, offset, timestamp), one view per topic \
            named after it (SELECT * FROM "orders.v1"), partition_state, runs, gaps, progress. \
            Timestamps are milliseconds since the epoch, UTC. Works while an ingest is running. \
            Writes, ATTACH, VACUUM INTO, settings and extensions are refused (exit 2).
            """
    )

    @Argument(help: ArgumentHelp("The database file (or a folder of shard files, or several files: read as one capture), then one SQL statement, e.g. \"SELECT count(*) FROM messages\".", valueName: "file... sql"))
    var arguments: [String] = []

    /// The files (all arguments but the last).
    var files: [String] { Array(arguments.dropLast()) }
    /// The SQL (the last argument).
    var sql: String { arguments.last ?? "" }

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "table|csv|json|jsonl"))
    var format: OutputFormat = .table

    @Option(name: .long, help: ArgumentHelp("How BLOBs are shown: text (UTF-8 when valid, else hex), hex or base64.", valueName: "text|hex|base64"))
    var blobs: BlobStyle = .text

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Stop the query after this many seconds (at most 1000000).", valueName: "seconds"))
    var timeout: Double = 30

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Stop the query when SQLite needs more memory than this (16 to 1048576).", valueName: "MiB"))
    var maxMemory: Int64 = 1024

    @Flag(name: .customLong("allow-incomplete"), help: "Read shard files as one even when they do not hold every shard or partition (a warning names what is missing).")
    var allowIncomplete = false

    func validate() throws {
        if arguments.count < 2 {
            throw ValidationError("give the database file and one SQL statement, e.g. spool query orders.sqlite \"SELECT count(*) FROM messages\"")
        }
        if !(timeout > 0 && timeout <= 1_000_000) {
            throw ValidationError("--timeout must be more than 0 and at most 1000000 seconds (got \(timeout.argumentText))")
        }
        if !(16...1_048_576).contains(maxMemory) { throw ValidationError("--max-memory must be from 16 to 1048576 MiB (got \(maxMemory))") }
    }

    func run() throws {
        let runner = try QueryRunner(paths: try ShardFiles.expand(files, excluding: ""), timeLimitSeconds: timeout,
                                     maxMemoryBytes: maxMemory << 20, allowIncomplete: allowIncomplete)
        for warning in runner.warnings { printError("spool: warning: \(warning)") }
        var output = QueryOutputFormatter(format: format, blobs: blobs) { print($0, terminator: "") }
        try runner.run(sql, columns: { output.begin(columns: $0) }, row: { output.add($0) })
        output.end()
    }
}
