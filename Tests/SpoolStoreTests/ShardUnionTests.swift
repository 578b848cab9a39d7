import SpoolModel
import SpoolTestSupport
import Testing
@testable import SpoolStore

@Suite("Several shard files read as one", .timeLimit(.minutes(1)))
struct ShardUnionTests {
    /// A file holding `count` rows of partition `partition` of topic "t".
    private func shardFile(_ dir: TemporaryDirectory, _ index: Int, of shards: Int, rows count: Int, name: String? = nil) throws -> String {
        let path = dir.file(name ?? "s\(index).sqlite")
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        try store.recordShard(ShardSpec(index: index, count: shards)!)
        try store.write(batch: makeBatch(partition: Int32(index), count: count),
                        checkpoints: [stateAfter(partition: Int32(index), through: Int64(count - 1))], completeUntil: nil)
        return path
    }

    @Test func queriesReadEveryFileAndStillOnlyRead() throws {
        let dir = TemporaryDirectory()
        let paths = try (0..<3).map { try shardFile(dir, $0, of: 3, rows: 10 * ($0 + 1)) }
        let runner = try QueryRunner(paths: paths)
        var rows: [[QueryValue]] = []
        try runner.run("SELECT partition, count(*) FROM messages GROUP BY partition ORDER BY partition", columns: { _ in }, row: { rows.append($0) })
        #expect(rows == [[.integer(0), .integer(10)], [.integer(1), .integer(20)], [.integer(2), .integer(30)]])
        var states: [[QueryValue]] = []
        try runner.run("SELECT count(*), sum(stored_count) FROM partition_state", columns: { _ in }, row: { states.append($0) })
        #expect(states == [[.integer(3), .integer(60)]])
        #expect(throws: QueryError.self) { try runner.run("DELETE FROM messages", columns: { _ in }, row: { _ in }) }
        #expect(throws: QueryError.self) { try runner.run("ATTACH DATABASE 'x.sqlite' AS x", columns: { _ in }, row: { _ in }) }
    }

    @Test func pastSQLitesAttachLimitItSaysSoAndPointsToMerge() throws {
        let dir = TemporaryDirectory()
        let paths = try (0..<11).map { try shardFile(dir, $0, of: 11, rows: 1) }
        do {
            _ = try QueryRunner(paths: paths)
            Issue.record("11 files opened although Debian's SQLite attaches at most 10")
        } catch let error as StoreError {
            #expect(String(describing: error).contains("attaches at most 10"), "\(error)")
            #expect(String(describing: error).contains("spool merge"), "\(error)")
        }
        #expect(try QueryRunner(paths: Array(paths.prefix(10))).path.contains("s9.sqlite"), "ten files are fine")
    }

    @Test func onlyDistinctShardsOfOneCountAreReadTogether() throws {
        let dir = TemporaryDirectory()
        let paths = try (0..<2).map { try shardFile(dir, $0, of: 2, rows: 5) }
        let whole = dir.file("whole.sqlite")
        try SpoolStore.openForWriting(path: whole).close()
        let other = try shardFile(dir, 1, of: 3, rows: 5, name: "other.sqlite")
        let again = try shardFile(dir, 1, of: 2, rows: 5, name: "again.sqlite")
        for (bad, reason) in [(whole, "not a shard's file"), (other, "the others are shards of 2"), (again, "each shard may be given once")] {
            do {
                _ = try QueryRunner(paths: paths + [bad])
                Issue.record("\(bad) was read with the shards")
            } catch let error as StoreError {
                #expect(String(describing: error).contains(reason), "\(error)")
            }
        }
        var completeUntil: [[QueryValue]] = []
        try QueryRunner(paths: paths).run("SELECT complete_until FROM progress", columns: { _ in }, row: { completeUntil.append($0) })
        #expect(completeUntil == [[.null]], "one row for the capture, unknown while a shard's is")
    }
}
