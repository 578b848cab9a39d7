// make bench: Spool's throughput and memory against plain librdkafka and plain SQLite inserts,
// all on the embedded broker (librdkafka's mock cluster, in a `spool dev-broker` process).
@_spi(MockCluster) import SpoolSampleData
@_spi(MockCluster) import KafkaReplay
import Logging
import SpoolCLI
import SpoolModel
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

func environment(_ name: String, _ fallback: Int) -> Int {
    getenv(name).flatMap { Int(String(cString: $0).replacing("_", with: "")) } ?? fallback
}

func log(_ text: String) {
    let line = "bench: \(text)\n"
    _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

let messages = environment("BENCH_MESSAGES", 2_000_000)
let largeMessages = environment("BENCH_LARGE_MESSAGES", messages * 5)
let perPartition = environment("BENCH_PER_PARTITION", 31_250)
let batchSize = environment("BENCH_BATCH_SIZE", 10_000)
let executable = realpath("/proc/self/exe", nil).map { String(cString: $0) } ?? CommandLine.arguments[0]
let binDirectory = String(executable[..<executable.lastIndex(of: "/")!])
let spool = binDirectory + "/spool"
var template = Array("/tmp/spool-bench-XXXXXX".utf8CString)
let work = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
let quiet: Logger = {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    return logger
}()

/// A counter for unique file names. `nonisolated(unsafe)`: the benchmark runs on one thread.
nonisolated(unsafe) var brokerStarts = 0
/// The memory comparison (e) keeps one partition count for both sizes; lz4-compressed batches
/// let the mock's 5 MiB per partition hold the larger backlog.
let memoryPartitions = environment("BENCH_MEMORY_PARTITIONS", 64)

func partitions(for count: Int) -> Int { max(1, (count + perPartition - 1) / perPartition) }

/// Starts `spool dev-broker` with `count` bench-shaped messages in topic "bench", and
/// `emptyTopics` created empty with as many partitions.
func startBroker(count: Int, compression: String = "none", shape: SampleData.Shape = .bench,
                 emptyTopics: [String] = []) throws -> (ChildProcess, String) {
    brokerStarts += 1
    let bootstrapFile = work + "/bootstrap-\(brokerStarts)"
    let partitionCount = compression == "none" ? partitions(for: count) : memoryPartitions
    let empty = emptyTopics.flatMap { ["--empty-topic", "\($0):\(partitionCount)"] }
    let broker = try ChildProcess(spool, ["dev-broker", "--brokers", "1", "--topic", "bench:\(partitionCount)", "--compression", compression,
                                          "--messages", String(count), "--shape", shape.rawValue, "--bootstrap-file", bootstrapFile] + empty,
                                  stdoutPath: "/dev/null")
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(600)
    while clock.now < deadline {
        if let text = TextFile.read(bootstrapFile) {
            let bootstrap = text.split(separator: "\n").first.map(String.init) ?? ""
            if !bootstrap.isEmpty { return (broker, bootstrap) }
        }
        usleep(50_000)
    }
    throw BenchError("the dev broker did not start within 600 s")
}

/// Checks the broker holds exactly `count` messages from offset 0 (the mock drops old data past 5 MiB).
func checkLoaded(_ bootstrap: String, count: Int) throws {
    let marks = try ClusterInspector.watermarks(config: ["bootstrap.servers": bootstrap], topics: ["bench"], logger: quiet).partitions
    let lows = marks.values.map(\.low)
    let total = marks.values.reduce(Int64(0)) { $0 + $1.high - $1.low }
    guard lows.allSatisfy({ $0 == 0 }), total == Int64(count) else {
        throw BenchError("the broker holds \(total) messages with low watermarks \(Set(lows).sorted()); expected \(count) from offset 0 (lower BENCH_PER_PARTITION)")
    }
}

func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start).seconds
}

