import Foundation
import KafkaReplay
import SpoolStore
import SpoolTestSupport
import Testing
@testable import SpoolCLI

/// A capture file made with the store API: `count` records on each of `partitions` of `topic`,
/// recorded as shard `shard`'s file when given, then `restores` recorded as `spool restore` does.
func writeCaptureWithRestores(_ path: String, topic: String = "t", partitions: [Int32], count: Int = 3, shard: ShardSpec? = nil,
                              restores: [RestoreProgress]) throws {
    let store = try SpoolStore.openForWriting(path: path)
    defer { store.close() }
    if let shard { try store.shards.record(shard) }
    for partition in partitions {
        let batch = MessageBatch((0..<count).map { index in
            Message(key: nil, value: Array("v\(index)".utf8), topic: topic, partition: partition, offset: Int64(index),
                    timestamp: 1_700_000_000_000 + Int64(index))
        })
        let last = Int64(count - 1)
        let checkpoint = PartitionState(topicPartition: TopicPartition(topic: topic, partition: partition),
                                        range: ReplayRange(start: 0, end: Int64(count)), consumedOffset: last, releasedOffset: last,
                                             lastConsumedTimestamp: 1_700_000_000_000 + last, isLive: true, isPaused: false)
        try store.write(batch: batch, checkpoints: [checkpoint], completeUntil: nil)
    }
    try store.restores.record(restores)
}

/// One partition's row of a restore of topic `t`.
func restoreRow(_ id: String, target: String = "t-copy", cluster: String? = "dst", partition: Int32, restored: Int64, selected: Int64,
                at updatedAt: Int64 = 1_700_000_000_000) -> RestoreProgress {
    RestoreProgress(restoreID: id, sourceTopic: "t", targetTopic: target, targetClusterID: cluster, partition: partition,
                    nextOffset: restored, restored: restored, selected: selected, updatedAt: updatedAt)
}

/// `spool status` shows the restores recorded in a capture: one block per restore, combined
/// across the files of a shard set, in text and JSON, names escaped for the terminal.
@Suite("spool status: restores recorded in the capture", .serialized, .timeLimit(.minutes(2)))
struct StatusRestoreTests {
    /// A terminal-hostile target topic and restore id, as a crafted file can hold them, and how text shows them.
    static let hostileTarget = "x\u{1B}[2J\r\u{202E}", shownTarget = #"x\u{1b}[2J\r\u{202e}"#
    static let hostileID = "b-restore\u{9B}1m", shownID = #"b-restore\u{9b}1m"#

    /// Two restores of `t`: `a-restore` into t-copy on cluster dst (partition 0 complete, 1 not),
    /// and the hostile id into the hostile topic on an unknown cluster (nothing restored yet).
    static let twoRestores = [
        restoreRow("a-restore", partition: 1, restored: 1, selected: 3, at: 1_700_000_060_000),
        restoreRow(hostileID, target: hostileTarget, cluster: nil, partition: 0, restored: 0, selected: 3, at: 1_700_000_120_000),
        restoreRow("a-restore", partition: 0, restored: 3, selected: 3),
    ]

    static let aLine = "restore a-restore: t → t-copy (cluster dst): 4 of 6 records, 1 of 2 partitions complete, last recorded 2023-11-14T22:14:20.000Z\n"
        + "  as recorded here (best effort): Kafka's committed offsets of consumer group a-restore are authoritative\n"
    static let bLine = "restore \(shownID): t → \(shownTarget) (cluster unknown): 0 of 3 records, 0 of 1 partitions complete, last recorded 2023-11-14T22:15:20.000Z\n"
        + "  as recorded here (best effort): Kafka's committed offsets of consumer group \(shownID) are authoritative\n"

    /// The `restores` array of a JSON report.
    static func restores(inJSON json: String) throws -> [[String: Any]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return try #require(object["restores"] as? [[String: Any]], "no restores array in \(json)")
    }

