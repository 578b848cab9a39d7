import SpoolModel
import SpoolStore

/// `spool status` over a folder of shard files: each shard's progress, and whether the files
/// cover the capture: every partition of every captured topic held by exactly one file, the
/// file of the shard that owns it, and every shard present once; and the restores recorded in
/// the files, each combined across them (a restore records a partition in the file holding it).
public struct ShardCoverage: Sendable {
    /// The files read (see `ShardSet`).
    public let shardSet: ShardSet
    /// The restores (`spool restore`) recorded in the files, combined by restore.
    public let restores: [RecordedRestore]

    /// The files, in the order given.
    public var files: [ShardSet.File] { shardSet.files }
    /// Every coverage problem, as a sentence naming the shard, file or partition.
    public var problems: [String] { shardSet.problems }

    /// Reads `paths`; `partitionCounts` (from the brokers, when asked) is each topic's real
    /// partition count, otherwise the highest partition any file holds tells it. Files that are
    /// not the shards of one capture (other clusters, counts, a shard twice, a file captured
    /// without --shard) are refused with `StoreError.notOneCapture`, as `spool merge` refuses them.
    public init(paths: [String], partitionCounts: [String: Int]? = nil) throws {
        shardSet = try ShardSet(paths: paths, partitionCounts: partitionCounts)
        try shardSet.requireOneCapture(allowIncomplete: true, flag: nil)
        var rows: [RestoreProgress] = []
        for file in shardSet.files {
            let store = try SpoolStore.openForReading(path: file.path)
            defer { store.close() }
            rows += try store.restores.progress()
        }
        restores = RecordedRestore.combining(rows)
    }

    /// The report as text: one line per file, the coverage verdict, then the restores.
    public func table() -> String {
        let rows = files.map { file -> [String] in
            [file.path, file.shard?.description ?? "-", String(file.partitions.count),
             ByteText.count(file.partitions.reduce(0) { $0 + $1.storedCount }),
             "\(file.partitions.filter(\.checkpoint.isLive).count)/\(file.partitions.count)",
             file.completeUntil.map { TimeText.iso8601($0) } ?? "unknown"]
        }
        var out = QueryOutputFormatter.table(header: ["file", "shard", "partitions", "stored", "live", "complete until"], rows: rows)
        let total = files.reduce(Int64(0)) { $0 + $1.partitions.reduce(0) { $0 + $1.storedCount } }
        out += "\n\(ByteText.count(total)) records in \(files.reduce(0) { $0 + $1.partitions.count }) partitions\n"
        if problems.isEmpty {
            out += "coverage: complete (every partition held by exactly one file, its owner's)\n"
        } else {
            out += "coverage: INCOMPLETE\n" + problems.map { "  \(TerminalText.safe($0))\n" }.joined()
        }
        return out + RecordedRestore.section(restores)
    }

    /// The report as one JSON object.
    public func json() -> String {
        JSONText.object([
            ("files", JSONText.array(files.map { file in
                JSONText.object([
                    ("path", JSONText.string(file.path)), ("shard", file.shard.map { JSONText.string($0.description) } ?? "null"),
                    ("partitions", String(file.partitions.count)),
                    ("stored", String(file.partitions.reduce(0) { $0 + $1.storedCount })),
                    ("live_partitions", String(file.partitions.filter(\.checkpoint.isLive).count)),
                    ("complete_until", JSONText.integer(file.completeUntil)),
                ])
            })),
            ("coverage_complete", problems.isEmpty ? "true" : "false"),
            ("problems", JSONText.array(problems.map(JSONText.string))),
            ("restores", JSONText.array(restores.map { $0.json() })),
        ]) + "\n"
    }
}
