import ArgumentParser
import KafkaReplay
import SpoolCLI
import SpoolRestore
#if canImport(Glibc)
import Glibc
#endif

/// `spool restore`: a capture written back into Kafka, byte for byte, exactly once.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Write a capture back into Kafka: same partitions, same bytes, same timestamps, exactly once.",
        discussion: """
            Every captured record of SRC (within --from/--until) goes to the partition of DST with \
            the same number, in offset order, with its key, value and headers byte for byte and its \
            captured timestamp as CreateTime. A --latest-only topic is restored from its latest \
            table (one record per key). Records whose timestamp cannot be reproduced (-1 or 0) get \
            the broker's time and are counted in the summary.

            Before anything is written, each DST is checked: it must exist (or --create-topics), \
            have enough partitions, use CreateTime, accept the oldest and newest timestamps, keep \
            them longer than their age (retention.ms), accept the largest record, and hold no \
            records this restore did not write.

            Exactly once: records and the restore's progress commit together in Kafka transactions \
            (transactional.id and consumer group = the restore id, printed in the summary). After \
            a crash or kill, the same command continues where the last transaction ended; running \
            it again after it finished writes nothing. SIGINT/SIGTERM abort the open transaction.

            Exit codes: 0 done (also on SIGINT/SIGTERM); 1 --verify found differences; 2 usage; \
            3 file; 4 Kafka (destination refused, broker or authorization failure).
            """
    )

    @Argument(help: ArgumentHelp("The capture: a Spool file, a folder of shard files, or several shard files.", valueName: "file|dir"))
    var files: [String] = []

    @OptionGroup var kafka: KafkaOptions

    @Option(name: .long, help: ArgumentHelp("A captured topic to restore, optionally into another topic (repeatable).", valueName: "src[:dst]"))
    var topic: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only records with timestamps at or after TIME (ISO-8601 or epoch ms).", valueName: "time"))
    var from: FixedTime?

    @Option(name: .long, help: ArgumentHelp("Only records with timestamps before TIME (ISO-8601 or epoch ms).", valueName: "time"))
    var until: FixedTime?

    @Flag(name: .long, help: "Create a missing destination with the captured partition count and the broker's defaults.")
    var createTopics = false

    @Flag(name: .long, help: "Read every destination back (read_committed) and compare it with the capture; exit 1 when they differ.")
    var verify = false

    @Option(name: .long, help: ArgumentHelp("The restore's transactional.id and consumer group (default: derived from the capture, topics and window).", valueName: "id"))
    var restoreID: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Records per Kafka transaction.", valueName: "n"))
    var transactionRecords: Int = 200_000

    @Flag(name: .long, help: "No progress and no summary; errors only.")
    var quiet = false

    @Flag(name: .long, help: "Progress and summary even when standard error is not a terminal, and informational logs.")
    var verbose = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give the capture to restore: a Spool file, a folder of shard files, or several shard files") }
        if topic.isEmpty { throw ValidationError("--topic is required: name at least one captured topic, e.g. --topic orders or --topic orders:orders-restored") }
        if transactionRecords < 1 { throw ValidationError("--transaction-records must be at least 1 (got \(transactionRecords))") }
        if let restoreID, restoreID.isEmpty || restoreID.count > 200 {
            throw ValidationError("--restore-id must be 1 to 200 characters")
        }
        var targets: Set<String> = []
        for spec in topic {
            do {
                let mapping = try TopicMapping.parse(spec)
                guard targets.insert(mapping.target).inserted else {
                    throw ValidationError("--topic \(spec): '\(mapping.target)' is the destination of another --topic; restore each destination once")
                }
            } catch let error as RestoreError { throw ValidationError(error.description) }
        }
        _ = try window()
    }

    /// `--from` and `--until` in ms since the epoch.
    private func window() throws -> (from: Int64?, until: Int64?) {
        if let from, let until, from.ms >= until.ms {
            throw ValidationError("--from must be before --until (got \(from.text) and \(until.text))")
        }
        return (from?.ms, until?.ms)
    }

    func run() throws {
        let config = try kafka.config()
        guard config["bootstrap.servers"] != nil || config["metadata.broker.list"] != nil else {
            throw ValidationError("--brokers is required: the cluster to restore into")
        }
        let showProgress = verbose || (!quiet && isatty(STDERR_FILENO) != 0)
        installStopHandlers(announce: showProgress)
        var request = RestoreRequest(paths: files, config: config, mappings: try topic.map(TopicMapping.parse))
        (request.fromMs, request.untilMs) = try window()
        request.createTopics = createTopics
        request.verify = verify
        request.restoreID = restoreID
        request.transactionRecords = transactionRecords
        let logger = makeLogger(label: "spool", verbose: verbose, quiet: quiet)
        let display = RestoreProgressDisplay(enabled: showProgress)
        do {
            let restore = try CaptureRestore(request: request, logger: logger)
            let result = try restore.run(shouldStop: { stopRequested.isStopped }, progress: display.update)
            display.finish()
            if !quiet {
                for line in RestoreSummaryText.lines(outcomes: result.outcomes, verifications: result.verifications) { printError(line) }
            }
            if result.verifications.values.contains(where: { $0.contains { !$0.isEqual } }) {
                throw ExitCode(ExitStatus.problemsFound.rawValue)
            }
        } catch let error as RestoreError {
            display.finish()
            printError("spool: error: \(error.description)")
            if case .usage = error { throw ExitCode(ExitStatus.usage.rawValue) }
            throw ExitCode(ExitStatus.kafka.rawValue)
        }
    }
}
