/// A column type of the replay schemas, named as in the seed's PyArrow schemas.
public enum FieldType: String, Hashable, Sendable {
    /// Variable-length bytes.
    case binary
    /// UTF-8 text.
    case utf8
    /// 32-bit signed integer.
    case int32
    /// 64-bit signed integer.
    case int64
    /// Milliseconds since the Unix epoch, UTC (`timestamp[ms, tz=UTC]`).
    case timestampMillisUTC = "timestamp[ms, tz=UTC]"
    /// Boolean.
    case bool
}

/// One named, typed column of a schema.
public struct SchemaField: Hashable, Sendable {
    /// The column name.
    public let name: String
    /// The column type.
    public let type: FieldType
    /// Whether the column may hold null.
    public let nullable: Bool

    /// Creates a field.
    public init(name: String, type: FieldType, nullable: Bool) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// The columns of every batch `ConsumerManager.poll` returns, in order (MESSAGE_SCHEMA).
public let messageSchema: [SchemaField] = [
    SchemaField(name: "key", type: .binary, nullable: true),
    SchemaField(name: "value", type: .binary, nullable: true),
    SchemaField(name: "topic", type: .utf8, nullable: false),
    SchemaField(name: "partition", type: .int32, nullable: false),
    SchemaField(name: "offset", type: .int64, nullable: false),
    SchemaField(name: "timestamp", type: .timestampMillisUTC, nullable: false),
]

/// The columns of `ConsumerManager.partitionState()`, in order (PARTITION_STATE_SCHEMA).
public let partitionStateSchema: [SchemaField] = [
    SchemaField(name: "topic", type: .utf8, nullable: false),
    SchemaField(name: "partition", type: .int32, nullable: false),
    SchemaField(name: "replay_start_offset", type: .int64, nullable: false),
    SchemaField(name: "replay_end_offset", type: .int64, nullable: false),
    SchemaField(name: "consumed_offset", type: .int64, nullable: false),
    SchemaField(name: "released_offset", type: .int64, nullable: false),
    SchemaField(name: "last_consumed_timestamp", type: .timestampMillisUTC, nullable: true),
    SchemaField(name: "is_live", type: .bool, nullable: false),
    SchemaField(name: "is_paused", type: .bool, nullable: false),
]

/// The message schema (the seed's `get_message_schema`).
public func getMessageSchema() -> [SchemaField] { messageSchema }

/// The partition state schema (the seed's `get_partition_state_schema`).
public func getPartitionStateSchema() -> [SchemaField] { partitionStateSchema }
