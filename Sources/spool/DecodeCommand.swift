import ArgumentParser
import SpoolCLI
import SpoolDecode
import SpoolIngest
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// `spool decode`: decode the records a capture still holds pending, with a Schema Registry.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode the Confluent-framed records a database holds pending (captured without a registry, or while it was down).",
        discussion: """
            Works in chunks of one transaction each: stop it at any time and run it again to go \
            on. Takes the writer lock like ingest (exit 5 while an ingest runs on the file). \
            Schemas already kept in the file are not fetched again. SIGINT or SIGTERM stops \
            it within a moment, also while it waits for the registry, and it exits 0 with the \
            counts (still pending is what the file holds pending).

            Exit codes: 0 done (records whose bytes do not match their schema are counted as \
            failed, see spool status); 2 usage, or the registry refused the credentials; 3 storage; \
            4 the registry could not be reached or did not answer as a registry (an error status, \
            a redirect; what was decoded before stays); 5 database in use.
            """
    )

    @Argument(help: ArgumentHelp("The database file.", valueName: "file"))
    var file: String

    @OptionGroup var registry: RegistryOptions

    @Option(name: .long, parsing: .unconditional, help: "Records per transaction.")
    var chunkSize: Int = 5_000

    @Flag(name: .long, help: "No summary; errors only.")
    var quiet = false

    func validate() throws {
        if registry.url == nil { throw ValidationError("--schema-registry is required: the registry to fetch schemas from, e.g. --schema-registry http://localhost:8081") }
        if chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1 (got \(chunkSize))") }
    }

    func run() throws {
        guard let config = try registry.config() else { return }
        guard access(file, F_OK) == 0 else {
            throw ValidationError("\(file): no such database; give the file spool ingest wrote")
        }
        let store = try SpoolStore.openForWriting(path: file, upgradeNotice: { printNotice($0) })
        defer { store.close() }
        installStopHandlers(announce: !quiet)
        let client = SchemaRegistryClient(config: config, isStopped: { stopRequested.isStopped })
        do {
            try client.probe()
        } catch .stopped {
            // Counted and reported below like any other stop.
        } catch {
            throw IngestError.registry(error)
        }
        let catalog = SchemaCatalog(client: client, stored: try store.decoding.storedSchemas(registry: config.displayURL))
        var decoder = PendingDecoder(store: store, decoder: BatchDecoder(catalog: catalog), waitForSchemas: true)
        decoder.chunkSize = chunkSize
        let outcome = try decoder.run(stop: stopRequested)
        if !quiet {
            print("decoded \(outcome.decoded) record(s), \(outcome.failed) failed, \(outcome.stillPending) still pending in \(TerminalText.safe(file))"
                  + (stopRequested.isStopped ? " (stopped on request; run again to continue)" : ""))
        }
    }
}
