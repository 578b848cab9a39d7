/// An Avro schema compiled for decoding: a tree of `AvroNode`s whose named types (records,
/// enums, fixed) sit in a table, so recursive schemas are plain references into it.
///
/// Immutable once built by `AvroSchemaParser`; shared by every thread that decodes with it.
public final class AvroSchema: Sendable {
    /// The top-level type.
    let root: AvroNode
    /// Named types by the index that `.named` uses.
    let named: [AvroNode]
    /// Every named type's full name (for messages and tests).
    public let fullNames: [String]

    init(root: AvroNode, named: [AvroNode], fullNames: [String]) {
        self.root = root
        self.named = named
        self.fullNames = fullNames
    }

    /// Decodes one Avro binary datum of this schema into JSON appended to `out`.
    ///
    /// Every byte of `bytes` must belong to the datum; on failure `out` may hold a partial text
    /// (callers discard it) and the error names the field path and the byte offset.
    public func decode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(AvroDecodeError) {
        var decoder = AvroDatumDecoder(schema: self, bytes: bytes)
        try decoder.decodeDatum(into: &out)
    }
}

/// One type in a compiled schema.
indirect enum AvroNode: Sendable {
    case null, boolean, int, long, float, double, bytes, string
    /// A record: its fields in order, each with its name already written as a JSON string + ':'.
    case record(name: String, fields: [AvroField])
    /// An enum: each symbol already written as a JSON string.
    case enumeration(name: String, symbols: [[UInt8]])
    case array(items: AvroNode)
    case map(values: AvroNode)
    case union(branches: [AvroNode])
    case fixed(name: String, size: Int)
    /// A named type, by its index in `AvroSchema.named`.
    case named(Int)
    /// A logical type over its underlying type.
    case logical(AvroLogicalType, base: AvroNode)
}

/// A record field.
struct AvroField: Sendable {
    /// The field name, for error messages.
    let name: String
    /// `"name":` as JSON bytes.
    let jsonKey: [UInt8]
    /// The field's type.
    let type: AvroNode
}

/// The logical types the decoder renders specially; others decode as their underlying type.
enum AvroLogicalType: Sendable, Equatable {
    case decimal(precision: Int, scale: Int)
    case uuid
    case date
    case timeMillis, timeMicros
    case timestampMillis, timestampMicros, timestampNanos
    case localTimestampMillis, localTimestampMicros, localTimestampNanos
    case duration
}

/// An Avro payload that does not match its schema: what was wrong, where, and in which field.
public struct AvroDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String
    /// The byte offset in the payload.
    public var offset: Int
    /// The field names from the top-level record down to where it happened.
    public var path: [String] = []

    /// A sentence for error messages.
    public var description: String {
        let place = path.isEmpty ? "" : " in field '\(path.joined(separator: "."))'"
        return "Avro: \(reason) at byte \(offset)\(place)"
    }
}

/// A schema that cannot be used: what is wrong with it.
public struct AvroSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String
    /// A sentence for error messages.
    public var description: String { "invalid Avro schema: \(reason)" }
}
