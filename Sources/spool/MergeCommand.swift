import ArgumentParser
import SpoolCLI
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// `spool merge`: combine the shard files of one capture into one file.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the shard files of one capture (spool ingest --shard I/N) into one database.",
        discussion: """
            Give every shard's file (or a folder holding them). Rows are copied in chunks, each \
            in one transaction with its partition's state, so an interrupted merge (Ctrl-C, kill) \
            continues when run again; nothing is copied twice. The result is a whole capture: \
            spool ingest resumes it without --shard, and spool verify checks it. Stop the shards' \
            ingests first. The runs history stays in the shard files.

            Exit codes: 0 done (or stopped on SIGINT, to be run again); 2 the files are not every \
            shard of one capture (other clusters or counts, a shard missing or twice, a partition no \
            shard holds, unless --allow-incomplete), or the target holds something else; 3 storage; 5 database in use.
            """
    )

    @Argument(help: ArgumentHelp("The shard files, or folders holding them.", valueName: "shards"))
    var shards: [String]

    @Option(name: .long, help: ArgumentHelp("The merged database (created if missing).", valueName: "file"))
    var db: String

    @Option(name: .long, parsing: .unconditional, help: "Rows per transaction.")
    var chunkSize: Int = 50_000

    @Flag(name: .customLong("allow-incomplete"), help: "Merge even when the shards do not hold every partition (the merged file then has no complete_until, and verify reports it).")
    var allowIncomplete = false

    @Flag(name: .long, help: "No summary; errors only.")
    var quiet = false

    func validate() throws {
        if shards.isEmpty { throw ValidationError("name the shard files (or their folder) to merge") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1 (got \(chunkSize))") }
    }

    func run() throws {
        try DatabaseFiles.refuseAsDatabase(db, flag: "--db")
        let paths = try ShardFiles.expand(shards, excluding: db)
        try ShardRole.check(paths, target: db, allowIncomplete: allowIncomplete)
        let store = try SpoolStore.openForWriting(path: db, upgradeNotice: { printNotice($0) })
        defer { store.close() }
        installStopHandlers(announce: !quiet)
        let outcome = try store.shards.merge(paths, chunkSize: chunkSize, allowIncomplete: allowIncomplete,
                                      stop: { stopRequested.isStopped })
        for problem in outcome.coverageProblems { printError("spool: warning: \(problem) (merged anyway: --allow-incomplete)") }
        if !outcome.differingRetentions.isEmpty {
            let each = outcome.differingRetentions.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value?.description ?? "none")" }
            printError("spool: note: the shards record different retention (\(each.joined(separator: "; "))); \(db) records none and keeps every record. Set one with spool ingest --retain or --retain-size on it.")
        }
        guard !quiet else { return }
        let stopped = stopRequested.isStopped ? " (stopped: run the same command again to go on)" : ""
        let retention = outcome.retention.map { "; retention \($0) (the shards')" } ?? ""
        print("merged \(paths.count) shard(s) into \(TerminalText.safe(db)): \(ByteText.count(outcome.rowsCopied)) row(s) copied now, \(outcome.partitions) partition(s)\(retention)\(stopped)")
    }
}
