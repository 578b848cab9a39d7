import SpoolModel

/// Parses and prints the times the CLI accepts: ISO-8601 in UTC or with an offset, epoch
/// milliseconds, and durations such as `2h30m`. Pure Swift, no locale involved.
public enum TimeText {
    /// Parses `now`, epoch milliseconds (`1700000000000`), or ISO-8601
    /// (`2026-11-01`, `2026-11-01T00:00:00Z`, `2026-11-01T02:00:00.250+02:00`) into Unix ms.
    public static func parseInstant(_ text: String, nowMs: Int64) -> Int64? {
        let trimmed = text.trimmingWhitespace()
        if trimmed == "now" { return nowMs }
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isNumber) { return Int64(trimmed) }
        return parseISO8601(trimmed)
    }

    /// Parses ISO-8601 date or date-time into Unix milliseconds; a time without zone is refused.
    public static func parseISO8601(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= chars.count else { return nil }
            var value = 0
            for _ in 0..<digits {
                let c = chars[index]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
                index += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard index < chars.count, chars[index] == c else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
              let day = number(2), (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day) else { return nil }
        var millis = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400_000
        if index == chars.count { return millis }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")) || expect(UInt8(ascii: "t")),
              let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2),
              hour < 24, minute < 60 else { return nil }
        var second = 0
        var fraction: Int64 = 0
        if expect(UInt8(ascii: ":")) {
            guard let s = number(2), s < 61 else { return nil }
            second = s
            if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
                var digits = 0
                var value: Int64 = 0
                while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                    if digits < 3 { value = value * 10 + Int64(chars[index] - 48) }
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<max(digits, 3) { value *= 10 }
                fraction = value
            }
        }
        millis += Int64(hour) * 3_600_000 + Int64(minute) * 60_000 + Int64(second) * 1_000 + fraction
        guard index < chars.count else { return nil }
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) {
            return index == chars.count ? millis : nil
        }
        let sign: Int64
        if expect(UInt8(ascii: "+")) { sign = 1 } else if expect(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let offsetHours = number(2) else { return nil }
        _ = expect(UInt8(ascii: ":"))
        guard let offsetMinutes = number(2), index == chars.count, offsetHours < 24, offsetMinutes < 60 else { return nil }
        return millis - sign * (Int64(offsetHours) * 3_600_000 + Int64(offsetMinutes) * 60_000)
    }

    /// Parses a duration such as `2h30m`, `90s`, `1d`, `500ms` or `1w` into milliseconds.
    public static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)]
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, scale) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            guard !overflow else { return nil }
            total += product
        }
        return total
    }

    /// Unix milliseconds as ISO-8601 in UTC with milliseconds: `2026-11-01T00:00:00.000Z`.
    public static func iso8601(_ ms: Int64) -> String {
        let days = Int(floorDiv(ms, 86_400_000))
        let inDay = ms - Int64(days) * 86_400_000
        let (year, month, day) = civilFromDays(days)
        let hour = inDay / 3_600_000
        let minute = inDay / 60_000 % 60
        let second = inDay / 1_000 % 60
        let millis = inDay % 1_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(Int64(year), 4))-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millis, 3))Z"
    }

    /// A duration in milliseconds as `1d2h3m4s` (the largest units, no zero parts).
    public static func durationText(_ ms: Int64) -> String {
        if ms < 1_000 { return "\(ms)ms" }
        var rest = ms / 1_000
        var parts = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            parts += "\(rest / size)\(unit)"
            rest %= size
        }
        return parts
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        Int(CivilDate.days(year: Int64(year), month: Int64(month), day: Int64(day)))
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let date = CivilDate.fromDays(Int64(days))
        return (Int(date.year), Int(date.month), Int(date.day))
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    package func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
