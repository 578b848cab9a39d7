import SpoolModel

extension HeadersJSON {
    /// Where one decoded header's name and value lie in the byte buffer `decode` fills; `value`
    /// is nil for a null value.
    package typealias Span = (name: Range<Int>, value: Range<Int>?)

    /// Rebuilds the headers of a `headers` JSON array into `bytes` (names and values one after
    /// another) and `spans`, both emptied first; false when `json` is not the documented shape
    /// (the caller then reports the record). Reads what `encode` writes, and any JSON spelling of
    /// it (whitespace, member order, every string escape), without building JSON values: a
    /// restore or replay reads headers for every record.
    package static func decode(_ json: UnsafeRawBufferPointer, into bytes: inout [UInt8], spans: inout [Span]) -> Bool {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        var reader = Reader(json: json)
        guard reader.take(UInt8(ascii: "[")) else { return false }
        if reader.take(UInt8(ascii: "]")) { return reader.atEnd }
        repeat {
            guard let span = reader.header(into: &bytes) else { return false }
            spans.append(span)
        } while reader.take(UInt8(ascii: ","))
        return reader.take(UInt8(ascii: "]")) && reader.atEnd
    }

    /// A cursor over the JSON text.
    private struct Reader {
        static let key = Array("key".utf8), keyBase64 = Array("key_base64".utf8)
        static let value = Array("value".utf8), valueBase64 = Array("value_base64".utf8)
        let json: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == json.count
            }
        }

        mutating func skipSpace() {
            while index < json.count {
                switch json[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        /// Consumes `byte` (after whitespace) when it is next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < json.count, json[index] == byte else { return false }
            index += 1
            return true
        }

        /// One `{"key"|"key_base64": ..., "value"|"value_base64": ...}` object.
        mutating func header(into bytes: inout [UInt8]) -> Span? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var name: Range<Int>?
            var value: Range<Int>??
            repeat {
                guard let member = memberName(), take(UInt8(ascii: ":")) else { return nil }
                let (isKey, isKeyBase64) = (member == .key, member == .keyBase64)
                let (isValue, isValueBase64) = (member == .value, member == .valueBase64)
                if isKey || isKeyBase64 {
                    guard name == nil, let range = field(base64: isKeyBase64, into: &bytes) else { return nil }
                    name = range
                } else if isValue || isValueBase64 {
                    guard value == nil else { return nil }
                    if isValue, literalNull() {
                        value = .some(nil)
                    } else {
                        guard let range = field(base64: isValueBase64, into: &bytes) else { return nil }
                        value = .some(range)
                    }
                } else {
                    return nil
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")), let name, let value else { return nil }
            return (name, value)
        }

        /// The members a header object has.
        enum Member { case key, keyBase64, value, valueBase64 }

        /// The next member name, when it is one of the four (compared in place; a name spelled
        /// with escapes is unescaped first).
        mutating func memberName() -> Member? {
            skipSpace()
            guard index < json.count, json[index] == UInt8(ascii: "\"") else { return nil }
            var end = index + 1
            while end < json.count, json[end] != UInt8(ascii: "\""), json[end] != UInt8(ascii: "\\") { end += 1 }
            if end < json.count, json[end] == UInt8(ascii: "\"") {
                let name = UnsafeRawBufferPointer(rebasing: json[(index + 1)..<end])
                index = end + 1
                return Self.member(named: name)
            }
            var unescaped: [UInt8] = []
            guard string(into: &unescaped) else { return nil }
            return unescaped.withUnsafeBytes { Self.member(named: $0) }
        }

        /// The member `name` spells, if it is one of the four.
        static func member(named name: UnsafeRawBufferPointer) -> Member? {
            if name.elementsEqual(key) { return .key }
            if name.elementsEqual(keyBase64) { return .keyBase64 }
            if name.elementsEqual(value) { return .value }
            if name.elementsEqual(valueBase64) { return .valueBase64 }
            return nil
        }

        /// A string field's bytes appended to `bytes` (base64-decoded when `base64`).
        mutating func field(base64: Bool, into bytes: inout [UInt8]) -> Range<Int>? {
            let start = bytes.count
            if !base64 {
                guard string(into: &bytes) else { return nil }
                return start..<bytes.count
            }
            var text: [UInt8] = []
            guard string(into: &text), let decoded = Base64.decode(String(decoding: text, as: UTF8.self)) else { return nil }
            bytes += decoded
            return start..<bytes.count
        }

        /// Consumes `null` when it is next.
        mutating func literalNull() -> Bool {
            skipSpace()
            let null = Array("null".utf8)
            guard json.count - index >= 4, (0..<4).allSatisfy({ json[index + $0] == null[$0] }) else { return false }
            index += 4
            return true
        }

        /// A JSON string, unescaped into `out` as UTF-8.
        mutating func string(into out: inout [UInt8]) -> Bool {
            guard take(UInt8(ascii: "\"")) else { return false }
            while index < json.count {
                // The run up to the next quote, backslash or control byte is copied at once.
                var end = index
                while end < json.count, json[end] >= 0x20, json[end] != UInt8(ascii: "\""), json[end] != UInt8(ascii: "\\") { end += 1 }
                if end > index {
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: json[index..<end]))
                    index = end
                    continue
                }
                let byte = json[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"): guard escape(into: &out) else { return false }
                case 0..<0x20: return false
                default: out.append(byte)
                }
            }
            return false
        }

        /// The escape after a backslash.
        mutating func escape(into out: inout [UInt8]) -> Bool {
            guard index < json.count else { return false }
            let byte = json[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var scalar = hex4() else { return false }
                if (0xD800..<0xDC00).contains(scalar) {
                    guard json.count - index >= 2, json[index] == UInt8(ascii: "\\"), json[index + 1] == UInt8(ascii: "u") else { return false }
                    index += 2
                    guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return false }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { return false }
                out += Array(String(Character(unicode)).utf8)
            default:
                return false
            }
            return true
        }

        /// Four hex digits.
        mutating func hex4() -> UInt32? {
            guard json.count - index >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = UInt32(String(UnicodeScalar(json[index])), radix: 16) else { return nil }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
