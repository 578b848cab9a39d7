import SpoolModel

extension HeadersJSON {
    /// Where one decoded header's name and value lie in the byte buffer `decode` fills; `value`
    /// is nil for a null value.
    package typealias Span = (name: Range<Int>, value: Range<Int>?)

    /// Rebuilds the headers of a `headers` JSON array into `bytes` (names and values one after
    /// another) and `spans`, both emptied first; false when `json` is not the documented shape
    /// (the caller then reports the record). Reads what `encode` writes, and any JSON spelling of
    /// it (whitespace, member order, every string escape), with `JSONParser`'s pieces rather than
    /// JSON values: a restore or replay reads headers for every record. Strings are read by
    /// `JSONParser.StringRules.exactBytes`: their bytes as they are, a lone surrogate refused.
    package static func decode(_ json: UnsafeRawBufferPointer, into bytes: inout [UInt8], spans: inout [Span]) -> Bool {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        var reader = JSONParser(json, buildsValues: false, strings: .exactBytes)
        guard reader.take(UInt8(ascii: "[")) else { return false }
        if reader.take(UInt8(ascii: "]")) { return reader.atEnd }
        repeat {
            guard let span = header(&reader, into: &bytes) else { return false }
            spans.append(span)
        } while reader.take(UInt8(ascii: ","))
        return reader.take(UInt8(ascii: "]")) && reader.atEnd
    }

    /// The members a header object has.
    private enum Member { case key, keyBase64, value, valueBase64 }

    private static let keyName = Array("key".utf8), keyBase64Name = Array("key_base64".utf8)
    private static let valueName = Array("value".utf8), valueBase64Name = Array("value_base64".utf8)

    /// One `{"key"|"key_base64": ..., "value"|"value_base64": ...}` object, its text appended
    /// to `bytes`.
    private static func header(_ reader: inout JSONParser, into bytes: inout [UInt8]) -> Span? {
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var name: Range<Int>?
        var value: Range<Int>??
        repeat {
            guard let member = memberName(&reader), reader.take(UInt8(ascii: ":")) else { return nil }
            switch member {
            case .key, .keyBase64:
                guard name == nil, let range = field(&reader, base64: member == .keyBase64, into: &bytes) else { return nil }
                name = range
            case .value, .valueBase64:
                guard value == nil else { return nil }
                if member == .value, reader.takeNull() {
                    value = .some(nil)
                } else {
                    guard let range = field(&reader, base64: member == .valueBase64, into: &bytes) else { return nil }
                    value = .some(range)
                }
            }
        } while reader.take(UInt8(ascii: ","))
        guard reader.take(UInt8(ascii: "}")), let name, let value else { return nil }
        return (name, value)
    }

    /// The next member name, when it is one of the four (compared where it is written unless it
    /// holds escapes).
    private static func memberName(_ reader: inout JSONParser) -> Member? {
        guard let (quoted, hasEscapes) = try? reader.readStringAsWritten() else { return nil }
        guard hasEscapes else { return member(named: UnsafeRawBufferPointer(rebasing: quoted.dropFirst().dropLast())) }
        var name: [UInt8] = []
        var again = JSONParser(quoted, buildsValues: false, strings: .exactBytes)
        guard (try? again.readString(into: &name)) != nil else { return nil }
        return name.withUnsafeBytes { member(named: $0) }
    }

    /// The member `name` spells, if it is one of the four.
    private static func member(named name: UnsafeRawBufferPointer) -> Member? {
        if name.elementsEqual(keyName) { return .key }
        if name.elementsEqual(keyBase64Name) { return .keyBase64 }
        if name.elementsEqual(valueName) { return .value }
        if name.elementsEqual(valueBase64Name) { return .valueBase64 }
        return nil
    }

    /// A string field's bytes appended to `bytes` (base64-decoded when `base64`).
    private static func field(_ reader: inout JSONParser, base64: Bool, into bytes: inout [UInt8]) -> Range<Int>? {
        let start = bytes.count
        if !base64 {
            guard (try? reader.readString(into: &bytes)) != nil else { return nil }
            return start..<bytes.count
        }
        var text: [UInt8] = []
        guard (try? reader.readString(into: &text)) != nil, let decoded = Base64.decode(String(decoding: text, as: UTF8.self)) else { return nil }
        bytes += decoded
        return start..<bytes.count
    }
}
