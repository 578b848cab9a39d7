import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// Data that would drive a terminal (ESC sequences, CR, NUL, BEL, DEL, C1 controls, bidi
/// overrides) reaches it through the `spool` binary only as visible escapes; the machine formats
/// keep it exactly.
@Suite("spool output is safe for a terminal", .serialized, .timeLimit(.minutes(3)))
struct TerminalSafetyBinaryTests {
    static let key = "k\u{1B}[2J\r\u{7}"
    static let value = "v\u{1B}[31mred\u{0}nul\u{7F}del\u{9B}c1\u{202E}rlo\r\nend"
    static let headerName = "h\u{1B}]0;title\u{7}"
    static let headerValue = "x\u{1B}[2J\u{202E}\u{9B}\u{7F}\r"
    /// A value that is not UTF-8: shown as hex.
    static let binaryValue: [UInt8] = [0x1B, 0x5B, 0x32, 0x4A, 0xFF]

    /// What a terminal acts on, written out: C0 controls but tab and line feed, DEL, the C1
    /// controls, and the bidi overrides and isolates; returned as U+XXXX for the message.
    static func rawControls(in text: String) -> [String] {
        text.unicodeScalars.filter { scalar in
            let value = scalar.value
            return value <= 0x08 || (0x0B...0x1F).contains(value) || value == 0x7F || (0x80...0x9F).contains(value)
                || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
        }.map { "U+" + String($0.value, radix: 16) }
    }

