/// Human-readable byte counts and rates.
public enum ByteText {
    /// `1536` → `1.5 KiB`.
    public static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(oneDecimal(value)) \(units[unit])"
    }

    /// Parses a size such as `2GB`, `500MB`, `1.5GiB`, `64KiB` or `1000000` (bytes): KB, MB,
    /// GB and TB are powers of 1000, KiB, MiB, GiB and TiB powers of 1024 (case-insensitive, a
    /// trailing B optional after K/M/G/T). Nil for anything else, zero or an overflow.
    public static func parseSize(_ text: String) -> Int64? {
        let trimmed = text.trimmingWhitespace().lowercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = String(trimmed.dropFirst(number.count)).trimmingWhitespace()
        let scales: [String: Double] = ["": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
                                        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776]
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, let value = Double(number),
              let scale = scales[String(unit)] else { return nil }
        let bytes = (value * scale).rounded()
        guard bytes >= 1, bytes < 9e18 else { return nil }
        return Int64(bytes)
    }

    /// A count with thousands separators: `1234567` → `1,234,567`.
    public static func count(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, char) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(char)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// One decimal place, without Foundation's formatting.
    public static func oneDecimal(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
