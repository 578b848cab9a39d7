import Foundation
import SpoolStore
import Testing
@testable import SpoolCLI

/// What reaches a terminal: control characters as escapes; the machine formats keep the data.
@Suite("Text safe for a terminal")
struct TerminalTextTests {
    @Test func controlCharactersBecomeSwiftStyleEscapes() {
        let hostile = "a\u{1B}[2Jb\r\n\0\u{7}\u{7F}\u{9B}\u{202E}x\u{2066}\t"
        #expect(TerminalText.safe(hostile) == #"a\u{1b}[2Jb\r\n\0\u{7}\u{7f}\u{9b}\u{202e}x\u{2066}\t"#)
        // A CR LF pair is one Character in Swift; both halves are still escaped.
        #expect(TerminalText.safe("a\r\nb") == #"a\r\nb"#)
        #expect(TerminalText.safe("l1\nl2\u{1B}\r\n", keepingLineBreaks: true) == "l1\nl2\\u{1b}\\r\n")
    }

    @Test func theEscapedSetEndsExactlyAtItsBoundaries() {
        let escaped: [UInt32] = [0x00, 0x08, 0x09, 0x0A, 0x0B, 0x1F, 0x7F, 0x80, 0x85, 0x9F, 0x202A, 0x202C, 0x202E, 0x2066, 0x2069]
        let kept: [UInt32] = [0x20, 0x7E, 0xA0, 0xE9, 0x200E, 0x200F, 0x2029, 0x202F, 0x2065, 0x206A, 0x1F600]
        for value in escaped {
            let text = String(Character(Unicode.Scalar(value)!))
            #expect(TerminalText.safe(text) != text && TerminalText.safe(text).allSatisfy { $0.isASCII }, "U+\(String(value, radix: 16))")
        }
        for value in kept {
            let text = String(Character(Unicode.Scalar(value)!))
            #expect(TerminalText.safe(text) == text, "U+\(String(value, radix: 16))")
        }
    }

    @Test func plainTextAndBackslashesStayAsTheyAre() {
        for text in ["", "orders.v1", "héllo 😀 עברית", #"C:\temp \n is two characters"#] {
            #expect(TerminalText.safe(text) == text)
        }
        let once = TerminalText.safe("x\u{1B}y\n\u{9B}")
        #expect(TerminalText.safe(once) == once, "escaping twice changes nothing more")
    }

    @Test func jsonEscapesEveryControlAndStaysTheSameValue() throws {
        let text = "\u{1B}[2J\u{7F}\u{9B}\u{202E}\0\"\\\r"
        let encoded = JSONText.string(text)
        #expect(encoded == #""\u001b[2J\u007f\u009b\u202e\u0000\"\\\r""#)
        let decoded = try JSONSerialization.jsonObject(with: Data(encoded.utf8), options: .fragmentsAllowed) as? String
        #expect(decoded == text)
        let stored = "[{\"key\":\"k\u{202E}\",\"value\":\"a\u{7F}b\u{9B}\"}]"
        #expect(JSONText.escapingControls(stored) == #"[{"key":"k\u202e","value":"a\u007fb\u009b"}]"#)
        #expect(JSONText.escapingControls(#"[{"key":"k","value":null}]"#) == #"[{"key":"k","value":null}]"#)
    }

    @Test func tableCellsAndNamesAreEscapedAndWidthsCountTheEscapes() {
        var out = ""
        var formatter = QueryOutputFormatter(format: .table, blobs: .text) { out += $0 }
        formatter.begin(columns: ["k\u{7}", "v"])
        formatter.add([.text("\u{1B}[2J"), .blob(Array("r\rn".utf8))])
        formatter.add([.text("a"), .blob([0x1B, 0xFF])])
        formatter.end()
        #expect(out == """
            k\\u{7}     v
            ---------  -------
            \\u{1b}[2J  r\\rn
            a          x'1bff'
            (2 rows)

            """)
    }

    @Test func aLongCellIsNotCutInsideAnEscape() {
        func cell(_ text: String) -> String {
            var out = ""
            var formatter = QueryOutputFormatter(format: .table, blobs: .text) { out += $0 }
            formatter.begin(columns: ["c"])
            formatter.add([.text(text)])
            formatter.end()
            return String(out.split(separator: "\n")[2])
        }
        let x76 = String(repeating: "x", count: 76), x78 = String(repeating: "x", count: 78)
        #expect(cell(x76 + "\u{1B}abc") == x76 + "…")
        #expect(cell(x78 + "\n") == x78 + "\\n")
        #expect(cell(x78 + "\n" + "y") == x78 + "…")
        #expect(cell(x76 + "\u{1B}" + String(repeating: "y", count: 10)) == x76 + "…")
    }

    @Test func csvKeepsTheBytesAndQuotesLineBreaks() {
        var out = ""
        var formatter = QueryOutputFormatter(format: .csv, blobs: .text) { out += $0 }
        formatter.begin(columns: ["v"])
        formatter.add([.text("a\u{1B}[2Jb")])
        formatter.add([.text("c\rd")])
        formatter.end()
        #expect(out == "v\na\u{1B}[2Jb\n\"c\rd\"\n")
    }
}
