/// Minimal JSON writing for the CLI's machine-readable output (no Foundation needed).
///
/// Strings escape what RFC 8259 requires (quotation mark, backslash, U+0000 to U+001F) and also
/// DEL, the C1 controls and the bidi overrides and isolates that `TerminalText` escapes, as
/// `\uXXXX`: the same string to a JSON reader, and output that is safe to show on a terminal.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                appendEscaped(scalar, to: &out)
            }
        }
        return out + "\""
    }

    /// Already-encoded JSON (such as the stored `headers` column) with raw DEL, C1 controls and
    /// bidi overrides written as `\uXXXX`, as `string` writes them; the value is unchanged.
    ///
    /// Valid JSON holds those characters only inside strings, where the escape means the same.
    public static func escapingControls(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { TerminalText.needsEscape($0) && $0.value >= 0x20 }) else { return json }
        var out = ""
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x20 { appendEscaped(scalar, to: &out) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Appends `scalar` as `\uXXXX` when `TerminalText` escapes it, else as it is.
    private static func appendEscaped(_ scalar: Unicode.Scalar, to out: inout String) {
        guard TerminalText.needsEscape(scalar) else {
            out.unicodeScalars.append(scalar)
            return
        }
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
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
