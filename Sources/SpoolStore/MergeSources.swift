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
    /// The retention every shard records, nil when none does or they differ (`retentions`).
    private(set) var retention: RetentionPolicy?
    /// Each shard's recorded retention, in shard order.
    private(set) var retentions: [RetentionPolicy?] = []
    /// What keeps the set from being the whole capture, when the merge was allowed to go on.
    private(set) var coverageProblems: [String] = []
    /// The shards as `merge_source` records them.
    private(set) var records: [MergeSourceRecord] = []

    /// Reads and checks the shard files; `target` is the merged file's path (never a source,
    /// nor one of a source's companion files). Shards that are not every shard of one capture
    /// are refused, and so is an incomplete set unless `allowIncomplete`; a damaged shard is
    /// refused naming it, before anything is written.
    init(paths: [String], target: String, allowIncomplete: Bool = false) throws {
        let targetFiles = DatabaseFiles(path: target)
        for path in paths {
            if let clash = targetFiles.clash(with: path) {
                throw StoreError.mergeRefused(path: target, reason: "cannot merge: the shard \(path) \(clash); give a new file to --db")
            }
        }
        let set = try ShardSet(paths: paths)
        do {
            try set.requireOneCapture(allowIncomplete: allowIncomplete, flag: "--allow-incomplete")
        } catch StoreError.notOneCapture(let problems, let hint) {
            throw StoreError.mergeRefused(path: target, reason: "cannot merge: " + problems.joined(separator: "; ") + "; \(hint)")
        }
        coverageProblems = set.coverageProblems
        var completes: [Int64?] = []
        for file in set.files.sorted(by: { $0.shard!.index < $1.shard!.index }) {
            guard file.schemaVersion == SpoolStore.supportedSchemaVersion else {
                throw StoreError.mergeRefused(path: target, reason: "cannot merge: \(file.path) has schema \(file.schemaVersion), this spool writes \(SpoolStore.supportedSchemaVersion); open it once with this spool first (e.g. spool compact \(file.path))")
            }
            let store = try SpoolStore.openForReading(path: file.path)
            defer { store.close() }
            try store.requireUndamaged()
            shards.append(Shard(path: file.path, spec: file.shard!, partitions: file.partitions.map(\.topicPartition)))
            records.append(MergeSourceRecord(spec: file.shard!, recordedAt: file.shardRecordedAt ?? 0, clusterID: file.clusterID, path: file.path))
            clusterID = clusterID ?? file.clusterID
            gaps += try store.runs.gaps()
            for topic in try store.keyed.topics() { try addKeyed(topic, from: file.path, target: target) }
            for status in try store.decoding.status() { addDecoding(status) }
            schemas += try store.decoding.storedSchemas()
            retentions.append(try store.retention.policy())
            completes.append(file.completeUntil)
        }
        // An incomplete set is not complete until any time: a partition is missing.
        completeUntil = completes.contains(nil) || !coverageProblems.isEmpty ? nil : completes.compactMap { $0 }.min()
        retention = Set(retentions.map { $0?.description ?? "" }).count == 1 ? retentions.first ?? nil : nil
    }

    private mutating func addKeyed(_ topic: KeyedTopic, from path: String, target: String) throws {
        guard var merged = keyed[topic.topic] else { keyed[topic.topic] = topic; return }
        guard merged.mode == topic.mode else { throw StoreError.mergeRefused(path: target, reason: "cannot merge: " + "topic '\(topic.topic)' is kept as \(merged.mode.flag) in one shard and \(topic.mode.flag) in \(path)") }
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

    /// The merged file must be new, or a merge of these very shards (finished or not) that no
    /// ingest has written to since: never another capture, nor the merge of other shards.
    func checkTarget(_ target: SpoolStore) throws {
        func refuse(_ reason: String) -> StoreError { .mergeRefused(path: target.path, reason: "cannot merge into it: \(reason)") }
        if let spec = try target.shards.spec() { throw refuse("it is itself shard \(spec)'s file") }
        if let cluster = try target.clusterID(), let clusterID, cluster != clusterID {
            throw refuse("it holds Kafka cluster '\(cluster)', the shards '\(clusterID)'")
        }
        let recorded = try target.shards.mergeSources()
        if !recorded.isEmpty {
            guard recorded.map(\.identity) == records.map(\.identity) else {
                throw refuse("it holds the merge of other shard files (\(recorded.map(\.path).joined(separator: ", "))); merge into a new file")
            }
        } else if try target.shards.mergeInProgress() == false, try target.holdsCapture() {
            throw refuse("it already holds a capture of its own; merge into a new file (spool merge never mixes two captures)")
        }
        if try target.runCount() > 0 {
            throw refuse("spool ingest has captured into it since it was merged; merge into a new file")
        }
        let owned = Set(shards.flatMap(\.partitions))
        if let stranger = try target.storedPartitions().first(where: { !owned.contains($0.topicPartition) }) {
            throw refuse("it holds \(stranger.topicPartition), which none of the shards holds; merge into a new file")
        }
    }
}

/// One shard as `merge_source` records it in a merged file.
struct MergeSourceRecord: Equatable {
    let spec: ShardSpec
    let recordedAt: Int64
    let clusterID: String?
    let path: String

    /// What tells this shard file from another capture's (the path may change).
    var identity: String { "\(spec)@\(recordedAt)#\(clusterID ?? "")" }
}
