import SpoolModel
@testable import SpoolStore
import SpoolTestSupport
import Testing

/// `spool verify` checks decode states with the decode layer's framing rule: a state on a row
/// with nothing framed is a problem (also with a null key, which once made the rule null and
/// passed every such row), on a framed row it is not.
@Suite("spool verify and the framing rule", .timeLimit(.minutes(1)))
struct VerifyFramingBinaryTests {
    @Test func aDecodeStateOnAnUnframedRowIsReportedAndOnAFramedRowIsNot() throws {
        let dir = TemporaryDirectory()
        let store = try SpoolStore.openForWriting(path: dir.file("f.sqlite"))
        let framed: [UInt8] = [0, 0, 0, 0, 7] + Array("body".utf8)
        let rows = [
            Message(key: nil, value: Array("plain".utf8), topic: "t", partition: 0, offset: 0, timestamp: 1_700_000_000_000),
            Message(key: nil, value: framed, topic: "t", partition: 0, offset: 1, timestamp: 1_700_000_000_001),
        ]
        let state = PartitionState(topicPartition: TopicPartition(topic: "t", partition: 0), range: ReplayRange(start: 0, end: 2),
                                   consumedOffset: 1, releasedOffset: 1, lastConsumedTimestamp: nil, isLive: true, isPaused: false)
        try store.write(batch: MessageBatch(rows), checkpoints: [state], completeUntil: nil)
        let sound = try SpoolProcess.run(["verify", "f.sqlite"], directory: dir.path)
        #expect(sound.status == 0, "\(sound.output)")
        // As if a writer had marked both rows pending.
        try store.connection.execute("UPDATE records SET decode_state = 'pending'")
        #expect(try store.connection.integer("SELECT count(*) FROM messages WHERE decode_state = 'pending'") == 2)
        store.close()
        let verify = try SpoolProcess.run(["verify", "f.sqlite"], directory: dir.path)
        #expect(verify.status == 1, "\(verify.output)")
        #expect(verify.output.contains("t[0] offset 0 has a decode_state but nothing in it is Confluent-framed"), "\(verify.output)")
        #expect(!verify.output.contains("offset 1 has a decode_state"), "the framed row's state is sound: \(verify.output)")
    }
}
