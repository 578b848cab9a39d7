import SpoolModel

extension SpoolStore {
    /// Records the start of a run: its topics, policies, resolved ranges and cluster, and
    /// creates one view per topic. The first cluster id seen is kept as the database's; checking
    /// that later runs read the same cluster is the ingest pipeline's job.
    @discardableResult
    public func startRun(clusterID: String?, cutoff: Int64, bounded: Bool, topics: [SourceTopic],
                         ranges: [TopicPartition: ReplayRange]) throws -> Int64 {
        try requireWriter()
        let now = WallClock.nowMs()
        return try connection.inTransaction {
            if let clusterID {
                let update = try connection.prepare("UPDATE progress SET cluster_id = ? WHERE id = 1 AND cluster_id IS NULL")
                update.bind(1, clusterID)
                try update.run()
            }
            let run = try connection.prepare("INSERT INTO runs (started_at, cluster_id, cutoff, bounded, status) VALUES (?, ?, ?, ?, 'running')")
            run.bind(1, now)
            run.bind(2, clusterID)
            run.bind(3, cutoff)
            run.bind(4, bounded ? 1 : 0)
            try run.run()
            let runID = try connection.lastInsertRowID()
            let topic = try connection.prepare("INSERT INTO run_topics (run_id, topic, policy) VALUES (?, ?, ?)")
            for source in topics {
                topic.bind(1, runID)
                topic.bind(2, source.name)
                topic.bind(3, source.policy.description)
                try topic.run()
                try createView(for: source.name)
            }
            try insertRunPartitions(runID, ranges)
            return runID
        }
    }

    /// Records how run `id` ended.
    public func finishRun(_ id: Int64, status: RunStatus) throws {
        try requireWriter()
        let update = try connection.prepare("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?")
        update.bind(1, status.rawValue)
        update.bind(2, WallClock.nowMs())
        update.bind(3, id)
        try update.run()
    }

