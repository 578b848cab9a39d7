import SpoolModel

/// The shard files given to `spool merge`, checked to be all the shards of one capture, and
/// what the merged file takes from them besides rows (read once, before anything is written).
struct MergeSources {
    /// One shard file: its path and its partitions.
    struct Shard {
        let path: String
        let spec: ShardSpec
        let partitions: [TopicPartition]
    }

    private(set) var shards: [Shard] = []
    private(set) var gaps: [GapRecord] = []
    private(set) var keyed: [String: KeyedTopic] = [:]
    private(set) var decoding: [String: DecodeStatus] = [:]
    private(set) var schemas: [StoredSchema] = []
    private(set) var clusterID: String?
    private(set) var completeUntil: Int64?
    private(set) var retention: RetentionPolicy?

    /// Reads and checks the shard files; `target` is the merged file's path (never a source).
    init(paths: [String], target: String) throws {
        func refuse(_ reason: String) -> StoreError { .mergeRefused(path: target, reason: "cannot merge: \(reason)") }
        var found: [Shard] = []
        var retentions: [RetentionPolicy?] = []
        var completes: [Int64?] = []
        for path in paths {
            guard path != target else { throw refuse("\(path) is both a shard and the merged file") }
            let store = try SpoolStore.openForReading(path: path)
            defer { store.close() }
            guard store.schemaVersion == SpoolStore.supportedSchemaVersion else {
                throw refuse("\(path) has schema \(store.schemaVersion), this spool writes \(SpoolStore.supportedSchemaVersion); open it once with this spool first (e.g. spool compact \(path))")
            }
            guard let spec = try store.shardSpec() else { throw refuse("\(path) is not a shard's file (captured without --shard)") }
            if let cluster = try store.clusterID() {
                if let clusterID, clusterID != cluster { throw refuse("\(path) comes from Kafka cluster '\(cluster)', another shard from '\(clusterID)'") }
                clusterID = cluster
            }
            found.append(Shard(path: path, spec: spec, partitions: try store.storedPartitions().map(\.topicPartition)))
            gaps += try store.gaps()
            for topic in try store.keyedTopics() { try addKeyed(topic, from: path, refuse: refuse) }
            for status in try store.decodeStatus() { addDecoding(status) }
            schemas += try store.storedSchemas()
            retentions.append(try store.retentionPolicy())
            completes.append(try store.completeUntil())
        }
        try Self.checkComplete(found.map(\.spec), paths: found.map(\.path), refuse: refuse)
        shards = found.sorted { $0.spec.index < $1.spec.index }
        completeUntil = completes.contains(nil) ? nil : completes.compactMap { $0 }.min()
        retention = Set(retentions.map { $0?.description ?? "" }).count == 1 ? retentions.first ?? nil : nil
    }

    /// Every shard of one count exactly once.
    private static func checkComplete(_ specs: [ShardSpec], paths: [String], refuse: (String) -> StoreError) throws {
        guard let count = specs.first?.count else { throw refuse("no shard files given") }
        if let other = specs.first(where: { $0.count != count }) {
            throw refuse("the files are shards of different counts (\(count) and \(other.count)); give the files of one capture")
        }
        let indexes = Dictionary(grouping: zip(specs, paths), by: { $0.0.index })
        if let repeated = indexes.first(where: { $0.value.count > 1 }) {
            throw refuse("shard \(repeated.key)/\(count) is given twice (\(repeated.value.map(\.1).joined(separator: ", ")))")
        }
        let missing = (0..<count).filter { indexes[$0] == nil }
        guard missing.isEmpty else {
            throw refuse("shard(s) \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) missing; a merge needs every shard of the capture")
        }
    }

    private mutating func addKeyed(_ topic: KeyedTopic, from path: String, refuse: (String) -> StoreError) throws {
        guard var merged = keyed[topic.topic] else { keyed[topic.topic] = topic; return }
        guard merged.mode == topic.mode else { throw refuse("topic '\(topic.topic)' is kept as \(merged.mode.flag) in one shard and \(topic.mode.flag) in \(path)") }
        merged.logComplete = merged.logComplete && topic.logComplete
        merged.tombstonesApplied += topic.tombstonesApplied
        merged.nullKeysSkipped += topic.nullKeysSkipped
        keyed[topic.topic] = merged
    }

    private mutating func addDecoding(_ status: DecodeStatus) {
        guard var merged = decoding[status.topic] else { decoding[status.topic] = status; return }
        merged.decoded += status.decoded
        merged.failed += status.failed
        merged.firstError = merged.firstError ?? status.firstError
        decoding[status.topic] = merged
    }

    /// The merged file must be a whole capture holding nothing but these shards' partitions.
    func checkTarget(_ target: SpoolStore) throws {
        func refuse(_ reason: String) -> StoreError { .mergeRefused(path: target.path, reason: "cannot merge into it: \(reason)") }
        if let spec = try target.shardSpec() { throw refuse("it is itself shard \(spec)'s file") }
        if let cluster = try target.clusterID(), let clusterID, cluster != clusterID {
            throw refuse("it holds Kafka cluster '\(cluster)', the shards '\(clusterID)'")
        }
        let owned = Set(shards.flatMap(\.partitions))
        if let stranger = try target.storedPartitions().first(where: { !owned.contains($0.topicPartition) }) {
            throw refuse("it holds \(stranger.topicPartition), which none of the shards holds; merge into a new file")
        }
    }
}
