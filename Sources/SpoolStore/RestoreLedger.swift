import SpoolModel

/// The restores a capture records (`SpoolStore.restores`): per restore, source and target topic
/// and partition, how far `spool restore` got, so a restore run again continues where it stopped.
public struct RestoreLedger {
    let store: SpoolStore
    private var connection: SQLiteConnection { store.connection }

    /// Records how far partitions of a restore got, in one transaction (a writer only); a row
    /// replaces the one of the same restore id, topics and partition.
    public func record(_ rows: [RestoreProgress]) throws {
        guard !rows.isEmpty else { return }
        try connection.inTransaction {
            let upsert = try connection.prepare("""
                INSERT INTO restores (restore_id, source_topic, target_topic, target_cluster_id, partition, next_offset, restored, selected, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (restore_id, source_topic, target_topic, partition) DO UPDATE SET
                    target_cluster_id = excluded.target_cluster_id, next_offset = excluded.next_offset,
                    restored = excluded.restored, selected = excluded.selected, updated_at = excluded.updated_at
                """)
            for row in rows {
                upsert.reset()
                upsert.bind(1, row.restoreID)
                upsert.bind(2, row.sourceTopic)
                upsert.bind(3, row.targetTopic)
                upsert.bind(4, row.targetClusterID)
                upsert.bind(5, Int64(row.partition))
                upsert.bind(6, row.nextOffset)
                upsert.bind(7, row.restored)
                upsert.bind(8, row.selected)
                upsert.bind(9, row.updatedAt)
                _ = try upsert.step()
            }
        }
    }

    /// Every partition of every restore recorded in the file, by restore id, topics and partition;
    /// empty for a file made before restores existed.
    public func progress() throws -> [RestoreProgress] {
        guard store.schemaVersion >= 11 else { return [] }
        let query = try connection.prepare("""
            SELECT restore_id, source_topic, target_topic, target_cluster_id, partition, next_offset, restored, selected, updated_at
            FROM restores ORDER BY restore_id, source_topic, target_topic, partition
            """)
        var rows: [RestoreProgress] = []
        while try query.step() {
            rows.append(RestoreProgress(restoreID: query.text("restore_id") ?? "", sourceTopic: query.text("source_topic") ?? "",
                                        targetTopic: query.text("target_topic") ?? "", targetClusterID: query.text("target_cluster_id"),
                                        partition: Int32(query.int64("partition")), nextOffset: query.int64("next_offset"),
                                        restored: query.int64("restored"), selected: query.int64("selected"), updatedAt: query.int64("updated_at")))
        }
        return rows
    }
}
