import SpoolModel

/// What a restore selects from one partition of a capture: the records whose timestamps fall in
/// its window, summarised before anything is sent.
package struct PartitionSelection: Sendable, Equatable {
    /// The partition.
    package var partition: Int32
    /// The first stored offset (where a new restore starts reading).
    package var firstOffset: Int64
    /// How many records are selected.
    package var count: Int64
    /// The oldest selected timestamp that can be reproduced (ms since the epoch; nil when none can).
    package var oldestTimestamp: Int64?
    /// The newest selected timestamp that can be reproduced.
    package var newestTimestamp: Int64?
    /// The largest selected record: key, value and header bytes.
    package var largestRecordBytes: Int64
    /// Selected records with a null key.
    package var nullKeys: Int64
    /// Selected records whose timestamp cannot be reproduced (-1, or 0 which a producer reads as "now").
    package var untimed: Int64

    /// Names every field.
    package init(partition: Int32, firstOffset: Int64, count: Int64, oldestTimestamp: Int64?, newestTimestamp: Int64?,
                 largestRecordBytes: Int64, nullKeys: Int64, untimed: Int64) {
        self.partition = partition
        self.firstOffset = firstOffset
        self.count = count
        self.oldestTimestamp = oldestTimestamp
        self.newestTimestamp = newestTimestamp
        self.largestRecordBytes = largestRecordBytes
        self.nullKeys = nullKeys
        self.untimed = untimed
    }
}

extension CaptureReader {
    /// Per partition of `topic`, the stored records with timestamps in `fromMs..<untilMs`, from
    /// the log or (`latest`) from the topic's `latest` table.
    package func selections(topic: String, fromMs: Int64, untilMs: Int64, latest: Bool) throws -> [Int32: PartitionSelection] {
        // Keys and values are stored as BLOBs, whose length() SQLite reads from the record header
        // without loading them; the headers are TEXT, whose length() counts characters.
        // A --latest-only topic's table holds its values (latest_values, or latest before migration 13).
        let table = latest ? (store.usesLatestKeys ? "latest_values" : "latest") : "messages"
        let headers = latest || store.hasHeaders ? "coalesce(length(CAST(headers AS BLOB)), 0)" : "0"
        let query = try store.connection.prepare("""
            SELECT partition, min(offset) AS first_offset, count(*) AS selected,
                   min(CASE WHEN timestamp > 0 THEN timestamp END) AS oldest, max(CASE WHEN timestamp > 0 THEN timestamp END) AS newest,
                   max(coalesce(length(key), 0) + coalesce(length(value), 0) + \(headers)) AS largest_bytes,
                   sum(key IS NULL) AS null_keys, sum(timestamp <= 0) AS untimed
            FROM \(table) WHERE topic = ?1 AND timestamp >= ?2 AND timestamp < ?3 GROUP BY partition
            """)
        query.bind(1, topic)
        query.bind(2, fromMs)
        query.bind(3, untilMs)
        var found: [Int32: PartitionSelection] = [:]
        while try query.step() {
            let partition = Int32(query.int64("partition"))
            found[partition] = PartitionSelection(partition: partition, firstOffset: query.int64("first_offset"), count: query.int64("selected"),
                                                  oldestTimestamp: query.optionalInt64("oldest"), newestTimestamp: query.optionalInt64("newest"),
                                                  largestRecordBytes: query.int64("largest_bytes"), nullKeys: query.int64("null_keys"),
                                                  untimed: query.int64("untimed"))
        }
        // A window leaves earlier records out of min(offset); a restore starts at the first stored one.
        guard fromMs > Int64.min || untilMs < Int64.max else { return found }
        let first = try store.connection.prepare("SELECT partition, min(offset) FROM \(table) WHERE topic = ?1 GROUP BY partition")
        first.bind(1, topic)
        while try first.step() {
            found[Int32(first.int64(0))]?.firstOffset = first.int64(1)
        }
        return found
    }

    /// How many partitions `topic` had when it was captured (the partitions the capture tracked).
    package func partitionCount(topic: String) throws -> Int {
        let query = try store.connection.prepare("SELECT max(partition) FROM partition_state WHERE topic = ?1")
        query.bind(1, topic)
        guard try query.step(), let last = query.optionalInt64(0) else { return 0 }
        return Int(last) + 1
    }

    /// Whether `topic` is kept only as its `latest` table (`--latest-only`).
    package func isLatestOnly(topic: String) throws -> Bool {
        try store.keyed.topics().contains { $0.topic == topic && $0.mode == .latestOnly }
    }

    /// The cluster id the capture was fed from, once known.
    package func clusterID() throws -> String? { try store.clusterID() }

    /// Hands `body` the rows of `topic`'s `latest` table for `partition` from offset `start`,
    /// in offset order, at most `limit`; returns how many. The bytes are lent for one call.
    package func withLatestRows(of partition: TopicPartition, from start: Int64, limit: Int,
                                _ body: (CapturedRow) throws -> Void) throws -> Int {
        let query = try store.connection.prepareOnce(&latestRows, """
            SELECT offset, timestamp, key, value, headers FROM \(store.usesLatestKeys ? "latest_values" : "latest")
            WHERE topic = ?1 AND partition = ?2 AND offset >= ?3 ORDER BY offset LIMIT ?4
            """)
        query.reset()
        defer { query.reset() }
        query.bind(1, partition.topic)
        query.bind(2, Int64(partition.partition))
        query.bind(3, start)
        query.bind(4, Int64(limit))
        var handed = 0
        let columns = CapturedRow.Columns(query)
        while try query.step() {
            try body(columns.row(query))
            handed += 1
        }
        return handed
    }
}
