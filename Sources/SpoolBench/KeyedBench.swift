@_spi(MockCluster) import SpoolSampleData
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (k): 2M records over 100,000 keys with 5% tombstones (`--shape bench-keyed`, lz4), ingested
/// as a log only, with `--latest` and with `--latest-only`, from one broker so the three rates
/// compare; with `BENCH_BASELINE_SPOOL`, the same three by that binary. Then SQLite alone on the
/// same rows (`SQLiteInsertBench.runKeyed`: the log, the log with the pointer table, the values
/// table alone), the ceiling of each ratio on this machine.
enum KeyedBench {
    /// What the group measured: Spool's runs (three, or six with a baseline binary) and SQLite
    /// alone's three.
    struct Results {
        let spool: [BenchResult]
        let sqliteAlone: [BenchResult]
    }

    /// Runs the group.
    static func run() throws -> Results {
        Results(spool: try spoolRuns(), sqliteAlone: try sqliteAloneRuns())
    }

    private static func spoolRuns() throws -> [BenchResult] {
        log("(k) loading \(messages) keyed lz4-compressed messages into \(memoryPartitions) partitions")
        let (broker, bootstrap) = try startBroker(count: messages, compression: "lz4", shape: .benchKeyed)
        defer { broker.signal(SIGTERM); _ = broker.wait() }
        try checkLoaded(bootstrap, count: messages)
        var results: [BenchResult] = []
        let binaries = [(spool, "")] + ((try? LayoutBench.baselineExecutable()).flatMap { $0 }.map { [($0, ", baseline binary")] } ?? [])
        for (binary, who) in binaries {
            for (label, extra) in [("log only", [String]()), ("--latest", ["--latest", "bench"]), ("--latest-only", ["--latest-only", "bench"])] {
                log("(k) spool ingest, \(label)\(who)")
                // A --latest-only run stores no log rows; each rate counts the records read.
                let run = try ingestIntoNewFile(bootstrap, extra: extra, executable: binary)
                results.append(BenchResult(name: "k. 100k keys, 5% tombstones, \(label)\(who)", messages: messages, seconds: run.seconds,
                                           peakBytes: run.peakBytes))
            }
        }
        return results
    }

    /// SQLite alone on the keyed rows, one fresh file per way of keeping the table.
    private static func sqliteAloneRuns() throws -> [BenchResult] {
        log("(k) generating \(messages) keyed rows over \(memoryPartitions) partitions, \(batchSize) per transaction")
        let rows = InsertBenchRows(count: messages, partitions: memoryPartitions, rowsPerTransaction: batchSize, keyed: true)
        return try SQLiteInsertBench.KeyedTable.allCases.map { table in
            log("(k) SQLite alone, \(table.rawValue)")
            let path = work + "/keyed-alone-\(table.rawValue).sqlite"
            let outcome = try SQLiteInsertBench.runKeyed(table, rows: rows, path: path)
            for file in [path, path + "-wal", path + "-shm"] { unlink(file) }
            sync()
            return BenchResult(name: "k. SQLite alone, \(describe(table))", messages: outcome.rows, seconds: outcome.seconds, peakBytes: nil)
        }
    }

    private static func describe(_ table: SQLiteInsertBench.KeyedTable) -> String {
        switch table {
        case .logOnly: "log only"
        case .pointers: "log + latest_keys pointers (as --latest)"
        case .valuesOnly: "latest_values alone (as --latest-only)"
        }
    }

    /// The (k) summary lines: Spool's ratios to its log only against the targets and against
    /// SQLite alone's ratios on the same rows; the baseline binary's when it ran.
    static func summary(_ results: Results) -> String {
        let spool = results.spool, alone = results.sqliteAlone
        var lines = ["keyed (k): --latest \(format(spool[1].rate / spool[0].rate))x and --latest-only \(format(spool[2].rate / spool[0].rate))x "
            + "of log only (targets 0.6x, 0.8x); SQLite alone on the same rows: pointers \(format(alone[1].rate / alone[0].rate))x "
            + "and values alone \(format(alone[2].rate / alone[0].rate))x of its log only"]
        if spool.count == 6 {
            lines.append("keyed (k), baseline binary: --latest \(format(spool[4].rate / spool[3].rate))x and --latest-only "
                + "\(format(spool[5].rate / spool[3].rate))x of its log only; new/baseline: log only \(format(spool[0].rate / spool[3].rate))x, "
                + "--latest \(format(spool[1].rate / spool[4].rate))x, --latest-only \(format(spool[2].rate / spool[5].rate))x")
        }
        return lines.joined(separator: "\n")
    }
}