/// Runs `spool ingest` of topic "bench" into a fresh database; returns the database's path and
/// the run's wall time and peak (throws unless it exits 0). `executable` is the `spool` binary to
/// run (by default the one next to this bench).
func ingestIntoNewFile(_ bootstrap: String, extra: [String] = [], executable: String = spool) throws -> (db: String, seconds: Double, peakBytes: Int64) {
    brokerStarts += 1
    let db = work + "/ingest-\(brokerStarts).sqlite"
    let child = try ChildProcess(executable, ["ingest", "--brokers", bootstrap, "--topic", "bench", "--db", db, "--quiet",
                                              "--batch-size", String(batchSize)] + extra)
    let outcome = child.wait()
    guard outcome.status == 0 else { throw BenchError("\(executable == spool ? "spool" : executable) ingest exited \(outcome.status)") }
    return (db, outcome.seconds, outcome.peakBytes)
}

/// How many messages of topic "bench" the capture `db` holds. A file written by another `spool`
/// binary is counted by that binary's `spool query` (its layout may not be this build's).
func storedMessages(_ db: String, executable: String = spool) throws -> Int {
    if executable == spool { return Int(try SpoolStore.openForReading(path: db).messageCounts()["bench"] ?? 0) }
    let counted = try QueryProcess.run(executable, file: db, sql: "SELECT count(*) FROM messages WHERE topic = 'bench'")
    guard let count = Int(counted.rows[0]) else { throw BenchError("\(executable) query printed '\(counted.rows[0])', not a count") }
    return count
}

/// Runs `spool ingest` end to end into a fresh database; returns the result and the stored count.
func ingest(_ bootstrap: String, name: String, extra: [String] = [], executable: String = spool) throws -> BenchResult {
    let run = try ingestIntoNewFile(bootstrap, extra: extra, executable: executable)
    let stored = try storedMessages(run.db, executable: executable)
    return BenchResult(name: name, messages: stored, seconds: run.seconds, peakBytes: run.peakBytes)
}

func run() throws -> [BenchResult] {
    var results: [BenchResult] = []
    log("loading \(messages) messages into \(partitions(for: messages)) partitions (16-byte keys, every 10th null; 100-byte values)")
    let (broker, bootstrap) = try startBroker(count: messages)
    defer { broker.signal(SIGTERM); _ = broker.wait() }
    try checkLoaded(bootstrap, count: messages)
    let config = ["bootstrap.servers": bootstrap]

    log("(a) plain librdkafka consume loop")
    let plain = try timed { _ = try BaselineConsumer.consume(config: config, topics: ["bench"], messages: messages, logger: quiet) }
    results.append(BenchResult(name: "a. librdkafka consume loop (Swift, copies bytes)", messages: messages, seconds: plain, peakBytes: nil))

    log("(b) ConsumerManager poll-only")
    var polled = 0
    let ordered = try timed {
        let manager = try ConsumerManager(config: config, topics: [.fromEarliest("bench")], cutoffMs: Int64.max,
                                          batchSize: batchSize, stopAtCutoff: true, logger: quiet)
        while !manager.isLive { polled += try manager.poll(timeoutMs: 100).count }
    }
    guard polled == messages else { throw BenchError("ConsumerManager released \(polled) of \(messages)") }
    results.append(BenchResult(name: "b. ConsumerManager poll (ordering, no SQLite)", messages: polled, seconds: ordered, peakBytes: nil))

    log("(c) SQLite insert through the store's write path")
    results.append(try insertOnly(shape: .bench, name: "c. SQLite insert alone (store write path)"))

    log("(d) spool ingest end to end")
    let endToEnd = try ingest(bootstrap, name: "d. spool ingest end to end")
    guard endToEnd.messages == messages else { throw BenchError("spool ingest stored \(endToEnd.messages) of \(messages)") }
    results.append(endToEnd)

    log("startup: spool ingest of the first 100 messages per partition")
    let firstBatch = try ingest(bootstrap, name: "startup to first stored batch",
                                extra: ["--until", String(1_700_000_000_000 + 100 * partitions(for: messages))])
    results.append(firstBatch)
    return results
}

