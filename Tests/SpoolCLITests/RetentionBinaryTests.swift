@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolModel
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `spool ingest --retain`, `--retain-size`, `--no-retain` and `--metrics-file` through the binary.
@Suite("spool retention and metrics", .serialized, .timeLimit(.minutes(5)))
struct RetentionBinaryTests {
    static let hour: Int64 = 3_600_000

    // MARK: age retention

    /// Age retention removes records from the front of each partition only: an old record after a
    /// newer one stays, a record without a timestamp (-1) stays and keeps what follows it. The policy
    /// is recorded (a later run without --retain still applies it) and --no-retain removes it.
    @Test func ageRetentionRemovesOnlyFromTheFrontAndIsRecorded() throws {
        let scenario = try MockScenario()
        let db = scenario.file("a.sqlite")
        try scenario.cluster.createTopic("age", partitions: 3)
        let now = WallClock.nowMs()
        let old = now - 2 * Self.hour
        var produced = ProducedLog()
        // Interleaved across partitions, in this order:
        //   p0: old, old, NEW, older, older still (timestamps going backwards after the new one)
        //   p1: old, old, -1, old, NEW
        //   p2: old, old, old, old
        let first: [(Int32, Int64)] = [
            (0, old), (1, old + 1_000), (2, old + 2_000),
            (2, old + 3_000), (0, old + 4_000), (1, old + 5_000),
            (1, -1), (0, now - 1_000), (2, old + 6_000),
            (0, old - 30 * 60_000), (1, old + 7_000), (2, old + 8_000),
            (1, now - 500), (0, old - Self.hour),
        ]
        try produced.produce(scenario.cluster, topic: "age", first)
        let base = ["ingest", "--brokers", scenario.brokers, "--topic", "age", "--db", "a.sqlite", "--quiet"]

        let run1 = try SpoolProcess.run(base + ["--retain", "1h"], directory: scenario.directory.path)
        try #require(run1.status == 0, "\(run1.output)")
        try Self.expectPartitions(db, topic: "age", produced: produced, after: "the first run", [
            0: (kept: [2, 3, 4], retainedFrom: 2, next: 5),
            1: (kept: [2, 3, 4], retainedFrom: 2, next: 5),
            2: (kept: [], retainedFrom: 4, next: 4),
        ])
        #expect(try SpoolStore.openForReading(path: db).retention.policy() == RetentionPolicy(maxAgeMs: Self.hour))
        try Self.expectStatusAgrees(db, directory: scenario.directory.path, after: "the first run")

        // More old records, and a run without --retain: the recorded policy still removes the old
        // records at the front of p2 (empty until now), and keeps those behind newer ones.
        try produced.produce(scenario.cluster, topic: "age", [(0, old + 9_000), (2, old + 10_000), (1, old + 11_000), (2, old + 12_000),
                                                      (2, old + 13_000)])
        let run2 = try SpoolProcess.run(base, directory: scenario.directory.path)
        try #require(run2.status == 0, "\(run2.output)")
        try Self.expectPartitions(db, topic: "age", produced: produced, after: "the run without --retain", [
            0: (kept: [2, 3, 4, 5], retainedFrom: 2, next: 6),
            1: (kept: [2, 3, 4, 5], retainedFrom: 2, next: 6),
            2: (kept: [], retainedFrom: 7, next: 7),
        ])
        #expect(try SpoolStore.openForReading(path: db).retention.policy() == RetentionPolicy(maxAgeMs: Self.hour),
                "a run without --retain keeps the recorded policy")
        try Self.expectStatusAgrees(db, directory: scenario.directory.path, after: "the run without --retain")

