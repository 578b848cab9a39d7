import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// A Spool database: captured messages, partition state, runs, gaps and progress in one SQLite file.
///
/// A writer (`openForWriting`) holds an exclusive lock for its lifetime, so a second writer is
/// refused at once; readers (`openForReading`) work alongside it thanks to WAL. Every call to
/// `write(batch:checkpoints:completeUntil:)` commits the messages and the partition state they
/// imply in ONE transaction: after a crash the stored offsets always match the stored rows.
///
/// This type opens and closes the file, writes batches (`BatchInserter` builds the rows),
/// answers what the file holds (`SpoolStore+Reading`), audits it (`CaptureVerifier`) and
/// compacts it; everything else is a part with one job over its connection: `runs` (runs and
/// gaps), `keyed` (keyed tables), `decoding` (schemas and pending records), `retention`
/// (`RetentionWorker` removes), `restores` (restore progress) and `shards` (shard identity and
/// merging, with `MergeSources` and `ShardMerger`). `Migrator` upgrades the schema,
/// `TopicViews` keeps the per-topic views, `CaptureReader` reads for replay and restore.
///
/// Not `Sendable`: one owner drives a connection.
public final class SpoolStore {
    /// The database file.
    public let path: String
    /// Whether this connection may write.
    public let isWriter: Bool
    /// The schema version of the database.
    public private(set) var schemaVersion: Int

    let connection: SQLiteConnection
    private var lock: WriterLock?
    let inserter: BatchInserter
    let retentionWorker: RetentionWorker
    /// The recorded retention policy (loaded at open, changed by `retention.set`).
    var activeRetention: RetentionPolicy?

    /// The runs this file records, with their gaps.
    public var runs: RunLog { RunLog(store: self) }
    /// The keyed tables: which topics keep their latest record per key, and how.
    public var keyed: KeyedTables { KeyedTables(store: self) }
    /// Decoding: the schemas kept, the records pending, the counts.
    public var decoding: DecodeLedger { DecodeLedger(store: self) }
    /// Retention: the recorded policy and removing what is due.
    public var retention: RetentionControl { RetentionControl(store: self) }
    /// Restores: how far each `spool restore` from this file got.
    public var restores: RestoreLedger { RestoreLedger(store: self) }
    /// The file's part in a sharded capture: the shard it is, or the merge it receives.
    public var shards: ShardRole { ShardRole(store: self) }

    /// The schema version this binary creates and understands.
    public static var supportedSchemaVersion: Int { Migrator().latestVersion }

    /// The page size (bytes) a new capture file gets; files made earlier keep theirs.
    package static let pageSize = 4_096

    private init(path: String, isWriter: Bool, connection: SQLiteConnection, lock: WriterLock?, schemaVersion: Int) {
        self.path = path
        self.isWriter = isWriter
        self.connection = connection
        self.lock = lock
        self.schemaVersion = schemaVersion
        let streams = StreamDirectory(connection: connection)
        self.inserter = BatchInserter(connection: connection, streams: streams)
        self.retentionWorker = RetentionWorker(connection: connection, streams: streams)
    }

    deinit {
        close()
    }

