/// Minimal JSON writing for the CLI's machine-readable output (no Foundation needed).
///
/// Strings escape what RFC 8259 requires (quotation mark, backslash, U+0000 to U+001F) and also
/// DEL, the C1 controls and the bidi overrides and isolates that `TerminalText` escapes, as
/// `\uXXXX`: the same string to a JSON reader, and output that is safe to show on a terminal.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func string(_ text: String) -> String {
        var copy = text
        var out: [UInt8] = []
        copy.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `utf8` (valid UTF-8) to `out` as a JSON string literal, quotes included, escaped
    /// as `string` escapes it: the byte-level writer behind `string`, for output that is built
    /// without `String`s (`spool replay`).
    public static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        appendEscaped(utf8, to: &out, jsonSyntax: true)
        out.append(UInt8(ascii: "\""))
    }

    /// Already-encoded JSON (such as the stored `headers` column) with raw DEL, C1 controls and
    /// bidi overrides written as `\uXXXX`, as `string` writes them; the value is unchanged.
    ///
    /// Valid JSON holds those characters only inside strings, where the escape means the same.
    public static func escapingControls(_ json: String) -> String {
        var copy = json
        var out: [UInt8] = []
        copy.withUTF8 { appendEscapingControls(UnsafeRawBufferPointer($0), to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends already-encoded JSON to `out` as `escapingControls` writes it.
    public static func appendEscapingControls(_ json: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendEscaped(json, to: &out, jsonSyntax: false)
    }

    /// Appends `bytes` with every character `TerminalText.needsEscape` accepts written as
    /// `\uXXXX` (`\n`, `\r` and `\t` by name; the byte patterns below are that set, which a unit
    /// test checks scalar by scalar); with `jsonSyntax` also the quotation mark and backslash,
    /// and C0 controls are escaped (without it, as in already-encoded JSON, they are left as
    /// they are).
    private static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8], jsonSyntax: Bool) {
        var runStart = 0
        var index = 0
        let count = bytes.count
        func flush(upTo end: Int) {
            if end > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end])) }
        }
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F && byte != 0x22 && byte != 0x5C {
                // Printable ASCII other than the quote and the backslash: the common case.
                index += 1
                continue
            }
            let (scalar, width) = escapedScalar(bytes, at: index, jsonSyntax: jsonSyntax)
            guard let scalar else {
                index += 1
                continue
            }
            flush(upTo: index)
            appendEscape(scalar, to: &out)
            index += width
            runStart = index
        }
        flush(upTo: count)
    }

    /// The scalar at `index` when it must be escaped, and how many bytes it takes.
    @inline(__always)
    private static func escapedScalar(_ bytes: UnsafeRawBufferPointer, at index: Int, jsonSyntax: Bool) -> (UInt32?, Int) {
        let byte = bytes[index]
        switch byte {
        case 0x22, 0x5C: return jsonSyntax ? (UInt32(byte), 1) : (nil, 1)
        case 0x00..<0x20: return jsonSyntax ? (UInt32(byte), 1) : (nil, 1)
        case 0x7F: return (0x7F, 1)
        case 0xC2:
            guard index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) else { return (nil, 1) }
            return (UInt32(bytes[index + 1]), 2)
        case 0xE2:
            guard index + 2 < bytes.count else { return (nil, 1) }
            let second = bytes[index + 1]
            let third = bytes[index + 2]
            if second == 0x80, (0xAA...0xAE).contains(third) { return (0x2000 + UInt32(third & 0x3F), 3) }
            if second == 0x81, (0xA6...0xA9).contains(third) { return (0x2040 + UInt32(third & 0x3F), 3) }
            return (nil, 1)
        default: return (nil, 1)
        }
    }

    /// Appends the escape of one scalar `escapedScalar` found.
    private static func appendEscape(_ scalar: UInt32, to out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        switch scalar {
        case 0x22: out += [backslash, UInt8(ascii: "\"")]
        case 0x5C: out += [backslash, backslash]
        case 0x0A: out += [backslash, UInt8(ascii: "n")]
        case 0x0D: out += [backslash, UInt8(ascii: "r")]
        case 0x09: out += [backslash, UInt8(ascii: "t")]
        default:
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            out += [backslash, UInt8(ascii: "u"), digits[Int(scalar >> 12 & 0xF)], digits[Int(scalar >> 8 & 0xF)],
                    digits[Int(scalar >> 4 & 0xF)], digits[Int(scalar & 0xF)]]
        }
    }

    /// A JSON number for a double (`null` for NaN and infinities, which JSON cannot hold).
    public static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }

    /// An object from already-encoded values, keys in the given order.
    public static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An array from already-encoded values.
    public static func array(_ values: [String]) -> String {
        "[" + values.joined(separator: ",") + "]"
    }

    /// An optional integer as a JSON number or `null`.
    public static func integer(_ value: Int64?) -> String {
        value.map { String($0) } ?? "null"
    }
}
