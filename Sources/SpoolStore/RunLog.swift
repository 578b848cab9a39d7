import SpoolModel

/// The runs a capture records: when each started and how it ended, its topics and their
/// policies, the offset range it resolved per partition, and the gaps retention left
/// (`SpoolStore.runs`). A run's views are created with its start.
public struct RunLog {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// Records the start of a run: its topics, policies, resolved ranges and cluster, and
    /// creates one view per topic. The first cluster id seen is kept as the database's; checking
    /// that later runs read the same cluster is the ingest pipeline's job.
    @discardableResult
    public func start(clusterID: String?, cutoff: Int64, bounded: Bool, topics: [SourceTopic],
                         ranges: [TopicPartition: ReplayRange]) throws -> Int64 {
        try store.requireWriter()
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
                try TopicViews.createView(for: source.name, on: connection)
            }
            try insertPartitions(runID, ranges)
            return runID
        }
    }

    /// Records how run `id` ended.
    public func finish(_ id: Int64, status: RunStatus) throws {
        try store.requireWriter()
        let update = try connection.prepare("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?")
        update.bind(1, status.rawValue)
        update.bind(2, WallClock.nowMs())
        update.bind(3, id)
        try update.run()
    }

    /// Records offsets deleted by retention before they were read.
    public func recordGap(_ gap: GapRecord) throws {
        try store.requireWriter()
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
    public func latest() throws -> SavedRun? {
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
                throw StoreError.inconsistent(path: store.path, reason: "run \(id) records an unreadable policy for topic '\(name)'")
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
    func insertPartitions(_ runID: Int64, _ ranges: [TopicPartition: ReplayRange]) throws {
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

    /// Every recorded gap, oldest first.
    public func gaps() throws -> [GapRecord] {
        let query = try connection.prepare("""
            SELECT topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted FROM gaps ORDER BY id
            """)
        var rows: [GapRecord] = []
        while try query.step() {
            rows.append(GapRecord(topic: query.text("topic") ?? "", partition: Int32(query.int64("partition")),
                                  firstMissingOffset: query.int64("first_missing_offset"), lastMissingOffset: query.int64("last_missing_offset"),
                                  detectedAt: query.int64("detected_at"), accepted: query.int64("accepted") != 0))
        }
        return rows
    }
}
