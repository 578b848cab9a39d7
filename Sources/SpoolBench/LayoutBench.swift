import SpoolCLI
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (z): the capture's table layout (issue 23). Prints its rows as they are measured.
///
/// First SQLite alone (`SQLiteInsertBench`): the bench rows inserted into a fresh file in the
/// streams layout, in today's `messages` with `UNIQUE (topic, partition, offset)`, and appended
/// to a table with no index (the physical limit); each file's size is taken, then it is removed
/// and the disk synced, so the next measurement does not pay for its write-back. Then
/// `spool ingest` end to end from the embedded broker, and, when `BENCH_BASELINE_SPOOL` names an
/// older `spool` binary, the same ingest by that binary from the same broker; both again with
/// `--latest bench` for the latest-view query. Then the summary line, then each `LayoutQuery`
/// run 5 times through each binary's `spool query` on its own capture (medians). A failing
/// query is printed and the rest go on; `run` returns the failures.
/// `BENCH_LAYOUT_SQLITE_ONLY=1` stops after the SQLite-alone rows. The SQLite-alone files take
/// `BENCH_LAYOUT_PAGE_SIZE` (bytes, `PRAGMA page_size`; default `SpoolStore.pageSize`, what new
/// captures get) and
/// `BENCH_LAYOUT_CACHE_KIB` (the page cache, default Spool's 16384); `BENCH_LAYOUT_ORDER`
/// (comma-separated layout names, e.g. `uniqueIndex,streams`) picks the layouts and their order,
/// which is allowed only with `BENCH_LAYOUT_SQLITE_ONLY=1` (the rest needs all three).
enum LayoutBench {
    /// How many times each query runs on each capture.
    private static let queryRuns = 5

    /// One binary's captures of the bench data: the log, and the log with `--latest bench`.
    private struct Captures {
        let executable: String
        let who: String
        let log: BenchResult
        let logPath: String
        let keyed: BenchResult
        let keyedPath: String
    }

    /// Runs the row group; returns the failed queries (empty when all ran).
    static func run() throws -> [String] {
        let baselineSpool = try baselineExecutable()
        let sqliteOnly = environment("BENCH_LAYOUT_SQLITE_ONLY", 0) != 0
        let layouts = try layoutOrder()
        guard sqliteOnly || Set(layouts) == Set(SQLiteInsertBench.Layout.allCases) else {
            throw BenchError("BENCH_LAYOUT_ORDER may leave out layouts only with BENCH_LAYOUT_SQLITE_ONLY=1")
        }
        let (alone, aloneOpenToClose) = try sqliteAlone(layouts)
        if sqliteOnly {
            print("layout (z), SQLite alone: " + layoutRatios(alone))
            return []
        }
        log("(z) loading \(messages) messages into \(partitions(for: messages)) partitions")
        let (broker, bootstrap) = try startBroker(count: messages)
        defer { broker.signal(SIGTERM); _ = broker.wait() }
        try checkLoaded(bootstrap, count: messages)
        let new = try capture(bootstrap, executable: spool, who: "")
        let baseline = try baselineSpool.map { try capture(bootstrap, executable: $0, who: ", baseline binary") }
        print("z. file sizes: " + ([new] + (baseline.map { [$0] } ?? [])).map(sizes).joined(separator: "; "))
        print(summary(alone: alone, aloneOpenToClose: aloneOpenToClose, new: new.log, baseline: baseline?.log))
        return LayoutQuery.all(messages: messages, partitions: partitions(for: messages)).compactMap {
            timeQuery($0, new: new, baseline: baseline)
        }
    }

    // MARK: SQLite alone

    /// The SQLite-alone rows of each of `layouts`, measured in that order (each printed with its
    /// file's size): the transactions alone, and the whole job from opening the file to closing it.
    private static func sqliteAlone(_ layouts: [SQLiteInsertBench.Layout]) throws
        -> (transactions: [SQLiteInsertBench.Layout: BenchResult], openToClose: [SQLiteInsertBench.Layout: BenchResult]) {
        let chosen = try sqliteSettings()
        log("(z) generating \(messages) rows over \(partitions(for: messages)) partitions, \(batchSize) per transaction")
        let rows = InsertBenchRows(count: messages, partitions: partitions(for: messages), rowsPerTransaction: batchSize)
        var results: [SQLiteInsertBench.Layout: BenchResult] = [:], whole: [SQLiteInsertBench.Layout: BenchResult] = [:]
        for layout in layouts {
            // Unless BENCH_LAYOUT_PAGE_SIZE says otherwise, the page size new captures get.
            var settings = chosen
            if settings.pageSize == nil { settings.pageSize = SpoolStore.pageSize }
            let setup = "page size \(settings.pageSize.map(String.init) ?? "default"), cache \(settings.cacheKiB) KiB"
            log("(z) SQLite alone, \(layout.rawValue), \(setup)")
            let path = work + "/alone-\(layout.rawValue).sqlite"
            let outcome = try SQLiteInsertBench.run(layout, rows: rows, path: path, settings: settings)
            let result = BenchResult(name: "z. SQLite alone, \(describe(layout))", messages: outcome.rows, seconds: outcome.seconds, peakBytes: nil)
            printRow(result)
            let openToClose = BenchResult(name: "z. SQLite alone, \(describe(layout)), open to close", messages: outcome.rows,
                                          seconds: outcome.secondsOpenToClose, peakBytes: nil)
            printRow(openToClose)
            whole[layout] = openToClose
            print("z. file size, SQLite alone, \(describe(layout)): \(ByteText.format(fileBytes(path))) (\(fileBytes(path)) bytes; \(setup))")
            unlink(path)
            sync()
            results[layout] = result
        }
        return (results, whole)
    }

