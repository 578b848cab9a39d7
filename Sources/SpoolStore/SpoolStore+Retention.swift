import SpoolModel

extension SpoolStore {
    /// Whether the schema has retention (migration 5).
    var hasRetention: Bool { schemaVersion >= 5 }

    /// Reads the recorded retention policy into the write path.
    func loadRetention() throws {
        retention = try retentionPolicy()
    }

    /// The recorded retention policy, or nil when the capture keeps everything.
    public func retentionPolicy() throws -> RetentionPolicy? {
        guard hasRetention else { return nil }
        let query = try connection.prepare("SELECT max_age_ms, max_bytes FROM retention WHERE id = 1")
        guard try query.step() else { return nil }
        let policy = RetentionPolicy(maxAgeMs: query.optionalInt64(0), maxBytes: query.optionalInt64(1))
        return policy.isEmpty ? nil : policy
    }

    /// Records `policy` as the capture's retention (nil or empty: keep everything). The next
    /// batch transactions start applying it.
    public func setRetention(_ policy: RetentionPolicy?) throws {
        try requireWriter()
        try connection.inTransaction {
            if let policy, !policy.isEmpty {
                let upsert = try connection.prepare("""
                    INSERT INTO retention (id, max_age_ms, max_bytes, changed_at) VALUES (1, ?1, ?2, ?3)
                    ON CONFLICT (id) DO UPDATE SET max_age_ms = excluded.max_age_ms, max_bytes = excluded.max_bytes,
                        changed_at = excluded.changed_at
                    """)
                upsert.bind(1, policy.maxAgeMs)
                upsert.bind(2, policy.maxBytes)
                upsert.bind(3, WallClock.nowMs())
                try upsert.run()
            } else {
                try connection.execute("DELETE FROM retention")
            }
        }
        try loadRetention()
    }

    /// Runs one chunk of retention inside the current transaction: at most twice the batch's
    /// rows (at least 1,000), so a capture removes faster than it adds without ever stalling
    /// on one huge delete; a transaction without rows (an idle capture) removes up to 10,000.
    /// Returns how many rows it removed.
    @discardableResult
    func applyRetention(batchRows: Int, nowMs: Int64) throws -> Int {
        guard let retention else { return 0 }
        let keptLog = Set(inserter.keyedModes.filter { $0.value == .latest }.keys)
        let budget = batchRows == 0 ? Self.idleRetentionBudget : max(1_000, 2 * batchRows)
        let removed = try retentionWorker.run(retention, budget: budget, nowMs: nowMs, keptLogTopics: keptLog)
        inserter.latestTopicsWithValues.formUnion(retentionWorker.topicsWithValues)
        return removed
    }

    /// The most rows one transaction without new rows removes.
    static let idleRetentionBudget = 10_000

    /// Runs one transaction of retention alone; returns how many rows it removed (0: nothing
    /// is due, or no policy). Call it until it returns 0 to bring a capture fully in line.
    public func retainOnce() throws -> Int {
        try requireWriter()
        var removed = 0
        try connection.inTransaction { removed = try applyRetention(batchRows: 0, nowMs: WallClock.nowMs()) }
        return removed
    }

    /// Whether the file gives freed pages back (SQLite's incremental auto-vacuum).
    public func returnsFreedPages() throws -> Bool {
        try connection.integer("PRAGMA auto_vacuum") == 2
    }

    /// Rewrites the file with incremental auto-vacuum on (SQLite's VACUUM: atomic, needs free
    /// space for a copy of the database), with the file size before and after, in bytes.
    ///
    /// `stop` is asked while the rewrite runs (every few thousand SQLite steps); once it returns
    /// true, the VACUUM is interrupted and rolled back, and the outcome says `stopped`. That is
    /// checked, not assumed: a VACUUM that committed raises the schema cookie, so the cookie
    /// tells whether the file was rewritten after all (then the outcome is a finished compact).
    /// A stop that comes after the commit lets the WAL checkpoint finish.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/lang_vacuum.html
    public func compact(stop: @escaping () -> Bool = { false }) throws -> CompactOutcome {
        try requireWriter()
        let before = fileSize()
        let cookie = try connection.integer("PRAGMA schema_version")
        if stop() { return CompactOutcome(before: before, after: fileSize(), stopped: true) }
        try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        let finished = try connection.interruptible(stopWhen: stop) { try connection.execute("VACUUM") } != nil
        if !finished, try connection.integer("PRAGMA schema_version") == cookie {
            return CompactOutcome(before: before, after: fileSize(), stopped: true)
        }
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return CompactOutcome(before: before, after: fileSize(), stopped: false)
    }
}
