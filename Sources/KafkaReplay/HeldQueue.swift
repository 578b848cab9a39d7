/// The messages of one partition that were consumed but not yet released, oldest first.
///
/// Key, value and header bytes are appended to one growing byte arena and referenced by
/// position, so holding a message costs no allocation of its own (a header adds one slice). Released entries are dropped from the front;
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
        /// The message's headers are `headers[headerStart..<headerStart + headerCount]`.
        var headerStart: Int32
        var headerCount: Int32
    }

    /// One held header: positions in the arena, with -1 as the length of a null value.
    struct HeaderSlice {
        var nameStart: Int
        var nameLength: Int
        var valueStart: Int
        var valueLength: Int
    }

    private var arena: [UInt8] = []
    private var entries: [Entry] = []
    private var headers: [HeaderSlice] = []
    private var head = 0

    /// How many messages are held.
    var count: Int { entries.count - head }
    /// Whether nothing is held.
    var isEmpty: Bool { head == entries.count }
    /// The oldest held message.
    var first: Entry? { head < entries.count ? entries[head] : nil }

    /// Appends a message, copying its key, value and header bytes.
    mutating func append(offset: Int64, timestamp: Int64, orderTimestamp: Int64,
                         key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers lent: [RawHeader]) {
        let keyStart = arena.count
        if let key { arena.append(contentsOf: key) }
        let valueStart = arena.count
        if let value { arena.append(contentsOf: value) }
        let headerStart = headers.count
        for header in lent {
            let nameStart = arena.count
            arena.append(contentsOf: header.name)
            let headerValueStart = arena.count
            if let headerValue = header.value { arena.append(contentsOf: headerValue) }
            headers.append(HeaderSlice(nameStart: nameStart, nameLength: header.name.count,
                                       valueStart: headerValueStart, valueLength: header.value?.count ?? -1))
        }
        entries.append(Entry(offset: offset, timestamp: timestamp, orderTimestamp: orderTimestamp,
                             keyStart: keyStart, keyLength: key?.count ?? -1,
                             valueStart: valueStart, valueLength: value?.count ?? -1,
                             headerStart: Int32(headerStart), headerCount: Int32(lent.count)))
    }

    /// Removes the oldest message and appends it as a row of `batch`.
    mutating func releaseFirst(into batch: inout MessageBatch, topicIndex: Int32, partition: Int32) -> Entry {
        let entry = entries[head]
        arena.withUnsafeBytes { bytes in
            func slice(_ start: Int, _ length: Int) -> UnsafeRawBufferPointer? {
                length < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])
            }
            for index in Int(entry.headerStart)..<Int(entry.headerStart + entry.headerCount) {
                let header = headers[index]
                batch.appendHeader(name: slice(header.nameStart, header.nameLength)!, value: slice(header.valueStart, header.valueLength))
            }
            let key = entry.keyLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.keyStart..<entry.keyStart + entry.keyLength])
            let value = entry.valueLength < 0 ? nil : UnsafeRawBufferPointer(rebasing: bytes[entry.valueStart..<entry.valueStart + entry.valueLength])
            batch.appendRow(topicIndex: topicIndex, partition: partition, offset: entry.offset,
                            timestamp: entry.timestamp, key: key, value: value)
        }
        head += 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            arena.removeAll(keepingCapacity: true)
            headers.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            compact()
        }
        return entry
    }

    private mutating func compact() {
        let base = entries[head].keyStart
        let headerBase = entries[head].headerStart
        arena.removeFirst(base)
        entries.removeFirst(head)
        headers.removeFirst(Int(headerBase))
        head = 0
        for index in entries.indices {
            entries[index].keyStart -= base
            entries[index].valueStart -= base
            entries[index].headerStart -= headerBase
        }
        for index in headers.indices {
            headers[index].nameStart -= base
            headers[index].valueStart -= base
        }
    }
}
