import SpoolModel

/// Files given as the shards of one capture (`spool ingest --shard I/N`), read once: each
/// file's shard, cluster, schema and partitions, and every reason they are not one whole capture.
///
/// One rule for every command that takes several files: `merge`, `query`, `status` and
/// `verify` refuse the same sets. `refusals` (files that are not shards of one capture) are
/// refused by all of them; `coverageProblems` (a shard or partition missing or held twice)
/// are refused by `merge` and `query` unless the user allows an incomplete set, and reported
/// by `status` and `verify` (exit 1).
public struct ShardSet: Sendable {
    /// One file's summary.
    public struct File: Sendable {
        /// The file.
        public var path: String
        /// Its shard, nil for a file captured without --shard.
        public var shard: ShardSpec?
        /// The Kafka cluster it was captured from, when known.
        public var clusterID: String?
        /// Its schema version.
        public var schemaVersion: Int
        /// Its partitions' stored state.
        public var partitions: [StoredPartition]
        /// How far it is complete.
        public var completeUntil: Int64?
        /// When its shard was recorded (Unix ms): with the spec, it tells one capture's shard
        /// file from another capture's.
        public var shardRecordedAt: Int64?
    }

    /// The files, in the order given.
    public let files: [File]
    /// Why the files are not the shards of one capture, one sentence each (refused everywhere).
    public let refusals: [String]
    /// Shards or partitions missing, held twice or held by a shard that does not own them.
    public let coverageProblems: [String]

    /// Every problem: refusals first.
    public var problems: [String] { refusals + coverageProblems }

    /// Reads `paths`; `partitionCounts` (from the brokers, when asked) is each topic's real
    /// partition count, otherwise the highest partition any file holds tells it. A file that
    /// is not a Spool database becomes a refusal naming it; damage and I/O errors are thrown.
    public init(paths: [String], partitionCounts: [String: Int]? = nil) throws {
        var files: [File] = []
        var foreign: [String] = []
        for path in paths {
            do {
                files.append(try Self.read(path))
            } catch let error as StoreError {
                guard case .notSpoolDatabase(_, let reason) = error else { throw error }
                foreign.append("\(path) is not a Spool database (\(reason)); move it out of the folder or name the shard files one by one")
            }
        }
        self.files = files
        refusals = foreign + Self.identityProblems(files)
        coverageProblems = refusals.isEmpty ? Self.coverage(files, partitionCounts: partitionCounts) : []
    }

    /// Throws `StoreError.notOneCapture` when the set is refused: always for `refusals`, and
    /// for `coverageProblems` unless `allowIncomplete`. `flag` is the option that allows an
    /// incomplete set, named in the message.
    public func requireOneCapture(allowIncomplete: Bool, flag: String?) throws {
        if !refusals.isEmpty {
            throw StoreError.notOneCapture(problems: refusals, hint: "give every shard file of one capture, and nothing else")
        }
        if !allowIncomplete, !coverageProblems.isEmpty {
            let hint = flag.map { "capture the missing partitions first, or add \($0) to go on without them" }
                ?? "capture the missing partitions first"
            throw StoreError.notOneCapture(problems: coverageProblems, hint: hint)
        }
    }

    private static func read(_ path: String) throws -> File {
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        return File(path: path, shard: try store.shards.spec(), clusterID: try store.clusterID(), schemaVersion: store.schemaVersion,
                    partitions: try store.storedPartitions(), completeUntil: try store.completeUntil(),
                    shardRecordedAt: try store.shards.recordedAt())
    }

    /// Files that are not shards, shards of different counts or clusters, a shard given twice,
    /// different schema versions.
    private static func identityProblems(_ files: [File]) -> [String] {
        var problems = files.filter { $0.shard == nil }.map { "\($0.path) is not a shard's file (captured without --shard)" }
        guard let first = files.first(where: { $0.shard != nil }), let count = first.shard?.count else { return problems }
        for file in files where file.shard.map({ $0.count != count }) ?? false {
            problems.append("\(file.path) is shard \(file.shard!), \(first.path) is a shard of \(count)")
        }
        let byIndex = Dictionary(grouping: files.filter { $0.shard?.count == count }, by: { $0.shard!.index })
        for (index, holders) in byIndex.sorted(by: { $0.key < $1.key }) where holders.count > 1 {
            problems.append("shard \(index)/\(count) is given \(holders.count) times: \(holders.map(\.path).joined(separator: ", "))")
        }
        let clusters = files.compactMap { file in file.clusterID.map { (file.path, $0) } }
        if let other = clusters.first(where: { $0.1 != clusters[0].1 }) {
            problems.append("\(other.0) comes from Kafka cluster '\(other.1)', \(clusters[0].0) from '\(clusters[0].1)'")
        }
        if let other = files.first(where: { $0.schemaVersion != files[0].schemaVersion }) {
            problems.append("\(other.path) has schema version \(other.schemaVersion), \(files[0].path) \(files[0].schemaVersion); open each once with this spool (e.g. spool compact FILE) to bring them level")
        }
        return problems
    }

    /// Missing shards; partitions held by no file, by two, or by a shard that does not own them.
    private static func coverage(_ files: [File], partitionCounts: [String: Int]?) -> [String] {
        guard let count = files.first?.shard?.count else { return ["no shard files"] }
        let indexes = Set(files.compactMap { $0.shard?.index })
        var problems = (0..<count).filter { !indexes.contains($0) }.map { "shard \($0)/\(count) is missing: no file holds it" }
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
}
