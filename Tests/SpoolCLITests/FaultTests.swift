@_spi(MockCluster) import SpoolScenarioSupport
import SpoolTestSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import Testing
@testable import SpoolStore

/// Runs `body` as user nobody (root ignores file modes).
private func asNobody(_ arguments: [String]) -> [String] {
    ["--reuid=65534", "--regid=65534", "--clear-groups", SpoolProcess.binary] + arguments
}

/// Runs a program in `directory` to completion (killed after `timeout` seconds, which fails the
/// test) and returns its exit status and output; the output files go to `outputDirectory`.
private func runTool(_ path: String, _ arguments: [String], directory: String, outputDirectory: String, timeout: Double = 60) throws -> SpoolProcess.Result {
    try SpoolProcess.Running(arguments, directory: directory, executable: path, outputDirectory: outputDirectory).wait(timeout: timeout)
}

/// A loopback TCP port that takes connections and never answers: a broker address that tells
/// whether a process tried to reach Kafka.
private final class SilentBroker {
    private let socketFD: Int32
    /// "127.0.0.1:PORT".
    let address: String

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        socketFD = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        try #require(fd >= 0 && bound, "cannot listen on loopback: \(String(cString: strerror(errno)))")
        self.address = "127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
    }

    deinit { close(socketFD) }

    /// Whether a connection is waiting to be accepted (nothing accepts them, so any ever made).
    var wasContacted: Bool {
        var entry = pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }
}

