import SpoolModel

/// One restore (`spool restore`) as the capture recorded it, for `spool status`: its partitions'
/// rows of the `restores` table, combined across the files of a sharded capture (the restore
/// records each partition in the file holding it).
///
/// The rows are best effort and may lag one transaction: Kafka's committed offsets of the
/// consumer group named like the restore are what decide where a restarted restore continues.
public struct RecordedRestore: Sendable, Equatable {
    /// The restore's id: its transactional.id, and the consumer group holding its progress.
    public var restoreID: String
    /// The captured topic.
    public var sourceTopic: String
    /// The topic written to.
    public var targetTopic: String
    /// The target cluster's id, when its brokers reported one.
    public var targetClusterID: String?
    /// One row per partition, by partition number.
    public var partitions: [RestoreProgress]

    /// Records restored so far, over every partition.
    public var restored: Int64 { partitions.reduce(0) { $0 + $1.restored } }
    /// Records the restore selected, over every partition.
    public var selected: Int64 { partitions.reduce(0) { $0 + $1.selected } }
    /// How many partitions are complete (`isComplete`).
    public var completePartitions: Int { partitions.filter(Self.isComplete).count }
    /// When a partition was last recorded (ms since the epoch).
    public var lastRecordedAt: Int64 { partitions.map(\.updatedAt).max() ?? 0 }

    /// Whether a partition is complete: every selected record restored.
    public static func isComplete(_ partition: RestoreProgress) -> Bool {
        partition.restored == partition.selected
    }

    /// The rows of every file of a capture (in any order) as restores, by restore id, then
    /// source topic, target topic and cluster.
    ///
    /// Rows are one restore when they share the id, the topics and the target cluster; a
    /// restore id reused for another topic or cluster shows as a restore of its own, with the
    /// same id. A partition recorded by two files (a shard set holding it twice) counts once,
    /// as most recently recorded.
    public static func combining(_ rows: [RestoreProgress]) -> [RecordedRestore] {
        struct Key: Hashable {
            var restoreID: String
            var sourceTopic: String
            var targetTopic: String
            var targetClusterID: String?
        }
        var groups: [Key: [Int32: RestoreProgress]] = [:]
        for row in rows {
            let key = Key(restoreID: row.restoreID, sourceTopic: row.sourceTopic, targetTopic: row.targetTopic,
                          targetClusterID: row.targetClusterID)
            if let held = groups[key]?[row.partition], held.updatedAt >= row.updatedAt { continue }
            groups[key, default: [:]][row.partition] = row
        }
        return groups.map { key, partitions in
            RecordedRestore(restoreID: key.restoreID, sourceTopic: key.sourceTopic, targetTopic: key.targetTopic,
                            targetClusterID: key.targetClusterID,
                            partitions: partitions.values.sorted { $0.partition < $1.partition })
        }.sorted {
            ($0.restoreID, $0.sourceTopic, $0.targetTopic, $0.targetClusterID ?? "")
                < ($1.restoreID, $1.sourceTopic, $1.targetTopic, $1.targetClusterID ?? "")
        }
    }

    /// The restore as two lines of text for people (names shown as `TerminalText.safe` writes them):
    ///
    ///     restore ID: SOURCE → TARGET (cluster C): R of S records, N of M partitions complete, last recorded TIME
    ///       as recorded here (best effort): Kafka's committed offsets of consumer group ID are authoritative
    public func text() -> String {
        let id = TerminalText.safe(restoreID)
        let cluster = TerminalText.safe(targetClusterID ?? "unknown")
        return "restore \(id): \(TerminalText.safe(sourceTopic)) → \(TerminalText.safe(targetTopic)) (cluster \(cluster)): "
            + "\(restored) of \(selected) records, \(completePartitions) of \(partitions.count) partitions complete, "
            + "last recorded \(TimeText.iso8601(lastRecordedAt))\n"
            + "  as recorded here (best effort): Kafka's committed offsets of consumer group \(id) are authoritative\n"
    }

    /// The restores section of the text reports: a blank line, then each restore's `text()`;
    /// empty when there are none.
    public static func section(_ restores: [RecordedRestore]) -> String {
        restores.isEmpty ? "" : "\n" + restores.map { $0.text() }.joined()
    }

    /// The restore as one JSON object: the block's fields, and one object per partition.
    /// `restore_id` is also the consumer group; times are ms since the epoch.
    public func json() -> String {
        JSONText.object([
            ("restore_id", JSONText.string(restoreID)),
            ("source_topic", JSONText.string(sourceTopic)),
            ("target_topic", JSONText.string(targetTopic)),
            ("target_cluster_id", targetClusterID.map(JSONText.string) ?? "null"),
            ("restored", String(restored)),
            ("selected", String(selected)),
            ("complete_partitions", String(completePartitions)),
            ("partition_count", String(partitions.count)),
            ("last_recorded_at", String(lastRecordedAt)),
            ("partitions", JSONText.array(partitions.map { partition in
                JSONText.object([
                    ("partition", String(partition.partition)), ("next_offset", String(partition.nextOffset)),
                    ("restored", String(partition.restored)), ("selected", String(partition.selected)),
                    ("complete", Self.isComplete(partition) ? "true" : "false"), ("updated_at", String(partition.updatedAt)),
                ])
            })),
        ])
    }
}
