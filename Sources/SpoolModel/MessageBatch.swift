/// A batch of released messages stored column by column in MESSAGE_SCHEMA order, plus headers.
///
/// Keys and values live in one contiguous byte buffer each, with Arrow-style start offsets, so a
/// batch of any size costs a handful of allocations; headers (Spool's extension) live in a byte
/// buffer of their own with one slice per header and one start per row, so a record without
/// headers costs one integer. Iterating yields `Message` values (which copy their bytes);
/// writers that care about speed read the columns directly with `withKey(at:_:)` and
/// `withValue(at:_:)`, or every row's at once with `withPayloads(_:)`.
public struct MessageBatch: RandomAccessCollection, Sendable {
    /// The distinct topic names referenced by `topicIndexes`.
    public private(set) var topicNames: [String] = []
    /// For each row, an index into `topicNames`.
    public private(set) var topicIndexes: [Int32] = []
    /// For each row, the partition number.
    public private(set) var partitions: [Int32] = []
    /// For each row, the offset.
    public private(set) var offsets: [Int64] = []
    /// For each row, the timestamp (ms since the epoch, UTC; -1 when the broker has none).
    public private(set) var timestamps: [Int64] = []

    private var keyBytes: [UInt8] = []
    private var keyStarts: [Int] = [0]
    private var keyIsNull: [Bool] = []
    private var valueBytes: [UInt8] = []
    private var valueStarts: [Int] = [0]
    private var valueIsNull: [Bool] = []
    /// Row `r`'s headers are `headerSlices[headerStarts[r]..<headerStarts[r + 1]]`.
    private var headerStarts: [Int] = [0]
    private var headerSlices: [HeaderSlice] = []
    private var headerBytes: [UInt8] = []

    /// Where one header's name and value sit in `headerBytes` (-1 as the length of a null value).
    fileprivate struct HeaderSlice: Sendable {
        var nameStart: Int
        var nameLength: Int
        var valueStart: Int
        var valueLength: Int
    }

    /// An empty batch.
    public init() {}

    /// A batch holding `messages` in the given order.
    public init(_ messages: some Sequence<Message>) {
        var topicIndex: [String: Int32] = [:]
        for message in messages {
            let index: Int32
            if let known = topicIndex[message.topic] {
                index = known
            } else {
                index = Int32(topicNames.count)
                topicNames.append(message.topic)
                topicIndex[message.topic] = index
            }
            for header in message.headers {
                var name = header.name
                name.withUTF8 { nameBytes in
                    Self.withOptional(header.value) { appendHeader(name: UnsafeRawBufferPointer(nameBytes), value: $0) }
                }
            }
            Self.withOptional(message.key) { key in
                Self.withOptional(message.value) { value in
                    appendRow(topicIndex: index, partition: message.partition, offset: message.offset,
                              timestamp: message.timestamp, key: key, value: value)
                }
            }
        }
    }

    /// The first row index (always 0).
    public var startIndex: Int { 0 }
    /// One past the last row index.
    public var endIndex: Int { offsets.count }

    /// The row at `position` as a `Message` (copies its key, value and header bytes).
    public subscript(position: Int) -> Message {
        Message(key: keyIsNull[position] ? nil : Array(keyBytes[keyStarts[position]..<keyStarts[position + 1]]),
                value: valueIsNull[position] ? nil : Array(valueBytes[valueStarts[position]..<valueStarts[position + 1]]),
                topic: topicNames[Int(topicIndexes[position])],
                partition: partitions[position],
                offset: offsets[position],
                timestamp: timestamps[position],
                headers: headers(at: position))
    }

    /// The topic name of row `position`.
    public func topic(at position: Int) -> String { topicNames[Int(topicIndexes[position])] }

    /// How many headers row `position` has.
    public func headerCount(at position: Int) -> Int { headerStarts[position + 1] - headerStarts[position] }

    /// Row `position`'s headers, in the record's order (copies their bytes).
    public func headers(at position: Int) -> [MessageHeader] {
        (headerStarts[position]..<headerStarts[position + 1]).map { index in
            let slice = headerSlices[index]
            return MessageHeader(name: String(decoding: headerBytes[slice.nameStart..<slice.nameStart + slice.nameLength], as: UTF8.self),
                                 value: slice.valueLength < 0 ? nil : Array(headerBytes[slice.valueStart..<slice.valueStart + slice.valueLength]))
        }
    }

    /// Calls `body` with row `position`'s key bytes (`nil` when null); the pointer must not escape.
    public func withKey<R>(at position: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try Self.withSlice(keyBytes, keyStarts, keyIsNull, position, body)
    }

    /// Calls `body` with row `position`'s value bytes (`nil` when null); the pointer must not escape.
    public func withValue<R>(at position: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        try Self.withSlice(valueBytes, valueStarts, valueIsNull, position, body)
    }

