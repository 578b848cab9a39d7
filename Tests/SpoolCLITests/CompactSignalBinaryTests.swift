import Foundation
import KafkaReplay
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// `spool compact` stops on SIGINT and SIGTERM within a second or two, leaving the file as it was.
@Suite("spool compact and signals", .serialized, .timeLimit(.minutes(6)))
struct CompactSignalBinaryTests {
    static let rows = 200_000
    static let kept = rows / 2

    /// A file as Spool wrote it before retention (no auto-vacuum) holding `rows` records of `t`
    /// with 1 KiB values, the older half removed by retention: about 200 MiB, half of it free pages.
    static func oldFileHalfRetained(_ path: String) throws {
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: true)
            defer { connection.close() }
            try connection.execute("PRAGMA journal_mode = WAL")
            try Migrator(migrations: Migrator().migrations.filter { $0.version <= 4 }).migrate(connection, nowMs: 1)
        }
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        let now = WallClock.nowMs(), old = now - 2 * 86_400_000
        let partition = TopicPartition(topic: "t", partition: 0)
        for start in stride(from: 0, to: rows, by: 10_000) {
            let batch = MessageBatch((start..<start + 10_000).map { index in
                Message(key: Array("key-\(index)".utf8), value: [UInt8](repeating: UInt8(index % 251), count: 1_024), topic: "t",
                        partition: 0, offset: Int64(index), timestamp: index < kept ? old : now)
            })
            let last = Int64(start + 9_999)
            let checkpoint = PartitionState(topicPartition: partition, range: ReplayRange(start: 0, end: 1_000_000), consumedOffset: last,
                                                 releasedOffset: last, lastConsumedTimestamp: last < Int64(kept) ? old : now,
                                                 isLive: false, isPaused: false)
            try store.write(batch: batch, checkpoints: [checkpoint], completeUntil: nil)
        }
        try store.retention.set(RetentionPolicy(maxAgeMs: 86_400_000))
        while try store.retention.retainOnce() > 0 {}
        #expect(try !store.returnsFreedPages(), "the file is in the old format")
    }

    /// Bytes the process has read so far (`/proc/PID/io`), 0 when it cannot be read.
    static func bytesRead(_ pid: Int32) -> Int64 {
        SpoolProcess.firstLine(of: "/proc/\(pid)/io", startingWith: "rchar:").flatMap { Int64($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    /// Whether two files hold the same bytes (`cmp`).
    static func sameBytes(_ first: String, _ second: String) throws -> Bool {
        let cmp = Process()
        cmp.executableURL = URL(fileURLWithPath: "/usr/bin/cmp")
        cmp.arguments = ["-s", first, second]
        try cmp.run()
        cmp.waitUntilExit()
        return cmp.terminationStatus == 0
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalStopsTheRewriteQuicklyAndLeavesTheFileAsItWas(signal: Int32) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("old.sqlite")
        try Self.oldFileHalfRetained(path)
        try FileManager.default.copyItem(atPath: path, toPath: dir.file("copy.sqlite"))
        var info = stat()
        _ = stat(path, &info)
        let size = Int64(info.st_size)

        let running = try SpoolProcess.Running(["compact", "old.sqlite"], directory: dir.path, environment: ["TMPDIR": dir.path])
        let pid = running.process.processIdentifier
        // Mid-way: VACUUM has read a quarter of the file into its temporary copy.
        try running.waitUntil("compact has read a quarter of the file", timeout: .seconds(60), poll: .milliseconds(5)) {
            Self.bytesRead(pid) > size / 4
        }
        let clock = ContinuousClock()
        let signalled = clock.now
        running.signal(signal)
        let exit = try waitFor("compact exits after the signal", timeout: .seconds(10), poll: .milliseconds(5)) { running.exitStatus }
        let took = clock.now - signalled
        let result = running.wait()
        #expect(exit == 0 && result.status == 0, "\(result.output)")
        #expect(took < .seconds(2), "compact took \(took) to stop")
        #expect(result.stdout == "compact stopped: old.sqlite is unchanged; run spool compact old.sqlite again to convert it\n", "\(result.output)")
        #expect(try Self.sameBytes(path, dir.file("copy.sqlite")), "the file is byte for byte as before")
        #expect(try !SpoolStore.openForReading(path: path).returnsFreedPages())
        let verify = try SpoolProcess.run(["verify", "old.sqlite"], directory: dir.path)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("100,000 messages in 1 partitions"), "\(verify.stdout)")
        guard signal == SIGTERM else { return }

        // Run again without a signal: it converts the file, and nothing is lost.
        let again = try SpoolProcess.run(["compact", "old.sqlite"], directory: dir.path, timeout: 120, environment: ["TMPDIR": dir.path])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stdout.hasPrefix("compacted old.sqlite: "), "\(again.stdout)")
        #expect(try SpoolStore.openForReading(path: path).returnsFreedPages())
        let after = try SpoolProcess.run(["verify", "old.sqlite"], directory: dir.path)
        #expect(after.status == 0 && after.stdout.contains("100,000 messages in 1 partitions"), "\(after.output)")
    }
}
