/// A strict RFC 8259 JSON parser over UTF-8 bytes: the one JSON reader. It checks a document,
/// builds a `JSONValue` from it, or hands its pieces to a caller that reads one known shape
/// without building values (`HeadersJSON.decode`, on every record a replay or restore reads).
///
/// Checking (for JSON Schema payloads, on the ingest path) allocates nothing. Escapes must be
/// valid; nesting is limited to `maxDepth`; `StringRules` says what else a string must be.
package struct JSONParser {
    /// What a string must be beyond valid escapes, where callers need different things.
    package struct StringRules: Sendable {
        /// Whether a string's bytes must be well-formed UTF-8.
        package var validatesUTF8: Bool
        /// Whether a `\u` escape of a lone UTF-16 surrogate is an error; otherwise it is read
        /// as U+FFFD.
        package var rejectsLoneSurrogates: Bool

        /// A JSON document (schemas, registry answers, JSON Schema payloads): UTF-8 checked, a
        /// lone surrogate read as U+FFFD.
        package static let document = StringRules(validatesUTF8: true, rejectsLoneSurrogates: false)

        /// Text whose bytes must come back exactly (the `headers` column): bytes taken as they
        /// are, and a lone surrogate, which has no UTF-8 bytes, refused.
        package static let exactBytes = StringRules(validatesUTF8: false, rejectsLoneSurrogates: true)
    }

    private let bytes: UnsafeRawBufferPointer
    private let buildsValues: Bool
    private let rules: StringRules
    private var index = 0
    private var depth = 0
    /// The deepest nesting of arrays and objects accepted.
    package static let maxDepth = 512

    /// A parser at the start of `bytes`; `buildsValues` false only checks.
    package init(_ bytes: UnsafeRawBufferPointer, buildsValues: Bool, strings rules: StringRules = .document) {
        self.bytes = bytes
        self.buildsValues = buildsValues
        self.rules = rules
    }

    /// Whether `bytes` is one JSON document (surrounding whitespace allowed).
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var parser = JSONParser(bytes, buildsValues: false)
        return (try? parser.parseDocument()) != nil
    }

    /// The first syntax error in `bytes`, nil when it is one valid document.
    package static func firstError(in bytes: UnsafeRawBufferPointer) -> JSONSyntaxError? {
        var parser = JSONParser(bytes, buildsValues: false)
        do {
            _ = try parser.parseDocument()
            return nil
        } catch {
            return error
        }
    }

    /// The one value the bytes hold (`.null` when only checking); throws at the first error.
    package mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        let value = try parseValue()
        guard atEnd else { throw fail("unexpected text after the document") }
        return value
    }

    // MARK: pieces, for a reader of one known shape

    /// Whether only whitespace is left.
    package var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return index == bytes.count
        }
    }

    /// Consumes `byte` (after whitespace) when it is next.
    package mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Consumes the literal `null` (after whitespace) when it is next.
    package mutating func takeNull() -> Bool {
        skipWhitespace()
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l") else { return false }
        index += 4
        return true
    }

    /// Reads the string that comes next (after whitespace), appending its text to `out` as
    /// UTF-8, escapes resolved.
    package mutating func readString(into out: inout [UInt8]) throws(JSONSyntaxError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        _ = try scanString(into: &out)
    }

    /// Reads the string that comes next (after whitespace) without resolving its escapes: its
    /// text as written, quotes included, and whether it holds escapes (without any, the text
    /// between the quotes is the string's own).
    package mutating func readStringAsWritten() throws(JSONSyntaxError) -> (quoted: UnsafeRawBufferPointer, hasEscapes: Bool) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        let start = index
        var none = NoText()
        let hasEscapes = try scanString(into: &none)
        return (UnsafeRawBufferPointer(rebasing: bytes[start..<index]), hasEscapes)
    }

    // MARK: documents

    private func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(reason: reason, offset: index) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectWord(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("unexpected character")
        }
        index += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let name = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            let value = try parseValue()
            if buildsValues { members.append((name, value)) }
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            let element = try parseValue()
            if buildsValues { elements.append(element) }
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return .array(elements)
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit") }
        if bytes[index] == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit after '.'") }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("expected a digit in the exponent") }
            skipDigits()
        }
        guard buildsValues else { return .null }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// The string at `index` (its opening quote) as text; "" when only checking.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        var none = NoText()
        guard buildsValues else {
            _ = try scanString(into: &none)
            return ""
        }
        let start = index
        guard try scanString(into: &none) else {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)]), as: UTF8.self)
        }
        // Escapes: read it again, resolving them (it is known to be valid now).
        let end = index
        index = start
        var text: [UInt8] = []
        _ = try scanString(into: &text)
        index = end
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: strings

    /// Reads the string at `index` (its opening quote) up to and past its closing quote, its
    /// text going to `out` (runs without escapes at once). Returns whether it holds escapes.
    @inline(__always)
    private mutating func scanString(into out: inout some TextSink) throws(JSONSyntaxError) -> Bool {
        // Two copies of the loop, so that neither tests the rule byte by byte.
        rules.validatesUTF8 ? try scanString(into: &out, validatesUTF8: true) : try scanString(into: &out, validatesUTF8: false)
    }

    /// `scanString`, with the UTF-8 rule given.
    @inline(__always)
    private mutating func scanString(into out: inout some TextSink, validatesUTF8: Bool) throws(JSONSyntaxError) -> Bool {
        index += 1
        var runStart = index
        var hasEscapes = false
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw fail("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                hasEscapes = true
                out.append(scalar: try readEscape())
                runStart = index
            } else if byte < 0x80 || !validatesUTF8 {
                index += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        out.append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
        index += 1
        return hasEscapes
    }

    /// Reads the escape at `index` (its backslash): the scalar it stands for (U+FFFD for a lone
    /// surrogate, unless the rules refuse one).
    private mutating func readEscape() throws(JSONSyntaxError) -> UInt32 {
        guard index + 1 < bytes.count else { throw fail("unterminated escape") }
        let kind = bytes[index + 1]
        let scalar: UInt32
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = UInt32(kind)
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"):
            guard var code = hex4(at: index + 2) else { throw fail("bad \\u escape") }
            if (0xD800..<0xDC00).contains(code), bytes.count - index >= 12, bytes[index + 6] == UInt8(ascii: "\\"),
               bytes[index + 7] == UInt8(ascii: "u"), let low = hex4(at: index + 8), (0xDC00..<0xE000).contains(low) {
                code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                index += 12
                return code
            }
            if (0xD800..<0xE000).contains(code) {
                if rules.rejectsLoneSurrogates { throw fail("lone surrogate in a \\u escape") }
                code = 0xFFFD
            }
            index += 6
            return code
        default:
            throw fail("bad escape")
        }
        index += 2
        return scalar
    }

    /// The four hex digits at `at`, nil when they are not.
    private func hex4(at start: Int) -> UInt32? {
        guard start + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = Self.hexValue(bytes[start + offset]) else { return nil }
            value = value << 4 | digit
        }
        return value
    }

    private mutating func skipUTF8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[index]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        guard index + length <= bytes.count,
              UTF8Validation.isValid(UnsafeRawBufferPointer(rebasing: bytes[index..<index + length])) else {
            throw fail("string is not valid UTF-8")
        }
        index += length
    }

    /// The value of one hex digit, nil for any other byte.
    package static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

