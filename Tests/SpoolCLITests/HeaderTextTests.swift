import Testing
@testable import SpoolCLI

@Suite("Header JSON for display")
struct HeaderTextTests {
    @Test func spoolsHeaderJSONIsRead() {
        let entries = HeaderText.parse(#"[{"key":"t","value":"a\"b\u00e9\ud83d\ude00"},{"key":"n","value":null},{"key":"b","value_base64":"AP8="}]"#)
        #expect(entries == [
            HeaderText.Entry(name: "t", value: "a\"bé😀", isBase64: false),
            HeaderText.Entry(name: "n", value: nil, isBase64: false),
            HeaderText.Entry(name: "b", value: "AP8=", isBase64: true),
        ])
        #expect(entries.map(HeaderText.compact) == "t=a\"bé😀, n=NULL, b=b64:AP8=")
    }

    @Test func anythingElseIsNotHeaderJSON() {
        for text in ["", "not json", "{}", "[1]", #"[{"key":"a"}]"#, #"[{"key":"a","value":1}]"#, #"[{"key":"a","value":"b"}] x"#,
                     #"[{"key":"a","value":"b","value_base64":"AA=="}]"#, "[{\"key\":\"a\",\"value\":\"line\nbreak\"}]"] {
            #expect(HeaderText.parse(text) == nil, "\(text)")
        }
        #expect(HeaderText.parse("[]") == [])
    }
}