/// (c), or (c) with headers: the store's write path alone, batches built from sample data.
func insertOnly(shape: SampleData.Shape, name: String) throws -> BenchResult {
    brokerStarts += 1
    let store = try SpoolStore.openForWriting(path: work + "/insert-only-\(brokerStarts).sqlite")
    let partitionCount = partitions(for: messages)
    var generator = SampleData(shape: shape, topic: "bench", partitions: Int32(partitionCount), total: messages, nowMs: 0)
    var released = [Int64](repeating: -1, count: partitionCount)
    var insertSeconds = 0.0
    var written = 0
    while !generator.isDone {
        let chunk = generator.next(batchSize)
        var rows: [Message] = []
        rows.reserveCapacity(chunk.count)
        for message in chunk {
            let p = Int(message.partition)
            released[p] += 1
            rows.append(Message(key: message.key, value: message.value, topic: "bench", partition: message.partition,
                                offset: released[p], timestamp: message.timestamp, headers: message.headers))
        }
        let batch = MessageBatch(rows)
        let checkpoints = (0..<partitionCount).map { p in
            PartitionState(topicPartition: TopicPartition(topic: "bench", partition: Int32(p)),
                           range: ReplayRange(start: 0, end: Int64(messages / partitionCount)),
                                consumedOffset: released[p], releasedOffset: released[p], lastConsumedTimestamp: nil,
                                isLive: false, isPaused: false)
        }
        insertSeconds += try timed { try store.write(batch: batch, checkpoints: checkpoints, completeUntil: nil) }
        written += batch.count
    }
    store.close()
    return BenchResult(name: name, messages: written, seconds: insertSeconds, peakBytes: nil)
}

/// (e): `spool ingest` at both sizes with the same partition count and lz4 batches; (h): the
/// same with three headers per record.
func runMemory(count: Int, shape: SampleData.Shape = .bench) throws -> BenchResult {
    let label = shape == .bench ? "e" : "h"
    log("(\(label)) loading \(count) lz4-compressed \(shape.rawValue) messages into \(memoryPartitions) partitions")
    let (broker, bootstrap) = try startBroker(count: count, compression: "lz4", shape: shape)
    defer { broker.signal(SIGTERM); _ = broker.wait() }
    try checkLoaded(bootstrap, count: count)
    log("(\(label)) spool ingest of \(count) messages")
    let what = shape == .bench ? "" : ", 3 headers each"
    let result = try ingest(bootstrap, name: "\(label). spool ingest, lz4, \(ByteText.count(Int64(count))) backlog\(what)")
    guard result.messages == count else { throw BenchError("spool ingest stored \(result.messages) of \(count)") }
    return result
}

/// Starts `Tests/tools/schema_registry.py` (standard library only) with `state` as its state
/// file (by default `BenchAvroRecord.schema` registered as its id); returns the process and the
/// registry's URL.
func startRegistry(state given: String? = nil) throws -> (ChildProcess, String) {
    let root = String(binDirectory[..<binDirectory.range(of: "/.build")!.lowerBound])
    let stateFile = work + "/registry-state.json", readyFile = work + "/registry-ready.json"
    let schema = String(decoding: JSONText.string(BenchAvroRecord.schema).utf8, as: UTF8.self)
    let state = given ?? "{\"schemas\":[{\"id\":\(BenchAvroRecord.schemaID),\"schema\":\(schema),\"schemaType\":\"AVRO\"}],"
        + "\"subjects\":{\"bench-value\":[{\"version\":1,\"id\":\(BenchAvroRecord.schemaID)}]}}"
    // A ready file left by an earlier registry of this run names a port nobody serves any more.
    _ = unlink(readyFile)
    guard let file = fopen(stateFile, "w") else { throw BenchError("cannot write \(stateFile)") }
    fputs(state, file)
    fclose(file)
    let registry = try ChildProcess("/usr/bin/env", ["python3", root + "/Tests/tools/schema_registry.py", "--port", "0",
                                                     "--state-file", stateFile, "--ready-file", readyFile],
                                    stdoutPath: "/dev/null")
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(30)
    while clock.now < deadline {
        if let text = TextFile.read(readyFile) {
            if let port = text.split(whereSeparator: { !$0.isNumber }).first { return (registry, "http://127.0.0.1:\(port)") }
        }
        usleep(50_000)
    }
    registry.signal(SIGKILL)
    throw BenchError("the schema registry did not start within 30 s")
}

