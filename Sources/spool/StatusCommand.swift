import ArgumentParser
import KafkaReplay
import SpoolCLI
import SpoolStore

/// `spool status`: progress, lag, the saved run, gaps and complete_until of a database.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a database's progress per partition, its saved run, gaps and complete_until.",
        discussion: "With --brokers, also the lag of every partition against its current high watermark."
    )

    @Argument(help: ArgumentHelp("The database file.", valueName: "file"))
    var file: String

    @OptionGroup var kafka: KafkaOptions

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "table|json"))
    var format: OutputFormat = .table

    func validate() throws {
        if format == .csv || format == .jsonl { throw ValidationError("--format must be table or json for status (got \(format.rawValue))") }
    }

    func run() throws {
        let store = try SpoolStore.openForReading(path: file)
        defer { store.close() }
        var watermarks: [TopicPartition: Watermarks]?
        let config = try kafka.config()
        if config["bootstrap.servers"] != nil {
            let topics = Array(Set(try store.storedPartitions().map(\.topicPartition.topic))).sorted()
            watermarks = try ClusterInspector.watermarks(config: config, topics: topics,
                                                         logger: makeLogger(label: "spool", verbose: false, quiet: true)).partitions
        }
        let report = try StatusReport(store: store, watermarks: watermarks)
        print(format == .json ? report.json() : report.table(), terminator: "")
    }
}