    /// Lends the key, value and header bytes of every row to `body` at once; the view must not
    /// escape it.
    ///
    /// The byte buffers stay pinned for the whole call, so a writer can bind many rows' bytes
    /// without copying (SQLite's `SQLITE_STATIC`) and step its statement inside `body`.
    public func withPayloads<R>(_ body: (Payloads) throws -> R) rethrows -> R {
        try keyBytes.withUnsafeBytes { keys in
            try valueBytes.withUnsafeBytes { values in
                try headerBytes.withUnsafeBytes { headers in
                    try body(Payloads(keyBytes: keys, keyStarts: keyStarts, keyIsNull: keyIsNull,
                                      valueBytes: values, valueStarts: valueStarts, valueIsNull: valueIsNull,
                                      headerBytes: headers, headerStarts: headerStarts, headerSlices: headerSlices))
                }
            }
        }
    }

    /// Every row's key, value and header bytes, valid only inside the `withPayloads(_:)` call
    /// that lent it. The accessors are inlinable: the writer calls them for every row.
    public struct Payloads {
        @usableFromInline let keyBytes: UnsafeRawBufferPointer
        @usableFromInline let keyStarts: [Int]
        @usableFromInline let keyIsNull: [Bool]
        @usableFromInline let valueBytes: UnsafeRawBufferPointer
        @usableFromInline let valueStarts: [Int]
        @usableFromInline let valueIsNull: [Bool]
        @usableFromInline let headerBytes: UnsafeRawBufferPointer
        @usableFromInline let headerStarts: [Int]
        fileprivate let headerSlices: [HeaderSlice]

        /// Row `position`'s key bytes, `nil` when the key is null.
        @inlinable public func key(at position: Int) -> UnsafeRawBufferPointer? {
            keyIsNull[position] ? nil : UnsafeRawBufferPointer(rebasing: keyBytes[keyStarts[position]..<keyStarts[position + 1]])
        }

        /// Row `position`'s value bytes, `nil` when the value is null.
        @inlinable public func value(at position: Int) -> UnsafeRawBufferPointer? {
            valueIsNull[position] ? nil : UnsafeRawBufferPointer(rebasing: valueBytes[valueStarts[position]..<valueStarts[position + 1]])
        }

        /// How many headers row `position` has.
        @inlinable public func headerCount(at position: Int) -> Int { headerStarts[position + 1] - headerStarts[position] }

        /// Header `index` of row `position`: its name bytes and its value bytes (`nil` when null).
        public func header(_ index: Int, at position: Int) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
            let slice = headerSlices[headerStarts[position] + index]
            let name = UnsafeRawBufferPointer(rebasing: headerBytes[slice.nameStart..<slice.nameStart + slice.nameLength])
            let value = slice.valueLength < 0 ? nil
                : UnsafeRawBufferPointer(rebasing: headerBytes[slice.valueStart..<slice.valueStart + slice.valueLength])
            return (name, value)
        }
    }

    private static func withSlice<R>(_ bytes: [UInt8], _ starts: [Int], _ isNull: [Bool], _ position: Int,
                                     _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        if isNull[position] { return try body(nil) }
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[starts[position]..<starts[position + 1]]))
        }
    }

    private static func withOptional<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let bytes else { return body(nil) }
        return bytes.withUnsafeBytes { body($0) }
    }

    // MARK: building (for the replay consumer)

    /// Reserves room for `rows` more rows.
    package mutating func reserve(rows: Int) {
        topicIndexes.reserveCapacity(rows)
        partitions.reserveCapacity(rows)
        offsets.reserveCapacity(rows)
        timestamps.reserveCapacity(rows)
        keyStarts.reserveCapacity(rows + 1)
        keyIsNull.reserveCapacity(rows)
        valueStarts.reserveCapacity(rows + 1)
        valueIsNull.reserveCapacity(rows)
        headerStarts.reserveCapacity(rows + 1)
    }

    /// Sets the topic names that `appendRow(topicIndex:...)` indexes into.
    package mutating func setTopicNames(_ names: [String]) { topicNames = names }

    /// Adds a header to the row that the next `appendRow` appends (copying its bytes).
    package mutating func appendHeader(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        let nameStart = headerBytes.count
        headerBytes.append(contentsOf: name)
        let valueStart = headerBytes.count
        if let value { headerBytes.append(contentsOf: value) }
        headerSlices.append(HeaderSlice(nameStart: nameStart, nameLength: name.count,
                                        valueStart: valueStart, valueLength: value?.count ?? -1))
    }

    /// Appends one row, copying the key and value bytes (`nil` for null); the headers added
    /// with `appendHeader` since the previous row are this row's.
    package mutating func appendRow(topicIndex: Int32, partition: Int32, offset: Int64, timestamp: Int64,
                                    key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?) {
        topicIndexes.append(topicIndex)
        partitions.append(partition)
        offsets.append(offset)
        timestamps.append(timestamp)
        if let key { keyBytes.append(contentsOf: key) }
        keyIsNull.append(key == nil)
        keyStarts.append(keyBytes.count)
        if let value { valueBytes.append(contentsOf: value) }
        valueIsNull.append(value == nil)
        valueStarts.append(valueBytes.count)
        headerStarts.append(headerSlices.count)
    }
}