    /// The layouts `BENCH_LAYOUT_ORDER` names, in its order; all three when unset.
    private static func layoutOrder() throws -> [SQLiteInsertBench.Layout] {
        guard let value = getenv("BENCH_LAYOUT_ORDER").map({ String(cString: $0) }), !value.isEmpty else {
            return SQLiteInsertBench.Layout.allCases
        }
        return try value.split(separator: ",").map { name in
            guard let layout = SQLiteInsertBench.Layout(rawValue: String(name)) else {
                throw BenchError("BENCH_LAYOUT_ORDER: no layout \"\(name)\" (streams, uniqueIndex, appendOnly)")
            }
            return layout
        }
    }

    /// The SQLite-alone files' page size and cache from `BENCH_LAYOUT_PAGE_SIZE` and `BENCH_LAYOUT_CACHE_KIB`.
    private static func sqliteSettings() throws -> SQLiteInsertBench.Settings {
        let pageSize = environment("BENCH_LAYOUT_PAGE_SIZE", 0)
        guard pageSize == 0 || (512...65_536).contains(pageSize) && pageSize & (pageSize - 1) == 0 else {
            throw BenchError("BENCH_LAYOUT_PAGE_SIZE=\(pageSize) is not a power of two from 512 to 65536")
        }
        let cacheKiB = environment("BENCH_LAYOUT_CACHE_KIB", 16_384)
        guard cacheKiB > 0 else { throw BenchError("BENCH_LAYOUT_CACHE_KIB=\(cacheKiB) is not positive") }
        return SQLiteInsertBench.Settings(pageSize: pageSize == 0 ? nil : pageSize, cacheKiB: cacheKiB)
    }

    /// The row name's words for `layout`.
    private static func describe(_ layout: SQLiteInsertBench.Layout) -> String {
        switch layout {
        case .streams: return "streams layout (rowid = stream<<44|offset)"
        case .uniqueIndex: return "today's layout (UNIQUE(topic, partition, offset))"
        case .appendOnly: return "append only (no index)"
        }
    }

    /// "streams layout Z.ZZx of today's layout, append-only W.WWx" from the SQLite-alone rows
    /// (a ratio whose rows were not measured is left out).
    private static func layoutRatios(_ alone: [SQLiteInsertBench.Layout: BenchResult]) -> String {
        guard let today = alone[.uniqueIndex]?.rate else { return "no row of today's layout to compare with" }
        var parts: [String] = []
        if let streams = alone[.streams]?.rate { parts.append("streams layout \(BenchNumbers.hundredths(streams / today))x of today's layout") }
        if let append = alone[.appendOnly]?.rate { parts.append("append-only \(BenchNumbers.hundredths(append / today))x") }
        return parts.isEmpty ? "only today's layout measured" : parts.joined(separator: ", ")
    }

    // MARK: spool ingest

    /// The `spool` binary `BENCH_BASELINE_SPOOL` names, if set; throws when it is not executable.
    static func baselineExecutable() throws -> String? {
        guard let value = getenv("BENCH_BASELINE_SPOOL").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        guard access(value, X_OK) == 0 else { throw BenchError("BENCH_BASELINE_SPOOL=\(value) is not an executable file") }
        return value
    }

    /// `executable`'s two ingests of the broker's data (the log, then with `--latest bench`),
    /// each checked to store every message, printed as they finish.
    private static func capture(_ bootstrap: String, executable: String, who: String) throws -> Captures {
        let (log, logPath) = try ingestChecked(bootstrap, name: "z. spool ingest end to end\(who)", extra: [], executable: executable)
        let (keyed, keyedPath) = try ingestChecked(bootstrap, name: "z. spool ingest --latest bench (for query f)\(who)",
                                                   extra: ["--latest", "bench"], executable: executable)
        return Captures(executable: executable, who: who, log: log, logPath: logPath, keyed: keyed, keyedPath: keyedPath)
    }

    /// One `spool ingest` into a fresh file, checked to store all messages; printed, then the disk synced.
    private static func ingestChecked(_ bootstrap: String, name: String, extra: [String], executable: String) throws -> (BenchResult, String) {
        log("(\(name))")
        let run = try ingestIntoNewFile(bootstrap, extra: extra, executable: executable)
        let stored = try storedMessages(run.db, executable: executable)
        guard stored == messages else { throw BenchError("\(name) stored \(stored) of \(messages) messages") }
        let result = BenchResult(name: name, messages: stored, seconds: run.seconds, peakBytes: run.peakBytes)
        printRow(result)
        sync()
        return (result, run.db)
    }

