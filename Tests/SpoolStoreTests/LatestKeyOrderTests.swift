import SpoolModel
import SpoolTestSupport
import Testing
@testable import SpoolStore

/// Keys chosen to hit every branch of the writer's (topic, key) order: empty keys, keys that
/// differ only past their first 16 bytes, keys that are prefixes of others, zero bytes inside
/// and at the end (a zero-padded prefix must not make "ab" equal "ab\0"), repeated keys.
private let trickyKeys: [[UInt8]] = {
    let sixteen = Array("0123456789abcdef".utf8)
    var keys: [[UInt8]] = [[], [0], [0, 0], Array("ab".utf8), Array("ab".utf8) + [0], Array("ab".utf8) + [0, 0],
                           sixteen, sixteen + [0], sixteen + Array("x".utf8), sixteen + Array("y".utf8),
                           sixteen + Array("xx".utf8), sixteen + Array("x".utf8) + [0], Array(sixteen.dropLast()),
                           Array(sixteen.dropLast()) + [0xFF], [0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0]]
    // Long keys sharing 16 bytes and more.
    for length in [17, 24, 31, 40] { keys.append(sixteen + [UInt8](repeating: 0x41, count: length - 16)) }
    return keys
}()

/// The key of record `index` of a batch that uses every tricky key several times.
private func key(_ index: Int) -> [UInt8] { trickyKeys[(index * 7) % trickyKeys.count] }

@Suite("The keyed writer's key order", .timeLimit(.minutes(1)))
struct LatestKeyOrderTests {
    /// One batch of two topics in which every key repeats: each key's entry is its last record,
    /// with `--latest` (pointers into the log) and `--latest-only` (values kept).
    @Test(arguments: [KeyedMode.latest, .latestOnly])
    func theLastRecordOfEachKeyWinsWhateverItsBytes(mode: KeyedMode) throws {
        let dir = TemporaryDirectory()
        let db = try SpoolStore.openForWriting(path: dir.file("k.sqlite"))
        defer { db.close() }
        for topic in ["a", "b"] { try db.keyed.setMode(mode, for: topic) }
        let count = trickyKeys.count * 5
        var messages: [Message] = []
        for index in 0..<count {
            for topic in ["b", "a"] {
                messages.append(Message(key: key(index), value: Array("\(topic)-\(index)".utf8), topic: topic, partition: 0,
                                        offset: Int64(index), timestamp: 1_000 + Int64(index)))
            }
        }
        try db.write(batch: MessageBatch(messages), checkpoints: ["a", "b"].map { stateAfter(topic: $0, end: 1_000_000, through: Int64(count - 1)) },
                     completeUntil: nil)
        for topic in ["a", "b"] {
            var expected: [[UInt8]: String] = [:]
            for index in 0..<count { expected[key(index)] = "\(topic)-\(index)" }
            var stored: [[UInt8]: String] = [:]
            let rows = try db.connection.prepare("SELECT key, value FROM latest WHERE topic = ?1")
            rows.bind(1, topic)
            while try rows.step() {
                let storedKey = rows.blob(0) ?? []
                #expect(stored[storedKey] == nil, "key \(storedKey) of \(topic) is in latest twice")
                stored[storedKey] = String(decoding: rows.blob(1) ?? [], as: UTF8.self)
            }
            #expect(stored == expected, "\(mode) \(topic)")
        }
    }
}