/// (s): 2M Confluent-framed Avro records, lz4, ingested raw and with `--schema-registry`, from
/// one broker so the two rates compare.
func runAvro() throws -> [BenchResult] {
    log("(s) loading \(messages) Avro lz4-compressed messages into \(memoryPartitions) partitions")
    let (broker, bootstrap) = try startBroker(count: messages, compression: "lz4", shape: .benchAvro)
    defer { broker.signal(SIGTERM); _ = broker.wait() }
    try checkLoaded(bootstrap, count: messages)
    let (registry, url) = try startRegistry()
    defer { registry.signal(SIGTERM); _ = registry.wait() }
    var results: [BenchResult] = []
    for (label, extra) in [("raw (not decoded)", [String]()), ("--schema-registry (decoded)", ["--schema-registry", url])] {
        log("(s) spool ingest, \(label)")
        let result = try ingest(bootstrap, name: "s. 10-field Avro records, \(label)", extra: extra)
        guard result.messages == messages else { throw BenchError("spool ingest stored \(result.messages) of \(messages)") }
        results.append(result)
    }
    return results
}

func format(_ value: Double) -> String { ByteText.oneDecimal(value) }

/// Prints the (i) and (r) lines.
func printLongRun(idle: (cpuSeconds: Double, windowSeconds: Int), soak: [LongRunBench.Sample]) {
    print("idle (i): \(format(idle.cpuSeconds)) CPU seconds in \(idle.windowSeconds) s of idle --follow on 64 partitions = \(format(idle.cpuSeconds / Double(idle.windowSeconds) * 100))% of a core (target < 1%)")
    print("retention (r): --follow --retain 1m at \(environment("BENCH_SOAK_RATE", 2_000)) records/s: " + soak.map {
        "at \($0.seconds) s RSS \(ByteText.format($0.rssBytes)) (peak \(ByteText.format($0.peakBytes))), file \(ByteText.format($0.fileBytes)) + WAL \(ByteText.format($0.walBytes))"
    }.joined(separator: "; "))
}

/// Runs `body` when `BENCH_ONLY` is `name`, then removes the work folder and exits: 1 when
/// `body` threw or returned failures (both logged), else 0. The folder goes first because
/// `exit()` runs no `defer`.
func runOnly(_ name: String, _ body: () throws -> [String]) {
    guard let only = getenv("BENCH_ONLY"), String(cString: only) == name else { return }
    var status: Int32 = 0
    do {
        let failures = try body()
        if !failures.isEmpty {
            log("failed: \(failures.joined(separator: "; "))")
            status = 1
        }
    } catch {
        log("failed: \(error)")
        status = 1
    }
    _ = system("rm -rf '\(work)'")
    exit(status)
}

/// Prints each result's rate, seconds and peak on a line of its own.
func printRates(_ results: [BenchResult]) {
    for result in results {
        print("\(result.name): \(ByteText.count(Int64(result.rate))) msg/s, \(format(result.seconds)) s, peak \(result.peakBytes.map { ByteText.format($0) } ?? "-")")
    }
}

// BENCH_ONLY=shards runs just (p).
runOnly("shards") {
    printRates(try ShardBench.run())
    return []
}

// BENCH_ONLY=replay runs just (y).
runOnly("replay") {
    let replayed = try ReplayBench.run()
    printRates(replayed)
    print("replay (y): capture alone \(format(replayed[1].rate / replayed[0].rate))x the mock broker alone (target 2x)")
    return []
}

// BENCH_ONLY=protobuf runs just (t).
runOnly("protobuf") {
    let protobuf = try ProtobufBench.run()
    printRates(protobuf)
    print("protobuf (t): decoded \(format(protobuf[1].rate / protobuf[0].rate))x of raw (target 0.5x), peak RSS \(protobuf[1].peakBytes.map { ByteText.format($0) } ?? "?") (target <= 200 MB)")
    return []
}

// BENCH_ONLY=restore runs just (w).
runOnly("restore") {
    let restored = try RestoreBench.run()
    printRates(restored)
    print(RestoreBench.summary(restored))
    return []
}

// BENCH_ONLY=layout runs just (z).
runOnly("layout") { try LayoutBench.run() }

// BENCH_ONLY=keyed runs just (k).
runOnly("keyed") {
    let keyed = try KeyedBench.run()
    printRates(keyed.spool + keyed.sqliteAlone)
    print(KeyedBench.summary(keyed))
    return []
}

