/// One Kafka message as released by `ConsumerManager.poll` (a row of MESSAGE_SCHEMA).
///
/// `key` and `value` are `nil` for a null key or value (a tombstone has a null value) and an
/// empty array for an empty one: the two are never conflated. `headers` are Spool's extension
/// to MESSAGE_SCHEMA, in the record's order (empty when the record has none).
public struct Message: Hashable, Sendable {
    /// The key bytes, `nil` when the key is null.
    public var key: [UInt8]?
    /// The value bytes, `nil` when the value is null.
    public var value: [UInt8]?
    /// The topic name.
    public var topic: String
    /// The partition number.
    public var partition: Int32
    /// The message offset within its partition.
    public var offset: Int64
    /// The message timestamp in milliseconds since the Unix epoch, UTC; -1 when the broker has none.
    public var timestamp: Int64
    /// The record's headers in order, duplicates kept; empty when it has none.
    public var headers: [MessageHeader]

    /// Creates a message.
    public init(key: [UInt8]?, value: [UInt8]?, topic: String, partition: Int32, offset: Int64, timestamp: Int64,
                headers: [MessageHeader] = []) {
        self.key = key
        self.value = value
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.headers = headers
    }
}
