@_spi(MockCluster) import SpoolSampleData
import ArgumentParser
@_spi(MockCluster) import KafkaReplay
import SpoolCLI
import SpoolIngest
import SpoolStore

extension SampleData.Shape: ExpressibleByArgument {}
#if canImport(Glibc)
import Glibc
#endif

/// `spool dev-broker`: an embedded Kafka-protocol cluster with sample data, for demos and tests.
struct DevBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Serve an embedded Kafka-protocol cluster on loopback, filled with sample data.",
        discussion: """
            librdkafka's mock cluster: each partition keeps at most about 5 MiB, time lookups are \
            answered by Spool's binary search, and there is no SASL/SSL. Serves until SIGINT/SIGTERM.
            """
    )

    @Option(name: .long, parsing: .unconditional, help: "Number of brokers.")
    var brokers: Int = 3

    @Option(name: .long, help: ArgumentHelp("A topic to create and fill (repeatable).", valueName: "name:partitions"))
    var topic: [String] = ["orders:4", "clicks:2"]

    @Option(name: .long, help: ArgumentHelp("A topic to create and leave empty (repeatable).", valueName: "name:partitions"))
    var emptyTopic: [String] = []

    @Option(name: .long, parsing: .unconditional, help: "Sample messages per topic.")
    var messages: Int = 10_000

    @Option(name: .long, help: ArgumentHelp("Write the bootstrap string to this file once the data is in.", valueName: "file"))
    var bootstrapFile: String?

    @Option(name: .long, help: ArgumentHelp("demo: realistic JSON events; bench: the benchmark's 16-byte keys and 100-byte values.", valueName: "demo|bench"))
    var shape: SampleData.Shape = .demo

    @Option(name: .long, help: ArgumentHelp("Compress the sample data in the broker.", valueName: "codec"))
    var compression: Compression = .none

    /// The codecs `--compression` offers (librdkafka's `compression.codec` values).
    enum Compression: String, CaseIterable, ExpressibleByArgument {
        case none, gzip, snappy, lz4, zstd
    }

    func validate() throws {
        if brokers < 1 { throw ValidationError("--brokers must be at least 1 (got \(brokers))") }
        if messages < 0 { throw ValidationError("--messages must not be negative (got \(messages))") }
        for spec in topic + emptyTopic { _ = try parse(spec) }
    }

    private func parse(_ spec: String) throws -> (String, Int32) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, !name.isEmpty else { throw ValidationError("--topic '\(spec)': expected NAME:PARTITIONS, e.g. orders:4") }
        let partitions = parts.count == 2 ? Int32(parts[1]) : 1
        guard let partitions, partitions >= 1, partitions <= 10_000 else {
            throw ValidationError("--topic '\(spec)': the partition count must be a number from 1 to 10000")
        }
        do { try validateSourceTopic(.fromEarliest(name)) } catch { throw ValidationError("--topic '\(spec)': \(describe(error))") }
        return (name, partitions)
    }

    func run() throws {
        if let bootstrapFile {
            try DatabaseFiles.refuseOverwritingDatabase(bootstrapFile, role: "--bootstrap-file")
            try DatabaseFiles.refuseOverwritingDatabase(bootstrapFile + ".tmp", role: "the --bootstrap-file's temporary name")
        }
        let logger = makeLogger(label: "spool.dev-broker", verbose: false, quiet: true)
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        cluster.producerProperties["compression.codec"] = compression.rawValue
        let now = WallClock.nowMs()
        for spec in topic {
            let (name, partitions) = try parse(spec)
            try cluster.createTopic(name, partitions: Int(partitions))
            // Produced in chunks of about 1,000 messages per partition: the mock answers a fetch
            // with one producer batch per partition, so batches this size make fast reads
            // without making a single fetch response huge.
            var generator = SampleData(shape: shape, topic: name, partitions: partitions, total: messages, nowMs: now)
            while !generator.isDone {
                try cluster.produce(topic: name, generator.next(Int(partitions) * 1_000))
            }
            printError("dev-broker: \(name): \(partitions) partitions, \(messages) messages")
        }
        for spec in emptyTopic {
            let (name, partitions) = try parse(spec)
            try cluster.createTopic(name, partitions: Int(partitions))
            printError("dev-broker: \(name): \(partitions) partitions, empty")
        }
        writeAll(STDOUT_FILENO, cluster.bootstrapServers + "\n")
        if let bootstrapFile {
            let temporary = bootstrapFile + ".tmp"
            guard let handle = fopen(temporary, "w") else {
                throw ValidationError("--bootstrap-file \(bootstrapFile): cannot write the file")
            }
            fputs(cluster.bootstrapServers + "\n", handle)
            fclose(handle)
            rename(temporary, bootstrapFile)
        }
        installStopHandlers(announce: false)
        printError("dev-broker: serving on \(cluster.bootstrapServers) until interrupted")
        while !stopRequested.isStopped { usleep(100_000) }
        printError("dev-broker: stopped")
    }
}