        // --no-retain: the policy is gone and old records at the front are kept from now on.
        try produced.produce(scenario.cluster, topic: "age", [(2, old + 14_000), (2, old + 15_000), (0, old + 16_000)])
        let run3 = try SpoolProcess.run(base + ["--no-retain"], directory: scenario.directory.path)
        try #require(run3.status == 0, "\(run3.output)")
        try Self.expectPartitions(db, topic: "age", produced: produced, after: "the --no-retain run", [
            0: (kept: [2, 3, 4, 5, 6], retainedFrom: 2, next: 7),
            1: (kept: [2, 3, 4, 5], retainedFrom: 2, next: 6),
            2: (kept: [7, 8], retainedFrom: 7, next: 9),
        ])
        let store = try SpoolStore.openForReading(path: db)
        #expect(try store.connection.integer("SELECT count(*) FROM retention") == 0, "--no-retain leaves the retention table empty")
        #expect(try store.retention.policy() == nil)
        store.close()
        let status = try Self.statusJSON(db, directory: scenario.directory.path)
        #expect(status["retention"] is NSNull, "status shows no retention after --no-retain: \(String(describing: status["retention"]))")
        try Self.expectStatusAgrees(db, directory: scenario.directory.path, after: "the --no-retain run")
        // A later plain run still removes nothing.
        try produced.produce(scenario.cluster, topic: "age", [(1, old + 17_000)])
        let run4 = try SpoolProcess.run(base, directory: scenario.directory.path)
        try #require(run4.status == 0, "\(run4.output)")
        try Self.expectPartitions(db, topic: "age", produced: produced, after: "a plain run after --no-retain", [
            0: (kept: [2, 3, 4, 5, 6], retainedFrom: 2, next: 7),
            1: (kept: [2, 3, 4, 5, 6], retainedFrom: 2, next: 7),
            2: (kept: [7, 8], retainedFrom: 7, next: 9),
        ])
    }

    /// While following with no traffic, records still age out (an empty transaction runs about once
    /// a second), from the front only: a record without a timestamp stops it; a partition emptied by
    /// retention ages its next records too.
    @Test func anIdleFollowingCaptureStillAges() throws {
        let scenario = try MockScenario()
        let db = scenario.file("i.sqlite")
        try scenario.cluster.createTopic("idle", partitions: 2)
        let now = WallClock.nowMs()
        var produced = ProducedLog()
        // p0: five recent records; p1: three recent ones, one without a timestamp, two recent.
        try produced.produce(scenario.cluster, topic: "idle", [(0, now - 900), (1, now - 800), (0, now - 700), (1, now - 600), (0, now - 500),
                                                       (1, now - 400), (0, now - 300), (1, -1), (0, now - 200), (1, now - 100),
                                                       (1, now - 50)])
        let running = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "idle", "--db", "i.sqlite",
                                                "--follow", "--quiet", "--retain", "4s"], directory: scenario.directory.path)
        func state(_ p: Int32) -> StoredPartition? {
            (try? SpoolStore.openForReading(path: db).storedPartitions())?.first { $0.topicPartition.partition == p }
        }
        try running.waitUntil("all 11 records are stored") {
            (state(0).map { $0.storedCount + $0.retainedDeleted } ?? 0) == 5 && (state(1).map { $0.storedCount + $0.retainedDeleted } ?? 0) == 6
        }
        // No traffic from here: only the idle transactions can remove them, once 4 s old.
        try running.waitUntil("p0's five records and p1's first three age out (p0 \(String(describing: state(0))), p1 \(String(describing: state(1))))",
                              timeout: .seconds(30), poll: .milliseconds(50)) {
            state(0)?.retainedDeleted == 5 && state(1)?.retainedDeleted == 3
        }
        // The record without a timestamp, and the two after it, stay however long it idles.
        try requireThroughout("p1 keeps its record without a timestamp and the two after it", for: .seconds(2)) {
            state(1).map { $0.storedCount == 3 && $0.retainedDeleted == 3 } ?? false
        }
        // A record produced into the emptied p0 while following ages out too.
        try produced.produce(scenario.cluster, topic: "idle", [(0, WallClock.nowMs())])
        try running.waitUntil("the new p0 record is stored") { state(0).map { $0.storedCount + $0.retainedDeleted } == 6 }
        try running.waitUntil("the new p0 record ages out without traffic (p0 \(String(describing: state(0))))", timeout: .seconds(30),
                              poll: .milliseconds(50)) {
            state(0)?.retainedDeleted == 6
        }
        running.signal(SIGINT)
        let ended = running.wait()
        #expect(ended.status == 0, "\(ended.output)")
        try Self.expectPartitions(db, topic: "idle", produced: produced, after: "idle ageing", [
            0: (kept: [], retainedFrom: 6, next: 6),
            1: (kept: [3, 4, 5], retainedFrom: 3, next: 6),
        ])
    }

    // MARK: kill -9 during retention

    /// 40,000 stored old records, then 20,000 new ones ingested with --retain 1h while kill -9 lands
    /// at several moments: after every kill each partition is a contiguous tail whose counters add
    /// up, and the resumed run leaves exactly the new records, each once.
    @Test(.timeLimit(.minutes(8))) func killNineDuringRetentionLosesAndRepeatsNothing() throws {
        let scenario = try MockScenario()
        let db = scenario.file("k.sqlite")
        try scenario.cluster.createTopic("kr", partitions: 4)
        let now = WallClock.nowMs()
        let oldBase = now - 2 * Self.hour
        let old = (0..<40_000).map { g in
            MockMessage(partition: Int32(g % 4), key: Array("old-\(g)".utf8), value: Self.value("old-\(g)", size: 60),
                        timestamp: oldBase + Int64(g))
        }
        try Self.produceChunked(scenario.cluster, topic: "kr", old)
        let plain = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "kr", "--db", "k.sqlite",
                                          "--batch-size", "2000", "--quiet"], directory: scenario.directory.path)
        try #require(plain.status == 0, "\(plain.output)")
        try #require(storedCount(db, topic: "kr") == 40_000, "the first run stores the 40,000 old records")

        let newBase = now - 30_000
        let fresh = (0..<20_000).map { g in
            MockMessage(partition: Int32(g % 4), key: Array("new-\(g)".utf8), value: Self.value("new-\(g)", size: 60),
                        timestamp: newBase + Int64(g))
        }
        try Self.produceChunked(scenario.cluster, topic: "kr", fresh)
        let arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "kr", "--db", "k.sqlite",
                         "--retain", "1h", "--batch-size", "500", "--quiet"]
        var kills = 0
        var killedWhileOldRemained = 0
        var killedWhileNewMissing = 0
        var moments: [String] = []
        var generator = SystemRandomNumberGenerator()
        // Progress is counted as old records removed plus new records stored (60,000 in all). The
        // first transaction of a run (no rows yet) removes up to 10,000 old records, each batch of
        // 500 new ones up to 1,000 more; a run is killed a random 1,000-4,000 past that first
        // transaction, or (the second run) a random 0-20 ms after its first commit, so kills land
        // both inside and between transactions.
        for attempt in 0..<8 {
            let before = Self.progress(db)
            let target = Self.work(before) + 10_000 + Int64.random(in: 1_000...4_000, using: &generator)
            if target >= 59_500 { break }
            let byTime = attempt == 1
            let delay = Duration.milliseconds(Int.random(in: 0...20, using: &generator))
            var firstCommitSeen: ContinuousClock.Instant?
            let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
            try waitUntil("run \(attempt + 1) reached \(target) or ended (now \(Self.progress(db)))", timeout: .seconds(60),
                          poll: .milliseconds(1)) {
                guard running.isRunning else { return true }
                guard let now = Self.readProgress(db) else { return false }
                guard byTime else { return Self.work(now) >= target }
                if firstCommitSeen == nil, now != before { firstCommitSeen = ContinuousClock.now }
                return firstCommitSeen.map { ContinuousClock.now - $0 >= delay } ?? false
            }
            if running.isRunning {
                running.signal(SIGKILL)
                kills += 1
                let ended = running.wait()
                #expect(ended.status == SIGKILL || ended.status == 128 + SIGKILL, "run \(attempt + 1): \(ended.output)")
                let after = Self.progress(db)
                let newStored = after.stored - (40_000 - after.retained)
                moments.append("run \(attempt + 1) killed \(byTime ? "\(delay) after its first commit" : "at progress \(target)"): "
                               + "\(after.retained) old removed, \(newStored) new stored")
                if after.retained < 40_000 { killedWhileOldRemained += 1 }
                if newStored < 20_000 { killedWhileNewMissing += 1 }
            } else {
                let ended = running.wait()
                #expect(ended.status == 0, "run \(attempt + 1) ended by itself: \(ended.output)")
                moments.append("run \(attempt + 1) ended by itself")
            }
            try Self.expectContiguousTails(db, topic: "kr", partitions: 4, after: "kill \(kills) (run \(attempt + 1))")
        }
        print("kill -9 during retention:\n" + moments.joined(separator: "\n"))
        #expect(kills >= 3, "only \(kills) runs were still going when killed: \(moments)")
        #expect(killedWhileOldRemained >= 2, "only \(killedWhileOldRemained) kills landed while old records remained")
        #expect(killedWhileNewMissing >= 3, "only \(killedWhileNewMissing) kills landed before every new record was stored")

        let last = try SpoolProcess.run(arguments, directory: scenario.directory.path, timeout: 120)
        #expect(last.status == 0, "\(last.output)")
        try Self.expectContiguousTails(db, topic: "kr", partitions: 4, after: "the resumed run")
        let store = try SpoolStore.openForReading(path: db)
        defer { store.close() }
        let states = Dictionary(uniqueKeysWithValues: try store.storedPartitions().map { ($0.topicPartition.partition, $0) })
        for p in Int32(0)..<4 {
            let want = fresh.filter { $0.partition == p }
            let got = try store.messages(topic: "kr", partition: p)
            #expect(got.map(\.offset) == Array(10_000..<15_000), "kr[\(p)] holds exactly the new records' offsets, each once")
            if got.count == want.count {
                #expect(zip(got, want).allSatisfy { $0.key == $1.key && $0.value == $1.value && $0.timestamp == $1.timestamp },
                        "kr[\(p)] holds the new records' bytes")
            }
            let state = try #require(states[p])
            #expect(state.storedCount == Int64(got.count) && state.storedCount == 5_000, "kr[\(p)] stored_count \(state.storedCount)")
            #expect(state.retainedDeleted == 10_000, "kr[\(p)] retained_deleted \(state.retainedDeleted): every old record removed once")
            #expect(state.retainedDeleted + Int64(got.count) == 15_000, "kr[\(p)]: removed + rows = every record ever stored")
            #expect(state.retainedFromOffset == 10_000, "kr[\(p)] retained_from_offset \(String(describing: state.retainedFromOffset))")
            #expect(state.nextOffset == 15_000)
        }
        let oldLeft = try store.connection.integer("SELECT count(*) FROM messages WHERE CAST(key AS TEXT) LIKE 'old-%'")
        #expect(oldLeft == 0, "\(oldLeft ?? -1) old records are still stored")
        let newKept = try store.connection.integer("SELECT count(DISTINCT CAST(key AS TEXT)) FROM messages WHERE CAST(key AS TEXT) LIKE 'new-%'")
        #expect(newKept == 20_000, "\(newKept ?? -1) distinct new records are stored")
        let report = try store.verify()
        #expect(report.isSound, "\(report.problems)")
        #expect(report.gaps.isEmpty, "gaps: \(report.gaps)")
    }

    // MARK: metrics file

    /// While following with --retain, the metrics file reaches the database's numbers: records stored
    /// (retention does not lower them), records removed, lag 0 and live once caught up.
    @Test func theMetricsFileMatchesStatus() throws {
        let scenario = try MockScenario()
        let db = scenario.file("m.sqlite")
        let metricsPath = scenario.file("m.prom")
        try scenario.cluster.createTopic("mt", partitions: 3)
        let now = WallClock.nowMs()
        var messages: [MockMessage] = []
        // Per partition 200 old records, then 100 new ones; interleaved across partitions.
        for i in 0..<300 {
            for p in Int32(0)..<3 {
                let timestamp = i < 200 ? now - 2 * Self.hour + Int64(i * 3) + Int64(p) : now - 20_000 + Int64(i * 3) + Int64(p)
                messages.append(MockMessage(partition: p, key: Array("m\(p)-\(i)".utf8), value: Self.value("m\(p)-\(i)", size: 100),
                                            timestamp: timestamp))
            }
        }
        try scenario.cluster.produce(topic: "mt", messages)
        let startedAt = WallClock.nowMs()
        let running = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "mt", "--db", "m.sqlite",
                                                "--follow", "--quiet", "--retain", "1h", "--metrics-file", "m.prom",
                                                "--metrics-interval", "1"], directory: scenario.directory.path)
        var lastSeen = ""
        let text = try waitFor("the metrics file shows 600 removed, 900 stored, lag 0 and live (last seen:\n\(lastSeen))",
                               timeout: .seconds(60), poll: .milliseconds(50)) { () throws -> String? in
            if let ended = running.exitStatus { throw SpoolProcess.ProcessEnded(description: "spool ingest ended with \(ended): \(running.stderrSoFar)") }
            guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return nil }
            lastSeen = text
            let samples = Self.parseSamples(text)
            let stored = samples.filter { $0.name == "spool_messages_stored_total" }
            let lags = samples.filter { $0.name == "spool_partition_lag_messages" }
            let live = samples.filter { $0.name == "spool_partition_live" }
            let removed = samples.first { $0.name == "spool_retained_deleted_total" && $0.labels["topic"] == "mt" }
            guard removed?.value == 600, stored.count == 3, stored.reduce(0, { $0 + $1.value }) == 900,
                  lags.count == 3, lags.allSatisfy({ $0.value == 0 }), live.count == 3, live.allSatisfy({ $0.value == 1 }) else { return nil }
            return text
        }
        // Parse exactly that text with Prometheus' own client.
        let snapshot = scenario.file("snapshot.prom")
        try text.write(toFile: snapshot, atomically: true, encoding: .utf8)
        let families = try Self.checkMetrics(snapshot, directory: scenario.directory.path)
        func family(_ name: String, _ type: String) -> [[String: Any]] {
            let entry = families[name] as? [String: Any]
            #expect(entry?["type"] as? String == type, "family \(name) has type \(String(describing: entry?["type"])), not \(type)")
            return entry?["samples"] as? [[String: Any]] ?? []
        }
        func value(_ sample: [String: Any]) -> Double { (sample["value"] as? NSNumber)?.doubleValue ?? .nan }
        func partition(_ sample: [String: Any]) -> Int32? {
            ((sample["labels"] as? [String: String])?["partition"]).flatMap { Int32($0) }
        }
        func topic(_ sample: [String: Any]) -> String? { (sample["labels"] as? [String: String])?["topic"] }

        let up = family("spool_up", "gauge")
        #expect(up.count == 1 && up.first.map(value) == 1, "spool_up: \(up)")
        let storedSamples = family("spool_messages_stored", "counter")
        let removedSamples = family("spool_retained_deleted", "counter")
        let lagSamples = family("spool_partition_lag_messages", "gauge")
        let liveSamples = family("spool_partition_live", "gauge")
        let bytes = family("spool_database_bytes", "gauge")
        #expect(bytes.count == 1 && (bytes.first.map(value) ?? 0) > 0, "spool_database_bytes: \(bytes)")
        let commit = family("spool_last_commit_timestamp_seconds", "gauge")
        let commitSeconds = commit.first.map(value) ?? 0
        #expect(commit.count == 1 && commitSeconds >= Double(startedAt) / 1_000 - 1 && commitSeconds <= Double(WallClock.nowMs()) / 1_000 + 1,
                "spool_last_commit_timestamp_seconds \(commitSeconds) is not within the run")
        #expect(removedSamples.count == 1 && removedSamples.first.map(topic) == "mt" && removedSamples.first.map(value) == 600,
                "spool_retained_deleted_total: \(removedSamples)")

        let store = try SpoolStore.openForReading(path: db)
        let states = try store.storedPartitions()
        store.close()
        let status = try Self.statusJSON(db, directory: scenario.directory.path)
        let statusPartitions = status["partitions"] as? [[String: Any]] ?? []
        #expect(states.count == 3 && statusPartitions.count == 3)
        #expect(storedSamples.count == 3, "spool_messages_stored_total: \(storedSamples)")
        for state in states {
            let p = state.topicPartition.partition
            let sample = storedSamples.first { partition($0) == p && topic($0) == "mt" }
            let fromStatus = statusPartitions.first { $0["partition"] as? Int == Int(p) }
            let statusStored = fromStatus?["stored_count"] as? Int ?? -1
            let statusRemoved = fromStatus?["retained_deleted"] as? Int ?? -1
            #expect(sample.map(value) == Double(state.storedCount + state.retainedDeleted),
                    "mt[\(p)]: metrics \(String(describing: sample.map(value))), database \(state.storedCount) + \(state.retainedDeleted)")
            #expect(sample.map(value) == Double(statusStored + statusRemoved), "mt[\(p)]: status says \(statusStored) + \(statusRemoved)")
            #expect(state.storedCount == 100 && state.retainedDeleted == 200, "mt[\(p)]: \(state.storedCount) stored, \(state.retainedDeleted) removed")
            #expect(lagSamples.first { partition($0) == p }.map(value) == 0, "mt[\(p)] lag")
            #expect(liveSamples.first { partition($0) == p }.map(value) == 1, "mt[\(p)] live")
        }

        running.signal(SIGINT)
        let ended = running.wait()
        #expect(ended.status == 0, "\(ended.output)")
        // The file left behind still parses.
        let after = try Self.checkMetrics(metricsPath, directory: scenario.directory.path)
        #expect(after["spool_messages_stored"] != nil, "the final metrics file lacks spool_messages_stored: \(after.keys.sorted())")
        #expect(try SpoolStore.openForReading(path: db).verify().isSound)
    }

    /// A --metrics-file in a folder that does not exist is refused before anything else: exit 2, the
    /// message names the path, and no database file is created.
    @Test func aMetricsFileInAMissingFolderExitsTwo() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("mf", partitions: 1)
        try scenario.cluster.produce(topic: "mf", [MockMessage(partition: 0, key: nil, value: [1], timestamp: WallClock.nowMs() - 1_000)])
        let path = scenario.file("missing/folder/m.prom")
        let result = try SpoolProcess.run(["ingest", "--brokers", scenario.brokers, "--topic", "mf", "--db", "mf.sqlite",
                                           "--metrics-file", path], directory: scenario.directory.path)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains(path), "the message should name \(path): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scenario.file("mf.sqlite")), "a refused metrics file created the database: \(scenario.directory.entries)")
        #expect(!scenario.directory.entries.contains { $0.hasPrefix("mf.sqlite") }, "files left: \(scenario.directory.entries)")
    }

    // MARK: size retention

    /// With --retain-size 4MiB and about twice as much data over several runs, the main database
    /// file stays within 10% above the limit after every run, the newest records are all kept, and
    /// what was removed is exactly the oldest records across partitions.
    @Test(.timeLimit(.minutes(6))) func sizeRetentionKeepsTheFileNearTheLimit() throws {
        let scenario = try MockScenario()
        let db = scenario.file("s.sqlite")
        try scenario.cluster.createTopic("sz", partitions: 4)
        let limit: Int64 = 4 * 1_048_576
        let valueSize = 2_000
        let perRound = 512
        let rounds = 8
        let base = WallClock.nowMs() - 30 * 60_000
        var produced: [MockMessage] = []
        var sizes: [String] = []
        for round in 0..<rounds {
            let batch = (0..<perRound).map { i -> MockMessage in
                let g = round * perRound + i
                return MockMessage(partition: Int32(g % 4), key: Array("s-\(g)".utf8), value: Self.value("s-\(g)", size: valueSize),
                                   timestamp: base + Int64(g) * 10)
            }
            try scenario.cluster.produce(topic: "sz", batch)
            produced += batch
            var arguments = ["ingest", "--brokers", scenario.brokers, "--topic", "sz", "--db", "s.sqlite", "--quiet"]
            if round == 0 { arguments += ["--retain-size", "4MiB"] }
            let result = try SpoolProcess.run(arguments, directory: scenario.directory.path)
            try #require(result.status == 0, "round \(round + 1): \(result.output)")

            let producedBytes = Int64(produced.count * valueSize)
            let fileSize = Self.fileSize(db)
            sizes.append("round \(round + 1): produced \(producedBytes) B of values, main file \(fileSize) B (-wal \(Self.fileSize(db + "-wal")) B)")
            #expect(Double(fileSize) <= 1.1 * Double(limit),
                    "round \(round + 1): the main file is \(fileSize) B, more than 10% above the \(limit) B limit; sizes so far: \(sizes)")

            let store = try SpoolStore.openForReading(path: db)
            defer { store.close() }
            #expect(try store.returnsFreedPages(), "a new file uses incremental auto-vacuum")
            #expect(try store.retention.policy() == RetentionPolicy(maxBytes: limit), "round \(round + 1): the size limit is recorded")
            var kept: [Message] = []
            for p in Int32(0)..<4 { kept += try store.messages(topic: "sz", partition: p) }
            let keptKeys = Set(kept.compactMap(\.key))
            // What remains is a timestamp suffix of everything produced: the removed records are the
            // oldest across partitions.
            let oldestKept = kept.map(\.timestamp).min() ?? Int64.max
            let expectedKeys = Set(produced.filter { $0.timestamp >= oldestKept }.compactMap(\.key))
            #expect(keptKeys == expectedKeys,
                    "round \(round + 1): kept \(keptKeys.count) records, but \(expectedKeys.count) are at least as new as the oldest kept")
            #expect(kept.count == keptKeys.count, "round \(round + 1): a record is stored twice")
            let newest = Set(produced.suffix(perRound).compactMap(\.key))
            #expect(newest.isSubset(of: keptKeys), "round \(round + 1): \(newest.subtracting(keptKeys).count) of the newest records are missing")
            if producedBytes > limit {
                #expect(kept.count < produced.count, "round \(round + 1): nothing was removed though \(producedBytes) B were produced")
                // Retention must not remove far more than needed either.
                #expect(Double(fileSize) >= 0.5 * Double(limit), "round \(round + 1): the main file shrank to \(fileSize) B")
            }
            if producedBytes >= limit * 3 / 2 {
                #expect(!keptKeys.contains(Array("s-0".utf8)), "round \(round + 1): the oldest record is still stored")
                #expect(produced.prefix(perRound).allSatisfy { !keptKeys.contains($0.key ?? []) }, "round \(round + 1): records of the first round remain")
            }
            let states = try store.storedPartitions()
            for state in states {
                let p = state.topicPartition.partition
                let rows = kept.filter { $0.partition == p }
                let all = Int64(produced.filter { $0.partition == p }.count)
                #expect(state.storedCount == Int64(rows.count), "round \(round + 1) sz[\(p)]: stored_count \(state.storedCount), rows \(rows.count)")
                #expect(state.storedCount + state.retainedDeleted == all, "round \(round + 1) sz[\(p)]: \(state.storedCount) + \(state.retainedDeleted) != \(all)")
                if let from = state.retainedFromOffset {
                    #expect(rows.map(\.offset) == Array(from..<state.nextOffset), "round \(round + 1) sz[\(p)]: not a contiguous tail from \(from)")
                }
            }
            let report = try store.verify()
            #expect(report.isSound, "round \(round + 1): \(report.problems)")
            #expect(report.gaps.isEmpty)
        }
        print("size retention (limit \(limit) B):\n" + sizes.joined(separator: "\n"))
    }

    // MARK: helpers

    /// Records produced so far, with the offset each got in its partition.
    struct ProducedLog {
        var byPartition: [Int32: [MockMessage]] = [:]

        /// Produces one record per (partition, timestamp), in order, with distinct keys and values.
        mutating func produce(_ cluster: MockKafkaCluster, topic: String, _ records: [(Int32, Int64)]) throws {
            var messages: [MockMessage] = []
            for (partition, timestamp) in records {
                let offset = (byPartition[partition]?.count ?? 0)
                let name = "\(topic)\(partition)-\(offset)"
                let message = MockMessage(partition: partition, key: Array("k-\(name)".utf8), value: Array("v-\(name)".utf8), timestamp: timestamp)
                byPartition[partition, default: []].append(message)
                messages.append(message)
            }
            try cluster.produce(topic: topic, messages)
        }
    }

    /// Checks each partition's stored offsets (and their bytes), retained_from_offset,
    /// retained_deleted, stored_count and next offset, and that verify is sound without gaps.
    static func expectPartitions(_ path: String, topic: String, produced: ProducedLog, after: String,
                                 _ expected: [Int32: (kept: [Int64], retainedFrom: Int64?, next: Int64)],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let states = Dictionary(uniqueKeysWithValues: try store.storedPartitions().map { ($0.topicPartition.partition, $0) })
        #expect(states.count == expected.count, "\(after): partitions \(states.keys.sorted())", sourceLocation: sourceLocation)
        for (p, want) in expected.sorted(by: { $0.key < $1.key }) {
            let rows = try store.messages(topic: topic, partition: p)
            #expect(rows.map(\.offset) == want.kept, "\(after): \(topic)[\(p)] keeps offsets \(rows.map(\.offset))", sourceLocation: sourceLocation)
            let all = produced.byPartition[p] ?? []
            for row in rows where row.offset < Int64(all.count) {
                let original = all[Int(row.offset)]
                #expect(row.key == original.key && row.value == original.value && row.timestamp == original.timestamp,
                        "\(after): \(topic)[\(p)] offset \(row.offset) differs from what was produced", sourceLocation: sourceLocation)
            }
            let state = try #require(states[p], "\(after): no state for \(topic)[\(p)]", sourceLocation: sourceLocation)
            #expect(state.retainedFromOffset == want.retainedFrom,
                    "\(after): \(topic)[\(p)] retained_from_offset \(String(describing: state.retainedFromOffset))", sourceLocation: sourceLocation)
            #expect(state.retainedDeleted == (want.retainedFrom ?? 0),
                    "\(after): \(topic)[\(p)] retained_deleted \(state.retainedDeleted)", sourceLocation: sourceLocation)
            #expect(state.storedCount == Int64(want.kept.count), "\(after): \(topic)[\(p)] stored_count \(state.storedCount)", sourceLocation: sourceLocation)
            #expect(state.nextOffset == want.next, "\(after): \(topic)[\(p)] next offset \(state.nextOffset)", sourceLocation: sourceLocation)
            #expect(state.storedCount + state.retainedDeleted == Int64(all.count),
                    "\(after): \(topic)[\(p)] stored + removed != \(all.count) produced", sourceLocation: sourceLocation)
        }
        let report = try store.verify()
        #expect(report.isSound, "\(after): \(report.problems)", sourceLocation: sourceLocation)
        #expect(report.gaps.isEmpty, "\(after): gaps \(report.gaps)", sourceLocation: sourceLocation)
    }

    /// Checks that `spool status --format json` reports, per partition, the rows actually stored,
    /// the counters of `partition_state`, and that `spool verify` exits 0.
    static func expectStatusAgrees(_ path: String, directory: String, after: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let status = try statusJSON(path, directory: directory)
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let partitions = status["partitions"] as? [[String: Any]] ?? []
        let states = try store.storedPartitions()
        #expect(partitions.count == states.count, "\(after): status lists \(partitions.count) partitions", sourceLocation: sourceLocation)
        var total = 0
        for state in states {
            let p = state.topicPartition.partition
            let rows = try store.messages(topic: state.topicPartition.topic, partition: p).count
            total += rows
            let entry = partitions.first { $0["topic"] as? String == state.topicPartition.topic && $0["partition"] as? Int == Int(p) }
            #expect(entry?["stored_count"] as? Int == rows, "\(after): status stored_count \(String(describing: entry?["stored_count"])) for [\(p)], rows \(rows)",
                    sourceLocation: sourceLocation)
            #expect(entry?["retained_deleted"] as? Int == Int(state.retainedDeleted), "\(after): status retained_deleted for [\(p)]",
                    sourceLocation: sourceLocation)
            #expect(entry?["next_offset"] as? Int == Int(state.nextOffset), "\(after): status next_offset for [\(p)]", sourceLocation: sourceLocation)
            let from = entry?["retained_from_offset"]
            if let expected = state.retainedFromOffset {
                #expect(from as? Int == Int(expected), "\(after): status retained_from_offset for [\(p)]", sourceLocation: sourceLocation)
            } else {
                #expect(from is NSNull, "\(after): status retained_from_offset for [\(p)]", sourceLocation: sourceLocation)
            }
        }
        #expect(status["stored_total"] as? Int == total, "\(after): status stored_total", sourceLocation: sourceLocation)
        let verify = try SpoolProcess.run(["verify", path], directory: directory)
        #expect(verify.status == 0, "\(after): spool verify: \(verify.output)", sourceLocation: sourceLocation)
    }

    /// `spool status FILE --format json` as an object.
    static func statusJSON(_ path: String, directory: String) throws -> [String: Any] {
        let result = try SpoolProcess.run(["status", path, "--format", "json"], directory: directory)
        try #require(result.status == 0, "spool status: \(result.output)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "spool status printed no JSON object: \(result.stdout)")
    }

    /// After any commit (or kill), each partition must be a contiguous tail: its rows are exactly the
    /// offsets from retained_from_offset (0 when nothing was removed) to next_offset − 1, and its
    /// counters add up (every partition here started at offset 0 and has no gap).
    static func expectContiguousTails(_ path: String, topic: String, partitions: Int32, after: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let store = try SpoolStore.openForReading(path: path)
        defer { store.close() }
        let states = Dictionary(uniqueKeysWithValues: try store.storedPartitions().map { ($0.topicPartition.partition, $0) })
        for p in Int32(0)..<partitions {
            let state = try #require(states[p], "\(after): no state for \(topic)[\(p)]", sourceLocation: sourceLocation)
            let rows = try store.messages(topic: topic, partition: p).map(\.offset)
            let from = state.retainedFromOffset ?? 0
            #expect(rows == Array(from..<state.nextOffset),
                    "\(after): \(topic)[\(p)] rows \(rows.first ?? -1)...\(rows.last ?? -1) (\(rows.count)) are not \(from)..<\(state.nextOffset)",
                    sourceLocation: sourceLocation)
            #expect(state.storedCount == Int64(rows.count), "\(after): \(topic)[\(p)] stored_count \(state.storedCount), rows \(rows.count)",
                    sourceLocation: sourceLocation)
            #expect(state.retainedDeleted == from, "\(after): \(topic)[\(p)] retained_deleted \(state.retainedDeleted), kept from \(from)",
                    sourceLocation: sourceLocation)
        }
        let report = try store.verify()
        #expect(report.isSound, "\(after): \(report.problems)", sourceLocation: sourceLocation)
        #expect(report.gaps.isEmpty, "\(after): gaps \(report.gaps)", sourceLocation: sourceLocation)
    }

    /// Rows still stored and rows removed by retention, summed over partitions (0, 0 while the
    /// database cannot be read yet).
    static func progress(_ path: String) -> (stored: Int64, retained: Int64) {
        readProgress(path) ?? (0, 0)
    }

    /// `progress`, or nil while the database cannot be read.
    static func readProgress(_ path: String) -> (stored: Int64, retained: Int64)? {
        // A reader can be refused for a moment while a writer recovers the WAL after a kill.
        guard let store = try? SpoolStore.openForReading(path: path) else { return nil }
        defer { store.close() }
        guard let states = try? store.storedPartitions() else { return nil }
        return (states.reduce(0) { $0 + $1.storedCount }, states.reduce(0) { $0 + $1.retainedDeleted })
    }

    /// Old records removed plus records stored that are not old ones: the kill test's progress
    /// (its topic holds 40,000 old records).
    static func work(_ progress: (stored: Int64, retained: Int64)) -> Int64 {
        progress.retained + (progress.stored - (40_000 - progress.retained))
    }

    /// Produces `messages` in chunks of 20,000.
    static func produceChunked(_ cluster: MockKafkaCluster, topic: String, _ messages: [MockMessage]) throws {
        for start in stride(from: 0, to: messages.count, by: 20_000) {
            try cluster.produce(topic: topic, Array(messages[start..<min(start + 20_000, messages.count)]))
        }
    }

    /// `text` padded with dots to `size` bytes.
    static func value(_ text: String, size: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        return bytes + [UInt8](repeating: UInt8(ascii: "."), count: max(0, size - bytes.count))
    }

    /// The size of a file in bytes (0 when it does not exist).
    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// One sample line of the Prometheus text format.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The samples of a Prometheus text-format file (enough for Spool's own output: no timestamps).
    static func parseSamples(_ text: String) -> [Sample] {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let head = line[..<space]
            guard let brace = head.firstIndex(of: "{") else {
                samples.append(Sample(name: String(head), labels: [:], value: value))
                continue
            }
            var labels: [String: String] = [:]
            var rest = head[head.index(after: brace)...].dropLast()  // without the closing brace
            while let equals = rest.firstIndex(of: "=") {
                let key = String(rest[..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var index = rest.index(equals, offsetBy: 2)  // past ="
                var labelValue = ""
                while index < rest.endIndex, rest[index] != "\"" {
                    if rest[index] == "\\", rest.index(after: index) < rest.endIndex {
                        index = rest.index(after: index)
                        labelValue.append(rest[index] == "n" ? "\n" : rest[index])
                    } else {
                        labelValue.append(rest[index])
                    }
                    index = rest.index(after: index)
                }
                labels[key] = labelValue
                rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
            }
            samples.append(Sample(name: String(head[..<brace]), labels: labels, value: value))
        }
        return samples
    }

    /// Runs Tests/tools/check_metrics.py (prometheus_client's parser) on `file`; its families.
    static func checkMetrics(_ file: String, directory: String) throws -> [String: Any] {
        let root = try #require(TestVenv.repoRoot, "cannot find the repository root for Tests/tools/check_metrics.py")
        try #require(FileManager.default.isExecutableFile(atPath: TestVenv.python), "the test venv is missing: \(TestVenv.python)")
        let result = try SpoolProcess.Running([root + "/Tests/tools/check_metrics.py", file], directory: directory,
                                              executable: TestVenv.python).wait(timeout: 60)
        try #require(result.status == 0, "check_metrics.py refused \(file): \(result.output)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object?["families"] as? [String: Any], "check_metrics.py printed no families: \(result.stdout)")
    }
}
