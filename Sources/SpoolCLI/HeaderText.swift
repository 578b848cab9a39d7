/// Reads Spool's `headers` JSON for display: `spool query` embeds it as JSON in `json`/`jsonl`
/// and shows it compactly in tables.
///
/// Only the shape Spool writes is accepted (an array of objects whose members are strings or
/// null); anything else is shown as the plain text it is.
public enum HeaderText {
    /// One header as stored: its name and its value as text, base64 or null.
    public struct Entry: Equatable, Sendable {
        /// The header name.
        public var name: String
        /// The value: text, base64 text (not UTF-8 text), or nil for null.
        public var value: String?
        /// Whether `value` is base64 (`value_base64` in the JSON).
        public var isBase64: Bool
    }

    /// The headers in `json`, or nil when it is not Spool's header JSON.
    public static func parse(_ json: String) -> [Entry]? {
        var parser = MiniJSON(json)
        guard let items = parser.parseDocument(), case .array(let elements) = items else { return nil }
        var entries: [Entry] = []
        for element in elements {
            guard case .object(let members) = element, members.count == 2 else { return nil }
            var fields: [String: MiniJSON.Value] = [:]
            for (key, value) in members { fields[key] = value }
            let name: String
            if case .string(let text)? = fields["key"] {
                name = text
            } else if case .string(let encoded)? = fields["key_base64"] {
                name = "b64:" + encoded
            } else {
                return nil
            }
            switch (fields["value"], fields["value_base64"]) {
            case (.string(let text)?, nil): entries.append(Entry(name: name, value: text, isBase64: false))
            case (.null?, nil): entries.append(Entry(name: name, value: nil, isBase64: false))
            case (nil, .string(let encoded)?): entries.append(Entry(name: name, value: encoded, isBase64: true))
            default: return nil
            }
        }
        return entries
    }

    /// `name=value, ...` for a table cell: null as `NULL`, binary values as `b64:...`.
    public static func compact(_ entries: [Entry]) -> String {
        entries.map { entry in
            let value = entry.value.map { entry.isBase64 ? "b64:" + $0 : $0 } ?? "NULL"
            return entry.name + "=" + value
        }.joined(separator: ", ")
    }
}

/// A small strict JSON reader for `HeaderText`: objects, arrays, strings and null.
struct MiniJSON {
    /// A parsed value.
    indirect enum Value {
        case object([(String, Value)])
        case array([Value])
        case string(String)
        case null
    }

    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    /// The one value the text holds, or nil when it is not exactly one value of these kinds.
    mutating func parseDocument() -> Value? {
        guard let value = parseValue() else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private mutating func parseValue() -> Value? {
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "["): return parseArray()
        case UInt8(ascii: "{"): return parseObject()
        case UInt8(ascii: "\""): return parseString().map(Value.string)
        case UInt8(ascii: "n"):
            guard bytes[index...].starts(with: Array("null".utf8)) else { return nil }
            index += 4
            return .null
        default: return nil
        }
    }

    private mutating func parseArray() -> Value? {
        index += 1
        var values: [Value] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
        while true {
            guard let value = parseValue() else { return nil }
            values.append(value)
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    private mutating func parseObject() -> Value? {
        index += 1
        var members: [(String, Value)] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = parseString() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let value = parseValue() else { return nil }
            members.append((key, value))
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    private mutating func parseString() -> String? {
        index += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                guard let scalar = parseEscape() else { return nil }
                scalars.append(scalar)
            case 0..<0x20:
                return nil
            default:
                run.append(byte)
            }
        }
        return nil
    }

    private mutating func parseEscape() -> Unicode.Scalar? {
        guard index < bytes.count else { return nil }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            guard let high = parseHex4() else { return nil }
            if (0xD800...0xDBFF).contains(high) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                index += 2
                guard let low = parseHex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            }
            return Unicode.Scalar(high)
        default: return nil
        }
    }

    private mutating func parseHex4() -> UInt32? {
        guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            return nil
        }
        index += 4
        return value
    }

    private mutating func skipSpace() {
        while index < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains(bytes[index]) {
            index += 1
        }
    }
}
