import SpoolModel

/// How decoded values that JSON has no type for are written.
///
/// - float/double: the shortest text that reads back as the same number; NaN and ±infinity
///   (not JSON numbers) as the strings "NaN", "Infinity", "-Infinity".
/// - decimal: an exact string ("-12.340"), since a JSON number would round through a double.
/// - date: "YYYY-MM-DD"; time-millis/micros: "HH:MM:SS.fff[fff]"; timestamp-*: ISO 8601 in UTC
///   with "Z" ("2024-01-31T12:34:56.789Z"), local-timestamp-* the same without "Z". These are
///   the forms SQLite's date and time functions read, and they sort as text in time order
///   (years 0 to 9999).
enum AvroLogicalText {
    /// Appends a floating-point value (`Float` or `Double`) as described above.
    static func appendNumber<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F, to out: inout [UInt8]) {
        if value.isNaN {
            out.append(contentsOf: "\"NaN\"".utf8)
        } else if value.isInfinite {
            out.append(contentsOf: (value < 0 ? "\"-Infinity\"" : "\"Infinity\"").utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    /// Appends `text` in quotes (for ASCII text that needs no escapes).
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: text.utf8)
        out.append(UInt8(ascii: "\""))
    }

    /// The civil date `days` after 1970-01-01, as "YYYY-MM-DD" (proleptic Gregorian).
    static func date(days: Int64) -> String {
        let (year, month, day) = CivilDate.fromDays(days)
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// A time of day from a count of 10^-`digits` seconds since midnight, as "HH:MM:SS.fff".
    static func timeOfDay(_ ticks: Int64, digits: Int) -> String {
        let perSecond = power10(digits)
        let (seconds, fraction) = floorDivide(ticks, perSecond)
        let (minutes, second) = floorDivide(seconds, 60)
        let (hours, minute) = floorDivide(minutes, 60)
        return "\(padded(hours, 2)):\(padded(minute, 2)):\(padded(second, 2)).\(padded(fraction, digits))"
    }

    /// An instant from a count of milli/micro/nanoseconds since the epoch, as ISO 8601.
    static func timestamp(_ ticks: Int64, _ logical: AvroLogicalType) -> String {
        let digits: Int
        switch logical {
        case .timestampMillis, .localTimestampMillis: digits = 3
        case .timestampMicros, .localTimestampMicros: digits = 6
        default: digits = 9
        }
        let isLocal = logical == .localTimestampMillis || logical == .localTimestampMicros || logical == .localTimestampNanos
        let (days, ticksOfDay) = floorDivide(ticks, 86_400 * power10(digits))
        return date(days: days) + "T" + timeOfDay(ticksOfDay, digits: digits) + (isLocal ? "" : "Z")
    }

    /// Appends the exact decimal text of a big-endian two's-complement integer scaled by 10^-scale.
    static func appendDecimal(twosComplement bytes: UnsafeRawBufferPointer, scale: Int, to out: inout [UInt8]) {
        let negative = (bytes.first ?? 0) & 0x80 != 0
        var magnitude = [UInt8](bytes)
        if negative {
            // Two's complement negate: invert, then add one.
            for index in magnitude.indices { magnitude[index] = ~magnitude[index] }
            var index = magnitude.count - 1
            while index >= 0 {
                magnitude[index] &+= 1
                if magnitude[index] != 0 { break }
                index -= 1
            }
        }
        var digits = decimalDigits(ofBigEndian: magnitude)
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        if negative && digits.contains(where: { $0 != "0" }) { out.append(UInt8(ascii: "-")) }
        if scale == 0 {
            out.append(contentsOf: digits.utf8)
        } else {
            out.append(contentsOf: digits.utf8.dropLast(scale))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits.utf8.suffix(scale))
        }
    }

    /// The base-10 digits of an unsigned big-endian integer of any length ("0" for zero).
    private static func decimalDigits(ofBigEndian bytes: [UInt8]) -> String {
        var limbs = bytes.drop { $0 == 0 }.map { UInt32($0) }
        var chunks: [UInt32] = []
        while !limbs.isEmpty {
            // Divide the base-256 number by 10^9, keeping the remainder as the next chunk.
            var remainder: UInt64 = 0
            var quotient: [UInt32] = []
            for limb in limbs {
                let current = remainder << 8 | UInt64(limb)
                let digit = current / 1_000_000_000
                remainder = current % 1_000_000_000
                if !quotient.isEmpty || digit != 0 { quotient.append(UInt32(digit)) }
            }
            chunks.append(UInt32(remainder))
            limbs = quotient
        }
        guard let top = chunks.last else { return "0" }
        return String(top) + chunks.dropLast().reversed().map { padded(Int64($0), 9) }.joined()
    }

    private static func power10(_ digits: Int) -> Int64 { (0..<digits).reduce(Int64(1)) { value, _ in value * 10 } }

    /// Floor division of `value` by a positive `divisor`: (quotient, remainder in 0..<divisor).
    /// Works from `%` so that no intermediate product can overflow (e.g. at `Int64.min`).
    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let text = String(value.magnitude)
        let body = text.count < width ? String(repeating: "0", count: width - text.count) + text : text
        return value < 0 ? "-" + body : body
    }
}
