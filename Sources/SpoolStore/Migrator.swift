import SpoolModel

/// Brings a database to the newest schema built into the binary, or refuses it.
///
/// Each migration runs in its own IMMEDIATE transaction together with the `spool_migrations`
/// row that records it (version, name, checksum, applied time), so a crash leaves either the
/// old or the new schema, never half of one.
struct Migrator {
    /// `PRAGMA application_id` of every Spool database ('SPOL').
    static let applicationID: Int64 = 0x5350_4F4C

    let migrations: [EmbeddedMigration]
    /// Work a migration needs beyond its SQL, run in its transaction right after the SQL: the
    /// per-topic views are made by the store, so migration 2 re-creates them with `headers`.
    let followUps: [Int: (SQLiteConnection) throws -> Void]
    /// Checks a migration needs before its transaction starts (it refuses a file it cannot convert).
    let preChecks: [Int: (SQLiteConnection) throws -> Void]
    /// Tables a migration creates, whose names a per-topic view (named after a topic) may hold
    /// in an older file: such views are dropped in the migration's transaction, before its SQL.
    static let namesTaken: [Int: [String]] = [12: ["streams", "records"], 13: ["latest_values", "latest_keys"]]

    init(migrations: [EmbeddedMigration] = embeddedMigrations,
         followUps: [Int: (SQLiteConnection) throws -> Void] = [2: TopicViews.upgrade, 4: TopicViews.upgrade],
         preChecks: [Int: (SQLiteConnection) throws -> Void] = [12: Self.refuseOffsetsBeyondStreams]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.followUps = followUps
        self.preChecks = preChecks
    }

    /// The newest version this binary knows.
    var latestVersion: Int { migrations.last?.version ?? 0 }

    /// What a file holds, judged without writing to it.
    enum Kind: Equatable { case empty, spool(version: Int), foreign(String) }

    /// Looks at the file without changing it.
    func classify(_ connection: SQLiteConnection) throws -> Kind {
        let applicationID: Int64
        let objects: Int64
        do {
            applicationID = try connection.integer("PRAGMA application_id") ?? 0
            objects = try connection.integer("SELECT count(*) FROM sqlite_master") ?? 0
        } catch let error as StoreError {
            switch error {
            case .notSpoolDatabase: throw error
            case .storage(_, _, let message): return .foreign("SQLite cannot read it: \(message)")
            default: throw error
            }
        }
        if applicationID == Self.applicationID {
            let hasTable = try connection.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'spool_migrations'") ?? 0
            guard hasTable == 1 else { return .foreign("it is marked as Spool's but has no migration record") }
            return .spool(version: Int(try connection.integer("SELECT max(version) FROM spool_migrations") ?? 0))
        }
        if applicationID == 0 && objects == 0 { return .empty }
        if applicationID != 0 {
            return .foreign("its application id is \(applicationID), not Spool's \(Self.applicationID)")
        }
        return .foreign("it holds \(objects) tables or other objects of another application")
    }

    /// Checks the recorded migrations against the built-in ones; then applies the missing ones.
    /// `announce` hears a line before and after a migration that rewrites stored records.
    func migrate(_ connection: SQLiteConnection, nowMs: Int64, announce: ((String) -> Void)? = nil) throws {
        switch try classify(connection) {
        case .foreign(let reason):
            throw StoreError.notSpoolDatabase(path: connection.path, reason: reason)
        case .spool(let version):
            if version > latestVersion {
                throw StoreError.newerSchema(path: connection.path, databaseVersion: version, supportedVersion: latestVersion)
            }
            try verifyRecorded(connection)
        case .empty:
            try connection.inTransaction {
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS spool_migrations (
                        version INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        checksum TEXT NOT NULL,
                        applied_at INTEGER NOT NULL
                    )
                    """)
                try connection.execute("PRAGMA application_id = \(Self.applicationID)")
            }
        }
        let applied = Int(try connection.integer("SELECT coalesce(max(version), 0) FROM spool_migrations") ?? 0)
        for migration in migrations where migration.version > applied {
            try preChecks[migration.version]?(connection)
            let rewritten = migration.version == 12 ? try connection.integer("SELECT count(*) FROM messages") ?? 0 : 0
            let started = ContinuousClock.now
            if rewritten > 0 {
                announce?("upgrading \(connection.path) to the streams layout (migration 12): rewriting \(rewritten) records in one transaction; an interruption leaves the file as it was")
            }
            try connection.inTransaction {
                try Self.dropTopicViews(named: Self.namesTaken[migration.version] ?? [], on: connection)
                try connection.execute(migration.sql)
                try followUps[migration.version]?(connection)
                let record = try connection.prepare("INSERT INTO spool_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
                record.bind(1, Int64(migration.version))
                record.bind(2, migration.name)
                record.bind(3, migration.checksum)
                record.bind(4, nowMs)
                try record.run()
            }
            if rewritten > 0 {
                let elapsed = ContinuousClock.now - started
                announce?("upgraded \(connection.path) in \(elapsed.components.seconds) s; the old table's pages are free space that later writes reuse (spool compact gives them back to the file system)")
            }
        }
    }

    /// Drops the per-topic views called `names` (a topic named "records" had one): the
    /// migration's tables take the names, and the topic stays readable through `messages`.
    static func dropTopicViews(named names: [String], on connection: SQLiteConnection) throws {
        for name in names {
            let view = try connection.prepare("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?1 COLLATE NOCASE")
            view.bind(1, name)
            guard try view.step(), let sql = view.text(0) else { continue }
            guard sql.contains(" FROM messages WHERE topic = ") || sql.contains(" FROM latest WHERE topic = ") else {
                throw StoreError.notSpoolDatabase(path: connection.path, reason: "it has a view named '\(name)' that Spool did not make, and this spool's schema needs the name; rename or drop that view")
            }
            try connection.execute("DROP VIEW \(SQLText.identifier(name))")
        }
    }

    /// Before migration 12: refuses a file with a stored offset the streams layout cannot hold
    /// (below 0 or above 2^44 - 1), naming the partition, before anything is rewritten.
    static func refuseOffsetsBeyondStreams(_ connection: SQLiteConnection) throws {
        let query = try connection.prepare("""
            SELECT topic, partition, offset FROM messages WHERE offset < 0 OR offset > \(StreamDirectory.largestOffset) LIMIT 1
            """)
        guard try query.step() else { return }
        let partition = TopicPartition(topic: query.text(0) ?? "", partition: Int32(truncatingIfNeeded: query.int64(1)))
        throw StoreError.unstorable(path: connection.path, reason: "\(partition) stores offset \(query.int64(2)), outside 0...\(StreamDirectory.largestOffset), which this spool's layout cannot hold; the file was not upgraded. Use the spool that wrote it")
    }

    private func verifyRecorded(_ connection: SQLiteConnection) throws {
        let statement = try connection.prepare("SELECT version, name, checksum FROM spool_migrations ORDER BY version")
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        while try statement.step() {
            let version = Int(statement.int64(0))
            let name = statement.text(1) ?? ""
            guard let migration = known[version], migration.checksum == statement.text(2) else {
                throw StoreError.migrationChanged(path: connection.path, version: version, name: name)
            }
        }
    }
}
