/// Writes JSON strings into UTF-8 byte buffers: the one JSON string writer, behind the stored
/// `headers`, `key_json` and `value_json` columns and the CLI's machine-readable output.
///
/// A string always escapes what RFC 8259 requires (quotation mark, backslash, U+0000 to
/// U+001F): `\"`, `\\`, `\n`, `\r`, `\t`, and `\u00XX` (lowercase hex) for the other controls.
/// `Escapes` adds what a caller needs beyond that; each caller keeps the spelling its output
/// has always had, so stored and printed bytes do not depend on which caller wrote them last.
///
/// The byte writer is `@inlinable` and always inlined: the Avro decoder and the `headers`
/// column escape every string of every record, and before this type each had its own copy
/// compiled into its module.
package enum JSONWriter {
    /// What a string escapes beyond the RFC 8259 minimum.
    package struct Escapes: OptionSet, Sendable {
        /// The option bits.
        package let rawValue: UInt8

        /// Makes the set from its bits.
        package init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Backspace and form feed as `\b` and `\f` instead of `\u0008` and `\u000c`: how decoded
        /// `key_json`/`value_json` and schema text spell them (the `headers` column does not).
        package static let namedBackspaceAndFormFeed = Escapes(rawValue: 1)

        /// DEL, the C1 controls and the bidi overrides and isolates as `\uXXXX` too: the same
        /// string to a JSON reader, and text that is safe to show on a terminal (the CLI's
        /// output; the set is `TerminalText.needsEscape`'s, which a unit test checks).
        package static let terminalControls = Escapes(rawValue: 2)
    }

    // The defaults are `Escapes(rawValue: 0)`, not `[]`: an OptionSet array literal is built
    // through SetAlgebra's generic sequence initializer, which callers in other modules ran
    // unspecialized for every string (generic metadata lookups per record header: ~6% of an
    // ingest of records with headers).

    /// Appends `utf8` (valid UTF-8) as a JSON string literal, quotes included.
    @inlinable @inline(__always)
    package static func appendString(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8], escaping escapes: Escapes = Escapes(rawValue: 0)) {
        out.append(UInt8(ascii: "\""))
        appendEscaped(utf8, to: &out, escapes: escapes, jsonSyntax: true)
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `text` as a JSON string literal, quotes included.
    package static func appendString(_ text: String, to out: inout [UInt8], escaping escapes: Escapes = Escapes(rawValue: 0)) {
        var copy = text
        copy.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out, escaping: escapes) }
    }

    /// Appends already-encoded JSON (such as a stored `headers` or `value_json` column) with the
    /// characters `.terminalControls` names written as `\uXXXX`; the value is unchanged, since
    /// valid JSON holds those characters only inside strings, where the escape means the same.
    package static func appendEscapingTerminalControls(json: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendEscaped(json, to: &out, escapes: .terminalControls, jsonSyntax: false)
    }

    /// Appends `bytes` as a JSON string holding their standard base64 (which needs no escapes).
    package static func appendBase64(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        Base64.encode(bytes, into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `bytes`, unescaped runs copied at once. With `jsonSyntax` the quotation mark, the
    /// backslash and C0 controls are escaped; without it (already-encoded JSON) they are left as
    /// they are and only the terminal controls `escapes` asks for are.
    @inlinable @inline(__always)
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8], escapes: Escapes, jsonSyntax: Bool) {
        // Two copies of the loop, so that neither tests the option byte by byte.
        let named = escapes.contains(.namedBackspaceAndFormFeed)
        if escapes.contains(.terminalControls) {
            appendEscaped(bytes, to: &out, named: named, jsonSyntax: jsonSyntax, terminal: true)
        } else {
            appendEscaped(bytes, to: &out, named: named, jsonSyntax: jsonSyntax, terminal: false)
        }
    }

    /// `appendEscaped`, with whether terminal controls are escaped given.
    @inlinable @inline(__always)
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8], named: Bool, jsonSyntax: Bool, terminal: Bool) {
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            // Printable ASCII other than the quote and the backslash (and, unless terminal
            // controls are escaped, every byte of a multi-byte character): the common case.
            if byte >= 0x20 && byte != 0x22 && byte != 0x5C && (byte < 0x7F || !terminal) {
                index += 1
                continue
            }
            let (scalar, width) = escapedScalar(bytes, at: index, jsonSyntax: jsonSyntax, terminal: terminal)
            guard let scalar else {
                index += 1
                continue
            }
            if index > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index])) }
            appendEscape(scalar, named: named, to: &out)
            index += width
            runStart = index
        }
        if count > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<count])) }
    }

    /// The scalar at `index` when it must be escaped, and how many bytes it takes.
    @inlinable @inline(__always)
    static func escapedScalar(_ bytes: UnsafeRawBufferPointer, at index: Int, jsonSyntax: Bool, terminal: Bool) -> (UInt32?, Int) {
        let byte = bytes[index]
        switch byte {
        case 0x22, 0x5C, 0x00..<0x20: return jsonSyntax ? (UInt32(byte), 1) : (nil, 1)
        case _ where !terminal: return (nil, 1)
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
    @inlinable
    static func appendEscape(_ scalar: UInt32, named: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch scalar {
        case 0x22, 0x5C: out.append(UInt8(scalar))
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08 where named: out.append(UInt8(ascii: "b"))
        case 0x0C where named: out.append(UInt8(ascii: "f"))
        default:
            out.append(UInt8(ascii: "u"))
            out.append(hexDigit(scalar >> 12 & 0xF))
            out.append(hexDigit(scalar >> 8 & 0xF))
            out.append(hexDigit(scalar >> 4 & 0xF))
            out.append(hexDigit(scalar & 0xF))
        }
    }

    /// The lowercase hex digit of `value` (0 to 15).
    @inlinable @inline(__always)
    static func hexDigit(_ value: UInt32) -> UInt8 {
        UInt8(truncatingIfNeeded: value < 10 ? 0x30 + value : 0x57 + value)
    }
}