    /// Opens (creating if missing) a database for ingesting, upgrading its schema.
    ///
    /// Refuses, without changing the file: another writer (`StoreError.inUse`), a file that is
    /// not a Spool database, a newer schema, or a migration whose checksum differs.
    /// - Parameters:
    ///   - busyTimeoutMs: how long a write waits for another connection's lock (for example a
    ///     `sqlite3` shell inside `BEGIN IMMEDIATE`) before failing with `.locked`.
    ///   - upgradeNotice: hears a line before and after an upgrade that rewrites the stored
    ///     records (a file from before the streams layout), which can take a while.
    public static func openForWriting(path: String, durability: Durability = .normal, busyTimeoutMs: Int = 5_000,
                                      upgradeNotice: ((String) -> Void)? = nil) throws -> SpoolStore {
        try DatabaseFiles.refuseAsDatabase(path, flag: "the database")
        let lock = try WriterLock(path: path)
        try refuseForeign(path)
        let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
        try connection.setBusyTimeout(ms: busyTimeoutMs)
        let migrator = Migrator()
        switch try migrator.classify(connection) {
        case .foreign(let reason):
            throw StoreError.notSpoolDatabase(path: path, reason: reason)
        case .empty:
            // The page size first: once `auto_vacuum` is set, SQLite keeps the one it has.
            // 4 KiB, SQLite's default, chosen by measuring `spool ingest` (2M bench records, 64
            // partitions, 9 paired runs): 16 KiB pages took 1.15x as long and 8 KiB the same as
            // 4 KiB. Every commit writes each page it dirtied to the WAL whole, and each batch
            // dirties the last page of every partition's row id range.
            try connection.execute("PRAGMA page_size = \(pageSize)")
            // Before anything is written (switching to WAL writes the header): a new file
            // gives the pages retention frees back to the file system; an older one needs
            // `spool compact` for that.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        case .spool:
            break
        }
        // Set explicitly at every open: WAL, so readers never block the writer, and the durability asked for.
        let mode = try connection.text("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw StoreError.storage(path: path, code: 0, message: "SQLite could not switch the file to WAL mode (it reports '\(mode ?? "nothing")')")
        }
        try connection.execute("PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        try connection.execute("PRAGMA foreign_keys = ON")
        // 16 MiB of page cache: each batch touches the index pages of every partition, and the
        // default 2 MiB stops holding them at a few hundred partitions.
        try connection.execute("PRAGMA cache_size = -16384")
        try migrator.migrate(connection, nowMs: WallClock.nowMs(), announce: upgradeNotice)
        let store = SpoolStore(path: path, isWriter: true, connection: connection, lock: lock,
                               schemaVersion: migrator.latestVersion)
        try store.keyed.loadModes()
        try store.retention.loadActive()
        return store
    }

    /// Refuses a file with content that is not a Spool database, judged through a read-only
    /// connection: a writable one could checkpoint another application's WAL into its file.
    private static func refuseForeign(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0,
              let probe = try? SQLiteConnection(path: path, readOnly: true, create: false) else { return }
        defer { probe.close() }
        if case .foreign(let reason) = try? Migrator().classify(probe) {
            throw StoreError.notSpoolDatabase(path: path, reason: reason)
        }
    }

    /// Opens an existing database read-only (for status, verify and queries).
    public static func openForReading(path: String) throws -> SpoolStore {
        let connection = try SQLiteConnection.openForReading(path: path, busyTimeoutMs: 5_000)
        let migrator = Migrator()
        switch try migrator.classify(connection) {
        case .empty:
            throw StoreError.notSpoolDatabase(path: path, reason: "it is empty; run spool ingest to fill it")
        case .foreign(let reason):
            throw StoreError.notSpoolDatabase(path: path, reason: reason)
        case .spool(let version):
            if version > migrator.latestVersion {
                throw StoreError.newerSchema(path: path, databaseVersion: version, supportedVersion: migrator.latestVersion)
            }
            return SpoolStore(path: path, isWriter: false, connection: connection, lock: nil, schemaVersion: version)
        }
    }

    /// Closes the connection, then releases the writer lock. Safe to call twice.
    public func close() {
        inserter.finalize()
        retentionWorker.finalize()
        connection.close()
        lock?.release()
        lock = nil
    }

    // MARK: writing

    /// The partitions a batch write adds to a run's recorded ranges.
    public struct AddedPartitions: Sendable {
        /// The run the partitions join.
        public var runID: Int64
        /// Each added partition's replay range.
        public var ranges: [TopicPartition: ReplayRange]

        /// Names the run and the added partitions' ranges.
        public init(runID: Int64, ranges: [TopicPartition: ReplayRange]) {
            self.runID = runID
            self.ranges = ranges
        }
    }

    /// Stores one released batch and the partition checkpoints after it, in ONE transaction.
    ///
    /// - Parameters:
    ///   - batch: the released messages (may be empty).
    ///   - checkpoints: every partition's checkpoint right after the batch was released.
    ///   - completeUntil: the timestamp up to which every partition is completely stored.
    ///   - addedPartitions: partitions that joined the run since its start (a topic grew),
    ///     recorded with the run in the same transaction.
    ///   - decoded: the batch's decoded keys and values, row for row (nil: none).
    ///   - schemas: schemas fetched for this batch, kept in `schemas` (existing ids are left as they are).
    /// On any error the transaction is rolled back: neither rows nor offsets change.
    public func write(batch: MessageBatch, checkpoints: [PartitionState], completeUntil: Int64?,
                      addedPartitions: AddedPartitions? = nil, decoded: DecodedColumns? = nil,
                      schemas: [StoredSchema] = []) throws {
        try requireWriter()
        if let decoded, decoded.count != batch.count {
            throw StoreError.inconsistent(path: path, reason: "decoded columns for \(decoded.count) rows given with a batch of \(batch.count)")
        }
        let now = WallClock.nowMs()
        do {
            try writeInTransaction(batch: batch, checkpoints: checkpoints, completeUntil: completeUntil,
                                   addedPartitions: addedPartitions, decoded: decoded, schemas: schemas, nowMs: now)
        } catch {
            // Streams the transaction added went with it.
            inserter.streams.forgetAll()
            throw error
        }
    }

    /// `write`'s one transaction.
    private func writeInTransaction(batch: MessageBatch, checkpoints: [PartitionState], completeUntil: Int64?,
                                    addedPartitions: AddedPartitions?, decoded: DecodedColumns?,
                                    schemas: [StoredSchema], nowMs now: Int64) throws {
        try connection.inTransaction {
            try decoding.insertSchemas(schemas)
            let gained = try inserter.insert(batch, decoded: decoded)
            try inserter.upsert(checkpoints, gained: gained, nowMs: now)
            try inserter.setCompleteUntil(completeUntil, nowMs: now)
            if let addedPartitions, !addedPartitions.ranges.isEmpty {
                try runs.insertPartitions(addedPartitions.runID, addedPartitions.ranges)
            }
            try retention.apply(batchRows: batch.count, nowMs: now)
        }
    }

    /// The size of the database file and its WAL, in bytes.
    public func fileSize() -> Int64 {
        var total: Int64 = 0
        for suffix in ["", "-wal"] {
            var info = stat()
            if stat(path + suffix, &info) == 0 { total += Int64(info.st_size) }
        }
        return total
    }

    // MARK: what the file's schema version has

    /// Whether the schema has headers (migration 2). A database opened read-only keeps the
    /// version it has; only a writer upgrades it.
    var hasHeaders: Bool { schemaVersion >= 2 }

    /// Whether the schema has the keyed tables (migration 3).
    var hasKeyedTables: Bool { schemaVersion >= 3 }

    /// Whether the schema has the decoded columns and tables (migration 4).
    var hasDecodedColumns: Bool { schemaVersion >= 4 }

    /// Whether `schemas` has the `serialized` column (migration 9).
    var hasSerializedSchemas: Bool { schemaVersion >= 9 }

    /// Whether the `schema_guids` table exists (migration 10).
    var hasGUIDSchemas: Bool { schemaVersion >= 10 }

    /// Whether the schema has retention (migration 5).
    var hasRetention: Bool { schemaVersion >= 5 }

    /// Whether the schema has the shard table (migration 6).
    var hasShard: Bool { schemaVersion >= 6 }

    /// Whether `latest` is the view over `latest_values` and `latest_keys` (migration 13); in
    /// earlier files it is the table of values.
    var usesLatestKeys: Bool { schemaVersion >= 13 }

    /// Each partition's stream id on this connection.
    var streams: StreamDirectory { inserter.streams }

    /// Whether the records are in the streams layout (migration 12: `records` keyed by
    /// stream << 44 | offset, `messages` a view). A file from an earlier spool opened read-only
    /// keeps its `messages` table until a writer upgrades it.
    public var usesStreamsLayout: Bool { schemaVersion >= 12 }

    /// Throws unless this connection was opened for writing.
    func requireWriter() throws {
        guard isWriter else { throw StoreError.inconsistent(path: path, reason: "opened read-only; writes need openForWriting") }
    }
}
