@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import Logging
import Testing
@testable import SpoolStore

@Suite("The spool binary", .serialized, .timeLimit(.minutes(5)))
struct SpoolBinaryTests {
    @Test(arguments: [
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "bad name"], "--topic"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders:sometimes"], "--topic"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--cutoff", "yesterday"], "--cutoff"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--until", "soon"], "--until"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--batch-size", "0"], "--batch-size"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--batch-size=-5"], "--batch-size"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--durability", "maybe"], "--durability"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite"], "--topic"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "--frobnicate"], "--frobnicate"),
        (["ingest", "--db", "x.sqlite", "--topic", "orders"], "--brokers"),
        (["ingest", "--brokers", "127.0.0.1:1", "--db", "x.sqlite", "--topic", "orders", "-X", "nonsense"], "-X"),
        (["query", "x.sqlite", "SELECT 1", "--format", "xml"], "--format"),
    ])
    func usageErrorsExitTwoNamingTheFlag(arguments: [String], flag: String) throws {
        let dir = TemporaryDirectory()
        let result = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(flag), "\(result.stderr)")
        #expect(!dir.entries.contains("x.sqlite"), "a refused command created the database")
    }

    @Test func ingestThenQueryStatusAndVerifyAgree() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(brokers: 2, logger: quietLogger())
        try cluster.createTopic("orders.v1", partitions: 3)
        let produced = try MockScenario.produce(into: cluster, topic: "orders.v1", partitions: 3, indices: 0..<700)
        let ingest = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "orders.v1", "--db", "a.sqlite",
                                           "--batch-size", "250"], directory: dir.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        #expect(ingest.stdout.contains("2,100 messages stored"), "\(ingest.stdout)")
        #expect(ingest.stdout.contains("live"))

        let count = try SpoolProcess.run(["query", "a.sqlite", "SELECT count(*) AS n FROM \"orders.v1\"", "--format", "csv"], directory: dir.path)
        #expect(count.status == 0)
        #expect(count.stdout == "n\n2100\n")
        let rows = try SpoolProcess.run(["query", "a.sqlite", "SELECT partition, offset, key, value FROM messages WHERE partition = 1 ORDER BY offset LIMIT 4",
                                         "--format", "jsonl"], directory: dir.path)
        let expected = produced.filter { $0.partition == 1 }.prefix(4)
        let lines = rows.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        for (line, message) in zip(lines, expected) {
            let key = message.key.map { "\"\(String(decoding: $0, as: UTF8.self))\"" } ?? "null"
            #expect(line.contains("\"key\":\(key)"), "\(line)")
        }
        let json = try SpoolProcess.run(["query", "a.sqlite", "SELECT count(*) AS n, max(timestamp) AS last FROM messages", "--format", "json"], directory: dir.path)
        #expect(json.stdout == "[\n{\"n\":2100,\"last\":\(produced.map(\.timestamp).max()!)}\n]\n")

        let status = try SpoolProcess.run(["status", "a.sqlite", "--format", "json", "--brokers", cluster.bootstrapServers], directory: dir.path)
        #expect(status.status == 0, "\(status.output)")
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(object?["stored_total"] as? Int == 2_100)
        let partitions = object?["partitions"] as? [[String: Any]] ?? []
        #expect(partitions.count == 3)
        #expect(partitions.allSatisfy { $0["stored_count"] as? Int == 700 && $0["next_offset"] as? Int == 700 && $0["lag"] as? Int == 0 && $0["is_live"] as? Bool == true })
        let run = object?["run"] as? [String: Any]
        #expect(run?["status"] as? String == "live")
        let table = try SpoolProcess.run(["status", "a.sqlite"], directory: dir.path)
        #expect(table.stdout.contains("orders.v1") && table.stdout.contains("gaps: none"))

        let verify = try SpoolProcess.run(["verify", "a.sqlite"], directory: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("2,100 messages in 3 partitions"))
        try expectExactlyOnce(dir.file("a.sqlite"), topic: "orders.v1", produced: produced, partitions: 3)
    }

    @Test func sigtermMidIngestThenResumeStoresEverythingOnce() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("big", partitions: 4)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "big", partitions: 4, indices: 0..<25_000)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "big", "--db", "b.sqlite", "--batch-size", "200"]
        let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
        // Wait until some batches are committed, then ask it to stop.
        try running.waitUntil("the first batches are committed") { storedCount(scenario.file("b.sqlite"), topic: "big") > 0 }
        running.signal(SIGTERM)
        let first = running.wait()
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("stopped on request"), "\(first.stdout)")
        let stored = try SpoolStore.openForReading(path: scenario.file("b.sqlite")).messageCounts()["big"] ?? 0
        #expect(stored > 0 && stored < 100_000, "the first run should stop part way (stored \(stored))")
        let second = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(second.status == 0, "\(second.output)")
        try expectExactlyOnce(scenario.file("b.sqlite"), topic: "big", produced: produced, partitions: 4)
    }

    @Test func aSecondSigintExitsAtOnceAndIsStillSafe() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("twice", partitions: 2)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "twice", partitions: 2, indices: 0..<50_000)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "twice", "--db", "t.sqlite", "--batch-size", "100"]
        let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
        try running.waitUntil("the first batches are committed") { storedCount(scenario.file("t.sqlite"), topic: "twice") > 0 }
        // Hold SQLite's write lock so the orderly stop is still waiting when the second SIGINT
        // comes: the commit it waits for cannot happen until the lock is released (or spool's
        // 5 s busy timeout fails it, with status 3).
        let holder = try SQLiteConnection(path: scenario.file("t.sqlite"), readOnly: false, create: false)
        try holder.setBusyTimeout(ms: 10_000)
        try holder.execute("BEGIN IMMEDIATE")
        running.signal(SIGINT)
        try running.waitUntil("spool announces the orderly stop") { running.stderrSoFar.contains("stopping after the current batch") }
        #expect(running.isRunning, "the orderly stop should be waiting for the lock")
        running.signal(SIGINT)
        let result = running.wait()
        try holder.execute("ROLLBACK")
        holder.close()
        #expect(result.status == 130, "\(result.output)")
        #expect(try SpoolStore.openForReading(path: scenario.file("t.sqlite")).verify().isSound)
        let resumed = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        try expectExactlyOnce(scenario.file("t.sqlite"), topic: "twice", produced: produced, partitions: 2)
    }

    @Test func killMinusNineAtRandomMomentsLosesAndRepeatsNothing() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("crash", partitions: 4)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "crash", partitions: 4, indices: 0..<50_000)
        let total = Int64(produced.count)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "crash", "--db", "c.sqlite", "--batch-size", "300", "--quiet"]
        func stored() -> Int64 { storedCount(scenario.file("c.sqlite"), topic: "crash") }
        var kills = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<8 {
            // Kill once the run has stored a random amount more, so every kill lands mid-ingest.
            let before = stored()
            let target = before + Int64.random(in: 1...max(1, (total - before) / 6), using: &generator)
            let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
            try waitUntil("the run has stored \(target) messages or ended", timeout: .seconds(60), poll: .milliseconds(2)) {
                !running.isRunning || stored() >= target
            }
            if running.isRunning {
                running.signal(SIGKILL)
                kills += 1
                _ = running.wait()
            } else {
                // It can only end by itself after storing everything.
                let ended = running.wait()
                #expect(ended.status == 0 && stored() == total, "the run ended by itself: \(ended.output)")
            }
            let report = try SpoolStore.openForReading(path: scenario.file("c.sqlite")).verify()
            #expect(report.isSound, "after kill \(kills): \(report.problems)")
        }
        #expect(kills >= 5, "only \(kills) runs were still going when killed")
        #expect(stored() < total, "the kills should leave work for the last run")
        let last = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(last.status == 0, "\(last.output)")
        try expectExactlyOnce(scenario.file("c.sqlite"), topic: "crash", produced: produced, partitions: 4)
    }

    @Test func queryEscapesAreRefusedAndTouchNoFile() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("t", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 0..<50)
        let ingest = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "q.sqlite"], directory: scenario.directory.path)
        #expect(ingest.status == 0)
        // Any reader of a WAL database has SQLite create its -wal and -shm files; take the
        // snapshot after one harmless query so only what the hostile ones do is compared.
        let first = try SpoolProcess.run(["query", "q.sqlite", "SELECT 1"], directory: scenario.directory.path)
        #expect(first.status == 0)
        let before = FileManager.default.contents(atPath: scenario.file("q.sqlite"))
        let entries = scenario.directory.entries
        let hostile = [
            "ATTACH DATABASE 'evil.sqlite' AS evil",
            "VACUUM INTO 'copy.sqlite'",
            "PRAGMA query_only=0",
            "PRAGMA writable_schema=1",
            "SELECT load_extension('/tmp/evil.so')",
            "SELECT 1; DELETE FROM messages",
            "DELETE FROM messages",
            "INSERT INTO gaps VALUES (1, 't', 0, 0, 0, 0, 0)",
            "DROP TABLE messages",
            "CREATE TABLE x (a)",
            "BEGIN IMMEDIATE",
            "UPDATE partition_state SET next_offset = 0",
            "PRAGMA journal_mode=DELETE",
        ]
        for sql in hostile {
            let result = try SpoolProcess.run(["query", "q.sqlite", sql], directory: scenario.directory.path)
            #expect(result.status != 0, "\(sql) was not refused")
            #expect(result.stderr.contains("refused") || result.stderr.contains("query failed"), "\(sql): \(result.stderr)")
            #expect(!result.stderr.contains("attempt to write a readonly database"), "\(sql): \(result.stderr)")
        }
        #expect(scenario.directory.entries == entries, "a refused query created or removed a file")
        #expect(FileManager.default.contents(atPath: scenario.file("q.sqlite")) == before)
        let ok = try SpoolProcess.run(["query", "q.sqlite", "SELECT count(*) FROM messages -- trailing comment"], directory: scenario.directory.path)
        #expect(ok.status == 0 && ok.stdout.contains("50"))
    }

    @Test func secretsNeverAppearInOutputOrDatabase() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("t", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 1, indices: 0..<10)
        let marker = "S3CRET-MARKER-4242"
        // An error path (unknown topic) with everything logged.
        let failing = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "missing", "--db", "s.sqlite",
                                            "-X", "sasl.password=\(marker)", "-X", "debug=all", "--verbose"], directory: scenario.directory.path)
        #expect(failing.status == 4, "\(failing.stderr.suffix(500))")
        #expect(failing.stderr.contains("missing"))
        #expect(!failing.output.contains(marker))
        let working = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "s.sqlite",
                                            "-X", "sasl.password=\(marker)", "-X", "debug=conf,broker", "--verbose"], directory: scenario.directory.path)
        #expect(working.status == 0, "\(working.stderr.suffix(500))")
        #expect(!working.output.contains(marker))
        let status = try SpoolProcess.run(["status", "s.sqlite", "-X", "sasl.password=\(marker)", "--brokers", scenario.brokers], directory: scenario.directory.path)
        #expect(!status.output.contains(marker))
        for entry in scenario.directory.entries {
            let bytes = FileManager.default.contents(atPath: scenario.file(entry)) ?? Data()
            #expect(bytes.range(of: Data(marker.utf8)) == nil, "\(entry) contains the secret")
        }
    }

    @Test func aSecondIngestOnTheSameDatabaseExitsFive() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("t", partitions: 2)
        try MockScenario.produce(into: scenario.cluster, topic: "t", partitions: 2, indices: 0..<10)
        let first = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "d.sqlite", "--follow", "--quiet"],
                                             directory: scenario.directory.path)
        try first.waitUntil("the first ingest has stored all 20 messages") { storedCount(scenario.file("d.sqlite"), topic: "t") == 20 }
        let second = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "t", "--db", "d.sqlite"], directory: scenario.directory.path)
        #expect(second.status == 5, "\(second.output)")
        #expect(second.stderr.contains("d.sqlite") && second.stderr.contains("in use"), "\(second.stderr)")
        #expect(second.stderr.contains("process \(first.process.processIdentifier)"), "\(second.stderr)")
        #expect(first.isRunning)
        first.signal(SIGINT)
        let ended = first.wait()
        #expect(ended.status == 0, "\(ended.output)")
    }
}
