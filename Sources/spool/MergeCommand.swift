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
            shard of one capture, or the target holds something else; 3 storage; 5 database in use.
            """
    )

    @Argument(help: ArgumentHelp("The shard files, or folders holding them.", valueName: "shards"))
    var shards: [String]

    @Option(name: .long, help: ArgumentHelp("The merged database (created if missing).", valueName: "file"))
    var db: String

    @Option(name: .long, help: "Rows per transaction.")
    var chunkSize: Int = 50_000

    @Flag(name: .long, help: "No summary; errors only.")
    var quiet = false

    func validate() throws {
        if shards.isEmpty { throw ValidationError("name the shard files (or their folder) to merge") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1 (got \(chunkSize))") }
    }

    func run() throws {
        let paths = try ShardFiles.expand(shards, excluding: db)
        try SpoolStore.checkShards(paths, target: db)
        let store = try SpoolStore.openForWriting(path: db)
        defer { store.close() }
        installStopHandlers(announce: !quiet)
        let outcome = try store.merge(shards: paths, chunkSize: chunkSize, stop: { stopRequested.isStopped })
        if !quiet {
            let stopped = stopRequested.isStopped ? " (stopped: run the same command again to go on)" : ""
            print("merged \(paths.count) shard(s) into \(db): \(ByteText.count(outcome.rowsCopied)) row(s) copied now, \(outcome.partitions) partition(s)\(stopped)")
        }
    }
}
