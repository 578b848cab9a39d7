@_spi(MockCluster) import SpoolScenarioSupport
import Foundation
@_spi(MockCluster) import KafkaReplay
import SpoolStore
import SpoolTestSupport
import Testing

/// `spool replay` through the built binary: a capture then Kafka, a capture alone and Kafka
/// alone give one sequence; the jsonl fields; `| head`; gaps; shard folders; a capture being
/// written; SIGINT; usage errors.
@Suite("spool replay", .serialized, .timeLimit(.minutes(5)))
struct ReplayBinaryTests {
    /// `count` records per partition from index `from`; timestamps go back and forth within a
    /// partition and interleave across partitions; some keys and values are null, some records
    /// have headers.
    static func records(partitions: Int32, from: Int, count: Int, valueSize: Int = 20) -> [MockMessage] {
        var out: [MockMessage] = []
        for index in from..<(from + count) {
            for partition in 0..<partitions {
                let wobble = Int64((index * 7_919 + Int(partition) * 104_729) % 50)
                let headers = index % 4 == 0 ? [MessageHeader(name: "n", value: Array("\(index)".utf8))] : []
                out.append(MockMessage(partition: partition, key: index % 13 == 0 ? nil : Array("k\(index % 40)".utf8),
                                       value: index % 11 == 5 ? nil : Array("v-\(partition)-\(index)-".utf8) + Array(repeating: 120, count: valueSize),
                                       timestamp: 1_700_000_000_000 + Int64(index) * 20 - wobble * 7 + Int64(partition), headers: headers))
            }
        }
        return out
    }

    /// One released record's place.
    struct Place: Hashable, CustomStringConvertible {
        var topic: String
        var partition: Int
        var offset: Int64
        var description: String { "\(topic)[\(partition)]@\(offset)" }
    }

