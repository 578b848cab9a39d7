import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

extension SpoolStore {
    /// What `merge(shards:)` did: rows copied now, partitions completed, and what the user
    /// should know about the result.
    public struct MergeOutcome: Equatable, Sendable {
        /// Log rows copied by this call (0 when a finished merge is run again).
        public var rowsCopied: Int64
        /// Partitions the merged file holds.
        public var partitions: Int
        /// The retention the merged file records (the shards' common one), nil for none.
        public var retention: RetentionPolicy? = nil
        /// Each shard's retention when they differ (the merged file then records none).
        public var differingRetentions: [String: RetentionPolicy?] = [:]
        /// What the shards did not cover, when an incomplete set was allowed.
        public var coverageProblems: [String] = []
    }

    /// Whether `spool merge` into this file started and has not finished (ingest refuses it;
    /// status, query and verify say so).
    public func mergeInProgress() throws -> Bool {
        guard schemaVersion >= 7 else { return false }
        return try connection.integer("SELECT count(*) FROM merge_in_progress") == 1
    }

    /// What a reader must be told before trusting this file, one sentence each: a merge into
    /// it that has not finished, or one that went on without every partition. Empty otherwise.
    public func readerNotices() throws -> [String] {
        var notices: [String] = []
        if try mergeInProgress() {
            notices.append("\(path) is the target of a spool merge that has not finished: it holds only part of the shards' records; run the same spool merge again to complete it")
        }
        if try mergedIncomplete() {
            notices.append("\(path) was merged from shards that did not hold every partition (--allow-incomplete): it is not a whole capture")
        }
        return notices
    }

    /// Checks, without writing anything, that `paths` are every shard of one capture (what
    /// `merge` checks first: one cluster and count, each shard once, every partition held
    /// unless `allowIncomplete`, no shard damaged) and that an existing `target` may receive
    /// them, so a refused merge does not even create its target. Also refuses
    /// (`StoreError.inUse`) a shard whose ingest is still running.
    public static func checkShards(_ paths: [String], target: String, allowIncomplete: Bool = false) throws {
        var info = stat()
        let existing = stat(target, &info) == 0 && info.st_size > 0 ? try openForReading(path: target) : nil
        defer { existing?.close() }
        // First, so that a shard given as the target is not reported as a missing shard.
        if let spec = try existing?.shardSpec() {
            throw StoreError.mergeRefused(path: target, reason: "cannot merge into it: it is itself shard \(spec)'s file; give a new file to --db")
        }
        let locks = try paths.map { try WriterLock(path: $0) }
        defer { locks.forEach { $0.release() } }
        let sources = try MergeSources(paths: paths, target: target, allowIncomplete: allowIncomplete)
        try existing.map(sources.checkTarget)
    }

    /// Combines the files of ALL shards of one capture into this (empty or partly merged) file:
    /// every partition's rows and state, keyed tables, gaps, schemas and counters. Rows are
    /// copied in chunks of `chunkSize`, each in one transaction with its partition's state, so
    /// an interrupted merge continues where it stopped when run again; `stop` is asked between
    /// chunks. Refuses shards of different captures, clusters or counts, a missing or repeated
    /// shard, a partition no shard holds (unless `allowIncomplete`: the merged file then has no
    /// `complete_until`), a damaged shard, and a target that holds anything else.
    public func merge(shards paths: [String], chunkSize: Int = 50_000, allowIncomplete: Bool = false,
                      stop: () -> Bool = { false }) throws -> MergeOutcome {
        try requireWriter()
        // Every shard's writer lock for the whole merge: a shard being written (its ingest still
        // running) is refused (exit 5), so what is read cannot change under the merge.
        let locks = try paths.map { try WriterLock(path: $0) }
        defer { locks.forEach { $0.release() } }
        let sources = try MergeSources(paths: paths, target: path, allowIncomplete: allowIncomplete)
        try sources.checkTarget(self)
        return try ShardMerger(target: self, sources: sources, chunkSize: chunkSize).run(stop: stop)
    }

    /// The shards a merge into this file recorded, in shard order (none for other files).
    func mergeSources() throws -> [MergeSourceRecord] {
        guard schemaVersion >= 8 else { return [] }
        let query = try connection.prepare("SELECT shard_index, shard_count, shard_recorded_at, cluster_id, path FROM merge_source ORDER BY shard_index")
        var records: [MergeSourceRecord] = []
        while try query.step() {
            guard let spec = ShardSpec(index: Int(query.int64("shard_index")), count: Int(query.int64("shard_count"))) else { continue }
            records.append(MergeSourceRecord(spec: spec, recordedAt: query.int64("shard_recorded_at"), clusterID: query.text("cluster_id"),
                                             path: query.text("path") ?? ""))
        }
        return records
    }

    /// Whether a merge into this file went on without every partition (`--allow-incomplete`).
    public func mergedIncomplete() throws -> Bool {
        guard schemaVersion >= 8 else { return false }
        return try connection.integer("SELECT count(*) FROM merge_source WHERE incomplete = 1") ?? 0 > 0
    }

    /// Whether the file holds any captured record, partition or keyed row.
    func holdsCapture() throws -> Bool {
        try connection.integer("SELECT EXISTS (SELECT 1 FROM partition_state) OR EXISTS (SELECT 1 FROM messages) OR EXISTS (SELECT 1 FROM latest)") == 1
    }

    /// How many runs of spool ingest the file records.
    func runCount() throws -> Int64 {
        try connection.integer("SELECT count(*) FROM runs") ?? 0
    }

}
