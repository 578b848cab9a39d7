import SpoolModel

/// A capture's retention (`SpoolStore.retention`): the policy it records, and removing what the
/// policy says is due, a chunk per write transaction (`apply`) or a transaction at a time
/// (`retainOnce`). `RetentionWorker` does the removing.
public struct RetentionControl {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// Reads the recorded retention policy into the write path.
    func loadActive() throws {
        store.activeRetention = try policy()
    }

    /// The recorded retention policy, or nil when the capture keeps everything.
    public func policy() throws -> RetentionPolicy? {
        guard store.hasRetention else { return nil }
        let query = try connection.prepare("SELECT max_age_ms, max_bytes FROM retention WHERE id = 1")
        guard try query.step() else { return nil }
        let policy = RetentionPolicy(maxAgeMs: query.optionalInt64(0), maxBytes: query.optionalInt64(1))
        return policy.isEmpty ? nil : policy
    }

    /// Records `policy` as the capture's retention (nil or empty: keep everything). The next
    /// batch transactions start applying it.
    public func set(_ policy: RetentionPolicy?) throws {
        try store.requireWriter()
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
        try loadActive()
    }

    /// Runs one chunk of retention inside the current transaction: at most twice the batch's
    /// rows (at least 1,000), so a capture removes faster than it adds without ever stalling
    /// on one huge delete; a transaction without rows (an idle capture) removes up to 10,000.
    /// Returns how many rows it removed.
    @discardableResult
    func apply(batchRows: Int, nowMs: Int64) throws -> Int {
        guard let retention = store.activeRetention else { return 0 }
        let keptLog = Set(store.inserter.keyedModes.filter { $0.value == .latest }.keys)
        let budget = batchRows == 0 ? Self.idleBudget : max(1_000, 2 * batchRows)
        let removed = try store.retentionWorker.run(retention, budget: budget, nowMs: nowMs, keptLogTopics: keptLog)
        store.inserter.latestTopicsWithValues.formUnion(store.retentionWorker.topicsWithValues)
        return removed
    }

    /// The most rows one transaction without new rows removes.
    static let idleBudget = 10_000

    /// Runs one transaction of retention alone; returns how many rows it removed (0: nothing
    /// is due, or no policy). Call it until it returns 0 to bring a capture fully in line.
    public func retainOnce() throws -> Int {
        try store.requireWriter()
        var removed = 0
        try connection.inTransaction { removed = try apply(batchRows: 0, nowMs: WallClock.nowMs()) }
        return removed
    }
}
