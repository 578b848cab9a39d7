import SpoolModel
import SpoolStore

/// `spool status` over a folder of shard files: each shard's progress, and whether the files
/// cover the capture: every partition of every captured topic held by exactly one file, the
/// file of the shard that owns it, and every shard present once.
public struct ShardCoverage: Sendable {
    /// One file's summary.
    public struct File: Sendable {
        /// The file.
        public var path: String
        /// Its shard, nil for a file captured without --shard.
        public var shard: ShardSpec?
        /// Its partitions' stored state.
        public var partitions: [StoredPartition]
        /// How far it is complete.
        public var completeUntil: Int64?
    }

    /// The files, in the order given.
    public var files: [File]
    /// Every coverage problem, as a sentence naming the shard, file or partition.
    public var problems: [String]

    /// Reads `paths`; `partitionCounts` (from the brokers, when asked) is each topic's real
    /// partition count, otherwise the highest partition any file holds tells it.
    public init(paths: [String], partitionCounts: [String: Int]? = nil) throws {
        files = try paths.map { path in
            let store = try SpoolStore.openForReading(path: path)
            defer { store.close() }
            return File(path: path, shard: try store.shardSpec(), partitions: try store.storedPartitions(),
                        completeUntil: try store.completeUntil())
        }
        problems = Self.problems(files, partitionCounts: partitionCounts)
    }

    private static func problems(_ files: [File], partitionCounts: [String: Int]?) -> [String] {
        var problems: [String] = []
        let specs = files.compactMap(\.shard)
        for file in files where file.shard == nil { problems.append("\(file.path) is not a shard's file (captured without --shard)") }
        guard let count = specs.first?.count else { return problems + ["no shard files"] }
        for file in files where file.shard.map({ $0.count != count }) ?? false {
            problems.append("\(file.path) is shard \(file.shard!), the others are shards of \(count)")
        }
        let byIndex = Dictionary(grouping: files.filter { $0.shard?.count == count }, by: { $0.shard!.index })
        for index in 0..<count {
            let holders = byIndex[index] ?? []
            if holders.isEmpty { problems.append("shard \(index)/\(count) is missing: no file holds it") }
            if holders.count > 1 { problems.append("shard \(index)/\(count) is in \(holders.count) files: \(holders.map(\.path).joined(separator: ", "))") }
        }
        var holders: [TopicPartition: [String]] = [:]
        for file in files {
            for partition in file.partitions {
                holders[partition.topicPartition, default: []].append(file.path)
                if let shard = file.shard, !shard.owns(partition.topicPartition) {
                    problems.append("\(file.path) holds \(partition.topicPartition), which shard \(shard) does not own")
                }
            }
        }
        for (partition, paths) in holders.sorted(by: { $0.key < $1.key }) where paths.count > 1 {
            problems.append("\(partition) is stored in \(paths.count) files: \(paths.joined(separator: ", "))")
        }
        var counts = partitionCounts ?? [:]
        if partitionCounts == nil {
            for partition in holders.keys { counts[partition.topic] = max(counts[partition.topic] ?? 0, Int(partition.partition) + 1) }
        }
        for (topic, partitions) in counts.sorted(by: { $0.key < $1.key }) {
            for number in 0..<Int32(partitions) where holders[TopicPartition(topic: topic, partition: number)] == nil {
                let tp = TopicPartition(topic: topic, partition: number)
                problems.append("\(tp) is stored by no file; its owner is shard \(ShardSpec.owner(of: tp, shards: count))/\(count)")
            }
        }
        return problems
    }

    /// The report as text: one line per file, then the coverage verdict.
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
            out += "coverage: INCOMPLETE\n" + problems.map { "  \($0)\n" }.joined()
        }
        return out
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
        ]) + "\n"
    }
}
