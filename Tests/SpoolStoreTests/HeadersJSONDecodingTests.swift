import Testing
@testable import SpoolStore

/// `HeadersJSON.decode`: the headers column read back without building JSON values.
@Suite("headers JSON decoding")
struct HeadersJSONDecodingTests {
    /// The decoded headers of `json` as (name, value) pairs, or nil when it is refused.
    static func decode(_ json: String) -> [(String, [UInt8]?)]? {
        var bytes: [UInt8] = []
        var spans: [HeadersJSON.Span] = []
        let ok = Array(json.utf8).withUnsafeBytes { HeadersJSON.decode($0, into: &bytes, spans: &spans) }
        guard ok else { return nil }
        return spans.map { (String(decoding: bytes[$0.name], as: UTF8.self), $0.value.map { Array(bytes[$0]) }) }
    }

    @Test("what encode writes: text, null, empty, base64, duplicates, in order")
    func encoderShapes() throws {
        let headers = try #require(Self.decode(#"[{"key":"h","value":"1"},{"key":"h","value":null},{"key":"e","value":""},{"key":"b","value_base64":"AP8="}]"#))
        #expect(headers.map(\.0) == ["h", "h", "e", "b"])
        #expect(headers.map(\.1) == [[49], nil, [], [0, 255]])
        #expect(Self.decode("[]")?.isEmpty == true)
    }

    @Test("any JSON spelling: whitespace, member order, every escape, surrogate pairs, key_base64")
    func spellings() throws {
        let headers = try #require(Self.decode(" [ { \"value\" : \"a\\\"b\\\\c\\/\\n\\t\\u0001\\u00e9\\ud83d\\ude00\" , \"key_base64\" : \"bmFtZQ==\" } ] "))
        #expect(headers.count == 1)
        #expect(headers[0].0 == "name")
        #expect(headers[0].1 == Array("a\"b\\c/\n\t\u{1}é😀".utf8))
    }

    @Test("what is not the documented shape is refused", arguments: [
        "", "[", "{}", "[{}]", #"[{"key":"a"}]"#, #"[{"value":"a"}]"#, #"[{"key":"a","value":"b","x":1}]"#,
        #"[{"key":"a","key":"b","value":null}]"#, #"[{"key":null,"value":null}]"#, #"[{"key":"a","value_base64":null}]"#,
        #"[{"key":"a","value_base64":"!!"}]"#, #"[{"key":"a","value":"b"}] x"#, #"[{"key":"a","value":"\ud800"}]"#,
        "[{\"key\":\"a\",\"value\":\"\u{1}\"}]", #"[{"key":"a","value":"\q"}]"#, #"[{"key":"a","value":"b"},]"#,
    ])
    func refused(json: String) {
        #expect(Self.decode(json) == nil, "\(json)")
    }
}