/// Where `JSONParser` puts a string's text while it reads it.
private protocol TextSink {
    /// Takes a run of the string's bytes as they are.
    mutating func append(_ run: UnsafeRawBufferPointer)
    /// Takes the scalar an escape stands for (not a surrogate).
    mutating func append(scalar: UInt32)
}

/// Drops the text: a string only checked.
private struct NoText: TextSink {
    func append(_ run: UnsafeRawBufferPointer) {}
    func append(scalar: UInt32) {}
}

/// Collects the text as UTF-8.
extension [UInt8]: TextSink {
    fileprivate mutating func append(_ run: UnsafeRawBufferPointer) {
        if !run.isEmpty { append(contentsOf: run) }
    }

    fileprivate mutating func append(scalar code: UInt32) {
        switch code {
        case 0..<0x80:
            append(UInt8(code))
        case 0x80..<0x800:
            append(UInt8(0xC0 | code >> 6))
            append(UInt8(0x80 | code & 0x3F))
        case 0x800..<0x10000:
            append(UInt8(0xE0 | code >> 12))
            append(UInt8(0x80 | code >> 6 & 0x3F))
            append(UInt8(0x80 | code & 0x3F))
        default:
            append(UInt8(0xF0 | code >> 18))
            append(UInt8(0x80 | code >> 12 & 0x3F))
            append(UInt8(0x80 | code >> 6 & 0x3F))
            append(UInt8(0x80 | code & 0x3F))
        }
    }
}