    /// The places of jsonl output, in order; a line that is not such an object fails the test.
    static func places(_ stdout: String, sourceLocation: SourceLocation = #_sourceLocation) -> [Place] {
        stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let topic = object["topic"] as? String, let partition = object["partition"] as? Int, let offset = object["offset"] as? Int64 else {
                Issue.record("not a replay record: \(line.prefix(200))", sourceLocation: sourceLocation)
                return nil
            }
            return Place(topic: topic, partition: partition, offset: offset)
        }
    }

    /// Every offset from 0 to `count` - 1 once per partition, in offset order within each.
    static func expectEveryOffsetOnce(_ places: [Place], partitions: [String: Int], count: Int64,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        for (topic, partitionCount) in partitions {
            for partition in 0..<partitionCount {
                let offsets = places.filter { $0.topic == topic && $0.partition == partition }.map(\.offset)
                #expect(offsets == Array(0..<count), "\(topic)[\(partition)]: \(offsets.count) offsets", sourceLocation: sourceLocation)
            }
        }
    }

    /// The position of the first difference of two sequences (-1: none up to the shorter's end).
    static func firstDifference(_ first: [Place], _ second: [Place]) -> Int {
        zip(first.indices, zip(first, second)).first { $0.1.0 != $0.1.1 }?.0 ?? -1
    }

    /// Runs `spool` and requires exit 0 and an empty standard error (stderr is not a terminal).
    static func replay(_ arguments: [String], in dir: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try SpoolProcess.run(["replay"] + arguments, directory: dir.path)
        #expect(result.status == 0, "spool replay \(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.isEmpty, "\(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }

    static func ingest(_ cluster: MockKafkaCluster, _ topics: [String], db: String, in dir: TemporaryDirectory, extra: [String] = []) throws {
        let result = try SpoolProcess.run(["ingest", "--brokers", cluster.bootstrapServers, "--db", db, "--quiet", "--batch-size", "300"]
                                          + topics.flatMap { ["--topic", $0] } + extra, directory: dir.path)
        try #require(result.status == 0, "ingest: \(result.output)")
    }

    /// Topics a (3 partitions) and b (2), 150 records per partition.
    static func twoTopics() throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(logger: quietLogger())
        for (topic, partitions) in [("a", Int32(3)), ("b", Int32(2))] {
            try cluster.createTopic(topic, partitions: Int(partitions))
            try cluster.produce(topic: topic, records(partitions: partitions, from: 0, count: 150))
        }
        return cluster
    }

    @Test func captureThenKafkaCaptureAloneAndKafkaAloneGiveOneSequence() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.twoTopics()
        let topics = ["--topic", "a", "--topic", "b"]
        try Self.ingest(cluster, ["a", "b"], db: "c.sqlite", in: dir)
        let kafkaThen = Self.places(try Self.replay(["--brokers", cluster.bootstrapServers] + topics, in: dir))
        let offline = Self.places(try Self.replay(["c.sqlite"] + topics, in: dir))
        Self.expectEveryOffsetOnce(kafkaThen, partitions: ["a": 3, "b": 2], count: 150)
        #expect(offline == kafkaThen, "the capture alone: first difference at \(Self.firstDifference(offline, kafkaThen))")

        for (topic, partitions) in [("a", Int32(3)), ("b", Int32(2))] {
            try cluster.produce(topic: topic, Self.records(partitions: partitions, from: 150, count: 100))
        }
        let kafkaNow = Self.places(try Self.replay(["--brokers", cluster.bootstrapServers] + topics, in: dir))
        let both = Self.places(try Self.replay(["c.sqlite", "--brokers", cluster.bootstrapServers] + topics, in: dir))
        Self.expectEveryOffsetOnce(kafkaNow, partitions: ["a": 3, "b": 2], count: 250)
        #expect(both == kafkaNow, "capture + Kafka: first difference at \(Self.firstDifference(both, kafkaNow))")
        #expect(Array(kafkaNow.prefix(20)) != Array(kafkaNow.sorted { ($0.topic, $0.partition, $0.offset) < ($1.topic, $1.partition, $1.offset) }.prefix(20)),
                "the release order interleaves partitions (by timestamp), so comparing orders means something")

        let until = "\(1_700_000_000_000 + 180 * 20)"
        let bothUntil = Self.places(try Self.replay(["c.sqlite", "--brokers", cluster.bootstrapServers, "--until", until] + topics, in: dir))
        let kafkaUntil = Self.places(try Self.replay(["--brokers", cluster.bootstrapServers, "--until", until] + topics, in: dir))
        #expect(bothUntil == kafkaUntil)
        #expect(bothUntil.count > 5 * 150 && bothUntil.count < 5 * 250, "--until \(until) ends inside the records: \(bothUntil.count)")
    }

    @Test func jsonlFieldsAreExactFromTheCaptureAndFromKafka() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("odd", partitions: 1)
        let binaryKey: [UInt8] = [0xff, 0x00, 0x0a, 0x22]
        let binaryValue: [UInt8] = [0x00, 0xc3, 0x28, 0x1b, 0x5c]
        try scenario.cluster.produce(topic: "odd", [
            MockMessage(partition: 0, key: nil, value: [], timestamp: 1_793_491_200_000,
                        headers: [MessageHeader(name: "h", value: Array("a\"b".utf8)), MessageHeader(name: "h", value: nil),
                                  MessageHeader(name: "bin", value: [0, 255, 10])]),
            MockMessage(partition: 0, key: binaryKey, value: binaryValue, timestamp: 1_793_491_200_001),
        ])
        try Self.ingest(scenario.cluster, ["odd"], db: "c.sqlite", in: scenario.directory)
        let expectedFirst = #"{"topic":"odd","partition":0,"offset":0,"timestamp":1793491200000,"key":null,"value":"","headers":[{"key":"h","value":"a\"b"},{"key":"h","value":null},{"key":"bin","value_base64":"AP8K"}]}"#
        for source in [["c.sqlite"], ["--brokers", scenario.brokers]] {
            let lines = try Self.replay(source + ["--topic", "odd"], in: scenario.directory).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.count == 3 && lines.last == "", "two lines, each ended: \(lines)")
            #expect(lines.first.map(String.init) == expectedFirst, "\(source)")
            #expect(lines.dropFirst().first.map(String.init)
                == #"{"topic":"odd","partition":0,"offset":1,"timestamp":1793491200001,"key":"ff000a22","value":"00c3281b5c","headers":null}"#,
                "not UTF-8: hex, as spool query writes it (\(source))")
            let base64 = try Self.replay(source + ["--topic", "odd", "--blobs", "base64"], in: scenario.directory).split(separator: "\n")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(base64[1].utf8)) as? [String: Any])
            #expect((object["key"] as? String).flatMap { Data(base64Encoded: $0) } == Data(binaryKey))
            #expect((object["value"] as? String).flatMap { Data(base64Encoded: $0) } == Data(binaryValue))
        }
    }

    @Test func decodedRecordsCarryKeyJSONAndValueJSON() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("c.sqlite"))
        var decoded = DecodedColumns()
        decoded.appendRow { writer in
            writer.begin()
            writer.bytes += Array(#"{"id":7,"tags":["x"]}"#.utf8)
            writer.finishValue()
            return .decoded
        }
        decoded.appendRow { _ in .none }
        let batch = MessageBatch([Message(key: nil, value: [0, 0, 0, 0, 1, 14], topic: "t", partition: 0, offset: 0, timestamp: 10),
                                  Message(key: nil, value: Array("plain".utf8), topic: "t", partition: 0, offset: 1, timestamp: 11)])
        let checkpoint = PartitionState(topicPartition: TopicPartition(topic: "t", partition: 0), range: ReplayRange(start: 0, end: 2),
                                        consumedOffset: 1, releasedOffset: 1, lastConsumedTimestamp: 11, isLive: true, isPaused: false)
        try store.write(batch: batch, checkpoints: [checkpoint], completeUntil: nil, decoded: decoded)
        store.close()
        #expect(try Self.replay(["c.sqlite", "--topic", "t", "--blobs", "hex"], in: dir) == """
            {"topic":"t","partition":0,"offset":0,"timestamp":10,"key":null,"value":"00000000010e","headers":null,"key_json":null,"value_json":{"id":7,"tags":["x"]}}
            {"topic":"t","partition":0,"offset":1,"timestamp":11,"key":null,"value":"706c61696e","headers":null}

            """)
        let csv = try Self.replay(["c.sqlite", "--topic", "t", "--format", "csv"], in: dir).split(separator: "\n")
        #expect(csv.count == 3 && csv[1].hasSuffix(#",,"{""id"":7,""tags"":[""x""]}""#), "\(csv)")
    }

    @Test func headEndsTheReplayQuietlyWithExitZero() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.twoTopics()
        try Self.ingest(cluster, ["a", "b"], db: "c.sqlite", in: dir)
        for source in ["c.sqlite", "--brokers \(cluster.bootstrapServers)", "c.sqlite --brokers \(cluster.bootstrapServers) --follow"] {
            let script = "'\(SpoolProcess.binary)' replay \(source) --topic a --topic b --batch-size 50 | head -3; echo \"spool=${PIPESTATUS[0]}\" >&2"
            let result = try SpoolProcess.Running(["-c", script], directory: dir.path, executable: "/bin/bash").wait(timeout: 60)
            #expect(result.status == 0)
            #expect(result.stderr == "spool=0\n", "\(source): only the status, no message: \(result.stderr)")
            #expect(Self.places(result.stdout).count == 3 && result.stdout.split(separator: "\n").count == 3, "\(source): \(result.stdout)")
        }
    }

    @Test func aGapExitsFourNamingTheRangeAndAcceptGapsContinues() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("big", partitions: 1)
        try scenario.cluster.produce(topic: "big", Self.records(partitions: 1, from: 0, count: 100, valueSize: 10_000))
        try Self.ingest(scenario.cluster, ["big"], db: "c.sqlite", in: scenario.directory)
        for chunk in stride(from: 100, to: 900, by: 50) {
            try scenario.cluster.produce(topic: "big", Self.records(partitions: 1, from: chunk, count: 50, valueSize: 10_000))
        }
        let low = try #require(Self.places(try Self.replay(["--brokers", scenario.brokers, "--topic", "big", "--limit", "1"], in: scenario.directory)).first?.offset)
        try #require(low > 100, "Kafka lost offsets after the capture's end (low watermark \(low))")
        let refused = try SpoolProcess.run(["replay", "c.sqlite", "--brokers", scenario.brokers, "--topic", "big"], directory: scenario.directory.path)
        #expect(refused.status == 4, "\(refused.output)")
        #expect(refused.stderr.contains("offsets 100...\(low - 1) of big[0]") && refused.stderr.contains("--accept-gaps"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        let skipped = Self.places(try Self.replay(["c.sqlite", "--brokers", scenario.brokers, "--topic", "big", "--accept-gaps", "--quiet"], in: scenario.directory))
        #expect(skipped.map(\.offset) == Array(0..<100) + Array(low..<900))
    }

    @Test func aFolderOfShardFilesIsReplayedAsOneCapture() throws {
        let dir = TemporaryDirectory()
        let cluster = try Self.twoTopics()
        try FileManager.default.createDirectory(atPath: dir.file("shards"), withIntermediateDirectories: false)
        for index in 0..<2 {
            try Self.ingest(cluster, ["a", "b"], db: "shards/s\(index).sqlite", in: dir, extra: ["--shard", "\(index)/2"])
        }
        let fromShards = Self.places(try Self.replay(["shards", "--topic", "a", "--topic", "b"], in: dir))
        let fromFiles = Self.places(try Self.replay(["shards/s1.sqlite", "shards/s0.sqlite", "--topic", "a", "--topic", "b"], in: dir))
        let fromKafka = Self.places(try Self.replay(["--brokers", cluster.bootstrapServers, "--topic", "a", "--topic", "b"], in: dir))
        Self.expectEveryOffsetOnce(fromShards, partitions: ["a": 3, "b": 2], count: 150)
        #expect(fromShards == fromKafka)
        #expect(fromFiles == fromKafka)
    }

    @Test func aCaptureBeingWrittenCanBeReplayed() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("live", partitions: 2)
        try scenario.cluster.produce(topic: "live", Self.records(partitions: 2, from: 0, count: 2_000))
        let ingest = try SpoolProcess.Running(["ingest", "--brokers", scenario.brokers, "--topic", "live", "--db", "c.sqlite",
                                               "--follow", "--quiet", "--batch-size", "200"], directory: scenario.directory.path)
        try ingest.waitUntil("the ingest has stored records") { storedCount(scenario.file("c.sqlite"), topic: "live") >= 1_000 }
        try scenario.cluster.produce(topic: "live", Self.records(partitions: 2, from: 2_000, count: 500))
        let offline = Self.places(try Self.replay(["c.sqlite", "--topic", "live"], in: scenario.directory))
        let both = Self.places(try Self.replay(["c.sqlite", "--brokers", scenario.brokers, "--topic", "live"], in: scenario.directory))
        let kafka = Self.places(try Self.replay(["--brokers", scenario.brokers, "--topic", "live"], in: scenario.directory))
        #expect(ingest.isRunning, "the ingest kept running while the replays read its file")
        ingest.signal(SIGTERM)
        #expect(ingest.wait().status == 0)
        #expect(offline.count >= 1_000, "the capture alone replays what was stored when it opened: \(offline.count)")
        for partition in 0..<2 {
            let offsets = offline.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "live[\(partition)] from the capture: contiguous from 0")
        }
        Self.expectEveryOffsetOnce(both, partitions: ["live": 2], count: 2_500)
        #expect(both == kafka)
    }

    @Test func anInterruptedReplayExitsZeroAndTheSameCommandGivesTheSameSequence() throws {
        let scenario = try MockScenario()
        try scenario.cluster.createTopic("t", partitions: 3)
        try scenario.cluster.produce(topic: "t", Self.records(partitions: 3, from: 0, count: 4_000))
        try Self.ingest(scenario.cluster, ["t"], db: "c.sqlite", in: scenario.directory)
        try scenario.cluster.produce(topic: "t", Self.records(partitions: 3, from: 4_000, count: 2_000))
        let arguments = ["replay", "c.sqlite", "--brokers", scenario.brokers, "--topic", "t", "--follow", "--batch-size", "100"]
        func interrupted(after lines: Int, signal: Int32) throws -> String {
            let running = try SpoolProcess.Running(arguments, directory: scenario.directory.path)
            try running.waitUntil("\(lines) records are written") {
                ((try? String(contentsOfFile: running.stdoutPath, encoding: .utf8)) ?? "").utf8.count(where: { $0 == 10 }) >= lines
            }
            running.signal(signal)
            let result = running.wait(timeout: 30)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasSuffix("\n"), "whole records only")
            return result.stdout
        }
        let first = Self.places(try interrupted(after: 2_000, signal: SIGINT))
        let whole = Self.places(try interrupted(after: 18_000, signal: SIGTERM))
        #expect(first.count >= 2_000 && first.count < 18_000)
        #expect(Array(whole.prefix(first.count)) == first, "the interrupted replay is a prefix of the same command's replay")
        Self.expectEveryOffsetOnce(whole, partitions: ["t": 3], count: 6_000)
        let bounded = Self.places(try Self.replay(["c.sqlite", "--brokers", scenario.brokers, "--topic", "t"], in: scenario.directory))
        #expect(bounded == whole)
    }

    @Test(arguments: [
        (["replay", "c.sqlite"], 2, "--topic is required"),
        (["replay", "c.sqlite", "--topic", "nope"], 2, "invalid topic 'nope': the capture holds none of its records"),
        (["replay", "missing.sqlite", "--topic", "t"], 2, "missing.sqlite: no such file"),
        (["replay", "--topic", "t"], 2, "nothing to replay from"),
        (["replay", "c.sqlite", "--topic", "t", "--follow"], 2, "--follow needs --brokers"),
        (["replay", "c.sqlite", "--topic", "t", "--until", "soon"], 2, "The value 'soon' is invalid for '--until <time>'"),
        (["replay", "c.sqlite", "--topic", "t", "--until", "now"], 2, "The value 'now' is invalid for '--until <time>'"),
        (["replay", "c.sqlite", "--topic", "t", "--cutoff", "later"], 2, "The value 'later' is invalid for '--cutoff <time>'"),
        (["replay", "c.sqlite", "--topic", "t", "--limit", "0"], 2, "--limit must be at least 1"),
        (["replay", "c.sqlite", "--topic", "t", "--format", "xml"], 2, "--format"),
        (["replay", "notspool.sqlite", "--topic", "t"], 3, "notspool.sqlite"),
    ])
    func badUsageExitsWithASentenceAndNoRecords(arguments: [String], status: Int32, sentence: String) throws {
        let dir = TemporaryDirectory()
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: dir.file("notspool.sqlite")))
        let store = try SpoolStore.openForWriting(path: dir.file("c.sqlite"))
        let checkpoint = PartitionState(topicPartition: TopicPartition(topic: "t", partition: 0), range: ReplayRange(start: 0, end: 1),
                                        consumedOffset: 0, releasedOffset: 0, lastConsumedTimestamp: 1, isLive: true, isPaused: false)
        try store.write(batch: MessageBatch([Message(key: nil, value: [1], topic: "t", partition: 0, offset: 0, timestamp: 1)]),
                        checkpoints: [checkpoint], completeUntil: nil)
        store.close()
        let result = try SpoolProcess.run(arguments, directory: dir.path)
        #expect(result.status == status, "\(arguments): \(result.output)")
        #expect(result.stderr.contains(sentence), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