    /// Checks the JSON of the two restores field by field.
    static func expectTwoRestores(_ restores: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(restores.count == 2, "\(restores)", sourceLocation: sourceLocation)
        guard restores.count == 2 else { return }
        let a = restores[0], b = restores[1]
        #expect(a["restore_id"] as? String == "a-restore" && a["source_topic"] as? String == "t" && a["target_topic"] as? String == "t-copy"
                && a["target_cluster_id"] as? String == "dst", "\(a)", sourceLocation: sourceLocation)
        #expect(a["restored"] as? Int == 4 && a["selected"] as? Int == 6 && a["complete_partitions"] as? Int == 1
                && a["partition_count"] as? Int == 2 && a["last_recorded_at"] as? Int == 1_700_000_060_000, "\(a)", sourceLocation: sourceLocation)
        let partitions = a["partitions"] as? [[String: Any]] ?? []
        #expect(partitions.map { $0["partition"] as? Int } == [0, 1], "\(partitions)", sourceLocation: sourceLocation)
        #expect(partitions.map { $0["complete"] as? Bool } == [true, false], sourceLocation: sourceLocation)
        #expect(partitions.map { $0["next_offset"] as? Int } == [3, 1] && partitions.map { $0["restored"] as? Int } == [3, 1]
                && partitions.map { $0["selected"] as? Int } == [3, 3]
                && partitions.map { $0["updated_at"] as? Int } == [1_700_000_000_000, 1_700_000_060_000], "\(partitions)", sourceLocation: sourceLocation)
        #expect(b["restore_id"] as? String == hostileID && b["target_topic"] as? String == hostileTarget, "JSON keeps the names: \(b)",
                sourceLocation: sourceLocation)
        #expect(b["target_cluster_id"] is NSNull && b["restored"] as? Int == 0 && b["selected"] as? Int == 3
                && b["complete_partitions"] as? Int == 0 && b["partition_count"] as? Int == 1, "\(b)", sourceLocation: sourceLocation)
    }

    @Test func twoRestoresOfOneFileAreShownInTextAndJSON() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("c.sqlite")
        try writeCaptureWithRestores(path, partitions: [0, 1], restores: Self.twoRestores)
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let report = try StatusReport(store: store)
        let text = report.table()
        #expect(text.hasSuffix("gaps: none\n\n" + Self.aLine + Self.bLine), "\(text)")
        #expect(TerminalSafetyBinaryTests.rawControls(in: text).isEmpty, "raw controls in \(text.debugDescription)")
        Self.expectTwoRestores(try Self.restores(inJSON: report.json()))
    }

    @Test func aFileWithoutRestoresShowsNone() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("c.sqlite")
        try writeCaptureWithRestores(path, partitions: [0], restores: [])
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let report = try StatusReport(store: store)
        #expect(report.table().hasSuffix("gaps: none\n"), "\(report.table())")
        #expect(try Self.restores(inJSON: report.json()).isEmpty)
    }

    @Test func aShardedRestoreIsCombinedAcrossTheShardFiles() throws {
        let dir = TemporaryDirectory()
        let owners = (0..<4).map { Int32($0) }.map { ($0, ShardSpec.owner(of: TopicPartition(topic: "t", partition: $0), shards: 2)) }
        // Partitions 0 and 2 complete; the last record is partition 3's wherever it is held.
        let restored: [Int64] = [3, 1, 3, 0]
        for index in 0..<2 {
            let held = owners.filter { $0.1 == index }.map(\.0)
            try writeCaptureWithRestores(dir.file("s\(index).sqlite"), partitions: held, shard: ShardSpec(index: index, count: 2),
                                         restores: held.map { restoreRow("r", partition: $0, restored: restored[Int($0)], selected: 3,
                                                                         at: 1_700_000_000_000 + Int64($0) * 1_000) })
        }
        let coverage = try ShardCoverage(paths: [dir.file("s0.sqlite"), dir.file("s1.sqlite")])
        #expect(coverage.problems.isEmpty, "\(coverage.problems)")
        #expect(coverage.restores.count == 1 && coverage.restores.first?.partitions.map(\.partition) == [0, 1, 2, 3], "\(coverage.restores)")
        #expect(coverage.table().hasSuffix("""
            coverage: complete (every partition held by exactly one file, its owner's)

            restore r: t → t-copy (cluster dst): 7 of 12 records, 2 of 4 partitions complete, last recorded 2023-11-14T22:13:23.000Z
              as recorded here (best effort): Kafka's committed offsets of consumer group r are authoritative

            """), "\(coverage.table())")
        let restores = try Self.restores(inJSON: coverage.json())
        #expect(restores.count == 1 && restores.first?["restored"] as? Int == 7 && restores.first?["selected"] as? Int == 12
                && restores.first?["complete_partitions"] as? Int == 2, "\(restores)")
        #expect((restores.first?["partitions"] as? [[String: Any]])?.map { $0["partition"] as? Int } == [0, 1, 2, 3], "\(restores)")
    }

    @Test func combiningKeepsAPartitionOnceAndTellsRestoresApartByTopicAndCluster() {
        let rows = [
            restoreRow("r", partition: 0, restored: 1, selected: 3, at: 10),
            restoreRow("r", partition: 0, restored: 2, selected: 3, at: 20),
            restoreRow("r", partition: 0, restored: 1, selected: 3, at: 15),
            restoreRow("r", cluster: "other", partition: 0, restored: 3, selected: 3, at: 5),
            restoreRow("r", target: "u", partition: 1, restored: 0, selected: 0, at: 7),
        ]
        let restores = RecordedRestore.combining(rows)
        #expect(restores.map { "\($0.targetTopic)@\($0.targetClusterID ?? "-")" } == ["t-copy@dst", "t-copy@other", "u@dst"], "\(restores)")
        #expect(restores.first?.partitions == [rows[1]], "the most recent row of a partition held twice")
        #expect(restores.map(\.completePartitions) == [0, 1, 1], "0 of 0 selected is complete")
        #expect(restores.map(\.lastRecordedAt) == [20, 5, 7])
    }

    @Test func theBinaryShowsRestoresOfAFileAndOfAShardFolder() throws {
        let dir = TemporaryDirectory()
        try writeCaptureWithRestores(dir.file("c.sqlite"), partitions: [0, 1], restores: Self.twoRestores)
        let text = try SpoolProcess.run(["status", "c.sqlite"], directory: dir.path)
        #expect(text.status == 0 && text.stdout.hasSuffix("\n" + Self.aLine + Self.bLine), "\(text.output)")
        #expect(TerminalSafetyBinaryTests.rawControls(in: text.stdout).isEmpty, "\(text.stdout.debugDescription)")
        let json = try SpoolProcess.run(["status", "c.sqlite", "--format", "json"], directory: dir.path)
        #expect(json.status == 0, "\(json.output)")
        #expect(TerminalSafetyBinaryTests.rawControls(in: json.stdout).isEmpty, "\(json.stdout.debugDescription)")
        Self.expectTwoRestores(try Self.restores(inJSON: json.stdout))

        try FileManager.default.createDirectory(atPath: dir.file("shards"), withIntermediateDirectories: false)
        for index in 0..<2 {
            let held = (0..<4).map { Int32($0) }.filter { ShardSpec.owner(of: TopicPartition(topic: "t", partition: $0), shards: 2) == index }
            try writeCaptureWithRestores(dir.file("shards/s\(index).sqlite"), partitions: held, shard: ShardSpec(index: index, count: 2),
                                         restores: held.map { restoreRow("r", cluster: "d\u{1B}[0m", partition: $0, restored: 2, selected: 2) })
        }
        let folder = try SpoolProcess.run(["status", "shards"], directory: dir.path)
        #expect(folder.status == 0 && folder.stdout.contains(
            #"restore r: t → t-copy (cluster d\u{1b}[0m): 8 of 8 records"# + ", 4 of 4 partitions complete, last recorded 2023-11-14T22:13:20.000Z\n"),
                "\(folder.output)")
        #expect(TerminalSafetyBinaryTests.rawControls(in: folder.stdout).isEmpty, "\(folder.stdout.debugDescription)")
        let folderJSON = try SpoolProcess.run(["status", "shards", "--format", "json"], directory: dir.path)
        let restores = try Self.restores(inJSON: folderJSON.stdout)
        #expect(restores.count == 1 && restores.first?["partition_count"] as? Int == 4 && restores.first?["restored"] as? Int == 8
                && restores.first?["target_cluster_id"] as? String == "d\u{1B}[0m",
                "\(folderJSON.output)")
    }
}
