import SpoolTestSupport
import Foundation
import KafkaReplay
import Testing
@testable import SpoolStore

/// Runs `body` as user nobody (root ignores file modes).
private func asNobody(_ arguments: [String]) -> [String] {
    ["--reuid=65534", "--regid=65534", "--clear-groups", SpoolProcess.binary] + arguments
}

/// Runs a program (not spool) to completion and returns its exit status and output.
private func runTool(_ path: String, _ arguments: [String], directory: String) throws -> SpoolProcess.Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return SpoolProcess.Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                               stderr: String(decoding: errData, as: UTF8.self))
}

private func storedCount(_ path: String, topic: String) -> Int64 {
    (try? SpoolStore.openForReading(path: path).messageCounts()[topic]) ?? 0
}

@Suite("Faults and bad input", .serialized, .timeLimit(.minutes(5)))
struct FaultTests {
    // Row 1: kill -9 at 20+ random moments.
    @Test func twentyKillsLoseAndRepeatNothing() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("k", partitions: 4)
        let produced = try fill(cluster, topic: "k", partitions: 4, perPartition: 40_000)
        let total = Int64(produced.count)
        let db = dir.file("k.sqlite")
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "k", "--db", "k.sqlite", "--batch-size", "200", "--quiet"]
        var kills = 0
        var generator = SystemRandomNumberGenerator()
        while kills < 22 {
            let before = storedCount(db, topic: "k")
            guard before < total else { break }
            let target = before + Int64.random(in: 1...max(1, (total - before) / 25), using: &generator)
            let running = try SpoolProcess.Running(arguments, directory: dir.path)
            while running.process.isRunning && storedCount(db, topic: "k") < target { usleep(1_000) }
            if running.process.isRunning {
                running.signal(SIGKILL)
                kills += 1
            }
            _ = running.wait()
            let report = try SpoolStore.openForReading(path: db).verify()
            #expect(report.isSound, "after kill \(kills): \(report.problems)")
        }
        #expect(kills >= 20)
        let last = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(last.status == 0, "\(last.output)")
        try expectExactlyOnce(db, topic: "k", produced: produced, partitions: 4)
    }

    // Row 2: kill -9 while a COMMIT is in flight (an fsync hook that raises SIGKILL).
    @Test func killDuringCommitLosesAndRepeatsNothing() throws {
        let dir = TemporaryDirectory()
        let source = dir.file("killfsync.c")
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
        let build = try runTool("/usr/bin/env", ["cc", "-shared", "-fPIC", "-o", dir.file("killfsync.so"), source, "-ldl"], directory: dir.path)
        try #require(build.status == 0, "cannot build the fsync hook: \(build.stderr)")
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("f", partitions: 2)
        let produced = try fill(cluster, topic: "f", partitions: 2, perPartition: 5_000)
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "f", "--db", "f.sqlite",
                         "--batch-size", "100", "--durability", "full", "--quiet"]
        var killed = 0
        for syncNumber in [2, 5, 9, 14, 23] {
            setenv("LD_PRELOAD", dir.file("killfsync.so"), 1)
            setenv("SPOOL_TEST_KILL_AT_SYNC", String(syncNumber), 1)
            defer {
                unsetenv("LD_PRELOAD")
                unsetenv("SPOOL_TEST_KILL_AT_SYNC")
            }
            let result = try SpoolProcess.run(arguments, directory: dir.path)
            if result.status == 9 || result.status == 137 { killed += 1 }
            // A kill while the very first schema is being created leaves an empty file, which
            // the next run treats as new; anything else must pass the audit.
            do {
                let report = try SpoolStore.openForReading(path: dir.file("f.sqlite")).verify()
                #expect(report.isSound, "killed at sync \(syncNumber): \(report.problems)")
            } catch StoreError.notSpoolDatabase(_, let reason) where reason.contains("empty") {
                #expect(result.status == 9 || result.status == 137, "an empty database after a run that was not killed")
            }
        }
        #expect(killed >= 4, "the hook killed only \(killed) runs")
        let last = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(last.status == 0, "\(last.output)")
        try expectExactlyOnce(dir.file("f.sqlite"), topic: "f", produced: produced, partitions: 2)
    }

    // Row 4: disk full on a small filesystem, then space is freed.
    @Test func aFullDiskExitsThreeAndResumesWhenSpaceIsFreed() throws {
        let dir = TemporaryDirectory()
        let mountPoint = dir.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mountPoint], directory: dir.path)
        try #require(mount.status == 0, "cannot mount a small tmpfs (the test needs root): \(mount.stderr)")
        defer { _ = try? runTool("/bin/umount", [mountPoint], directory: dir.path) }
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("d", partitions: 2)
        let produced = try fill(cluster, topic: "d", partitions: 2, perPartition: 15_000, valueSize: 200)
        let db = mountPoint + "/d.sqlite"
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "d", "--db", db, "--batch-size", "500"]
        let full = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(full.status == 3, "\(full.output)")
        #expect(full.stderr.contains(db) && full.stderr.contains("full"), "\(full.stderr)")
        let stored = storedCount(db, topic: "d")
        #expect(stored < Int64(produced.count))
        let report = try SpoolStore.openForReading(path: db).verify()
        #expect(report.isSound, "\(report.problems)")
        let remount = try runTool("/bin/mount", ["-o", "remount,size=200m", mountPoint], directory: dir.path)
        try #require(remount.status == 0, "\(remount.stderr)")
        let resumed = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(resumed.status == 0, "\(resumed.output)")
        try expectExactlyOnce(db, topic: "d", produced: produced, partitions: 2)
    }

    // Row 5: folder or file not writable, as a non-root user: fails before contacting Kafka.
    @Test func anUnwritableFolderOrFileFailsBeforeKafka() throws {
        let dir = TemporaryDirectory()
        // The folder is root's and not writable by nobody; the brokers do not exist.
        let start = Date()
        let folder = try runTool("/usr/bin/setpriv", asNobody(["ingest", "--brokers", "127.0.0.1:9", "--topic", "t",
                                                               "--db", dir.file("x.sqlite")]), directory: "/")
        #expect(folder.status == 3, "\(folder.output)")
        #expect(folder.stderr.contains(dir.file("x.sqlite")) && folder.stderr.contains("Permission denied"), "\(folder.stderr)")
        #expect(Date().timeIntervalSince(start) < 5, "it waited for Kafka")
        // A read-only file in a folder anyone may write.
        let shared = dir.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        let file = shared + "/ro.sqlite"
        _ = try SpoolStore.openForWriting(path: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let readOnly = try runTool("/usr/bin/setpriv", asNobody(["ingest", "--brokers", "127.0.0.1:9", "--topic", "t", "--db", file]),
                                   directory: "/")
        #expect(readOnly.status == 3, "\(readOnly.output)")
        #expect(readOnly.stderr.contains(file) && readOnly.stderr.contains("Permission denied"), "\(readOnly.stderr)")
    }

    // Rows 6 and 7: random bytes, truncated database, another application's file, newer schema.
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
            try store.connection.execute("INSERT INTO spool_migrations VALUES (7, '0007_future.sql', 'x', 0)")
            store.close()
        }
        let truncated = dir.file("truncated.sqlite")
        do {
            let store = try SpoolStore.openForWriting(path: truncated)
            for round in 0..<20 {
                let rows = (0..<200).map { Message(key: nil, value: Array(repeating: 1, count: 300), topic: "t", partition: 0,
                                                   offset: Int64(round * 200 + $0), timestamp: 1) }
                let through = Int64(round * 200 + 199)
                let checkpoint = PartitionCheckpoint(topicPartition: TopicPartition(topic: "t", partition: 0),
                                                     range: ReplayRange(start: 0, end: 9_999), consumedOffset: through,
                                                     releasedOffset: through, lastConsumedTimestamp: 1, isLive: false, isPaused: false)
                try store.write(batch: MessageBatch(rows), checkpoints: [checkpoint], completeUntil: nil)
            }
            try store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
        }
        let whole = FileManager.default.contents(atPath: truncated)!
        _ = FileManager.default.createFile(atPath: truncated, contents: whole.prefix(whole.count / 2))
        for (file, expected) in [(garbage, "not a Spool database"), (other, "not a Spool database"), (newer, "schema version 7"), (truncated, "damaged")] {
            let before = FileManager.default.contents(atPath: file)
            let result = try SpoolProcess.run(["ingest", "--brokers", "127.0.0.1:9", "--topic", "t", "--db", file], directory: dir.path)
            #expect(result.status == 3, "\(file): \(result.output)")
            #expect(result.stderr.contains(file) && result.stderr.contains(expected), "\(file): \(result.stderr)")
            #expect(FileManager.default.contents(atPath: file) == before, "\(file) was changed")
        }
        let newerMessage = try SpoolProcess.run(["status", newer], directory: dir.path)
        #expect(newerMessage.stderr.contains("supports up to version \(SpoolStore.supportedSchemaVersion)"))
    }

    // Row 9: another process holds the write lock.
    @Test func aHeldWriteLockGivesALockedErrorAndMovesNoOffset() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("l", partitions: 1)
        try fill(cluster, topic: "l", partitions: 1, perPartition: 100)
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "l", "--db", "l.sqlite"]
        #expect(try SpoolProcess.run(arguments, directory: dir.path).status == 0)
        try fill(cluster, topic: "l", partitions: 1, perPartition: 100)
        let before = try SpoolStore.openForReading(path: dir.file("l.sqlite")).resumeOffsets()
        let holder = try SQLiteConnection(path: dir.file("l.sqlite"), readOnly: false, create: false)
        try holder.setBusyTimeout(ms: 10_000)
        try holder.execute("BEGIN IMMEDIATE")
        let start = Date()
        let locked = try SpoolProcess.run(arguments, directory: dir.path)
        let waited = Date().timeIntervalSince(start)
        try holder.execute("ROLLBACK")
        holder.close()
        #expect(locked.status == 3, "\(locked.output)")
        #expect(locked.stderr.contains("locked"), "\(locked.stderr)")
        #expect(waited >= 4 && waited < 30, "waited \(waited) s")
        #expect(try SpoolStore.openForReading(path: dir.file("l.sqlite")).resumeOffsets() == before)
        #expect(try SpoolProcess.run(arguments, directory: dir.path).status == 0)
        #expect(storedCount(dir.file("l.sqlite"), topic: "l") == 200)
    }

    // Row 10: a long-running reader during ingest.
    @Test func aLongReaderDoesNotStopIngest() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("r", partitions: 2)
        let first = try fill(cluster, topic: "r", partitions: 2, perPartition: 100)
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "r", "--db", "r.sqlite", "--batch-size", "500"]
        #expect(try SpoolProcess.run(arguments, directory: dir.path).status == 0)
        let second = try fill(cluster, topic: "r", partitions: 2, perPartition: 20_000)
        let reader = try SQLiteConnection(path: dir.file("r.sqlite"), readOnly: true, create: false)
        try reader.execute("BEGIN")
        #expect(try reader.integer("SELECT count(*) FROM messages") == 200)
        let result = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(try reader.integer("SELECT count(*) FROM messages") == 200, "the reader's snapshot moved")
        try reader.execute("COMMIT")
        reader.close()
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(dir.file("r.sqlite"), topic: "r", produced: first + second, partitions: 2)
    }

    // Row 11: query on a WAL database in a folder the user cannot write.
    @Test func queryInAFolderTheUserCannotWrite() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("q", partitions: 1)
        try fill(cluster, topic: "q", partitions: 1, perPartition: 30)
        #expect(try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "q", "--db", "q.sqlite"],
                                     directory: dir.path).status == 0)
        let clean = try runTool("/usr/bin/setpriv", asNobody(["query", dir.file("q.sqlite"), "SELECT count(*) AS n FROM messages", "--format", "csv"]),
                                directory: "/")
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.stdout == "n\n30\n")
        // A writer is open and its WAL holds data the main file does not have yet.
        let writer = try SpoolStore.openForWriting(path: dir.file("q.sqlite"))
        try writer.write(batch: MessageBatch([Message(key: nil, value: nil, topic: "q", partition: 0, offset: 30, timestamp: 1)]),
                         checkpoints: [], completeUntil: nil)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("q.sqlite-shm"))
        let busy = try runTool("/usr/bin/setpriv", asNobody(["query", dir.file("q.sqlite"), "SELECT count(*) AS n FROM messages", "--format", "csv"]),
                               directory: "/")
        writer.close()
        #expect(!busy.output.contains("attempt to write a readonly database"), "\(busy.output)")
        if busy.status == 0 {
            #expect(busy.stdout == "n\n31\n", "a successful read must see the committed row")
        } else {
            #expect(busy.stderr.contains(dir.file("q.sqlite")), "\(busy.stderr)")
        }
    }

    // Row 12: retention deleted the next offset while Spool was stopped.
    @Test func aRetentionGapExitsFourThenAcceptGapsContinues() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("g", partitions: 1)
        try fill(cluster, topic: "g", partitions: 1, perPartition: 10, valueSize: 100_000)
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "g", "--db", "g.sqlite"]
        #expect(try SpoolProcess.run(arguments, directory: dir.path).status == 0)
        for _ in 0..<8 { try fill(cluster, topic: "g", partitions: 1, perPartition: 10, valueSize: 100_000) }
        let refused = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(refused.status == 4, "\(refused.output)")
        #expect(refused.stderr.contains("g[0]") && refused.stderr.contains("next offset to read is 10") && refused.stderr.contains("--accept-gaps"),
                "\(refused.stderr)")
        let status = try SpoolProcess.run(["status", "g.sqlite"], directory: dir.path)
        #expect(status.stdout.contains("g[0] offsets 10..."), "\(status.stdout)")
        let accepted = try SpoolProcess.run(arguments + ["--accept-gaps"], directory: dir.path)
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.stdout.contains("gap(s) accepted"))
        let verify = try SpoolProcess.run(["verify", "g.sqlite"], directory: dir.path)
        #expect(verify.status == 0 && verify.stdout.contains("gap: g[0] offsets 10..."), "\(verify.output)")
    }

    // Row 15: the topic is deleted while ingest runs.
    @Test func aDeletedTopicExitsFourWithoutHanging() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("gone", partitions: 2)
        try fill(cluster, topic: "gone", partitions: 2, perPartition: 20)
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "gone", "--db", "x.sqlite", "--follow", "--quiet"],
                                               directory: dir.path)
        for _ in 0..<400 where storedCount(dir.file("x.sqlite"), topic: "gone") < 40 { usleep(25_000) }
        cluster.setTopicError("gone", .unknownTopicOrPartition)
        cluster.pushRequestErrors(.fetch, Array(repeating: .unknownTopicOrPartition, count: 200))
        let result = running.wait(timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("topic 'gone' no longer exists"), "\(result.stderr)")
        #expect(try SpoolStore.openForReading(path: dir.file("x.sqlite")).verify().isSound)
    }

    // Row 16: all brokers down for 30 s, then back.
    @Test func allBrokersDownForThirtySecondsThenBack() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(brokers: 2, logger: quietLogger())
        try cluster.createTopic("b", partitions: 2)
        let first = try fill(cluster, topic: "b", partitions: 2, perPartition: 50)
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "b", "--db", "b.sqlite", "--follow", "--quiet"],
                                               directory: dir.path)
        for _ in 0..<400 where storedCount(dir.file("b.sqlite"), topic: "b") < 100 { usleep(25_000) }
        try cluster.setBrokerDown(-1)
        sleep(30)
        #expect(running.process.isRunning, "ingest gave up while the brokers were down")
        try cluster.setBrokerUp(-1)
        let second = try fill(cluster, topic: "b", partitions: 2, perPartition: 50)
        for _ in 0..<1_200 where storedCount(dir.file("b.sqlite"), topic: "b") < 200 { usleep(25_000) }
        running.signal(SIGINT)
        let result = running.wait()
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(dir.file("b.sqlite"), topic: "b", produced: first + second, partitions: 2)
    }

    // Rows 17 and 18: leaders move, a partition is leaderless for a while, transient fetch errors.
    @Test func leaderMovesAndTransientFetchErrorsAreInvisible() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(brokers: 3, logger: quietLogger())
        try cluster.createTopic("m", partitions: 3)
        let produced = try fill(cluster, topic: "m", partitions: 3, perPartition: 20_000)
        cluster.pushRequestErrors(.fetch, [.notLeaderForPartition, .requestTimedOut, .kafkaStorageError, .notLeaderForPartition, .requestTimedOut])
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "m", "--db", "m.sqlite",
                                                "--batch-size", "200", "--quiet"], directory: dir.path)
        for _ in 0..<400 where storedCount(dir.file("m.sqlite"), topic: "m") < 2_000 { usleep(5_000) }
        try cluster.setPartitionLeader(topic: "m", partition: 0, broker: 2)
        try cluster.setPartitionLeader(topic: "m", partition: 1, broker: -1)
        cluster.pushRequestErrors(.fetch, [.kafkaStorageError, .notLeaderForPartition, .requestTimedOut])
        usleep(1_500_000)
        try cluster.setPartitionLeader(topic: "m", partition: 1, broker: 3)
        try cluster.setPartitionLeader(topic: "m", partition: 2, broker: 1)
        let result = running.wait(timeout: 120)
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.stderr.contains("error"), "\(result.stderr)")
        try expectExactlyOnce(dir.file("m.sqlite"), topic: "m", produced: produced, partitions: 3)
    }

    // Row 19: a slow broker (5 s round trip): no false live, order kept.
    @Test func aSlowBrokerGivesNoFalseLive() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("s", partitions: 2)
        let produced = try fill(cluster, topic: "s", partitions: 2, perPartition: 3_000)
        let running = try SpoolProcess.Running(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "s", "--db", "s.sqlite",
                                                "--batch-size", "100", "--quiet"], directory: dir.path)
        for _ in 0..<400 where storedCount(dir.file("s.sqlite"), topic: "s") < 100 { usleep(5_000) }
        try cluster.setBrokerRoundTripTime(-1, ms: 5_000)
        let result = running.wait(timeout: 200)
        #expect(result.status == 0, "\(result.output)")
        try expectExactlyOnce(dir.file("s.sqlite"), topic: "s", produced: produced, partitions: 2)
        let run = try #require(try SpoolStore.openForReading(path: dir.file("s.sqlite")).latestRun())
        #expect(run.status == .live)
    }

    // Row 20: authorization failure on Fetch.
    @Test func anAuthorizationFailureExitsFour() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("a", partitions: 1)
        try fill(cluster, topic: "a", partitions: 1, perPartition: 10)
        cluster.pushRequestErrors(.fetch, Array(repeating: .topicAuthorizationFailed, count: 100))
        let result = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "a", "--db", "a.sqlite"],
                                          directory: dir.path, timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("not authorized") && result.stderr.contains("a[0]"), "\(result.stderr)")
    }

    // Row 21: one partition never receives a message.
    @Test func anEmptyPartitionDoesNotBlockLive() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("e", partitions: 3)
        let produced = try fill(cluster, topic: "e", partitions: 2, perPartition: 100)
        let result = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "e", "--db", "e.sqlite"],
                                          directory: dir.path, timeout: 30)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("live"))
        try expectExactlyOnce(dir.file("e.sqlite"), topic: "e", produced: produced, partitions: 3)
    }

    // Row 23: null vs empty key and value, timestamp -1, a timestamp far in the future.
    @Test func nullsEmptiesAndOddTimestampsAreStoredDistinctly() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("n", partitions: 1)
        let future: Int64 = 4_102_444_800_000  // 2100-01-01
        try cluster.produce(topic: "n", [
            MockMessage(partition: 0, key: nil, value: nil, timestamp: 1_700_000_000_000),
            MockMessage(partition: 0, key: [], value: [], timestamp: 1_700_000_000_001),
            MockMessage(partition: 0, key: [], value: nil, timestamp: -1),
            MockMessage(partition: 0, key: nil, value: [], timestamp: 1_700_000_000_002),
            MockMessage(partition: 0, key: Array("f".utf8), value: Array("future".utf8), timestamp: future),
        ])
        let arguments = ["ingest", "--brokers", cluster.bootstrapServers, "--topic", "n", "--db", "n.sqlite"]
        // Bounded: the far-future message is past the cutoff (now), so it is live data, not replay.
        #expect(try SpoolProcess.run(arguments, directory: dir.path).status == 0)
        var rows = try SpoolStore.openForReading(path: dir.file("n.sqlite")).messages(topic: "n", partition: 0)
        #expect(rows.map(\.offset) == [0, 1, 2, 3])
        #expect(rows[0].key == nil && rows[0].value == nil)
        #expect(rows[1].key == [] && rows[1].value == [])
        #expect(rows[2].key == [] && rows[2].value == nil)
        #expect(rows[3].key == nil && rows[3].value == [])
        #expect(rows[2].timestamp != 1_700_000_000_001 || rows[2].timestamp == -1)
        // Following stores it.
        let follow = try SpoolProcess.Running(arguments + ["--follow", "--quiet"], directory: dir.path)
        for _ in 0..<400 where storedCount(dir.file("n.sqlite"), topic: "n") < 5 { usleep(25_000) }
        follow.signal(SIGINT)
        #expect(follow.wait().status == 0)
        rows = try SpoolStore.openForReading(path: dir.file("n.sqlite")).messages(topic: "n", partition: 0)
        #expect(rows.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(rows.last?.timestamp == future)
    }

    // Row 24: a message larger than the configured maximum.
    @Test func aTooLargeMessageStopsAtItsOffset() throws {
        let dir = TemporaryDirectory()
        let cluster = try MockKafkaCluster(logger: quietLogger())
        try cluster.createTopic("big", partitions: 1)
        try cluster.produce(topic: "big", [MockMessage(partition: 0, key: nil, value: [1], timestamp: 1_700_000_000_000)])
        try cluster.produce(topic: "big", [MockMessage(partition: 0, key: nil, value: Array(repeating: 7, count: 3_000_000), timestamp: 1_700_000_000_001)])
        let result = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--topic", "big", "--db", "big.sqlite",
                                           "-X", "message.max.bytes=500000", "-X", "fetch.max.bytes=600000",
                                           "-X", "receive.message.max.bytes=700000"], directory: dir.path, timeout: 60)
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stderr.contains("larger than the configured maximum") && result.stderr.contains("big[0] at offset 1"), "\(result.stderr)")
        let store = try SpoolStore.openForReading(path: dir.file("big.sqlite"))
        #expect(try store.resumeOffsets()[TopicPartition(topic: "big", partition: 0)] == 1, "the stored position moved past the large message")
    }

    // Row 26: a query that never ends, or allocates huge values.
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
