/// Minimal JSON writing for the CLI's machine-readable output (no Foundation needed).
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
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
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
