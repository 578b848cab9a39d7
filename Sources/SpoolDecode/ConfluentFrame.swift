/// Confluent's wire format: a zero magic byte, a 4-byte big-endian schema id, then the payload;
/// for Protobuf the payload starts with the message indexes.
///
/// The one place that knows the framing: the decoder, the pipeline and `spool decode` call it.
public enum ConfluentFrame {
    /// The schema id of a framed `bytes` (nil when it is not framed: too short or another
    /// first byte).
    public static func schemaID(of bytes: UnsafeRawBufferPointer) -> Int32? {
        guard bytes.count >= 5, bytes[0] == 0 else { return nil }
        return Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }

    /// The payload after the 5-byte header of a framed `bytes`.
    public static func payload(of bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[5...])
    }

    /// The record header that names a key's schema instead of the framing (Confluent Platform 8
    /// clients with `schema.id.serializer` set to the header serializer); the key is then unframed.
    public static let keySchemaIDHeader = "__key_schema_id"
    /// The record header that names a value's schema instead of the framing; the value is then unframed.
    public static let valueSchemaIDHeader = "__value_schema_id"

    /// The same rule in SQL, for a store that checks stored rows: true for a row whose `key` or
    /// `value` column is framed or, with `withHeaders`, whose `headers` column (Spool's JSON
    /// array of `{key, value}` objects) names a schema-id header; never null.
    @Sendable public static func sqlCondition(withHeaders: Bool) -> String {
        // coalesce: a null key or value is not framed (without it the whole condition would be
        // null, and a check with NOT would pass every row with a null key).
        let framed = "coalesce(length(value) >= 5 AND substr(value, 1, 1) = x'00', 0) OR coalesce(length(key) >= 5 AND substr(key, 1, 1) = x'00', 0)"
        guard withHeaders else { return framed }
        return framed + """
             OR (headers IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(headers) AS h
                 WHERE h.value ->> 'key' IN ('\(keySchemaIDHeader)', '\(valueSchemaIDHeader)')))
            """
    }

    /// Whether a header named `name` carries a schema id (`__key_schema_id` or `__value_schema_id`).
    public static func isSchemaIDHeader(_ name: UnsafeRawBufferPointer) -> Bool {
        // Every header of every record comes here: the names' shared "__" rejects most others
        // before the slower comparison with a String.
        guard name.count >= 2, name[0] == UInt8(ascii: "_"), name[1] == UInt8(ascii: "_") else { return false }
        return name.elementsEqual(keySchemaIDHeader.utf8) || name.elementsEqual(valueSchemaIDHeader.utf8)
    }

    /// Reads a schema-id header's value: the version byte `0x01` and the schema's 16-byte GUID,
    /// or (as confluent-kafka's deserializers also accept) `0x00` and a 4-byte big-endian id;
    /// returns the schema's key and what follows (for Protobuf, the message indexes, read with
    /// `messageIndexes(in:)`). The record's bytes themselves are then not framed.
    public static func headerSchemaID(_ value: UnsafeRawBufferPointer) throws(HeaderSchemaIDError)
        -> (key: SchemaKey, rest: UnsafeRawBufferPointer) {
        guard let version = value.first else { throw HeaderSchemaIDError(reason: "it is empty") }
        switch version {
        case 1:
            guard value.count >= 17, let guid = SchemaGUID(bytes: value[1..<17]) else {
                throw HeaderSchemaIDError(reason: "version 1 needs a 16-byte GUID after the version byte, it has \(value.count - 1) byte(s)")
            }
            return (.guid(guid), UnsafeRawBufferPointer(rebasing: value[17...]))
        case 0:
            guard let id = schemaID(of: value) else {
                throw HeaderSchemaIDError(reason: "version 0 needs a 4-byte schema id after the version byte, it has \(value.count - 1) byte(s)")
            }
            return (.id(id), UnsafeRawBufferPointer(rebasing: value[5...]))
        default:
            throw HeaderSchemaIDError(reason: "its version byte is \(version); Spool reads 1 (a GUID) and 0 (an id)")
        }
    }

    /// The most message indexes a record may carry (one per level of message nesting).
    public static let maxMessageIndexes = 64

    /// Splits a Protobuf `payload` (what follows the 5-byte header) into its message indexes
    /// and the message bytes.
    ///
    /// The indexes are a count and that many numbers, each a zigzag varint (Kafka's
    /// `ByteUtils.writeVarint`); a count of 0 (the single byte `0x00`) means `[0]`, the first
    /// message of the schema. A negative count or index, or a varint that does not end, is an
    /// error naming what was read: a producer that wrote plain unsigned varints instead of
    /// zigzag ones gives a negative number for any odd value.
    public static func messageIndexes(in payload: UnsafeRawBufferPointer)
        throws(MessageIndexError) -> (indexes: [Int64], message: UnsafeRawBufferPointer) {
        var offset = 0
        let count = try zigzag(payload, &offset, what: "the message-index count")
        guard count >= 0 else { throw .negative(what: "the message-index count", value: count) }
        guard count <= maxMessageIndexes else { throw .tooMany(count) }
        var indexes: [Int64] = []
        indexes.reserveCapacity(max(1, Int(count)))
        for position in 0..<Int(count) {
            let index = try zigzag(payload, &offset, what: "message index \(position + 1)")
            guard index >= 0 else { throw .negative(what: "message index \(position + 1)", value: index) }
            indexes.append(index)
        }
        if indexes.isEmpty { indexes = [0] }
        return (indexes, UnsafeRawBufferPointer(rebasing: payload[offset...]))
    }

    /// Reads one zigzag varint at `offset` (at most 10 bytes).
    private static func zigzag(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, what: String) throws(MessageIndexError) -> Int64 {
        var raw: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw .truncated(what: what) }
            guard shift < 64 else { throw .overlong(what: what) }
            let byte = bytes[offset]
            offset += 1
            raw |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }
}

/// Why a Protobuf record's message indexes cannot be read.
public enum MessageIndexError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes end inside a varint.
    case truncated(what: String)
    /// A varint longer than 10 bytes.
    case overlong(what: String)
    /// A negative count or index after zigzag decoding.
    case negative(what: String, value: Int64)
    /// More indexes than `ConfluentFrame.maxMessageIndexes`.
    case tooMany(Int64)

    /// A sentence naming what was read and what it suggests.
    public var description: String {
        switch self {
        case .truncated(let what): "Protobuf message indexes: the record ends inside \(what)"
        case .overlong(let what): "Protobuf message indexes: \(what) is a varint longer than 10 bytes"
        case .negative(let what, let value):
            "Protobuf message indexes: \(what) is negative (\(value)); Confluent's format writes them as zigzag varints, "
                + "and a producer that wrote plain unsigned varints gives this (fix the producer's serializer)"
        case .tooMany(let count):
            "Protobuf message indexes: \(count) indexes, more than the \(ConfluentFrame.maxMessageIndexes) Spool reads "
                + "(the bytes are probably not Confluent's Protobuf framing)"
        }
    }
}

/// Why a `__key_schema_id` / `__value_schema_id` header cannot be read.
public struct HeaderSchemaIDError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the header's value.
    public var reason: String
    /// A sentence naming the header's format.
    public var description: String {
        "the schema-id header is not Confluent's (a version byte, then a GUID or an id): \(reason)"
    }
}