    /// Records offsets deleted by retention before they were read.
    public func recordGap(_ gap: GapRecord) throws {
        try requireWriter()
        let insert = try connection.prepare("""
            INSERT INTO gaps (topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, gap.topic)
        insert.bind(2, Int64(gap.partition))
        insert.bind(3, gap.firstMissingOffset)
        insert.bind(4, gap.lastMissingOffset)
        insert.bind(5, gap.detectedAt)
        insert.bind(6, gap.accepted ? 1 : 0)
        try insert.run()
    }

    /// The most recent run, if any.
    public func latestRun() throws -> SavedRun? {
        let query = try connection.prepare("SELECT id, started_at, cluster_id, cutoff, bounded, status, finished_at FROM runs ORDER BY id DESC LIMIT 1")
        guard try query.step() else { return nil }
        let id = query.int64("id")
        var run = SavedRun(id: id, startedAt: query.int64("started_at"), clusterID: query.text("cluster_id"), cutoff: query.int64("cutoff"),
                           bounded: query.int64("bounded") != 0, status: RunStatus(rawValue: query.text("status") ?? "") ?? .failed,
                           finishedAt: query.optionalInt64("finished_at"), topics: [], ranges: [:])
        let topics = try connection.prepare("SELECT topic, policy FROM run_topics WHERE run_id = ? ORDER BY topic")
        topics.bind(1, id)
        while try topics.step() {
            let name = topics.text(0) ?? ""
            guard let policy = OffsetPolicy(seedSpelling: topics.text(1) ?? "") else {
                throw StoreError.inconsistent(path: path, reason: "run \(id) records an unreadable policy for topic '\(name)'")
            }
            run.topics.append(SourceTopic(name: name, policy: policy))
        }
        let partitions = try connection.prepare("SELECT topic, partition, start_offset, end_offset FROM run_partitions WHERE run_id = ?")
        partitions.bind(1, id)
        while try partitions.step() {
            run.ranges[TopicPartition(topic: partitions.text(0) ?? "", partition: Int32(partitions.int64(1)))] =
                ReplayRange(start: partitions.int64(2), end: partitions.int64(3))
        }
        return run
    }

    /// Adds partitions to run `runID`'s recorded ranges (partitions added to a topic while a
    /// follow run reads it); called inside the transaction that stores their first state.
    func insertRunPartitions(_ runID: Int64, _ ranges: [TopicPartition: ReplayRange]) throws {
        let partition = try connection.prepare("INSERT INTO run_partitions (run_id, topic, partition, start_offset, end_offset) VALUES (?, ?, ?, ?, ?)")
        for (tp, range) in ranges.sorted(by: { $0.key < $1.key }) {
            partition.bind(1, runID)
            partition.bind(2, tp.topic)
            partition.bind(3, Int64(tp.partition))
            partition.bind(4, range.start)
            partition.bind(5, range.end)
            try partition.run()
        }
    }

    /// Creates `"topic"` as a view over its messages, unless the name is taken by something else.
    private func createView(for topic: String) throws {
        try Self.createView(for: topic, on: connection)
    }

    /// The columns of every per-topic view, in order.
    static let viewColumns = "key, value, topic, partition, offset, timestamp, headers, key_json, value_json, decode_state"

    /// The messages view's select list over `records` aliased `records` and `streams` aliased
    /// `streams` (as migration 12 defines the view).
    static func messagesViewColumns(records r: String, streams s: String) -> String {
        "\(r).key AS key, \(r).value AS value, \(s).topic AS topic, \(s).partition AS partition, \(r).id - (\(s).id << \(StreamDirectory.offsetBits)) AS offset, "
            + "\(r).timestamp AS timestamp, \(r).headers AS headers, \(r).key_json AS key_json, \(r).value_json AS value_json, \(r).decode_state AS decode_state"
    }

    /// Creates `"topic"` as a view over its messages on `connection`, unless the name is taken.
    static func createView(for topic: String, on connection: SQLiteConnection) throws {
        guard try !nameIsTaken(topic, on: connection), !topic.lowercased().hasPrefix("sqlite_") else { return }
        try connection.execute("""
            CREATE VIEW \(quotedIdentifier(topic)) AS SELECT \(viewColumns) FROM messages WHERE topic = \(quotedLiteral(topic))
            """)
    }

    /// Whether a table, view or index of that name (in any letter case) exists.
    static func nameIsTaken(_ name: String, on connection: SQLiteConnection) throws -> Bool {
        let existing = try connection.prepare("SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE")
        existing.bind(1, name)
        return try existing.step()
    }

    /// `name` as an SQL identifier: in double quotes, inner quotes doubled.
    static func quotedIdentifier(_ name: String) -> String { "\"" + name.replacing("\"", with: "\"\"") + "\"" }

    /// `text` as an SQL string literal: in single quotes, inner quotes doubled.
    static func quotedLiteral(_ text: String) -> String { "'" + text.replacing("'", with: "''") + "'" }

    /// Re-creates the per-topic log and latest views Spool made with an earlier column list so
    /// they show today's columns (run inside the migration's transaction: 2 added `headers`, 4
    /// the decoded columns). A view is Spool's when its SQL is exactly what an earlier version wrote.
    static func upgradeTopicViews(on connection: SQLiteConnection) throws {
        let logColumns = ["key, value, topic, partition, offset, timestamp", "key, value, topic, partition, offset, timestamp, headers"]
        let latestColumns = ["key, value, partition, offset, timestamp, headers"]
        let views = try connection.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name")
        var logViews: [String] = []
        var latestViews: [String] = []
        while try views.step() {
            let name = views.text(0) ?? "", sql = views.text(1)
            let view = "CREATE VIEW \(quotedIdentifier(name)) AS SELECT "
            if logColumns.contains(where: { sql == view + $0 + " FROM messages WHERE topic = \(quotedLiteral(name))" }) {
                logViews.append(name)
            }
            if name.hasSuffix(":latest") {
                let topic = String(name.dropLast(":latest".count))
                if latestColumns.contains(where: { sql == view + $0 + " FROM latest WHERE topic = \(quotedLiteral(topic))" }) {
                    latestViews.append(topic)
                }
            }
        }
        for topic in logViews {
            try connection.execute("DROP VIEW \(quotedIdentifier(topic))")
            try createView(for: topic, on: connection)
        }
        for topic in latestViews {
            try connection.execute("DROP VIEW \(quotedIdentifier(latestViewName(topic)))")
            try createLatestView(for: topic, on: connection)
        }
    }
}
