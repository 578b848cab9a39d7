import Testing
@testable import SpoolCLI

/// `JSONText`'s string writer: what it escapes, scalar by scalar, against the rule written out.
@Suite("JSON text")
struct JSONTextTests {
    /// The escape the rule asks for: RFC 8259's, and `\uXXXX` for what a terminal would obey.
    static func expected(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\"": return "\\\""
        case "\\": return "\\\\"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            let value = scalar.value
            let terminal = value < 0x20 || (0x7F...0x9F).contains(value) || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            guard terminal else { return String(scalar) }
            let hex = String(value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }

    @Test func everyScalarUpToU3000AndSomeBeyondIsEscapedByTheRule() {
        let scalars = (0...0x3000).compactMap(Unicode.Scalar.init) + ["\u{FEFF}", "\u{1F600}", "\u{10FFFF}"]
        for scalar in scalars {
            let text = "a" + String(scalar) + "b"
            #expect(JSONText.string(text) == "\"a" + Self.expected(scalar) + "b\"", "U+\(String(scalar.value, radix: 16))")
        }
    }

    @Test func encodedJSONKeepsItsSyntaxAndLosesItsTerminalControls() {
        #expect(JSONText.escapingControls(#"[{"key":"a\"b","value":"x\#u{7f}\#u{9b}\#u{2066}y"}]"#)
            == #"[{"key":"a\"b","value":"x\u007f\u009b\u2066y"}]"#)
        #expect(JSONText.escapingControls("{\"a\":\n1}") == "{\"a\":\n1}", "layout between values stays")
    }

    @Test func truncatedSequencesAtTheEndAreLeftAlone() {
        var out: [UInt8] = []
        [UInt8]([0x61, 0xE2, 0x80]).withUnsafeBytes { JSONText.appendEscapingControls($0, to: &out) }
        #expect(out == [0x61, 0xE2, 0x80])
    }
}
