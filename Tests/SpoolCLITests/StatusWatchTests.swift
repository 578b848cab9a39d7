import Foundation
@_spi(MockCluster) import KafkaReplay
@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Testing

/// `spool status FILE --watch` through the binary: redraws, live counts, usage errors, the first
/// draw failing like plain `status`, a later failure shown while watching goes on, and the stop.
@Suite("spool status --watch", .serialized, .timeLimit(.minutes(3)))
struct StatusWatchTests {
    /// What the watcher has written to standard output so far.
    static func stdoutSoFar(_ running: SpoolProcess.Running) -> String {
        (try? String(contentsOfFile: running.stdoutPath, encoding: .utf8)) ?? ""
    }

    /// The heading lines of the text reports in `output`, one per draw.
    static func headings(_ output: String) -> [Substring] {
        output.split(separator: "\n").filter { $0.hasPrefix("spool status ") }
    }

    /// The JSON objects of JSON Lines output (a line that does not parse yields an empty object,
    /// which no check accepts).
    static func jsonLines(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// Captures `perPartition` messages per partition of a 2-partition topic `orders` into
    /// `name` with a bounded `spool ingest`.
    static func capture(into name: String, in dir: TemporaryDirectory, perPartition: Int) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("orders", partitions: 2)
        try MockScenario.produce(into: cluster, topic: "orders", partitions: 2, indices: 0..<perPartition)
        let ingest = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "orders", "--db", name, "--quiet"],
                                          directory: dir.path)
        #expect(ingest.status == 0, "\(ingest.output)")
        return cluster
    }

    /// Sends `signal` and requires the exit within 2 s; returns the finished process's result.
    static func stop(_ running: SpoolProcess.Running, with signal: Int32) throws -> (status: Int32, result: SpoolProcess.Result) {
        let clock = ContinuousClock()
        let sent = clock.now
        running.signal(signal)
        // Waited for up to 10 s so that the 2 s bound below is what decides (a wait bounded at
        // 2 s made that expectation one that could not fail).
        let status = try waitFor("spool status --watch exits after signal \(signal)", timeout: .seconds(10),
                                 poll: .milliseconds(5)) { running.exitStatus }
        let elapsed = clock.now - sent
        #expect(elapsed < .seconds(2), "spool status --watch took \(elapsed) to exit after signal \(signal) (at most 2 s)")
        return (status, running.wait(timeout: 10))
    }

    @Test func pipedWatchRedrawsWithoutEscapesAndSigintExitsZero() throws {
        let dir = TemporaryDirectory()
        _ = try Self.capture(into: "w.sqlite", in: dir, perPartition: 30)
        let running = try SpoolProcess.Running(["status", "w.sqlite", "--watch", "--interval", "0.5"], directory: dir.path)
        try running.waitUntil("three reports are printed (so far: \(Self.headings(Self.stdoutSoFar(running)).count))",
                              timeout: .seconds(10)) {
            Self.headings(Self.stdoutSoFar(running)).count >= 3
        }
        let (status, result) = try Self.stop(running, with: SIGINT)
        #expect(status == 0, "\(result.output)")
        #expect(!result.stdout.contains("\u{1B}"), "escape codes in piped output: \(result.stdout.prefix(300))")
        let headings = Self.headings(result.stdout)
        #expect(headings.count >= 3)
        #expect(headings.allSatisfy { $0.contains("w.sqlite") && $0.contains("every 0.5s") && $0.hasSuffix(" UTC") }, "\(headings)")
        // Each report is the plain one, after a blank line from the one before.
        let plain = try SpoolProcess.run(["status", "w.sqlite"], directory: dir.path)
        #expect(result.stdout.components(separatedBy: "\nspool status ").count == headings.count, "\(result.stdout)")
        #expect(result.stdout.components(separatedBy: "\n\nspool status ").count == headings.count, "reports not separated by a blank line")
        #expect(result.stdout.components(separatedBy: plain.stdout).count - 1 >= 3, "the reports differ from plain status")
        #expect(!result.stderr.contains("stopping after the current batch"), "\(result.stderr)")
    }

    @Test func countsFollowAnIngestWhileWatchingInJSONLines() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("orders", partitions: 2)
        try MockScenario.produce(into: scenario.cluster, topic: "orders", partitions: 2, indices: 0..<50)
        let ingest = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "orders", "--db", "f.sqlite",
                                               "--follow", "--quiet"], directory: scenario.directory.path)
        try ingest.waitUntil("the follow ingest stored the first 100 messages") { storedCount(scenario.file("f.sqlite"), topic: "orders") == 100 }
        let watch = try SpoolProcess.Running(["status", "f.sqlite", "--watch", "--interval", "0.5", "--format", "json"], directory: scenario.directory.path)
        func lastTotal() -> Int? { Self.jsonLines(Self.stdoutSoFar(watch)).last?["stored_total"] as? Int }
        try watch.waitUntil("the watch shows 100 stored (last: \(String(describing: lastTotal())))", timeout: .seconds(10)) { lastTotal() == 100 }
        try MockScenario.produce(into: scenario.cluster, topic: "orders", partitions: 2, indices: 0..<25)
        try watch.waitUntil("the watch shows the new total of 150 (last: \(String(describing: lastTotal())))", timeout: .seconds(30)) {
            lastTotal() == 150
        }
        let (status, result) = try Self.stop(watch, with: SIGTERM)
        #expect(status == 0, "\(result.output)")
        let lines = Self.jsonLines(result.stdout)
        #expect(lines.count >= 2 && lines.count == result.stdout.split(separator: "\n").count, "\(result.stdout.prefix(500))")
        #expect(lines.allSatisfy { $0["observed_at"] is Int && $0["database"] as? String == "f.sqlite" && $0["partitions"] is [Any] },
                "every line is a whole status document: \(result.stdout.prefix(500))")
        #expect(lines.first?["stored_total"] as? Int == 100)
        ingest.signal(SIGINT)
        let ended = ingest.wait()
        #expect(ended.status == 0, "\(ended.output)")
    }

    @Test(arguments: [
        (["--watch", "--interval", "0.1"], "--interval"),
        (["--watch", "--interval", "61"], "--interval"),
        (["--watch", "--interval", "soon"], "--interval"),
        (["--interval", "1"], "--interval"),
        (["--watch", "--format", "csv"], "--format"),
    ])
    func badIntervalsExitTwoNamingTheFlag(arguments: [String], flag: String) throws {
        let dir = TemporaryDirectory()
        let result = try SpoolProcess.run(["status", "x.sqlite"] + arguments, directory: dir.path, timeout: 20)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(flag), "\(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
        #expect(!dir.entries.contains("x.sqlite"), "a refused command created the database")
    }

    @Test func aMissingFileFailsTheFirstDrawLikePlainStatus() throws {
        let dir = TemporaryDirectory()
        let plain = try SpoolProcess.run(["status", "missing.sqlite"], directory: dir.path, timeout: 20)
        let watched = try SpoolProcess.run(["status", "missing.sqlite", "--watch", "--interval", "0.5"], directory: dir.path, timeout: 20)
        #expect(plain.status == 3, "\(plain.output)")
        #expect(watched.status == plain.status, "\(watched.output)")
        #expect(watched.stderr == plain.stderr)
        #expect(watched.stderr.contains("missing.sqlite"), "\(watched.stderr)")
        #expect(watched.stdout.isEmpty, "\(watched.stdout)")
        #expect(!dir.entries.contains("missing.sqlite"), "status created the database")
    }

    @Test func aFileGoneOnALaterDrawIsShownAndWatchingGoesOn() throws {
        let dir = TemporaryDirectory()
        _ = try Self.capture(into: "r.sqlite", in: dir, perPartition: 10)
        let plainMissing = try SpoolProcess.run(["status", "gone.sqlite"], directory: dir.path, timeout: 20)
        let errorLine = plainMissing.stderr.replacingOccurrences(of: "gone.sqlite", with: "r.sqlite")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(errorLine.hasPrefix("spool: error:"), "\(plainMissing.stderr)")
        let watch = try SpoolProcess.Running(["status", "r.sqlite", "--watch", "--interval", "0.5"], directory: dir.path)
        try watch.waitUntil("the first report is printed", timeout: .seconds(10)) { Self.stdoutSoFar(watch).contains("gaps: none") }
        try FileManager.default.moveItem(atPath: dir.file("r.sqlite"), toPath: dir.file("aside.sqlite"))
        try watch.waitUntil("a report shows the error line '\(errorLine)'", timeout: .seconds(10)) {
            Self.stdoutSoFar(watch).contains(errorLine)
        }
        let reportsBefore = Self.stdoutSoFar(watch).components(separatedBy: "gaps: none").count
        try FileManager.default.moveItem(atPath: dir.file("aside.sqlite"), toPath: dir.file("r.sqlite"))
        try watch.waitUntil("the report is shown again once the file is back", timeout: .seconds(10)) {
            Self.stdoutSoFar(watch).components(separatedBy: "gaps: none").count > reportsBefore
        }
        let (status, result) = try Self.stop(watch, with: SIGINT)
        #expect(status == 0, "\(result.output)")
    }
}
