/// One record header: a name and optional value bytes.
///
/// Headers are Spool's extension to the seed's MESSAGE_SCHEMA (whose six columns stay as the
/// seed defines them). A record keeps its headers in order, duplicates included; a `nil` value
/// is a null header value, distinct from an empty one.
public struct MessageHeader: Hashable, Sendable {
    /// The header name (Kafka header keys are strings).
    public var name: String
    /// The value bytes, `nil` for a null value.
    public var value: [UInt8]?

    /// Creates a header.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

/// A header whose bytes are lent for the duration of one call (from librdkafka or a batch).
package struct RawHeader {
    /// The name's UTF-8 bytes.
    package var name: UnsafeRawBufferPointer
    /// The value bytes, `nil` for a null value.
    package var value: UnsafeRawBufferPointer?

    /// Names the lent bytes.
    package init(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        self.name = name
        self.value = value
    }
}
