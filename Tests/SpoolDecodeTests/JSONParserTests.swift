import Testing
@testable import SpoolDecode
import SpoolModel

@Suite("Strict JSON parsing and JSONValue")
struct JSONParserTests {
    private func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { JSONParser.isValid($0) } }
    private func isValid(_ text: String) -> Bool { isValid(Array(text.utf8)) }
    private func firstError(_ bytes: [UInt8]) -> JSONSyntaxError? { bytes.withUnsafeBytes { JSONParser.firstError(in: $0) } }
    private func firstError(_ text: String) -> JSONSyntaxError? { firstError(Array(text.utf8)) }

    private func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        do {
            return try JSONValue(parsing: text)
        } catch {
            Issue.record("\(text) does not parse: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    // MARK: valid documents

    @Test(arguments: [
        "0", "-0", "1", "-1", "12.5", "1e5", "1E5", "1e+5", "1e-5", "-1.25E-10", "0.0", "123456789012345678901234567890",
        "true", "false", "null", #""""#, #""a""#, "[]", "{}", " \t\r\n[ 1 , 2 ]\n ",
        #"{"a":[1,{"b":null,"c":[true,false]}],"d":{"e":{}},"f":-0.5e3}"#,
        #""\"\\\/\b\f\n\r\t\u0041\u00e9\uD83D\uDE00""#,
        "\"é 名前 😀\"", #"[[[[[]]]]]"#, #"{"":""}"#, #"{"a":1,"a":2}"#,
    ])
    func validDocuments(text: String) {
        #expect(isValid(text))
        #expect(firstError(text) == nil)
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("   ", "unexpected end of input"),
        ("[1,]", "unexpected character"),
        (#"{"a":1,}"#, "expected a member name"),
        ("[1 2]", "expected ',' or ']'"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        ("{1:2}", "expected a member name"),
        ("01", "unexpected text after the document"),
        ("[01]", "expected ',' or ']'"),
        ("-", "expected a digit"),
        ("-a", "expected a digit"),
        ("+1", "unexpected character"),
        (".5", "unexpected character"),
        ("1.", "expected a digit after '.'"),
        ("1.e5", "expected a digit after '.'"),
        ("1e", "expected a digit in the exponent"),
        ("1e+", "expected a digit in the exponent"),
        ("\"abc", "unterminated string"),
        ("\"a\u{1}b\"", "control character in a string"),
        ("\"a\nb\"", "control character in a string"),
        ("\"a\tb\"", "control character in a string"),
        (#""\x""#, "bad escape"),
        (#""\u12""#, #"bad \u escape"#),
        (#""\u12G4""#, #"bad \u escape"#),
        (#""\"#, "unterminated escape"),
        ("{} {}", "unexpected text after the document"),
        ("1 2", "unexpected text after the document"),
        ("nul", "unexpected end of input"),
        ("nulL", "unexpected character"),
        ("True", "unexpected character"),
        ("[true false]", "expected ',' or ']'"),
        ("NaN", "unexpected character"),
        ("[", "unexpected end of input"),
        (#"{"a":"#, "unexpected end of input"),
        ("'a'", "unexpected character"),
    ])
    func invalidDocuments(text: String, reason: String) {
        #expect(!isValid(text))
        #expect(firstError(text)?.reason == reason)
    }

    @Test func errorOffsetPointsAtTheProblem() {
        #expect(firstError("[1,]") == JSONSyntaxError(reason: "unexpected character", offset: 3))
        #expect(firstError("01")?.offset == 1)
        #expect(firstError("\"abc")?.offset == 4)
        #expect(firstError(#"{"a":1 x"#)?.offset == 7)
        #expect(firstError("[1,]")?.description == "invalid JSON at byte 3: unexpected character")
    }

    @Test func invalidUTF8InAStringIsRejected() {
        let quote = UInt8(ascii: "\"")
        for bad: [UInt8] in [[0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82]] {
            let document = [quote] + bad + [quote]
            #expect(!isValid(document), "\(bad)")
            #expect(firstError(document)?.reason == "string is not valid UTF-8", "\(bad)")
        }
        #expect(isValid([quote, 0xC3, 0xA9, quote]), "é")
        #expect(isValid([quote, 0xF0, 0x9F, 0x98, 0x80, quote]), "😀")
    }

    @Test func invalidUTF8OutsideAStringIsRejected() {
        #expect(firstError([0xFF])?.reason == "unexpected character")
        #expect(!isValid([UInt8(ascii: "["), 0xC3, 0xA9, UInt8(ascii: "]")]))
    }

    @Test func byteOrderMarkIsNotJSON() {
        #expect(!isValid([0xEF, 0xBB, 0xBF] + Array("{}".utf8)))
    }

    @Test func nestingLimit() {
        let limit = JSONParser.maxDepth
        #expect(limit == 512)
        #expect(isValid(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)))
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(firstError(tooDeep)?.reason == "nested deeper than 512 levels")
        let objects = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        #expect(firstError(objects)?.reason == "nested deeper than 512 levels")
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: tooDeep) }
    }

    @Test(.timeLimit(.minutes(1)))
    func veryDeepInputFailsWithoutOverflowingTheStack() {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(firstError(deep)?.reason == "nested deeper than 512 levels")
    }

    // MARK: JSONValue

    @Test func buildsNestedValues() throws {
        let value = try parse(#" {"name":"x","list":[1,true,null,"s",{"k":[]}],"n":-2.5e-3} "#)
        #expect(value == .object([
            ("name", .string("x")),
            ("list", .array([.number("1"), .bool(true), .null, .string("s"), .object([("k", .array([]))])])),
            ("n", .number("-2.5e-3")),
        ]))
        #expect(value["name"]?.stringValue == "x")
        #expect(value["list"]?.arrayValue?.count == 5)
        #expect(value["missing"] == nil)
        #expect(value["n"]?.intValue == nil)
        #expect(JSONValue.array([])["name"] == nil)
    }

    @Test func keepsBigIntegersExact() throws {
        let value = try parse(#"{"id":12345678901234567890123,"small":9007199254740993,"neg":-9223372036854775808}"#)
        #expect(value["id"] == .number("12345678901234567890123"))
        #expect(value["id"]?.intValue == nil)
        #expect(value["small"]?.intValue == 9_007_199_254_740_993)
        #expect(value["neg"]?.intValue == Int.min)
        #expect(value.jsonText == #"{"id":12345678901234567890123,"small":9007199254740993,"neg":-9223372036854775808}"#)
    }

    @Test func unescapesStrings() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u00E9\u540d""#) == .string("Aéé名"))
        #expect(try parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try parse(#""a\ud83d\ude00b""#) == .string("a😀b"))
        #expect(try parse(#""x\u0000y""#) == .string("x\u{0}y"))
        #expect(try parse(#""é\n名""#) == .string("é\n名"))
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try parse(#""\uD800""#) == .string("\u{FFFD}"))
        #expect(try parse(#""\uDC00x""#) == .string("\u{FFFD}x"))
        #expect(try parse(#""\uD800\u0041""#) == .string("\u{FFFD}A"))
    }

    @Test func objectsKeepDocumentOrderAndDuplicates() throws {
        let value = try parse(#"{"b":1,"a":2,"b":3}"#)
        guard case .object(let members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.0) == ["b", "a", "b"])
        #expect(value["b"] == .number("1"))
        #expect(value.jsonText == #"{"b":1,"a":2,"b":3}"#)
    }

    @Test(arguments: [
        #"{"a":[1,2.50,-3e+7,true,false,null],"b":{"c":"d\"e\\f\n\u0001"},"":[]}"#,
        #"[]"#, #"{}"#, #""plain""#, "0", "-0.0", "[[[]],{}]", "\"é😀\"", #""\u001f\u007f""#,
    ])
    func jsonTextRoundTrips(text: String) throws {
        let value = try parse(text)
        let written = value.jsonText
        #expect(try parse(written) == value)
        #expect(try parse(written).jsonText == written)
    }

    @Test func jsonTextIsCompactAndCanonicallyEscaped() throws {
        #expect(try parse(" [ 1 , { \"a\" : \"\\/\\u0041\" } ] ").jsonText == #"[1,{"a":"/A"}]"#)
        #expect(try parse(#""\u0001\b""#).jsonText == #""\u0001\b""#)
        #expect(JSONValue.string("tab\there").jsonText == #""tab\there""#)
        #expect(JSONValue.object([("k", .array([.null, .bool(false)]))]).jsonText == #"{"k":[null,false]}"#)
    }

    @Test func equalityComparesStructure() {
        #expect(JSONValue.number("1") != .number("1.0"))
        #expect(JSONValue.object([("a", .null)]) != .object([("a", .null), ("b", .null)]))
        #expect(JSONValue.object([("a", .null), ("b", .null)]) != .object([("b", .null), ("a", .null)]))
        #expect(JSONValue.array([.string("x")]) == .array([.string("x")]))
        #expect(JSONValue.null != .bool(false))
    }

    @Test func parseErrorsAreTyped() throws {
        let error = #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: "[1,") }
        #expect(error?.reason == "unexpected end of input")
        #expect(error?.offset == 3)
    }
}
