import Foundation
import SpoolIngest
import SpoolTestSupport
import Testing
@testable import SpoolCLI

@Suite("Prometheus text for --metrics-file")
struct PrometheusTextTests {
    /// Two topics (one named with a quote and a backslash), a partition whose lag is not known
    /// yet, no commit yet, and retention counts for a captured topic and a topic no longer captured.
    static let sample = CaptureMetrics(
        partitions: [
            .init(topic: "orders", partition: 0, storedTotal: 120, lagMessages: 3, isLive: true),
            .init(topic: "orders", partition: 1, storedTotal: 0, lagMessages: nil, isLive: false),
            .init(topic: #"we"ird\topic"#, partition: 0, storedTotal: 9, lagMessages: 0, isLive: true),
        ],
        heldMessages: 42, pausedPartitions: 1, lastCommitMs: nil, completeUntilMs: 1_700_000_000_123,
        retainedDeleted: ["orders": 7, "archived": 5], databaseBytes: 1_048_576)

    static let sampleText = #"""
        # HELP spool_up 1 while spool ingest is capturing and keeping this file up to date; 0 once it has stopped.
        # TYPE spool_up gauge
        spool_up 1
        # HELP spool_messages_stored_total Records committed to the database per partition (retention does not lower it).
        # TYPE spool_messages_stored_total counter
        spool_messages_stored_total{topic="orders",partition="0"} 120
        spool_messages_stored_total{topic="orders",partition="1"} 0
        spool_messages_stored_total{topic="we\"ird\\topic",partition="0"} 9
        # HELP spool_partition_lag_messages Records the broker has that are not stored yet (absent until the consumer has seen a watermark).
        # TYPE spool_partition_lag_messages gauge
        spool_partition_lag_messages{topic="orders",partition="0"} 3
        spool_partition_lag_messages{topic="we\"ird\\topic",partition="0"} 0
        # HELP spool_partition_live 1 when the partition has caught up with the replay end and follows the topic live, else 0.
        # TYPE spool_partition_live gauge
        spool_partition_live{topic="orders",partition="0"} 1
        spool_partition_live{topic="orders",partition="1"} 0
        spool_partition_live{topic="we\"ird\\topic",partition="0"} 1
        # HELP spool_held_messages Records held back to keep timestamp order.
        # TYPE spool_held_messages gauge
        spool_held_messages 42
        # HELP spool_paused_partitions Partitions paused for backpressure.
        # TYPE spool_paused_partitions gauge
        spool_paused_partitions 1
        # HELP spool_last_commit_timestamp_seconds When the last transaction committed, in seconds since the epoch (absent before the first).
        # TYPE spool_last_commit_timestamp_seconds gauge
        # HELP spool_complete_until_timestamp_seconds Every record with a timestamp at or below this is stored, in seconds since the epoch (absent when unknown).
        # TYPE spool_complete_until_timestamp_seconds gauge
        spool_complete_until_timestamp_seconds 1700000000.123
        # HELP spool_retained_deleted_total Records deleted by --retain or --retain-size since the capture began, per topic.
        # TYPE spool_retained_deleted_total counter
        spool_retained_deleted_total{topic="archived"} 5
        spool_retained_deleted_total{topic="orders"} 7
        spool_retained_deleted_total{topic="we\"ird\\topic"} 0
        # HELP spool_database_bytes Size of the database file plus its write-ahead log, in bytes.
        # TYPE spool_database_bytes gauge
        spool_database_bytes 1048576

        """#

    @Test func rendersEveryFamilyInOrder() {
        let text = PrometheusText.render(Self.sample)
        #expect(text == Self.sampleText)
        #expect(text.hasSuffix("\n") && !text.hasSuffix("\n\n"))
    }

    @Test func rendersKnownCommitTimeAndEmptyCapture() {
        let empty = CaptureMetrics(partitions: [], heldMessages: 0, pausedPartitions: 0, lastCommitMs: 1_700_000_000_000,
                                   completeUntilMs: nil, retainedDeleted: [:], databaseBytes: 0)
        let samples = PrometheusText.render(empty).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples == ["spool_up 1", "spool_held_messages 0", "spool_paused_partitions 0",
                            "spool_last_commit_timestamp_seconds 1700000000.000", "spool_database_bytes 0"])
        let stopped = PrometheusText.render(empty, up: false).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(stopped.first == "spool_up 0", "a stopped capture says so")
        #expect(Array(stopped.dropFirst()) == Array(samples.dropFirst()))
    }

    @Test func millisecondsBecomeSecondsWithThreeDecimals() {
        #expect(PrometheusText.seconds(0) == "0.000")
        #expect(PrometheusText.seconds(5) == "0.005")
        #expect(PrometheusText.seconds(1_700_000_000_120) == "1700000000.120")
        #expect(PrometheusText.seconds(-1_500) == "-1.500")
        #expect(PrometheusText.seconds(Int64.min) == "-9223372036854775.808")
    }

    @Test func labelValuesAreEscaped() {
        #expect(PrometheusText.escapeLabelValue("a\nb\\c\"d é") == #"a\nb\\c\"d é"#)
        #expect(PrometheusText.escapeLabelValue("plain.topic-1") == "plain.topic-1")
    }

    @Test func writeReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let dir = TemporaryDirectory()
        let file = MetricsFile(path: dir.file("spool.prom"))
        #expect(file.temporaryPath == dir.file(".spool.prom.tmp.\(getpid())"))

        try file.write("first 1\n")
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == "first 1\n")
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o644)

        try file.write(Self.sampleText)
        #expect(try String(contentsOfFile: file.path, encoding: .utf8) == Self.sampleText)
        #expect(dir.entries == ["spool.prom"])
    }

    @Test func relativePathKeepsTheTemporaryFileInTheCurrentFolder() {
        #expect(MetricsFile(path: "spool.prom").temporaryPath == ".spool.prom.tmp.\(getpid())")
    }

    @Test func missingFolderThrowsAnErrorNamingThePath() {
        let dir = TemporaryDirectory()
        let path = dir.file("missing/spool.prom")
        let error = #expect(throws: MetricsFileError.self) { try MetricsFile(path: path).write("spool_up 1\n") }
        #expect(error?.code == ENOENT)
        #expect(error?.description == "cannot write metrics file \(path): No such file or directory (check that the folder exists and is writable)")
        #expect(dir.entries == [])
    }

    @Test func failedRenameRemovesTheTemporaryFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("taken")
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        let error = #expect(throws: MetricsFileError.self) { try MetricsFile(path: path).write("spool_up 1\n") }
        #expect(error?.description.contains(path) == true)
        #expect(dir.entries == ["taken"], "the temporary file was left behind")
    }

    /// What `Tests/tools/check_metrics.py` prints.
    struct Parsed: Decodable {
        struct Family: Decodable {
            var type: String
            var samples: [Sample]
        }

        struct Sample: Decodable, Equatable {
            var name: String
            var labels: [String: String]
            var value: Double
        }

        var families: [String: Family]
    }

    /// Runs `check_metrics.py FILE` with the test venv's python, killing it after 30 s.
    static func check(_ file: String, in dir: TemporaryDirectory) throws -> SpoolProcess.Result {
        let root = try #require(TestVenv.repoRoot, "the repository root (Package.swift) was not found above \(#filePath)")
        try #require(FileManager.default.isExecutableFile(atPath: TestVenv.python),
                     "\(TestVenv.python) is missing: run scripts/test-venv.sh")
        let running = try SpoolProcess.Running([root + "/Tests/tools/check_metrics.py", file], directory: dir.path,
                                               executable: TestVenv.python)
        return running.wait(timeout: 30)
    }

    @Test(.timeLimit(.minutes(1)))
    func prometheusClientParsesTheFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("spool.prom")
        try MetricsFile(path: path).write(PrometheusText.render(Self.sample))
        let result = try Self.check(path, in: dir)
        try #require(result.status == 0, "check_metrics.py failed: \(result.stderr)")
        let families = try JSONDecoder().decode(Parsed.self, from: Data(result.stdout.utf8)).families

        #expect(families.mapValues(\.type) == [
            "spool_up": "gauge", "spool_messages_stored": "counter", "spool_partition_lag_messages": "gauge",
            "spool_partition_live": "gauge", "spool_held_messages": "gauge", "spool_paused_partitions": "gauge",
            "spool_last_commit_timestamp_seconds": "gauge", "spool_complete_until_timestamp_seconds": "gauge",
            "spool_retained_deleted": "counter", "spool_database_bytes": "gauge",
        ])
        typealias Sample = Parsed.Sample
        let weird = #"we"ird\topic"#
        #expect(families["spool_up"]?.samples == [Sample(name: "spool_up", labels: [:], value: 1)])
        #expect(families["spool_messages_stored"]?.samples == [
            Sample(name: "spool_messages_stored_total", labels: ["topic": "orders", "partition": "0"], value: 120),
            Sample(name: "spool_messages_stored_total", labels: ["topic": "orders", "partition": "1"], value: 0),
            Sample(name: "spool_messages_stored_total", labels: ["topic": weird, "partition": "0"], value: 9),
        ])
        #expect(families["spool_partition_lag_messages"]?.samples.map(\.labels) == [
            ["topic": "orders", "partition": "0"], ["topic": weird, "partition": "0"],
        ], "no lag sample for orders/1, whose lag is unknown")
        #expect(families["spool_last_commit_timestamp_seconds"]?.samples == [])
        #expect(families["spool_complete_until_timestamp_seconds"]?.samples.map(\.value) == [1_700_000_000.123])
        #expect(families["spool_retained_deleted"]?.samples.map { "\($0.labels["topic"] ?? "?")=\($0.value)" }
                == ["archived=5.0", "orders=7.0", "\(weird)=0.0"])
        #expect(families["spool_database_bytes"]?.samples.map(\.value) == [1_048_576])
    }

    @Test(.timeLimit(.minutes(1)))
    func checkerRejectsABrokenFile() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("broken.prom")
        try MetricsFile(path: path).write("spool_up{topic=\"unterminated} 1\n")
        let result = try Self.check(path, in: dir)
        #expect(result.status == 1, "check_metrics.py accepted a broken file: \(result.stdout)")
        #expect(result.stderr.contains("not valid Prometheus text format"))
    }
}
