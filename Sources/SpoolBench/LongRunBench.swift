@_spi(MockCluster) import KafkaReplay
import SpoolCLI
import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// (i) and (r): what a capture costs when left running. `BENCH_IDLE_SECONDS` (default 30) of an
/// idle `--follow` on 64 partitions, and `BENCH_SOAK_SECONDS` (default 600) of `--follow
/// --retain 1m` under a steady `BENCH_SOAK_RATE` records a second (default 2,000).
enum LongRunBench {
    /// One sample of the soak: when, resident and peak memory, and the database file's size.
    struct Sample {
        var seconds: Int
        var rssBytes: Int64
        var peakBytes: Int64
        var fileBytes: Int64
        var walBytes: Int64
    }

    /// CPU seconds an idle `spool ingest --follow` uses over the idle window.
    static func idleCPU() throws -> (cpuSeconds: Double, windowSeconds: Int) {
        let window = environment("BENCH_IDLE_SECONDS", 30)
        let cluster = try MockKafkaCluster(logger: quiet)
        try cluster.createTopic("idle", partitions: 64)
        try cluster.produce(topic: "idle", (0..<6_400).map { MockMessage(partition: Int32($0 % 64), key: nil, value: Array("v\($0)".utf8),
                                                                         timestamp: WallClock.nowMs()) })
        let child = try ChildProcess(spool, ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "idle", "--follow", "--quiet",
                                             "--db", work + "/idle.sqlite"])
        defer { child.signal(SIGTERM); _ = child.wait() }
        sleep(5)  // catch up with the 6,400 records and go live
        let before = child.cpuSeconds()
        sleep(UInt32(window))
        return (child.cpuSeconds() - before, window)
    }

    /// Memory and file size of a `--retain 1m` follow under steady traffic, sampled at minutes
    /// 1 and 5 and at the end (scaled to the soak's length when it is shorter).
    static func soak() throws -> [Sample] {
        let seconds = environment("BENCH_SOAK_SECONDS", 600), rate = environment("BENCH_SOAK_RATE", 2_000)
        let cluster = try MockKafkaCluster(logger: quiet)
        try cluster.createTopic("soak", partitions: 16)
        let db = work + "/soak.sqlite"
        let child = try ChildProcess(spool, ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "soak", "--follow", "--quiet",
                                             "--retain", "1m", "--db", db])
        defer { child.signal(SIGTERM); _ = child.wait() }
        let marks = Set([min(60, seconds), min(300, seconds), seconds])
        var samples: [Sample] = []
        var produced = 0
        let started = ContinuousClock.now
        for second in 1...seconds {
            for tick in 0..<10 {
                let count = rate / 10
                try cluster.produce(topic: "soak", (0..<count).map { index in
                    let value = Array("{\"seq\":\(produced + index),\"payload\":\"\(String(repeating: "x", count: 80))\"}".utf8)
                    return MockMessage(partition: Int32((produced + index) % 16), key: Array("key-\((produced + index) % 50_000)".utf8),
                                       value: value, timestamp: WallClock.nowMs())
                })
                produced += count
                let due = started + .milliseconds((second - 1) * 1_000 + (tick + 1) * 100)
                let now = ContinuousClock.now
                if due > now { usleep(UInt32((due - now).seconds * 1_000_000)) }
            }
            if marks.contains(second) {
                samples.append(Sample(seconds: second, rssBytes: ChildProcess.statusField("VmRSS:", of: child.pid),
                                      peakBytes: ChildProcess.statusField("VmHWM:", of: child.pid),
                                      fileBytes: fileSize(db), walBytes: fileSize(db + "-wal")))
                log("(r) at \(second) s: RSS \(ByteText.format(samples.last!.rssBytes)), file \(ByteText.format(samples.last!.fileBytes))")
            }
        }
        return samples
    }

    private static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
