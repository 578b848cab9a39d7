import SpoolModel
import SpoolTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import SpoolStore

/// The bytes of a file, or nil when it cannot be read.
func fileBytes(_ path: String) -> [UInt8]? {
    guard let handle = fopen(path, "rb") else { return nil }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, handle)
        if count <= 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return bytes
}

/// Writes bytes to a file.
func writeFile(_ path: String, _ bytes: [UInt8]) {
    let handle = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, handle) }
    fclose(handle)
}

/// A batch of `count` messages for partition `partition` of `topic`, offsets from `from`.
func makeBatch(topic: String = "t", partition: Int32 = 0, from: Int64 = 0, count: Int, valueSize: Int = 16) -> MessageBatch {
    var messages: [Message] = []
    for i in 0..<count {
        let key: [UInt8]? = i % 10 == 0 ? nil : Array("key-\(i)".utf8)
        let value = [UInt8](repeating: UInt8(i % 251), count: valueSize)
        let offset = from + Int64(i)
        messages.append(Message(key: key, value: value, topic: topic, partition: partition, offset: offset, timestamp: 1_000 + offset))
    }
    return MessageBatch(messages)
}

/// The checkpoint of a partition after releasing offsets up to `through`.
func stateAfter(topic: String = "t", partition: Int32 = 0, start: Int64 = 0, end: Int64 = 1_000, through: Int64) -> PartitionState {
    PartitionState(topicPartition: TopicPartition(topic: topic, partition: partition), range: ReplayRange(start: start, end: end),
                   consumedOffset: through, releasedOffset: through, lastConsumedTimestamp: through >= start ? 1_000 + through : nil,
                        isLive: through + 1 >= end, isPaused: false)
}