    /// "spool ingest X, --latest Y" sizes of one binary's captures.
    private static func sizes(_ captures: Captures) -> String {
        "spool ingest\(captures.who) \(ByteText.format(fileBytes(captures.logPath))), --latest \(ByteText.format(fileBytes(captures.keyedPath)))"
    }

    /// The (z) summary line; the baseline part only with a baseline. Spool's ingest is compared
    /// with SQLite alone twice: with its transactions only, and with the whole job (opening to
    /// closing the file, as the ingest's own time runs).
    private static func summary(alone: [SQLiteInsertBench.Layout: BenchResult], aloneOpenToClose: [SQLiteInsertBench.Layout: BenchResult],
                                new: BenchResult, baseline: BenchResult?) -> String {
        let versusBaseline = baseline.map { "\(BenchNumbers.hundredths(new.rate / $0.rate))x of the baseline binary's ingest (target 1.3x); " } ?? ""
        let versusWhole = BenchNumbers.hundredths(new.rate / aloneOpenToClose[.streams]!.rate)
        return "layout (z): spool ingest \(BenchNumbers.hundredths(new.rate / alone[.streams]!.rate))x of SQLite alone's transactions on the "
            + "streams layout (target 0.9x), \(versusWhole)x of SQLite alone from opening the file to closing it; "
            + versusBaseline + layoutRatios(alone)
    }

    // MARK: queries

    /// Times `query` on the new capture and the baseline's, alternating, `queryRuns` times each;
    /// prints the medians or the failure. Returns a failure's description, nil when all ran.
    private static func timeQuery(_ query: LayoutQuery, new: Captures, baseline: Captures?) -> String? {
        log("(z) query \(query.label)")
        var newRuns = QueryRuns(), baselineRuns = QueryRuns()
        for _ in 0..<queryRuns {
            newRuns.add(executable: new.executable, file: file(of: query, in: new), sql: query.sql)
            if let baseline { baselineRuns.add(executable: baseline.executable, file: file(of: query, in: baseline), sql: query.baselineSQL) }
        }
        let letter = query.label.prefix { $0 != "." }
        var failures: [String] = []
        for (runs, whose) in [(newRuns, "the new build's capture"), (baselineRuns, "the baseline's capture")] {
            if let failure = runs.failure {
                print("z. query \(letter) failed on \(whose): \(failure)")
                failures.append("query \(letter) on \(whose)")
            }
        }
        if newRuns.median != nil || baselineRuns.median != nil {
            print(timingLine(query, new: newRuns, baseline: baseline == nil ? nil : baselineRuns))
        }
        return failures.isEmpty ? nil : failures.joined(separator: ", ")
    }

    /// The capture `query` reads from `captures`.
    private static func file(of query: LayoutQuery, in captures: Captures) -> String {
        query.capture == .log ? captures.logPath : captures.keyedPath
    }

    /// "z. query LABEL: new X ms, baseline Y ms (new/baseline R.RRx), medians of N runs"; a side
    /// that failed reads "failed".
    private static func timingLine(_ query: LayoutQuery, new: QueryRuns, baseline: QueryRuns?) -> String {
        var line = "z. query \(query.label): new \(new.medianText)"
        if let baseline {
            line += ", baseline \(baseline.medianText)"
            if let newMedian = new.median, let baselineMedian = baseline.median {
                line += " (new/baseline \(BenchNumbers.hundredths(newMedian / baselineMedian))x)"
            }
        }
        return line + ", medians of \(queryRuns) runs"
    }

    /// One query's runs on one capture: the wall seconds of each, or the first failure (after
    /// which it is not run again).
    private struct QueryRuns {
        var seconds: [Double] = []
        var failure: String?

        /// The median seconds, nil after a failure.
        var median: Double? { failure == nil && !seconds.isEmpty ? BenchNumbers.median(seconds) : nil }

        /// The median in milliseconds, or "failed".
        var medianText: String { median.map { "\(format($0 * 1_000)) ms" } ?? "failed" }

        /// Runs the query once more unless it has failed; keeps its seconds or its failure.
        mutating func add(executable: String, file: String, sql: String) {
            guard failure == nil else { return }
            do {
                seconds.append(try QueryProcess.run(executable, file: file, sql: sql).seconds)
            } catch {
                failure = "\(error)"
            }
        }
    }

    // MARK: output

    /// Prints a measured row as the other `BENCH_ONLY` groups do.
    private static func printRow(_ result: BenchResult) {
        print("\(result.name): \(ByteText.count(Int64(result.rate))) msg/s, \(format(result.seconds)) s, peak \(result.peakBytes.map { ByteText.format($0) } ?? "-")")
    }

    /// The size of `path` plus its `-wal` file, if any (0 when missing).
    private static func fileBytes(_ path: String) -> Int64 {
        [path, path + "-wal"].reduce(Int64(0)) { total, file in
            var info = stat()
            return total + (stat(file, &info) == 0 ? Int64(info.st_size) : 0)
        }
    }
}