@Suite("Faults and bad input", .serialized, .timeLimit(.minutes(5)))
struct FaultTests {
    // kill -9 at 20 or more random moments mid-ingest: every kill leaves a sound database, and
    // a last run completes it with every message stored exactly once.
    @Test func twentyKillsLoseAndRepeatNothing() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("k", partitions: 4)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "k", partitions: 4, indices: 0..<40_000)
        let total = Int64(produced.count)
        let db = scenario.file("k.sqlite")
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "k", "--db", "k.sqlite", "--batch-size", "200", "--quiet"]
        var kills = 0
        var generator = SystemRandomNumberGenerator()
        while kills < 22 {
            let before = storedCount(db, topic: "k")
            guard before < total else { break }
            let target = before + Int64.random(in: 1...max(1, (total - before) / 25), using: &generator)
            let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
            try waitUntil("the run has stored \(target) messages or ended", timeout: .seconds(60), poll: .milliseconds(1)) {
                !running.isRunning || storedCount(db, topic: "k") >= target
            }
            guard running.isRunning else {
                // It can only end by itself after storing everything.
                let ended = running.wait()
                #expect(ended.status == 0 && storedCount(db, topic: "k") == total, "the run ended by itself: \(ended.output)")
                break
            }
            running.signal(SIGKILL)
            kills += 1
            _ = running.wait()
            let report = try SpoolStore.openForReading(path: db).verify()
            #expect(report.isSound, "after kill \(kills): \(report.problems)")
        }
        #expect(kills >= 20)
        let last = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(last.status == 0, "\(last.output)")
        try expectExactlyOnce(db, topic: "k", produced: produced, partitions: 4)
    }

    // kill -9 while a COMMIT is in flight (an fsync hook raises SIGKILL at the Nth sync): the
    // database stays sound, and a last run stores every message exactly once.
    @Test func killDuringCommitLosesAndRepeatsNothing() throws {
        let scenario = try MockScenario()
        let source = scenario.file("killfsync.c")
        try """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <signal.h>
        #include <stdlib.h>
        static int calls;
        static void maybe_die(void) {
            const char *limit = getenv("SPOOL_TEST_KILL_AT_SYNC");
            if (limit && ++calls >= atoi(limit)) raise(SIGKILL);
        }
        int fsync(int fd) { maybe_die(); int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync"); return real(fd); }
        int fdatasync(int fd) { maybe_die(); int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync"); return real(fd); }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let build = try runTool("/usr/bin/env", ["cc", "-shared", "-fPIC", "-o", scenario.file("killfsync.so"), source, "-ldl"],
                                directory: scenario.directory.path, outputDirectory: scenario.directory.path)
        try #require(build.status == 0, "cannot build the fsync hook: \(build.stderr)")
        try scenario.cluster.createTopic("f", partitions: 2)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "f", partitions: 2, indices: 0..<5_000)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "f", "--db", "f.sqlite",
                         "--batch-size", "100", "--durability", "full", "--quiet"]
        var killed = 0
        for syncNumber in [2, 5, 9, 14, 23] {
            // Only this spool gets the hook: setting it in the test process's own environment
            // would also reach processes other suites start meanwhile.
            let result = try SpoolProcess.run(arguments, directory: scenario.directory.path,
                                              environment: ["LD_PRELOAD": scenario.file("killfsync.so"), "SPOOL_TEST_KILL_AT_SYNC": String(syncNumber)])
            if result.status == 9 || result.status == 137 { killed += 1 }
            // A kill while the very first schema is being created leaves an empty file, which
            // the next run treats as new; anything else must pass the audit.
            do {
                let report = try SpoolStore.openForReading(path: scenario.file("f.sqlite")).verify()
                #expect(report.isSound, "killed at sync \(syncNumber): \(report.problems)")
            } catch StoreError.notSpoolDatabase(_, let reason) where reason.contains("empty") {
                #expect(result.status == 9 || result.status == 137, "an empty database after a run that was not killed")
            }
        }
        #expect(killed >= 4, "the hook killed only \(killed) runs")
        let last = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(last.status == 0, "\(last.output)")
        try expectExactlyOnce(scenario.file("f.sqlite"), topic: "f", produced: produced, partitions: 2)
    }

    // The disk fills up (a 3 MiB tmpfs): ingest exits 3 naming the file, the database stays
    // sound, and once space is freed a rerun completes it exactly once.
    @Test func aFullDiskExitsThreeAndResumesWhenSpaceIsFreed() throws {
        let scenario = try MockScenario()
        let mountPoint = scenario.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint], directory: scenario.directory.path, outputDirectory: scenario.directory.path)
        try #require(mount.status == 0, "cannot mount a small tmpfs (the test needs root): \(mount.stderr)")
        defer { _ = try? runTool("/bin/umount", [mountPoint], directory: scenario.directory.path, outputDirectory: scenario.directory.path) }
        try scenario.cluster.createTopic("d", partitions: 2)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "d", partitions: 2, indices: 0..<15_000, valueSize: 200)
        let db = mountPoint + "/d.sqlite"
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "d", "--db", db, "--batch-size", "500"]
        let full = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(full.status == 3, "\(full.output)")
        #expect(full.stderr.contains(db) && full.stderr.contains("full"), "\(full.stderr)")
        let stored = storedCount(db, topic: "d")
        #expect(stored < Int64(produced.count))
        let report = try SpoolStore.openForReading(path: db).verify()
        #expect(report.isSound, "\(report.problems)")
        let remount = try runTool("/bin/mount", ["-o", "remount,size=200m", mountPoint], directory: scenario.directory.path, outputDirectory: scenario.directory.path)
        try #require(remount.status == 0, "\(remount.stderr)")
        let resumed = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(resumed.status == 0, "\(resumed.output)")
        try expectExactlyOnce(db, topic: "d", produced: produced, partitions: 2)
    }

    // A folder or file the user (nobody) cannot write: ingest exits 3 naming the file, without
    // ever contacting the brokers.
    @Test func anUnwritableFolderOrFileFailsBeforeKafka() throws {
        let dir = TemporaryDirectory()
        let broker = try SilentBroker()
        // The folder is root's and not writable by nobody.
        let folder = try runTool("/usr/bin/setpriv", asNobody(["ingest", "--brokers", broker.address, "--topic", "t",
                                                               "--db", dir.file("x.sqlite")]), directory: "/", outputDirectory: dir.path)
        #expect(folder.status == 3, "\(folder.output)")
        #expect(folder.stderr.contains(dir.file("x.sqlite")) && folder.stderr.contains("Permission denied"), "\(folder.stderr)")
        #expect(!broker.wasContacted, "it contacted Kafka before checking the database")
        // A read-only file in a folder anyone may write.
        let shared = dir.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let file = shared + "/ro.sqlite"
        _ = try SpoolStore.openForWriting(path: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let otherBroker = try SilentBroker()
        let readOnly = try runTool("/usr/bin/setpriv", asNobody(["ingest", "--brokers", otherBroker.address, "--topic", "t", "--db", file]),
                                   directory: "/", outputDirectory: dir.path)
        #expect(readOnly.status == 3, "\(readOnly.output)")
        #expect(readOnly.stderr.contains(file) && readOnly.stderr.contains("Permission denied"), "\(readOnly.stderr)")
        #expect(!otherBroker.wasContacted, "it contacted Kafka before checking the database")
    }

    // Random bytes, another application's database, a newer schema and a truncated database are
    // each refused with status 3 and a message naming the file and the problem, and left untouched.
    @Test func badDatabaseFilesAreRefusedUntouched() throws {
        let dir = TemporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        let garbage = dir.file("garbage.sqlite")
        _ = FileManager.default.createFile(atPath: garbage, contents: Data((0..<8_192).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        let other = dir.file("other.sqlite")
        do {
            let connection = try SQLiteConnection(path: other, readOnly: false, create: true)
            try connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        }
        let newer = dir.file("newer.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: newer)
            let future = SpoolStore.supportedSchemaVersion + 1
            try store.connection.execute("INSERT INTO spool_migrations VALUES (\(future), '\(future)_future.sql', 'x', 0)")
            store.close()
        }
        let truncated = dir.file("truncated.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: truncated)
            for round in 0..<20 {
                let rows = (0..<200).map { Message(key: nil, value: Array(repeating: 1, count: 300), topic: "t", partition: 0,
                                                   offset: Int64(round * 200 + $0), timestamp: 1) }
                let through = Int64(round * 200 + 199)
                let checkpoint = PartitionState(topicPartition: TopicPartition(topic: "t", partition: 0),
                                                range: ReplayRange(start: 0, end: 9_999), consumedOffset: through,
                                                     releasedOffset: through, lastConsumedTimestamp: 1, isLive: false, isPaused: false)
                try store.write(batch: MessageBatch(rows), checkpoints: [checkpoint], completeUntil: nil)
            }
            try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
        }
        let whole = FileManager.default.contents(atPath: truncated)!
        _ = FileManager.default.createFile(atPath: truncated, contents: whole.prefix(whole.count / 2))
        for (file, expected) in [(garbage, "not a Spool database"), (other, "not a Spool database"), (newer, "schema version \(SpoolStore.supportedSchemaVersion + 1)"), (truncated, "damaged")] {
            let before = FileManager.default.contents(atPath: file)
            let result = try SpoolProcess.run(["ingest", "--brokers", "127.0.0.1:9", "--topic", "t", "--db", file], directory: dir.path)
            #expect(result.status == 3, "\(file): \(result.output)")
            #expect(result.stderr.contains(file) && result.stderr.contains(expected), "\(file): \(result.stderr)")
            #expect(FileManager.default.contents(atPath: file) == before, "\(file) was changed")
        }
        let newerMessage = try SpoolProcess.run(["status", newer], directory: dir.path)
        #expect(newerMessage.stderr.contains("supports up to version \(SpoolStore.supportedSchemaVersion)"))
    }

    // Another connection holds SQLite's write lock: ingest waits out its busy timeout, exits 3
    // saying the file is locked, and moves no stored offset; once the lock is gone it continues.
    @Test func aHeldWriteLockGivesALockedErrorAndMovesNoOffset() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("l", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "l", partitions: 1, indices: 0..<100)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "l", "--db", "l.sqlite"]
        #expect(try SpoolProcess.run(arguments, directory: scenario.directory.path).status == 0)
        try MockScenario.produce(into: scenario.cluster, topic: "l", partitions: 1, indices: 0..<100)
        let before = try SpoolStore.openForReading(path: scenario.file("l.sqlite")).resumeOffsets()
        let holder = try SQLiteConnection(path: scenario.file("l.sqlite"), readOnly: false, create: false)
        try holder.setBusyTimeout(ms: 10_000)
        try holder.execute("BEGIN IMMEDIATE")
        let start = Date()
        let locked = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        let waited = Date().timeIntervalSince(start)
        try holder.execute("ROLLBACK")
        holder.close()
        #expect(locked.status == 3, "\(locked.output)")
        #expect(locked.stderr.contains("locked") && locked.stderr.contains("5000 ms"), "\(locked.stderr)")
        // How long it waited is the requirement here: spool's busy timeout is 5 s, so it must not
        // give up sooner (4 s allows for clock granularity) nor wait indefinitely (30 s is generous).
        #expect(waited >= 4 && waited < 30, "waited \(waited) s")
        #expect(try SpoolStore.openForReading(path: scenario.file("l.sqlite")).resumeOffsets() == before)
        #expect(try SpoolProcess.run(arguments, directory: scenario.directory.path).status == 0)
        #expect(storedCount(scenario.file("l.sqlite"), topic: "l") == 200)
    }

    // A reader holding a read transaction open does not stop ingest, and its snapshot does not move.
    @Test func aLongReaderDoesNotStopIngest() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("r", partitions: 2)
        let first = try MockScenario.produce(into: scenario.cluster, topic: "r", partitions: 2, indices: 0..<100)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "r", "--db", "r.sqlite", "--batch-size", "500"]
        #expect(try SpoolProcess.run(arguments, directory: scenario.directory.path).status == 0)
        let second = try MockScenario.produce(into: scenario.cluster, topic: "r", partitions: 2, indices: 0..<20_000)
        let reader = try SQLiteConnection(path: scenario.file("r.sqlite"), readOnly: true, create: false)
        try reader.execute("BEGIN")
        #expect(try reader.integer("SELECT count(*) FROM messages") == 200)
        let result = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(try reader.integer("SELECT count(*) FROM messages") == 200, "the reader's snapshot moved")
        try reader.execute("COMMIT")
        reader.close()
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(scenario.file("r.sqlite"), topic: "r", produced: first + second, partitions: 2)
    }

    // spool query as a user who cannot write the database's folder: it reads a checkpointed
    // database, and a WAL database whose -wal holds data not yet in the main file while a writer
    // is open, seeing that data.
    @Test func queryInAFolderTheUserCannotWrite() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("q", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "q", partitions: 1, indices: 0..<30)
        #expect(try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "q", "--db", "q.sqlite"],
                                     directory: scenario.directory.path).status == 0)
        let clean = try runTool("/usr/bin/setpriv", asNobody(["query", scenario.file("q.sqlite"), "SELECT count(*) AS n FROM messages", "--format", "csv"]),
                                directory: "/", outputDirectory: scenario.directory.path)
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.stdout == "n\n30\n")
        // A writer is open and its WAL holds data the main file does not have yet.
        let writer = try SpoolStore.openForWriting(path: scenario.file("q.sqlite"))
        try writer.write(batch: MessageBatch([Message(key: nil, value: nil, topic: "q", partition: 0, offset: 30, timestamp: 1)]),
                         checkpoints: [], completeUntil: nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scenario.file("q.sqlite-shm"))
        let busy = try runTool("/usr/bin/setpriv", asNobody(["query", scenario.file("q.sqlite"), "SELECT count(*) AS n FROM messages", "--format", "csv"]),
                               directory: "/", outputDirectory: scenario.directory.path)
        writer.close()
        // The open writer keeps the -shm initialised, so SQLite reads through it read-only and
        // the query sees the row that is only in the -wal (openForReading refuses, naming the
        // file, only when such a read fails).
        #expect(busy.status == 0, "\(busy.output)")
        #expect(busy.stdout == "n\n31\n", "the query must see the row committed to the -wal")
        #expect(!busy.output.contains("attempt to write a readonly database"), "\(busy.output)")
    }

    // Retention deleted the next offset to read while Spool was stopped: ingest exits 4 naming the
    // partition, the offset and --accept-gaps; with --accept-gaps it continues and records the gap.
    @Test func aRetentionGapExitsFourThenAcceptGapsContinues() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("g", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "g", partitions: 1, indices: 0..<10, valueSize: 100_000)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "g", "--db", "g.sqlite"]
        #expect(try SpoolProcess.run(arguments, directory: scenario.directory.path).status == 0)
        for _ in 0..<8 { try MockScenario.produce(into: scenario.cluster, topic: "g", partitions: 1, indices: 0..<10, valueSize: 100_000) }
        let refused = try SpoolProcess.run(arguments, directory: scenario.directory.path)
        #expect(refused.status == 4, "\(refused.output)")
        #expect(refused.stderr.contains("g[0]") && refused.stderr.contains("next offset to read is 10") && refused.stderr.contains("--accept-gaps"),
                "\(refused.stderr)")
        let status = try SpoolProcess.run(["status", "g.sqlite"], directory: scenario.directory.path)
        #expect(status.stdout.contains("g[0] offsets 10..."), "\(status.stdout)")
        let accepted = try SpoolProcess.run(arguments + ["--accept-gaps"], directory: scenario.directory.path)
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.stdout.contains("gap(s) accepted"))
        let verify = try SpoolProcess.run(["verify", "g.sqlite"], directory: scenario.directory.path)
        #expect(verify.status == 0 && verify.stdout.contains("gap: g[0] offsets 10..."), "\(verify.output)")
    }

    // The topic is deleted while ingest follows it: it exits 4 saying so, without hanging, and
    // leaves a sound database.
    @Test func aDeletedTopicExitsFourWithoutHanging() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("gone", partitions: 2)
        try MockScenario.produce(into: scenario.cluster, topic: "gone", partitions: 2, indices: 0..<20)
        let running = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "gone", "--db", "x.sqlite", "--follow", "--quiet"],
                                               directory: scenario.directory.path)
        try running.waitUntil("all 40 messages are stored") { storedCount(scenario.file("x.sqlite"), topic: "gone") == 40 }
        scenario.cluster.setTopicError("gone", .unknownTopicOrPartition)
        scenario.cluster.pushRequestErrors(.fetch, Array(repeating: .unknownTopicOrPartition, count: 200))
        let result = running.wait(timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("topic 'gone' no longer exists"), "\(result.stderr)")
        #expect(try SpoolStore.openForReading(path: scenario.file("x.sqlite")).verify().isSound)
    }

    // Every broker is down for 30 s, then back: ingest keeps running through the outage and then
    // stores what was produced meanwhile, every message exactly once.
    @Test func allBrokersDownForThirtySecondsThenBack() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(brokers: 2, logger: quietLogger())
        try cluster.createTopic("b", partitions: 2)
        let first = try MockScenario.produce(into: cluster, topic: "b", partitions: 2, indices: 0..<50)
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "b", "--db", "b.sqlite", "--follow", "--quiet"],
                                               directory: dir.path)
        try running.waitUntil("the first 100 messages are stored") { storedCount(dir.file("b.sqlite"), topic: "b") == 100 }
        try cluster.setBrokerDown(-1)
        // The 30 s outage is the scenario itself, not a wait for something.
        try requireThroughout("ingest keeps running while the brokers are down", for: .seconds(30)) { running.isRunning }
        try cluster.setBrokerUp(-1)
        let second = try MockScenario.produce(into: cluster, topic: "b", partitions: 2, indices: 0..<50)
        // librdkafka reconnects with a backoff of up to 10 s, so allow a while.
        try running.waitUntil("the 100 messages produced after the outage are stored", timeout: .seconds(120)) {
            storedCount(dir.file("b.sqlite"), topic: "b") == 200
        }
        running.signal(SIGINT)
        let result = running.wait()
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(dir.file("b.sqlite"), topic: "b", produced: first + second, partitions: 2)
    }

    // Leaders move, a partition is leaderless for a while and fetches fail transiently: ingest
    // completes without reporting an error and stores every message exactly once.
    @Test func leaderMovesAndTransientFetchErrorsAreInvisible() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(brokers: 3, logger: quietLogger())
        try cluster.createTopic("m", partitions: 3)
        let produced = try MockScenario.produce(into: cluster, topic: "m", partitions: 3, indices: 0..<20_000)
        cluster.pushRequestErrors(.fetch, [.notLeaderForPartition, .requestTimedOut, .kafkaStorageError, .notLeaderForPartition, .requestTimedOut])
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "m", "--db", "m.sqlite",
                                                "--batch-size", "200", "--quiet"], directory: dir.path)
        try running.waitUntil("2,000 messages are stored") { storedCount(dir.file("m.sqlite"), topic: "m") >= 2_000 }
        try cluster.setPartitionLeader(topic: "m", partition: 0, broker: 2)
        try cluster.setPartitionLeader(topic: "m", partition: 1, broker: -1)
        cluster.pushRequestErrors(.fetch, [.kafkaStorageError, .notLeaderForPartition, .requestTimedOut])
        // How long partition 1 stays leaderless is part of the scenario (long enough for the
        // client's metadata to show it), not a wait for something.
        Thread.sleep(forTimeInterval: 1.5)
        try cluster.setPartitionLeader(topic: "m", partition: 1, broker: 3)
        try cluster.setPartitionLeader(topic: "m", partition: 2, broker: 1)
        let result = running.wait(timeout: 120)
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.stderr.contains("error"), "\(result.stderr)")
        try expectExactlyOnce(dir.file("m.sqlite"), topic: "m", produced: produced, partitions: 3)
    }

    // A slow broker (5 s round trip) mid-ingest: the run still completes exactly once and ends
    // live only when it really is.
    @Test func aSlowBrokerGivesNoFalseLive() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("s", partitions: 2)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "s", partitions: 2, indices: 0..<3_000)
        let running = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "s", "--db", "s.sqlite",
                                                "--batch-size", "100", "--quiet"], directory: scenario.directory.path)
        try running.waitUntil("the first 100 messages are stored") { storedCount(scenario.file("s.sqlite"), topic: "s") >= 100 }
        try scenario.cluster.setBrokerRoundTripTime(-1, ms: 5_000)
        let result = running.wait(timeout: 200)
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(scenario.file("s.sqlite"), topic: "s", produced: produced, partitions: 2)
        let run = try #require(try SpoolStore.openForReading(path: scenario.file("s.sqlite")).runs.latest())
        #expect(run.status == .live)
    }

    // Fetch is refused as unauthorized: ingest exits 4 naming the partition.
    @Test func anAuthorizationFailureExitsFour() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("a", partitions: 1)
        try MockScenario.produce(into: scenario.cluster, topic: "a", partitions: 1, indices: 0..<10)
        scenario.cluster.pushRequestErrors(.fetch, Array(repeating: .topicAuthorizationFailed, count: 100))
        let result = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "a", "--db", "a.sqlite"],
                                          directory: scenario.directory.path, timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("not authorized") && result.stderr.contains("a[0]"), "\(result.stderr)")
    }

    // A partition that never receives a message does not keep the others from going live.
    @Test func anEmptyPartitionDoesNotBlockLive() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("e", partitions: 3)
        let produced = try MockScenario.produce(into: scenario.cluster, topic: "e", partitions: 2, indices: 0..<100)
        let result = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "e", "--db", "e.sqlite"],
                                          directory: scenario.directory.path, timeout: 30)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("live"))
        try expectExactlyOnce(scenario.file("e.sqlite"), topic: "e", produced: produced, partitions: 3)
    }

    // Null and empty keys and values are stored distinctly, a missing timestamp (-1) is stored as
    // -1, and a far-future timestamp is left for following (it is past the cutoff) and then stored.
    @Test func nullsEmptiesAndOddTimestampsAreStoredDistinctly() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("n", partitions: 1)
        let future: Int64 = 4_102_444_800_000  // 2100-01-01
        try scenario.cluster.produce(topic: "n", [
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_700_000_000_000),
            MockMessage(partition: 0, key: [], value: [], timestamp: 1_700_000_000_001),
            MockMessage(partition: 0, key: [], value: nil, timestamp: -1),
            MockMessage(partition: 0, key: nil, value: [], timestamp: 1_700_000_000_002),
            MockMessage(partition: 0, key: Array("f".utf8), value: Array("future".utf8), timestamp: future),
        ])
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "n", "--db", "n.sqlite"]
        // Bounded: the far-future message is past the cutoff (now), so it is live data, not replay.
        #expect(try SpoolProcess.run(arguments, directory: scenario.directory.path).status == 0)
        var rows = try SpoolStore.openForReading(path: scenario.file("n.sqlite")).messages(topic: "n", partition: 0)
        #expect(rows.map(\.offset) == [0, 1, 2, 3])
        #expect(rows[0].key == nil && rows[0].value == nil)
        #expect(rows[1].key == [] && rows[1].value == [])
        #expect(rows[2].key == [] && rows[2].value == nil)
        #expect(rows[3].key == nil && rows[3].value == [])
        #expect(rows.map(\.timestamp) == [1_700_000_000_000, 1_700_000_000_001, -1, 1_700_000_000_002])
        // Following stores it.
        let follow = try SpoolProcess.Running(arguments + ["--follow", "--quiet"], directory: scenario.directory.path)
        try follow.waitUntil("the far-future message is stored") { storedCount(scenario.file("n.sqlite"), topic: "n") == 5 }
        follow.signal(SIGINT)
        #expect(follow.wait().status == 0)
        rows = try SpoolStore.openForReading(path: scenario.file("n.sqlite")).messages(topic: "n", partition: 0)
        #expect(rows.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(rows.last?.timestamp == future)
    }

    // A message larger than the configured maximum: ingest exits 4 naming its partition and
    // offset, and the stored position stays at that offset.
    @Test func aTooLargeMessageStopsAtItsOffset() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("big", partitions: 1)
        try scenario.cluster.produce(topic: "big", [MockMessage(partition: 0, key: nil, value: [1], timestamp: 1_700_000_000_000)])
        try scenario.cluster.produce(topic: "big", [MockMessage(partition: 0, key: nil, value: Array(repeating: 7, count: 3_000_000), timestamp: 1_700_000_000_001)])
        let result = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "big", "--db", "big.sqlite",
                                           "-X", "message.max.bytes=500000", "-X", "fetch.max.bytes=600000",
                                           "-X", "receive.message.max.bytes=700000"], directory: scenario.directory.path, timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("larger than the configured maximum") && result.stderr.contains("big[0] at offset 1"), "\(result.stderr)")
        let store = try SpoolStore.openForReading(path: scenario.file("big.sqlite"))
        // Everything before the large message is stored, and nothing from it on.
        let resumeAt = try store.resumeOffsets()[TopicPartition(topic: "big", partition: 0)]
        #expect(resumeAt == 1, "the stored position must be the large message's offset")
    }

    // A query that never ends, or one that allocates a huge value, is stopped with status 2.
    @Test func runawayQueriesAreStopped() throws {
        let dir = TemporaryDirectory()
        _ = try SpoolStore.openForWriting(path: dir.file("w.sqlite"))
        let forever = try SpoolProcess.run(["query", "w.sqlite", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                                            "--timeout", "1"], directory: dir.path, timeout: 30)
        #expect(forever.status == 2, "\(forever.output)")
        #expect(forever.stderr.contains("longer than the 1.0 s limit"), "\(forever.stderr)")
        let huge = try SpoolProcess.run(["query", "w.sqlite", "SELECT length(zeroblob(2000000000))", "--max-memory", "64"],
                                        directory: dir.path, timeout: 30)
        #expect(huge.status == 2, "\(huge.output)")
        #expect(huge.stderr.contains("more memory than allowed"), "\(huge.stderr)")
    }
}
