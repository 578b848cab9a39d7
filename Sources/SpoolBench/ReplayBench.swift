import KafkaReplay
import SpoolCLI
import SpoolReplay
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (y): replaying a capture. The same records polled through `ConsumerManager` from the mock
/// broker alone and from a capture alone (no output, in process), then `spool replay --format
/// jsonl > /dev/null` as a process at both sizes, for its rate and peak RSS.
enum ReplayBench {
    /// The rows: broker alone, capture alone, and the command at `messages` and `largeMessages`.
    static func run() throws -> [BenchResult] {
        var results: [BenchResult] = []
        for count in [messages, largeMessages] {
            log("(y) loading \(count) lz4-compressed messages into \(memoryPartitions) partitions and capturing them")
            let (broker, bootstrap) = try startBroker(count: count, compression: "lz4")
            defer { broker.signal(SIGTERM); _ = broker.wait() }
            try checkLoaded(bootstrap, count: count)
            brokerStarts += 1
            let db = work + "/replay-\(brokerStarts).sqlite"
            let captured = try ChildProcess(spool, ["ingest", "--brokers", bootstrap, "--topic", "bench", "--db", db, "--quiet"]).wait()
            guard captured.status == 0 else { throw BenchError("spool ingest exited \(captured.status)") }
            if count == messages {
                log("(y) ConsumerManager from the broker alone, then from the capture alone")
                results.append(try poll(["bootstrap.servers": bootstrap], capture: nil, count: count, name: "y. replay poll, mock broker alone"))
                results.append(try poll([:], capture: db, count: count, name: "y. replay poll, capture alone"))
            }
            log("(y) spool replay --format jsonl > /dev/null, \(count) records")
            let child = try ChildProcess(spool, ["replay", db, "--topic", "bench", "--format", "jsonl", "--quiet"], stdoutPath: "/dev/null")
            let outcome = child.wait()
            guard outcome.status == 0 else { throw BenchError("spool replay exited \(outcome.status)") }
            results.append(BenchResult(name: "y. spool replay jsonl > /dev/null, \(ByteText.count(Int64(count)))", messages: count,
                                       seconds: outcome.seconds, peakBytes: outcome.peakBytes))
        }
        return results
    }

    /// Polls every record of "bench" through a `ConsumerManager` until live; checks the count.
    private static func poll(_ config: [String: String], capture path: String?, count: Int, name: String) throws -> BenchResult {
        var polled = 0
        let seconds = try timed {
            let manager = try path.map {
                try ConsumerManager(config: config, topics: [.fromEarliest("bench")], capture: SpoolCapture(path: $0), batchSize: batchSize, logger: quiet)
            } ?? ConsumerManager(config: config, topics: [.fromEarliest("bench")], cutoffMs: Int64.max, batchSize: batchSize,
                                 stopAtCutoff: true, logger: quiet)
            while !manager.isLive { polled += try manager.poll(timeoutMs: 100).count }
        }
        guard polled == count else { throw BenchError("\(name): released \(polled) of \(count)") }
        let result = BenchResult(name: name, messages: polled, seconds: seconds, peakBytes: nil)
        log("\(name): \(Int(result.rate)) msg/s")
        return result
    }
}
