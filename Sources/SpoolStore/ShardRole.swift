import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// A file's part in a sharded capture (`SpoolStore.shards`): the shard it is (recorded before
/// its first capture), or the merge of every shard it receives. `MergeSources` checks the
/// shards, `ShardMerger` copies them.
public struct ShardRole {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// Whether `spool merge` into this file started and has not finished (ingest refuses it;
    /// status, query and verify say so).
    public func mergeInProgress() throws -> Bool {
        guard store.schemaVersion >= 7 else { return false }
        return try connection.integer("SELECT count(*) FROM merge_in_progress") == 1
    }

    /// Checks, without writing anything, that `paths` are every shard of one capture (what
    /// `merge` checks first: one cluster and count, each shard once, every partition held
    /// unless `allowIncomplete`, no shard damaged) and that an existing `target` may receive
    /// them, so a refused merge does not even create its target. Also refuses
    /// (`StoreError.inUse`) a shard whose ingest is still running.
    public static func check(_ paths: [String], target: String, allowIncomplete: Bool = false) throws {
        var info = stat()
        let existing = stat(target, &info) == 0 && info.st_size > 0 ? try SpoolStore.openForReading(path: target) : nil
        defer { existing?.close() }
        // First, so that a shard given as the target is not reported as a missing shard.
        if let spec = try existing?.shards.spec() {
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
    public func merge(_ paths: [String], chunkSize: Int = 50_000, allowIncomplete: Bool = false,
                      stop: () -> Bool = { false }) throws -> MergeOutcome {
        try store.requireWriter()
        // Every shard's writer lock for the whole merge: a shard being written (its ingest still
        // running) is refused (exit 5), so what is read cannot change under the merge.
        let locks = try paths.map { try WriterLock(path: $0) }
        defer { locks.forEach { $0.release() } }
        let sources = try MergeSources(paths: paths, target: store.path, allowIncomplete: allowIncomplete)
        try sources.checkTarget(store)
        return try ShardMerger(target: store, sources: sources, chunkSize: chunkSize).run(stop: stop)
    }

    /// The shards a merge into this file recorded, in shard order (none for other files).
    func mergeSources() throws -> [MergeSourceRecord] {
        guard store.schemaVersion >= 8 else { return [] }
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
        guard store.schemaVersion >= 8 else { return false }
        return try connection.integer("SELECT count(*) FROM merge_source WHERE incomplete = 1") ?? 0 > 0
    }

    /// The shard this file belongs to, or nil for a whole capture.
    public func spec() throws -> ShardSpec? {
        guard store.hasShard else { return nil }
        let query = try connection.prepare("SELECT shard_index, shard_count FROM shard WHERE id = 1")
        guard try query.step() else { return nil }
        return ShardSpec(index: Int(query.int64(0)), count: Int(query.int64(1)))
    }

    /// When the file's shard was recorded (Unix ms), nil for a whole capture.
    public func recordedAt() throws -> Int64? {
        guard store.hasShard else { return nil }
        return try connection.integer("SELECT recorded_at FROM shard WHERE id = 1")
    }

    /// Records the file as shard `spec`'s. Call once, before its first capture as a shard.
    public func record(_ spec: ShardSpec) throws {
        try store.requireWriter()
        let insert = try connection.prepare("INSERT INTO shard (id, shard_index, shard_count, recorded_at) VALUES (1, ?1, ?2, ?3)")
        insert.bind(1, Int64(spec.index))
        insert.bind(2, Int64(spec.count))
        insert.bind(3, WallClock.nowMs())
        try insert.run()
    }
}
