@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolSampleData
import SpoolCLI
import SpoolModel
import SpoolStore
#if canImport(Glibc)
import Glibc
#endif

/// (t): 2M Confluent-framed Protobuf records (`BenchProtobufRecord`, lz4, 64 partitions)
/// ingested raw and with `--schema-registry` (decoded), from one broker so the rates compare.
///
/// `BENCH_PROTOBUF_PAIRS` (default 1) runs that many raw/decoded pairs in turn and reports the
/// median wall time of each, as the machine is noisy. The decoded database is checked to hold
/// every record decoded, so a run that left records pending cannot pass for a fast one.
enum ProtobufBench {
    /// The raw and the decoded result (medians over the pairs; the largest peak of each).
    static func run() throws -> [BenchResult] {
        log("(t) loading \(messages) Protobuf lz4-compressed messages into \(memoryPartitions) partitions")
        let (broker, bootstrap) = try startBroker(count: messages, compression: "lz4", shape: .benchProtobuf)
        defer { broker.signal(SIGTERM); _ = broker.wait() }
        try checkLoaded(bootstrap, count: messages)
        let (registry, url) = try startRegistry(state: registryState)
        defer { registry.signal(SIGTERM); _ = registry.wait() }
        let pairs = max(1, environment("BENCH_PROTOBUF_PAIRS", 1))
        var raw: [(seconds: Double, peak: Int64)] = [], decoded: [(seconds: Double, peak: Int64)] = []
        for pair in 1...pairs {
            log("(t) pair \(pair) of \(pairs): spool ingest, raw (not decoded)")
            raw.append(try ingestOnce(bootstrap, extra: [], expectDecoded: false))
            log("(t) pair \(pair) of \(pairs): spool ingest, --schema-registry (decoded)")
            decoded.append(try ingestOnce(bootstrap, extra: ["--schema-registry", url], expectDecoded: true))
        }
        func median(_ runs: [(seconds: Double, peak: Int64)]) -> Double {
            let sorted = runs.map(\.seconds).sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let what = pairs > 1 ? ", median of \(pairs)" : ""
        return [
            BenchResult(name: "t. 10-field Protobuf records, raw (not decoded)\(what)", messages: messages, seconds: median(raw),
                        peakBytes: raw.map(\.peak).max()),
            BenchResult(name: "t. 10-field Protobuf records, --schema-registry (decoded)\(what)", messages: messages,
                        seconds: median(decoded), peakBytes: decoded.map(\.peak).max()),
        ]
    }

    /// The registry's state file: `BenchProtobufRecord`'s schema as its id, with the `.proto`
    /// text and the serialized descriptor a producer registers (answered for `?format=serialized`).
    static var registryState: String {
        "{\"schemas\":[{\"id\":\(BenchProtobufRecord.schemaID),\"schema\":\(JSONText.string(BenchProtobufRecord.proto)),"
            + "\"schemaType\":\"PROTOBUF\",\"serialized\":\"\(BenchProtobufRecord.serializedDescriptorBase64)\"}],"
            + "\"subjects\":{\"bench-value\":[{\"version\":1,\"id\":\(BenchProtobufRecord.schemaID)}]}}"
    }

    /// One `spool ingest` of the whole topic into a fresh database: its wall time and peak;
    /// checks every record was stored and, with `expectDecoded`, decoded.
    private static func ingestOnce(_ bootstrap: String, extra: [String], expectDecoded: Bool) throws -> (seconds: Double, peak: Int64) {
        let (db, seconds, peakBytes) = try ingestIntoNewFile(bootstrap, extra: extra)
        let store = try SpoolStore.openForReading(path: db)
        let stored = try store.messageCounts()["bench"] ?? 0
        guard stored == Int64(messages) else { throw BenchError("spool ingest stored \(stored) of \(messages)") }
        if expectDecoded {
            let status = try store.decoding.status().first
            guard status?.decoded == Int64(messages) else {
                throw BenchError("the decoded run decoded \(status?.decoded ?? 0) of \(messages) (\(status?.pending ?? 0) pending, "
                    + "\(status?.failed ?? 0) failed: \(status?.firstError ?? "-"))")
            }
        }
        store.close()
        for file in [db, db + "-wal", db + "-shm"] { _ = unlink(file) }
        return (seconds, peakBytes)
    }
}
