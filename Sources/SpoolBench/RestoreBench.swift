import KafkaReplay
import SpoolCLI
import SpoolModel
import SpoolReplay
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (w): restoring a capture. The bench data (uncompressed, 64 partitions at 2M) is captured with
/// `spool ingest`, then sent back to empty topics of the same broker twice: by a plain idempotent
/// librdkafka producer loop (no transactions) and by `spool restore` (a process).
///
/// The loop reads the capture as the restore does (each partition in turn, 5,000 records at a
/// time, through `SpoolCapture.withStoredRecords`) and sends each record's key, value, headers
/// and timestamp to the same partition; it is timed from its first send to its final flush. The
/// restore is timed start to exit (the destination checks, 200,000-record transactions that each
/// commit the restore's progress), with its peak RSS. Before it, the same restore with nothing
/// selected (`--from` in 2100) times the fixed setup alone: the destination checks and the
/// producer's start, where on the mock cluster the DescribeConfigs request goes unanswered until
/// the admin client's 30-second timeout; its scan of the capture is cheaper than the real one's
/// (no record matches), so the rate "without setup" errs low.
/// `BENCH_RESTORE_PAIRS` (default 1) runs that many loop/restore pairs, each into fresh topics,
/// and reports the medians.
enum RestoreBench {
    /// Records read from one partition at a time, as `spool restore` reads them.
    private static let chunk = 5_000

    /// The loop's, the restore's and the setup's results (median seconds over the pairs; the
    /// largest peak).
    static func run() throws -> [BenchResult] {
        let pairs = max(1, environment("BENCH_RESTORE_PAIRS", 1))
        let topics = (1...pairs).flatMap { ["bench-baseline-\($0)", "bench-restored-\($0)"] }
        log("(w) loading \(messages) messages into \(partitions(for: messages)) partitions (and \(topics.count) empty topics), capturing them")
        let (broker, bootstrap) = try startBroker(count: messages, emptyTopics: topics)
        defer { broker.signal(SIGTERM); _ = broker.wait() }
        try checkLoaded(bootstrap, count: messages)
        let db = try ingestIntoNewFile(bootstrap).db
        var loops: [Double] = [], setups: [(seconds: Double, peak: Int64)] = [], restores: [(seconds: Double, peak: Int64)] = []
        for pair in 1...pairs {
            log("(w) pair \(pair) of \(pairs): idempotent producer loop into bench-baseline-\(pair)")
            loops.append(try produceLoop(capture: db, bootstrap: bootstrap, topic: "bench-baseline-\(pair)"))
            log("(w) pair \(pair) of \(pairs): spool restore with nothing selected (setup alone), then spool restore, into bench-restored-\(pair)")
            setups.append(try restoreOnce(capture: db, bootstrap: bootstrap, topic: "bench-restored-\(pair)", nothingSelected: true))
            restores.append(try restoreOnce(capture: db, bootstrap: bootstrap, topic: "bench-restored-\(pair)", nothingSelected: false))
        }
        let what = pairs > 1 ? ", median of \(pairs)" : ""
        return [
            BenchResult(name: "w. idempotent librdkafka producer loop from the capture\(what)", messages: messages,
                        seconds: BenchNumbers.median(loops), peakBytes: nil),
            BenchResult(name: "w. spool restore (transactions)\(what)", messages: messages,
                        seconds: BenchNumbers.median(restores.map(\.seconds)), peakBytes: restores.map(\.peak).max()),
            BenchResult(name: "w. spool restore, nothing selected (setup alone)\(what)", messages: 0,
                        seconds: BenchNumbers.median(setups.map(\.seconds)), peakBytes: setups.map(\.peak).max()),
        ]
    }

    /// The summary line of `run`'s results: the restore's rate against the loop's, the same
    /// without the setup's seconds, and the restore's peak.
    static func summary(_ results: [BenchResult]) -> String {
        let (loop, restore, setup) = (results[0], results[1], results[2])
        let streaming = Double(restore.messages) / max(restore.seconds - setup.seconds, 1e-9)
        return "restore (w): spool restore \(BenchNumbers.hundredths(restore.rate / loop.rate))x of the idempotent producer loop (target 0.5x); "
            + "without its \(format(setup.seconds)) s setup \(BenchNumbers.hundredths(streaming / loop.rate))x; "
            + "peak RSS \(restore.peakBytes.map { ByteText.format($0) } ?? "?") (target <= 200 MB)"
    }

    /// Sends every captured record of "bench" to the same partition of `topic` through a plain
    /// idempotent producer; returns the seconds from the first send to the final flush, and
    /// checks that every record was delivered.
    private static func produceLoop(capture path: String, bootstrap: String, topic: String) throws -> Double {
        let capture = try SpoolCapture(path: path)
        var next = try capture.selections(topic: "bench", fromMs: Int64.min, untilMs: Int64.max, latest: false).mapValues(\.firstOffset)
        let producer = try TransactionalProducer(idempotentConfig: ["bootstrap.servers": bootstrap], logger: quiet)
        var started: ContinuousClock.Instant?
        while !next.isEmpty {
            for partition in next.keys.sorted() {
                let source = TopicPartition(topic: "bench", partition: partition)
                let handed = try capture.withStoredRecords(of: source, from: next[partition]!, limit: chunk, latest: false) { record in
                    if started == nil { started = .now }
                    // As spool restore: a timestamp of -1 or 0 cannot be reproduced, 0 lets the producer stamp it.
                    try producer.send(record, topic: topic, partition: partition, timestampMs: max(record.timestamp, 0))
                    next[partition] = record.offset + 1
                }
                if handed < chunk { next[partition] = nil }
                producer.serveDeliveries()
            }
        }
        try producer.flush()
        let seconds = started.map { (ContinuousClock.now - $0).seconds } ?? 0
        let delivered = producer.deliveredEnds().values.reduce(0, +)
        guard delivered == Int64(messages) else { throw BenchError("the producer loop delivered \(delivered) of \(messages) records") }
        log("(w) producer loop: \(Int(Double(messages) / max(seconds, 1e-9))) msg/s")
        return seconds
    }

    /// Runs `spool restore` of "bench" into `topic`, of every record or (`nothingSelected`) of
    /// none: its wall time and peak RSS. Checks, through the progress the restore records in the
    /// capture, that it restored every record (none).
    private static func restoreOnce(capture path: String, bootstrap: String, topic: String,
                                    nothingSelected: Bool) throws -> (seconds: Double, peak: Int64) {
        let window = nothingSelected ? ["--from", "2100-01-01T00:00:00Z"] : []
        let arguments = ["restore", path, "--brokers", bootstrap, "--topic", "bench:\(topic)", "--quiet"] + window
        let outcome = try ChildProcess(spool, arguments).wait()
        guard outcome.status == 0 else { throw BenchError("spool restore exited \(outcome.status)") }
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let restored = try store.restores.progress().filter { $0.targetTopic == topic }.reduce(Int64(0)) { $0 + $1.restored }
        let expected = nothingSelected ? 0 : Int64(messages)
        guard restored == expected else { throw BenchError("spool restore restored \(restored) of \(expected) records into \(topic)") }
        log("(w) spool restore\(nothingSelected ? ", nothing selected" : ""): \(format(outcome.seconds)) s, peak \(ByteText.format(outcome.peakBytes))")
        return (outcome.seconds, outcome.peakBytes)
    }
}
