import SpoolModel
import SpoolTestSupport
import Testing
@testable import SpoolStore

@Suite("Several shard files read as one", .timeLimit(.minutes(1)))
struct ShardUnionTests {
    /// The partition of topic "t" (among 0..<shards) that shard `index` of `shards` owns: with as
    /// many partitions as shards, each shard owns exactly one.
    private func ownedPartition(_ index: Int, of shards: Int) -> Int32 {
        (0..<Int32(shards)).first { ShardSpec.owner(of: TopicPartition(topic: "t", partition: $0), shards: shards) == index }!
    }

    /// Shard `index`'s file holding `count` rows of the partition of topic "t" it owns.
    private func shardFile(_ dir: TemporaryDirectory, _ index: Int, of shards: Int, rows count: Int, name: String? = nil) throws -> String {
        let path = dir.file(name ?? "s\(index).sqlite")
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        try store.shards.record(ShardSpec(index: index, count: shards)!)
        let partition = ownedPartition(index, of: shards)
        try store.write(batch: makeBatch(partition: partition, count: count),
                        checkpoints: [stateAfter(partition: partition, through: Int64(count - 1))], completeUntil: nil)
        return path
    }

    @Test func queriesReadEveryFileAndStillOnlyRead() throws {
        let dir = TemporaryDirectory()
        let paths = try (0..<3).map { try shardFile(dir, $0, of: 3, rows: 10 * ($0 + 1)) }
        let runner = try QueryRunner(paths: paths)
        var rows: [[QueryValue]] = []
        try runner.run("SELECT partition, count(*) FROM messages GROUP BY partition ORDER BY partition", columns: { _ in }, row: { rows.append($0) })
        let expected = (0..<3).map { (Int64(ownedPartition($0, of: 3)), Int64(10 * ($0 + 1))) }.sorted { $0.0 < $1.0 }
            .map { [QueryValue.integer($0.0), .integer($0.1)] }
        #expect(rows == expected)
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
        // Ten files attach (one shard missing, so only as an incomplete set).
        #expect(try QueryRunner(paths: Array(paths.prefix(10)), allowIncomplete: true).path.contains("s9.sqlite"), "ten files are fine")
    }

    @Test func onlyDistinctShardsOfOneCountAreReadTogether() throws {
        let dir = TemporaryDirectory()
        let paths = try (0..<2).map { try shardFile(dir, $0, of: 2, rows: 5) }
        let whole = dir.file("whole.sqlite")
        try SpoolStore.openForWriting(path: whole).close()
        let other = try shardFile(dir, 1, of: 3, rows: 5, name: "other.sqlite")
        let again = try shardFile(dir, 1, of: 2, rows: 5, name: "again.sqlite")
        for (bad, reason) in [(whole, "not a shard's file"), (other, "is shard 1/3"), (again, "shard 1/2 is given 2 times")] {
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
