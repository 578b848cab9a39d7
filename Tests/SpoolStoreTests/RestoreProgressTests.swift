import SpoolModel
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// The `restores` table (migration 11): what `spool restore` records and `spool status` reads.
@Suite("SpoolStore: restore progress", .timeLimit(.minutes(1)))
struct RestoreProgressTests {
    static func row(_ id: String, partition: Int32, restored: Int64, cluster: String? = "dst", target: String = "t-copy",
                    at updatedAt: Int64) -> RestoreProgress {
        RestoreProgress(restoreID: id, sourceTopic: "t", targetTopic: target, targetClusterID: cluster, partition: partition,
                        nextOffset: restored + 10, restored: restored, selected: 100, updatedAt: updatedAt)
    }

    @Test func aSecondRecordOfTheSameRestoreAndPartitionReplacesTheFirst() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("c.sqlite")
        let first = [Self.row("r", partition: 0, restored: 5, at: 1), Self.row("r", partition: 1, restored: 7, at: 1),
                     Self.row("other", partition: 0, restored: 9, at: 1)]
        // Every field but the key (restore id, topics, partition) changes, the cluster to unknown;
        // the same id and partition into another target topic is a row of its own.
        let second = Self.row("r", partition: 0, restored: 50, cluster: nil, at: 2)
        let elsewhere = Self.row("r", partition: 0, restored: 3, target: "t-moved", at: 2)
        do {
            let store = try SpoolStore.openForWriting(path: path)
            defer { store.close() }
            try store.restores.record(first)
            try store.restores.record([second, elsewhere])
            #expect(try store.restores.progress() == [first[2], second, first[1], elsewhere], "by restore id, topics, then partition")
        }
        let reader = try SpoolStore.openForReading(path: path)
        defer { reader.close() }
        #expect(try reader.restores.progress() == [first[2], second, first[1], elsewhere], "a reader sees the same rows")
        #expect(try reader.connection.integer("SELECT count(*) FROM restores") == 4, "one row per restore, topics and partition")
    }

    @Test func aFileFromBeforeRestoresHasNone() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v10.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            defer { connection.close() }
            try Migrator(migrations: Migrator().migrations.filter { $0.version <= 10 }).migrate(connection, nowMs: 1)
        }
        let reader = try SpoolStore.openForReading(path: path)
        defer { reader.close() }
        #expect(reader.schemaVersion == 10)
        #expect(try reader.connection.integer("SELECT count(*) FROM sqlite_master WHERE name = 'restores'") == 0, "the old file has no table")
        #expect(try reader.restores.progress() == [])
    }
}
