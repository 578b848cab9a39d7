import SpoolModel

/// How a record names its schema: the registry's integer id (Confluent's framing, or a header
/// of version 0) or the schema's GUID (a header of version 1, Confluent Platform 8).
public enum SchemaKey: Hashable, Sendable, CustomStringConvertible {
    /// A global schema id, fetched with `GET /schemas/ids/{id}`.
    case id(Int32)
    /// A schema GUID, fetched with `GET /schemas/guids/{guid}`.
    case guid(SchemaGUID)

    /// `schema id 7` or `schema guid 0f8e...`, for messages and `decode_stats`.
    public var description: String {
        switch self {
        case .id(let id): "schema id \(id)"
        case .guid(let guid): "schema guid \(guid)"
        }
    }
}

/// A schema's GUID: 16 bytes, written as the registry writes it (lowercase, hyphenated 8-4-4-4-12).
public struct SchemaGUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes, in the order a header carries them (RFC 4122 order).
    public let bytes: [UInt8]

    /// The GUID of 16 `bytes` (nil for any other count).
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses the text form (hyphens optional, either case); nil when it is not 32 hex digits.
    public init?(text: String) {
        var parsed: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 where character != UInt8(ascii: "-") {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                parsed.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil, parsed.count == 16 else { return nil }
        bytes = parsed
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
    public var description: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension StoredSchema {
    /// The key records use for this schema: its GUID when it was fetched by one, else its id.
    public var schemaKey: SchemaKey {
        if let guid, let parsed = SchemaGUID(text: guid) { return .guid(parsed) }
        return .id(id)
    }
}
