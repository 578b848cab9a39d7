import SpoolModel
import Testing
@testable import SpoolStore

@Suite("Header JSON, base64 and UTF-8 rules")
struct HeadersJSONTests {
    private func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { UTF8Validation.isValid($0) } }

    @Test func utf8ValidationFollowsTheStandard() {
        #expect(valid(Array("plain ascii".utf8)))
        #expect(valid(Array("größe 名前 😀".utf8)))
        #expect(valid([]))
        #expect(!valid([0xC0, 0xAF]), "overlong slash")
        #expect(!valid([0xE0, 0x80, 0xAF]), "overlong three-byte form")
        #expect(!valid([0xED, 0xA0, 0x80]), "a UTF-16 surrogate")
        #expect(!valid([0xF4, 0x90, 0x80, 0x80]), "above U+10FFFF")
        #expect(!valid([0xE9]), "Latin-1 é")
        #expect(!valid([0x61, 0xE2, 0x82]), "cut off")
        #expect(!valid([0x80]), "a lone continuation byte")
    }

    @Test func base64RoundTripsAndRejectsWhatIsNotBase64() {
        for bytes: [UInt8] in [[], [0], [0, 255], [1, 2, 3], [0xFB, 0xFF, 0xBF, 0x00], Array(0...255)] {
            let text = Base64.encode(bytes)
            #expect(text.count % 4 == 0)
            #expect(Base64.decode(text) == bytes, "\(bytes)")
        }
        #expect(Base64.encode([0, 255]) == "AP8=")
        #expect(Base64.encode(Array("Man".utf8)) == "TWFu")
        for bad in ["A", "AP8", "AP=8", "A===", "AP8*", "=AAA"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func textValuesAreEscapedAndOthersAreBase64() {
        let batch = MessageBatch([Message(key: nil, value: nil, topic: "t", partition: 0, offset: 0, timestamp: 0, headers: [
            MessageHeader(name: "q", value: Array("say \"hi\"\\\n\u{1}".utf8)),
            MessageHeader(name: "nul", value: [0x61, 0x00]),
            MessageHeader(name: "n", value: nil),
            MessageHeader(name: "e", value: []),
        ])])
        var out: [UInt8] = []
        batch.withPayloads { HeadersJSON.encode($0, row: 0, into: &out) }
        #expect(String(decoding: out, as: UTF8.self)
                == #"[{"key":"q","value":"say \"hi\"\\\n\u0001"},{"key":"nul","value_base64":"YQA="},{"key":"n","value":null},{"key":"e","value":""}]"#)
    }
}