    /// Expects `result` to have written something, and no raw control character on either stream.
    static func expectSafe(_ result: SpoolProcess.Result, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.stdout.isEmpty || !result.stderr.isEmpty, "\(what) wrote nothing (or not UTF-8)", sourceLocation: sourceLocation)
        #expect(rawControls(in: result.stdout).isEmpty, "\(what) stdout: \(rawControls(in: result.stdout)) in \(result.stdout.debugDescription)",
                sourceLocation: sourceLocation)
        #expect(rawControls(in: result.stderr).isEmpty, "\(what) stderr: \(rawControls(in: result.stderr)) in \(result.stderr.debugDescription)",
                sourceLocation: sourceLocation)
    }

    /// A topic `t` whose partition 0 holds the hostile records (and partition 1, when there is
    /// one, a plain record), on a new mock cluster.
    static func hostileCluster(partitions: Int = 1) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("t", partitions: partitions)
        var messages = [
            MockMessage(partition: 0, key: Array(key.utf8), value: Array(value.utf8), timestamp: 1_700_000_000_000,
                        headers: [MessageHeader(name: headerName, value: Array(headerValue.utf8))]),
            MockMessage(partition: 0, key: nil, value: binaryValue, timestamp: 1_700_000_000_001),
        ]
        if partitions > 1 { messages.append(MockMessage(partition: 1, key: nil, value: Array("plain".utf8), timestamp: 1_700_000_000_002)) }
        try cluster.produce(topic: "t", messages)
        return cluster
    }

    @Test func queryTableEscapesWhatJSONAndCSVKeep() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.hostileCluster()
        let ingest = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t", "--db", "h.sqlite"], directory: dir.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let sql = "SELECT key, value, headers, 'col' || char(27) || '[2J' AS \"name\u{9B}\" FROM t ORDER BY offset"
        let table = try SpoolProcess.run(["query", "h.sqlite", sql], directory: dir.path)
        #expect(table.status == 0, "\(table.output)")
        Self.expectSafe(table, "query (table)")
        for escaped in [#"k\u{1b}[2J\r\u{7}"#, #"v\u{1b}[31mred\0nul\u{7f}del\u{9b}c1\u{202e}rlo\r\nend"#,
                        #"h\u{1b}]0;title\u{7}=x\u{1b}[2J\u{202e}\u{9b}\u{7f}\r"#, "x'1b5b324aff'", #"col\u{1b}[2J"#, #"name\u{9b}"#] {
            #expect(table.stdout.contains(escaped), "the table shows \(escaped): \(table.stdout)")
        }

        let jsonl = try SpoolProcess.run(["query", "h.sqlite", sql, "--format", "jsonl"], directory: dir.path)
        #expect(jsonl.status == 0, "\(jsonl.output)")
        Self.expectSafe(jsonl, "query (jsonl)")
        let rows = try jsonl.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.count == 2)
        #expect(rows.first??["key"] as? String == Self.key && rows.first??["value"] as? String == Self.value, "JSON keeps the data exactly")
        let headers = rows.first??["headers"] as? [[String: Any]]
        #expect(headers?.first?["key"] as? String == Self.headerName && headers?.first?["value"] as? String == Self.headerValue)
        #expect(rows.first??["name\u{9B}"] as? String == "col\u{1B}[2J")

        let csv = try SpoolProcess.run(["query", "h.sqlite", "SELECT key FROM t WHERE offset = 0", "--format", "csv"], directory: dir.path)
        #expect(csv.stdout == "key\n\"\(Self.key)\"\n", "CSV keeps the bytes, quoting the field that holds a CR")

        let status = try SpoolProcess.run(["status", "h.sqlite"], directory: dir.path)
        #expect(status.status == 0, "\(status.output)")
        Self.expectSafe(status, "status")
        let verify = try SpoolProcess.run(["verify", "h.sqlite"], directory: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
        Self.expectSafe(verify, "verify")
    }

    /// Topic names from Kafka are plain ASCII, but a crafted file can hold anything.
    @Test func namesFromACraftedFileAreEscapedByStatusAndVerify() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.hostileCluster()
        let ingest = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t", "--db", "c.sqlite", "--quiet"],
                                          directory: dir.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        let evil = "'evil' || char(27) || '[2J' || char(13) || char(155) || char(8238)"
        do {
            let connection = try SQLiteConnection(path: dir.file("c.sqlite"), readOnly: false, create: false)
            defer { connection.close() }
            try connection.execute("""
                UPDATE partition_state SET topic = \(evil);
                UPDATE run_topics SET topic = \(evil);
                INSERT INTO gaps (topic, partition, first_missing_offset, last_missing_offset, detected_at, accepted)
                    VALUES (\(evil), 0, 5, 9, 1700000000000, 1);
                UPDATE progress SET cluster_id = 'c' || char(27) || ']0;pwned' || char(7);
                """)
        }
        let shown = #"evil\u{1b}[2J\r\u{9b}\u{202e}"#
        let status = try SpoolProcess.run(["status", "c.sqlite"], directory: dir.path)
        #expect(status.status == 0, "\(status.output)")
        Self.expectSafe(status, "status of the crafted file")
        #expect(status.stdout.contains("\(shown)  0"), "the partition row: \(status.stdout)")
        #expect(status.stdout.contains("  \(shown)[0] offsets 5...9"), "the gap line: \(status.stdout)")
        #expect(status.stdout.contains(#"cluster: c\u{1b}]0;pwned\u{7}"#) && status.stdout.contains("\(shown):earliest"), "\(status.stdout)")

        let json = try SpoolProcess.run(["status", "c.sqlite", "--format", "json"], directory: dir.path)
        Self.expectSafe(json, "status --format json")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let partitions = object?["partitions"] as? [[String: Any]]
        #expect(partitions?.first?["topic"] as? String == "evil\u{1B}[2J\r\u{9B}\u{202E}", "JSON keeps the name exactly")

        let verify = try SpoolProcess.run(["verify", "c.sqlite"], directory: dir.path)
        #expect(verify.status == 1, "\(verify.output)")
        Self.expectSafe(verify, "verify of the crafted file")
        #expect(verify.stdout.contains("gap: \(shown)[0] offsets 5...9"), "\(verify.stdout)")
        #expect(verify.stdout.contains("problem: \(shown)[0]"), "\(verify.stdout)")
    }

    /// File names come from the user and from folders: a shard folder's file names are data too.
    @Test func fileNamesAreEscapedInIngestStatusVerifyAndErrors() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.hostileCluster(partitions: 2)
        for folder in ["shards", "other"] {
            try FileManager.default.createDirectory(atPath: dir.file(folder), withIntermediateDirectories: true)
        }
        let name = "a\u{1B}[31m\u{202E}.sqlite", shown = #"a\u{1b}[31m\u{202e}.sqlite"#
        func ingest(_ extra: [String]) throws -> SpoolProcess.Result {
            try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t"] + extra, directory: dir.path)
        }
        let first = try ingest(["--shard", "0/2", "--db", "shards/" + name])
        #expect(first.status == 0, "\(first.output)")
        Self.expectSafe(first, "ingest")
        #expect(first.stdout.contains("into shards/\(shown)"), "\(first.stdout)")
        let second = try ingest(["--shard", "1/2", "--db", "shards/b.sqlite", "--quiet"])
        #expect(second.status == 0, "\(second.output)")

        let status = try SpoolProcess.run(["status", "shards"], directory: dir.path)
        #expect(status.status == 0, "\(status.output)")
        Self.expectSafe(status, "status of the folder")
        #expect(status.stdout.contains("shards/\(shown)  0/2"), "the file column: \(status.stdout)")
        let verify = try SpoolProcess.run(["verify", "shards"], directory: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
        Self.expectSafe(verify, "verify of the folder")
        #expect(verify.stdout.contains("shards/\(shown): "), "\(verify.stdout)")

        // A file captured without --shard is refused in a folder; the error names it.
        let plain = try ingest(["--db", "other/" + name, "--quiet"])
        #expect(plain.status == 0, "\(plain.output)")
        let refused = try SpoolProcess.run(["status", "other", "shards/b.sqlite"], directory: dir.path)
        #expect(refused.status == 2, "\(refused.output)")
        Self.expectSafe(refused, "the refusal of a file that is not a shard's")
        #expect(refused.stderr.contains("other/\(shown)"), "\(refused.stderr)")
        let missing = try SpoolProcess.run(["status", "missing-" + name], directory: dir.path)
        #expect(missing.status == 3, "\(missing.output)")
        Self.expectSafe(missing, "the error for a missing file")
        #expect(missing.stderr.contains("missing-\(shown)"), "\(missing.stderr)")

        let watch = try SpoolProcess.Running(["status", "shards/" + name, "--watch", "--interval", "0.5"], directory: dir.path)
        try watch.waitUntil("the first report is drawn", timeout: .seconds(30)) {
            ((try? String(contentsOfFile: watch.stdoutPath, encoding: .utf8)) ?? "").contains("gaps: none")
        }
        watch.signal(SIGINT)
        let watched = watch.wait(timeout: 20)
        #expect(watched.status == 0, "\(watched.output)")
        Self.expectSafe(watched, "status --watch")
        #expect(watched.stdout.contains("spool status shards/\(shown) — every"), "\(watched.stdout)")
    }

    /// Log lines name files and carry what brokers and registries said: here the warning for a
    /// metrics file that can no longer be written.
    @Test func logLinesAreEscaped() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.hostileCluster()
        try FileManager.default.createDirectory(atPath: dir.file("m"), withIntermediateDirectories: true)
        let name = "m/x\u{1B}[2J\u{202E}.prom", shown = #"m/x\u{1b}[2J\u{202e}.prom"#
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "t", "--db", "l.sqlite", "--follow",
                                                "--metrics-file", name, "--metrics-interval", "1"], directory: dir.path)
        try running.waitUntil("the metrics file is written", timeout: .seconds(30)) { FileManager.default.fileExists(atPath: dir.file(name)) }
        try FileManager.default.removeItem(atPath: dir.file("m"))
        try running.waitUntil("the failed write is logged", timeout: .seconds(30)) { running.stderrSoFar.contains("the capture goes on") }
        running.signal(SIGTERM)
        let result = running.wait()
        #expect(result.status == 0, "\(result.output)")
        Self.expectSafe(result, "ingest's log")
        #expect(result.stderr.contains(shown), "\(result.stderr)")
    }
}
