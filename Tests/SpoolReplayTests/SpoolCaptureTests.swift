import KafkaReplay
import SpoolReplay
import SpoolStore
import SpoolTestSupport
import Testing

/// `SpoolCapture.decoded(for:)`: the capture's `key_json`/`value_json` for released records.
@Suite("A capture's decoded JSON", .timeLimit(.minutes(1)))
struct SpoolCaptureTests {
    /// Writes offsets 0..<4 of `t`[0] (offset 1 with a decoded value, offset 2 with a decoded key
    /// and value) and offset 0 of `plain`[0] straight into a new file.
    static func makeCapture(_ path: String) throws {
        let store = try SpoolStore.openForWriting(path: path)
        defer { store.close() }
        let messages = (0..<4).map { Message(key: [UInt8($0)], value: [0, 0, 0, 0, 1, UInt8($0)], topic: "t", partition: 0, offset: Int64($0), timestamp: 100 + Int64($0)) }
            + [Message(key: nil, value: [7], topic: "plain", partition: 0, offset: 0, timestamp: 50)]
        var decoded = DecodedColumns()
        for row in 0..<5 {
            decoded.appendRow { writer in
                switch row {
                case 1:
                    writer.begin()
                    writer.bytes += Array(#"{"id":1}"#.utf8)
                    writer.finishValue()
                    return .decoded
                case 2:
                    writer.begin()
                    writer.bytes += Array(#""k2""#.utf8)
                    writer.finishKey()
                    writer.begin()
                    writer.bytes += Array(#"[2]"#.utf8)
                    writer.finishValue()
                    return .decoded
                default: return .none
                }
            }
        }
        let checkpoints = [("t", Int64(4)), ("plain", 1)].map { topic, end in
            PartitionState(topicPartition: TopicPartition(topic: topic, partition: 0), range: ReplayRange(start: 0, end: end),
                           consumedOffset: end - 1, releasedOffset: end - 1, lastConsumedTimestamp: 103, isLive: true, isPaused: false)
        }
        try store.write(batch: MessageBatch(messages), checkpoints: checkpoints, completeUntil: nil, decoded: decoded)
    }

    @Test func decodedRecordsGetTheirJSONAndOthersNone() throws {
        let dir = TemporaryDirectory()
        try Self.makeCapture(dir.file("c.sqlite"))
        let capture = try SpoolCapture(path: dir.file("c.sqlite"))
        let manager = try ConsumerManager(config: [:], topics: [SourceTopic.fromEarliest("t"), SourceTopic.fromEarliest("plain")],
                                          capture: capture, logger: quietLogger())
        var seen: [String] = []
        try waitUntil("the capture is replayed", timeout: .seconds(20)) {
            let batch = try manager.poll(timeoutMs: 50)
            if let decoded = try capture.decoded(for: batch) {
                #expect(decoded.count == batch.count)
                for row in batch.indices {
                    let text = decoded.text(row: row)
                    seen.append("\(batch.topic(at: row))@\(batch.offsets[row]) \(decoded.states[row]) \(text.key ?? "-") \(text.value ?? "-")")
                }
            } else {
                seen += batch.indices.map { "\(batch.topic(at: $0))@\(batch.offsets[$0]) nil" }
            }
            return manager.isLive && batch.isEmpty
        }
        #expect(seen == ["plain@0 none - -", "t@0 none - -", "t@1 decoded - {\"id\":1}", "t@2 decoded \"k2\" [2]", "t@3 none - -"])
        let onlyPlain = MessageBatch([Message(key: nil, value: [7], topic: "plain", partition: 0, offset: 0, timestamp: 50)])
        #expect(try capture.decoded(for: onlyPlain) == nil, "a topic without decoded records costs no query")
        let beyond = MessageBatch([Message(key: nil, value: nil, topic: "t", partition: 0, offset: 9, timestamp: 50)])
        #expect(try capture.decoded(for: beyond) == nil, "an offset past what the capture held is not looked up")
    }
}
