import Foundation
import KafkaReplay
import Testing
@testable import SpoolCLI

/// `spool replay`'s record formats, checked against lines written out by hand.
@Suite("Replay output formats")
struct ReplayOutputFormatterTests {
    /// A record with a null key, an empty value, no timestamp, and duplicate, null and binary headers.
    static let awkward = Message(key: nil, value: [], topic: "t", partition: 2, offset: 7, timestamp: -1,
                                 headers: [MessageHeader(name: "h", value: Array("a".utf8)), MessageHeader(name: "h", value: nil),
                                           MessageHeader(name: "bin", value: [0, 255])])

    static func render(_ messages: [Message], format: ReplayOutputFormatter.Format, blobs: BlobStyle = .text,
                       decoded: DecodedColumns? = nil) -> String {
        let batch = MessageBatch(messages)
        let formatter = ReplayOutputFormatter(format: format, blobs: blobs)
        var out = Array(formatter.preamble.utf8)
        formatter.append(batch, rows: batch.indices, decoded: decoded, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func jsonlWritesEveryFieldExactly() {
        let plain = Message(key: Array("k1".utf8), value: Array("{\"a\":1}".utf8), topic: "orders.v1", partition: 0, offset: 12_345_678_901,
                            timestamp: 1_793_491_200_000)
        #expect(Self.render([Self.awkward, plain], format: .jsonl) == """
            {"topic":"t","partition":2,"offset":7,"timestamp":-1,"key":null,"value":"","headers":[{"key":"h","value":"a"},{"key":"h","value":null},{"key":"bin","value_base64":"AP8="}]}
            {"topic":"orders.v1","partition":0,"offset":12345678901,"timestamp":1793491200000,"key":"k1","value":"{\\"a\\":1}","headers":null}

            """)
    }

    @Test func blobsAreTextHexOrBase64AndControlsAreEscaped() {
        let message = Message(key: [0xff, 0x00, 0x41], value: Array("a\u{1b}[31m\u{202e}\"\\\n\u{85}é\0".utf8), topic: "t", partition: 0,
                              offset: 0, timestamp: 5)
        let head = #"{"topic":"t","partition":0,"offset":0,"timestamp":5,"#
        #expect(Self.render([message], format: .jsonl) == head + #""key":"ff0041","value":"a\u001b[31m\u202e\"\\\n\u0085é\u0000","headers":null}"# + "\n")
        #expect(Self.render([message], format: .jsonl, blobs: .hex) == head + #""key":"ff0041","value":"611b5b33316de280ae225c0ac285c3a900","headers":null}"# + "\n")
        #expect(Self.render([message], format: .jsonl, blobs: .base64) == head + #""key":"/wBB","value":"YRtbMzFt4oCuIlwKwoXDqQA=","headers":null}"# + "\n")
    }

    @Test func decodedJSONIsEmbeddedOnlyForDecodedRecords() {
        var decoded = DecodedColumns()
        decoded.appendRow { _ in .none }
        decoded.appendRow { writer in
            writer.begin()
            writer.bytes += Array(#"{"id":7,"note":"x\#u{7f}"}"#.utf8)
            writer.finishValue()
            return .decoded
        }
        let messages = [Message(key: nil, value: [1], topic: "t", partition: 0, offset: 0, timestamp: 1),
                        Message(key: nil, value: [0, 0, 0, 0, 1, 2], topic: "t", partition: 0, offset: 1, timestamp: 2)]
        let lines = Self.render(messages, format: .jsonl, blobs: .base64, decoded: decoded).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first.map(String.init) == #"{"topic":"t","partition":0,"offset":0,"timestamp":1,"key":null,"value":"AQ==","headers":null}"#)
        #expect(lines.last.map(String.init)
            == #"{"topic":"t","partition":0,"offset":1,"timestamp":2,"key":null,"value":"AAAAAAEC","headers":null,"key_json":null,"value_json":{"id":7,"note":"x\u007f"}}"#)
        let object = lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect((object?["value_json"] as? [String: Any])?["id"] as? Int == 7, "value_json is embedded JSON, not a string")
    }

    @Test func csvHasAHeaderRowAndQuotesWhatNeedsIt() {
        let message = Message(key: Array("a,b".utf8), value: Array("say \"hi\"\n".utf8), topic: "t", partition: 1, offset: 3, timestamp: 9,
                              headers: [MessageHeader(name: "h", value: nil)])
        #expect(Self.render([message, Self.awkward], format: .csv) == """
            topic,partition,offset,timestamp,key,value,headers,key_json,value_json
            t,1,3,9,"a,b","say ""hi""
            ","[{""key"":""h"",""value"":null}]",,
            t,2,7,-1,,,"[{""key"":""h"",""value"":""a""},{""key"":""h"",""value"":null},{""key"":""bin"",""value_base64"":""AP8=""}]",,

            """)
    }

    @Test func theTableIsSafeOnATerminal() {
        let message = Message(key: Array("k".utf8), value: Array("x\u{1b}[2Jy".utf8), topic: "t", partition: 0, offset: 4,
                              timestamp: 1_793_491_200_000, headers: [MessageHeader(name: "h", value: Array("v".utf8))])
        let lines = Self.render([message, Self.awkward], format: .table).split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.first?.hasPrefix("timestamp") == true && lines.first?.contains("value") == true)
        #expect(lines[2].hasPrefix("2026-11-01T00:00:00.000Z  t[0]@4"), "\(lines[2])")
        #expect(lines[2].contains(#"x\u{1b}[2Jy"#) && lines[2].hasSuffix("h=v"), "\(lines[2])")
        #expect(!lines.joined().unicodeScalars.contains { $0.value == 0x1b })
        #expect(lines[3].contains("NULL") && lines[3].hasSuffix("h=a, h=NULL, bin=b64:AP8="), "\(lines[3])")
    }

    @Test func onlyTheRowsAskedForAreWritten() {
        let messages = (0..<5).map { Message(key: nil, value: nil, topic: "t", partition: 0, offset: Int64($0), timestamp: 0) }
        let batch = MessageBatch(messages)
        var out: [UInt8] = []
        ReplayOutputFormatter(format: .jsonl, blobs: .text).append(batch, rows: 1..<3, decoded: nil, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == """
            {"topic":"t","partition":0,"offset":1,"timestamp":0,"key":null,"value":null,"headers":null}
            {"topic":"t","partition":0,"offset":2,"timestamp":0,"key":null,"value":null,"headers":null}

            """)
    }

    @Test func decimalsCoverTheWholeRange() {
        for value in [Int64.min, -1, 0, 9, 10, 1_234_567_890_123, Int64.max] {
            var out: [UInt8] = []
            ReplayOutputFormatter.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == "\(value)")
        }
    }
}