// BENCH_ONLY=long runs just the long-running rows (i) and (r).
runOnly("long") {
    log("(i) idle --follow on 64 partitions")
    let idle = try LongRunBench.idleCPU()
    log("(r) --follow --retain 1m under steady traffic")
    printLongRun(idle: idle, soak: try LongRunBench.soak())
    return []
}

do {
    defer { _ = system("rm -rf '\(work)'") }
    var results = try run()
    let smallMemory = try runMemory(count: messages)
    let large = try runMemory(count: largeMessages)
    results.append(smallMemory)
    results.append(large)
    log("(c) with three headers per record")
    let insertHeaders = try insertOnly(shape: .benchHeaders, name: "c. SQLite insert alone, 3 headers each")
    let withHeaders = try runMemory(count: messages, shape: .benchHeaders)
    results.append(insertHeaders)
    results.append(withHeaders)
    let keyed = try KeyedBench.run()
    results += keyed.spool + keyed.sqliteAlone
    let avro = try runAvro()
    results += avro
    let protobuf = try ProtobufBench.run()
    results += protobuf
    let sharded = try ShardBench.run()
    results += sharded
    let replayed = try ReplayBench.run()
    results += replayed
    let restored = try RestoreBench.run()
    results += restored
    log("(i) idle --follow on 64 partitions")
    let idle = try LongRunBench.idleCPU()
    log("(r) --follow --retain 1m under steady traffic")
    let soak = try LongRunBench.soak()
    let baseline = results[0].rate
    let sqlite = results[2].rate
    var rows: [[String]] = []
    for result in results {
        rows.append([result.name, ByteText.count(Int64(result.messages)), format(result.seconds),
                     ByteText.count(Int64(result.rate)), format(result.rate / baseline) + "x", format(result.rate / sqlite) + "x",
                     result.peakBytes.map { ByteText.format($0) } ?? "-"])
    }
    print(QueryOutputFormatter.table(header: ["measurement", "messages", "seconds", "msg/s", "vs a", "vs c", "peak RSS"], rows: rows), terminator: "")
    let growth = Double(large.peakBytes ?? 0) / Double(max(smallMemory.peakBytes ?? 1, 1)) - 1
    print("memory growth from \(ByteText.count(Int64(messages))) to \(ByteText.count(Int64(largeMessages))) messages (e, same partitions): \(format(growth * 100))%")
    print("targets: ingest >= 250,000 msg/s and <= 200 MB; poll-only >= 600,000 msg/s; memory within 10%; startup < 1 s")
    print(KeyedBench.summary(keyed))
    print("avro (s): decoded \(format(avro[1].rate / avro[0].rate))x of raw (target 0.5x), peak RSS \(avro[1].peakBytes.map { ByteText.format($0) } ?? "?") (target <= 200 MB)")
    print("protobuf (t): decoded \(format(protobuf[1].rate / protobuf[0].rate))x of raw (target 0.5x), peak RSS \(protobuf[1].peakBytes.map { ByteText.format($0) } ?? "?") (target <= 200 MB)")
    printLongRun(idle: idle, soak: soak)
    print("replay (y): capture alone \(format(replayed[1].rate / replayed[0].rate))x the mock broker alone (target 2x); spool replay jsonl peak RSS \(replayed[2].peakBytes.map { ByteText.format($0) } ?? "?") at \(ByteText.count(Int64(messages))), \(replayed[3].peakBytes.map { ByteText.format($0) } ?? "?") at \(ByteText.count(Int64(largeMessages))) (target <= 150 MB)")
    print(RestoreBench.summary(restored))
    print("shards (p): 2 shards at once \(format(sharded[1].rate / sharded[0].rate))x the aggregate rate of 1 on this \(sysconf(Int32(_SC_NPROCESSORS_ONLN)))-core machine")
    let json = JSONText.object([
        ("machine_cores", String(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
        ("messages", String(messages)),
        ("large_messages", String(largeMessages)),
        ("batch_size", String(batchSize)),
        ("plain_consume_per_s", String(Int(results[0].rate))),
        ("poll_only_per_s", String(Int(results[1].rate))),
        ("sqlite_insert_per_s", String(Int(results[2].rate))),
        ("ingest_per_s", String(Int(results[3].rate))),
        ("ingest_peak_rss_bytes", JSONText.integer(results[3].peakBytes)),
        ("startup_to_first_batch_s", JSONText.number(results[4].seconds)),
        ("memory_run_peak_rss_bytes", JSONText.integer(smallMemory.peakBytes)),
        ("large_ingest_per_s", String(Int(large.rate))),
        ("large_ingest_peak_rss_bytes", JSONText.integer(large.peakBytes)),
        ("memory_growth_ratio", JSONText.number(growth)),
        ("sqlite_insert_headers_per_s", String(Int(insertHeaders.rate))),
        ("ingest_lz4_per_s", String(Int(smallMemory.rate))),
        ("ingest_lz4_headers_per_s", String(Int(withHeaders.rate))),
        ("ingest_lz4_headers_peak_rss_bytes", JSONText.integer(withHeaders.peakBytes)),
        ("keyed_log_only_per_s", String(Int(keyed.spool[0].rate))),
        ("keyed_latest_per_s", String(Int(keyed.spool[1].rate))),
        ("keyed_latest_only_per_s", String(Int(keyed.spool[2].rate))),
        ("keyed_latest_ratio", JSONText.number(keyed.spool[1].rate / keyed.spool[0].rate)),
        ("keyed_latest_only_ratio", JSONText.number(keyed.spool[2].rate / keyed.spool[0].rate)),
        ("keyed_sqlite_alone_pointers_ratio", JSONText.number(keyed.sqliteAlone[1].rate / keyed.sqliteAlone[0].rate)),
        ("keyed_sqlite_alone_values_ratio", JSONText.number(keyed.sqliteAlone[2].rate / keyed.sqliteAlone[0].rate)),
        ("avro_raw_per_s", String(Int(avro[0].rate))),
        ("avro_decoded_per_s", String(Int(avro[1].rate))),
        ("avro_decoded_ratio", JSONText.number(avro[1].rate / avro[0].rate)),
        ("avro_decoded_peak_rss_bytes", JSONText.integer(avro[1].peakBytes)),
        ("protobuf_raw_per_s", String(Int(protobuf[0].rate))),
        ("protobuf_decoded_per_s", String(Int(protobuf[1].rate))),
        ("protobuf_decoded_ratio", JSONText.number(protobuf[1].rate / protobuf[0].rate)),
        ("protobuf_decoded_peak_rss_bytes", JSONText.integer(protobuf[1].peakBytes)),
        ("one_shard_per_s", String(Int(sharded[0].rate))),
        ("two_shards_per_s", String(Int(sharded[1].rate))),
        ("replay_broker_poll_per_s", String(Int(replayed[0].rate))),
        ("replay_capture_poll_per_s", String(Int(replayed[1].rate))),
        ("replay_jsonl_per_s", String(Int(replayed[2].rate))),
        ("replay_jsonl_peak_rss_bytes", JSONText.integer(replayed[2].peakBytes)),
        ("replay_jsonl_large_per_s", String(Int(replayed[3].rate))),
        ("replay_jsonl_large_peak_rss_bytes", JSONText.integer(replayed[3].peakBytes)),
        ("restore_loop_per_s", String(Int(restored[0].rate))),
        ("restore_per_s", String(Int(restored[1].rate))),
        ("restore_ratio", JSONText.number(restored[1].rate / restored[0].rate)),
        ("restore_peak_rss_bytes", JSONText.integer(restored[1].peakBytes)),
        ("restore_setup_s", JSONText.number(restored[2].seconds)),
        ("idle_cpu_seconds", JSONText.number(idle.cpuSeconds)),
        ("idle_window_seconds", String(idle.windowSeconds)),
        ("soak_samples", JSONText.array(soak.map {
            JSONText.object([("seconds", String($0.seconds)), ("rss_bytes", String($0.rssBytes)), ("peak_rss_bytes", String($0.peakBytes)),
                             ("file_bytes", String($0.fileBytes)), ("wal_bytes", String($0.walBytes))])
        })),
    ])
    print(json)
} catch {
    log("failed: \(error)")
    exit(1)
}
