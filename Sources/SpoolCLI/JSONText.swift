import SpoolModel

/// Minimal JSON writing for the CLI's machine-readable output (no Foundation needed).
///
/// Strings are written by `JSONWriter` with `.terminalControls`: they escape what RFC 8259
/// requires (quotation mark, backslash, U+0000 to U+001F) and also DEL, the C1 controls and the
/// bidi overrides and isolates that `TerminalText` escapes, as `\uXXXX`: the same string to a
/// JSON reader, and output that is safe to show on a terminal.
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
        JSONWriter.appendString(utf8, to: &out, escaping: .terminalControls)
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
        JSONWriter.appendEscapingTerminalControls(json: json, to: &out)
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
