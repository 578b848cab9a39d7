import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (p): the aggregate rate of `spool ingest` as 1 shard and as 2 shards (`--shard 0/2` and
/// `--shard 1/2` at once, one file each) on the same data. On this 2-core machine two writers
/// share the cores; the point of shards is spreading over machines, not this one.
enum ShardBench {
    /// The 1-shard and 2-shard results (messages stored in all files, wall seconds, the
    /// largest single process's peak).
    static func run() throws -> [BenchResult] {
        log("(p) loading \(messages) lz4-compressed messages into \(memoryPartitions) partitions")
        let (broker, bootstrap) = try startBroker(count: messages, compression: "lz4")
        defer { broker.signal(SIGTERM); _ = broker.wait() }
        try checkLoaded(bootstrap, count: messages)
        var results: [BenchResult] = []
        for shards in [1, 2] {
            log("(p) \(shards) shard(s)")
            brokerStarts += 1
            let files = (0..<shards).map { work + "/shard-\(brokerStarts)-\($0).sqlite" }
            let started = ContinuousClock.now
            let children = try files.enumerated().map { index, file in
                try ChildProcess(spool, ["ingest", "--brokers", bootstrap, "--topic", "bench", "--db", file, "--quiet",
                                         "--batch-size", String(batchSize)] + (shards > 1 ? ["--shard", "\(index)/\(shards)"] : []))
            }
            let outcomes = children.map { $0.wait() }
            let seconds = (ContinuousClock.now - started).seconds
            guard outcomes.allSatisfy({ $0.status == 0 }) else { throw BenchError("a shard's spool ingest failed") }
            let stored = try files.reduce(Int64(0)) { $0 + (try SpoolStore.openForReading(path: $1).messageCounts()["bench"] ?? 0) }
            guard stored == Int64(messages) else { throw BenchError("\(shards) shard(s) stored \(stored) of \(messages)") }
            results.append(BenchResult(name: "p. \(shards) shard(s) at once, aggregate", messages: messages, seconds: seconds,
                                       peakBytes: outcomes.map(\.peakBytes).max()))
        }
        return results
    }
}
