import SpoolModel

/// The capture's streams (migration 12): each topic partition's small id, whose records occupy
/// the row ids `id << 44 ..< (id + 1) << 44` of `records`, one per offset.
///
/// Looks ids up once per connection and remembers them; `streamID(creating:)` adds a stream
/// inside the caller's transaction, so after a rollback `forgetAll()` must drop what it
/// remembered (the row went with the transaction). Not `Sendable`: one owner per connection.
final class StreamDirectory {
    /// Bits of a row id that hold the offset.
    static let offsetBits: Int64 = 44
    /// The largest offset a record can be stored at (2^44 - 1, about 17.6 trillion).
    static let largestOffset: Int64 = (1 << offsetBits) - 1
    /// The largest stream id (2^19 - 1): row ids stay positive 64-bit integers.
    static let largestStreamID: Int64 = (1 << (63 - offsetBits)) - 1

    private let connection: SQLiteConnection
    private var known: [TopicPartition: Int64] = [:]
    private var lookup: SQLiteStatement?
    private var insert: SQLiteStatement?

    /// A directory over `connection`'s `streams` table.
    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Finalizes the statements (prepared again on next use) and forgets the ids.
    func finalize() {
        lookup = nil
        insert = nil
        known.removeAll()
    }

    /// Forgets every remembered id: call after a transaction that may have added streams rolled back.
    func forgetAll() {
        known.removeAll()
    }

    /// The id of `partition`'s stream, or nil when none of its records was ever stored.
    func streamID(of partition: TopicPartition) throws -> Int64? {
        if let id = known[partition] { return id }
        let query = try connection.prepareOnce(&lookup, "SELECT id FROM streams WHERE topic = ?1 AND partition = ?2")
        defer { query.reset() }
        query.bind(1, partition.topic)
        query.bind(2, Int64(partition.partition))
        guard try query.step() else { return nil }
        let id = query.int64(0)
        known[partition] = id
        return id
    }

    /// The id of `partition`'s stream, adding the stream when it has none. Call inside a transaction.
    func streamID(creating partition: TopicPartition) throws -> Int64 {
        if let id = try streamID(of: partition) { return id }
        let add = try connection.prepareOnce(&insert, "INSERT INTO streams (topic, partition) VALUES (?1, ?2)")
        add.bind(1, partition.topic)
        add.bind(2, Int64(partition.partition))
        try add.run()
        let id = try connection.lastInsertRowID()
        guard id <= Self.largestStreamID else {
            throw StoreError.unstorable(path: connection.path, reason: "\(partition) would be the capture's stream number \(id), beyond the \(Self.largestStreamID) topic partitions one file holds; capture further topics into another file")
        }
        known[partition] = id
        return id
    }

    /// The first row id of stream `id` (its offset 0).
    static func base(of id: Int64) -> Int64 { id << offsetBits }

    /// The row ids of stream `id`: one per possible offset.
    static func rowIDs(of id: Int64) -> Range<Int64> { base(of: id)..<base(of: id + 1) }

    /// The row id of `offset` in stream `id`; throws for an offset the layout cannot hold.
    func rowID(stream id: Int64, offset: Int64, of partition: TopicPartition) throws -> Int64 {
        guard offset >= 0, offset <= Self.largestOffset else {
            throw StoreError.unstorable(path: connection.path, reason: "\(partition) offset \(offset) is outside 0...\(Self.largestOffset), the offsets a capture stores (row id = stream << \(Self.offsetBits) | offset)")
        }
        return Self.base(of: id) | offset
    }
}
