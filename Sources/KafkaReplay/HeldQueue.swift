/// The messages of one partition that were consumed but not yet released, oldest first.
///
/// Key and value bytes are appended to one growing byte arena and referenced by position, so
/// holding a message costs no allocation of its own. Released entries are dropped from the front;
/// the arena is compacted when the dead prefix dominates, and reset when the queue empties.
struct HeldQueue {
    /// One held message: offsets into the arena, with -1 as the length of a null key or value.
    struct Entry {
        var offset: Int64
        var timestamp: Int64
        var orderTimestamp: Int64
        var keyStart: Int
        var keyLength: Int
        var valueStart: Int
        var valueLength: Int
    }

    private var arena: [UInt8] = []
    private var entries: [Entry] = []
    private var head = 0

    /// How many messages are held.
    var count: Int { entries.count - head }
    /// Whether nothing is held.
    var isEmpty: Bool { head == entries.count }
    /// The oldest held message.
    var first: Entry? { head < entries.count ? entries[head] : nil }

    /// Appends a message, copying its key and value bytes.
    mutating func append(offset: Int64, timestamp: Int64, orderTimestamp: Int64,
                         key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        let keyStart = arena.count
        if let key { arena.append(contentsOf: key) }
        let valueStart = arena.count
        if let value { arena.append(contentsOf: value) }
        entries.append(Entry(offset: offset, timestamp: timestamp, orderTimestamp: orderTimestamp,
                             keyStart: keyStart, keyLength: key?.count ?? -1,
                             valueStart: valueStart, valueLength: value?.count ?? -1))
    }

    /// Removes the oldest message and appends it as a row of `batch`.
    mutating func releaseFirst(into batch: inout MessageBatch, topicIndex: Int32, partition: Int32) -> Entry {
        let entry = entries[head]
        arena.withUnsafeBytes { bytes in
            let key = entry.keyLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.keyStart..<entry.keyStart + entry.keyLength])
            let value = entry.valueLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.valueStart..<entry.valueStart + entry.valueLength])
            batch.appendRow(topicIndex: topicIndex, partition: partition, offset: entry.offset,
                            timestamp: entry.timestamp, key: key, value: value)
        }
        head += 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            arena.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            compact()
        }
        return entry
    }

    private mutating func compact() {
        let base = entries[head].keyStart
        arena.removeFirst(base)
        entries.removeFirst(head)
        head = 0
        for index in entries.indices {
            entries[index].keyStart -= base
            entries[index].valueStart -= base
        }
    }
}
