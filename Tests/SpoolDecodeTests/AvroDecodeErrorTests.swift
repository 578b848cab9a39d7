import Testing
@testable import SpoolDecode

@Suite("Avro payloads that do not match their schema")
struct AvroDecodeErrorTests {
    private typealias E = AvroTestEncoder

    private func error(_ schema: String, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> AvroDecodeError {
        try AvroTestDecoding.error(schema, payload, sourceLocation: sourceLocation)
    }

    private static let linkedList = #"""
    {"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}
    """#

    private func linkedList(length: Int) -> [UInt8] {
        E.encode { e in
            for position in 0..<length {
                e.int(Int32(position % 100))
                e.branch(position == length - 1 ? 0 : 1)
            }
        }
    }

    // MARK: too few or too many bytes

    @Test func emptyPayloadEndsEarly() throws {
        let failure = try error(#""int""#, [])
        #expect(failure.reason.contains("ends early"))
        #expect(failure.offset == 0)
        #expect(failure.path.isEmpty)
        #expect(failure.description == "Avro: payload ends early at byte 0")
    }

    @Test func truncatedVarintEndsEarly() throws {
        let failure = try error(#""long""#, [0x80, 0x80])
        #expect(failure.reason.contains("ends early"))
        #expect(failure.offset == 2)
    }

    @Test func truncatedStringSaysHowManyBytesWereWanted() throws {
        let failure = try error(#""string""#, E.encode { $0.long(5); $0.raw([0x61, 0x62]) })
        #expect(failure.reason == "payload ends early (5 bytes wanted, 2 left)")
        #expect(failure.offset == 1)
    }

    @Test func truncatedFixedAndDouble() throws {
        #expect(try error(#"{"type":"fixed","name":"F","size":4}"#, [1, 2, 3]).reason.contains("ends early"))
        #expect(try error(#""double""#, [0, 0, 0, 0, 0, 0, 0]).reason.contains("ends early"))
        #expect(try error(#""float""#, [0, 0, 0]).reason.contains("ends early"))
        #expect(try error(#""boolean""#, []).reason.contains("ends early"))
    }

    @Test func truncatedRecordNamesTheField() throws {
        let schema = #"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#
        let failure = try error(schema, E.encode { $0.int(1) })
        #expect(failure.reason.contains("ends early"))
        #expect(failure.path == ["b"])
        #expect(failure.offset == 1)
    }

    @Test func truncatedArrayWithoutItsEndMarker() throws {
        let failure = try error(#"{"type":"array","items":"int"}"#, E.encode { $0.long(1); $0.int(1) })
        #expect(failure.reason.contains("ends early"))
    }

    @Test func trailingBytesAreLeftOver() throws {
        let failure = try error(#""int""#, [0x02, 0x00, 0x00])
        #expect(failure.reason.contains("left over"))
        #expect(failure.reason.hasPrefix("2 bytes left over"))
        #expect(failure.offset == 1)
        let record = try error(#"{"type":"record","name":"R","fields":[]}"#, [0x00])
        #expect(record.reason.hasPrefix("1 bytes left over"))
    }

    // MARK: values out of range

    @Test func unionBranchOutOfRange() throws {
        let schema = #"["null","int"]"#
        let failure = try error(schema, E.encode { $0.branch(2) })
        #expect(failure.reason == "union branch 2 is not one of 2")
        #expect(failure.offset == 1)
        #expect(try error(schema, E.encode { $0.long(-1) }).reason == "union branch -1 is not one of 2")
        #expect(try error(schema, E.encode { $0.long(Int64.max) }).reason.contains("is not one of 2"))
    }

    @Test func enumIndexOutOfRange() throws {
        let schema = #"{"type":"enum","name":"S","symbols":["A","B","C"]}"#
        #expect(try error(schema, E.encode { $0.int(3) }).reason == "enum index 3 is not one of 3 symbols")
        #expect(try error(schema, E.encode { $0.int(-1) }).reason == "enum index -1 is not one of 3 symbols")
    }

    @Test func invalidUTF8String() throws {
        for bad: [UInt8] in [[0xC3, 0x28], [0xE9], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x61, 0xF0, 0x9F]] {
            let failure = try error(#""string""#, E.encode { $0.bytes(bad) })
            #expect(failure.reason == "string is not valid UTF-8", "\(bad)")
        }
    }

    @Test func invalidUTF8MapKey() throws {
        let payload = E.encode { e in
            e.long(1)
            e.bytes([0xFF])
            e.int(1)
            e.long(0)
        }
        #expect(try error(#"{"type":"map","values":"int"}"#, payload).reason == "map key is not valid UTF-8")
    }

    @Test func bytesAreNotCheckedForUTF8() throws {
        #expect(try AvroTestDecoding.text(#""bytes""#, E.encode { $0.bytes([0xFF]) }) == #""/w==""#)
    }

    @Test func booleanByteTwo() throws {
        let failure = try error(#""boolean""#, [2])
        #expect(failure.reason == "boolean byte 2 is neither 0 nor 1")
        #expect(failure.offset == 1)
    }

    @Test func intOverflow() throws {
        #expect(try error(#""int""#, E.encode { $0.long(Int64(Int32.max) + 1) }).reason == "int 2147483648 does not fit in 32 bits")
        #expect(try error(#""int""#, E.encode { $0.long(Int64(Int32.min) - 1) }).reason == "int -2147483649 does not fit in 32 bits")
        #expect(try error(#"{"type":"int","logicalType":"date"}"#, E.encode { $0.long(1 << 40) }).reason.contains("does not fit in 32 bits"))
    }

    @Test func varintLongerThanTenBytes() throws {
        let failure = try error(#""long""#, [UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(failure.reason == "varint longer than 10 bytes")
        // Ten bytes is the longest a long takes.
        #expect(AvroTestEncoder.varint(Int64.min).count == 10)
        #expect(try AvroTestDecoding.text(#""long""#, AvroTestEncoder.varint(Int64.min)) == "-9223372036854775808")
    }

    @Test func negativeLength() throws {
        #expect(try error(#""bytes""#, E.encode { $0.long(-1) }).reason == "negative length -1")
        #expect(try error(#""string""#, E.encode { $0.long(Int64.min) }).reason.contains("negative length"))
    }

    @Test func hugeLengthEndsEarlyInsteadOfAllocating() throws {
        #expect(try error(#""bytes""#, E.encode { $0.long(Int64.max) }).reason.contains("ends early"))
    }

    // MARK: where it happened

    @Test func errorPathNamesTheNestedField() throws {
        let schema = #"""
        {"type":"record","name":"Order","fields":[
          {"name":"id","type":"int"},
          {"name":"customer","type":{"type":"record","name":"Customer","fields":[
            {"name":"name","type":"string"},
            {"name":"address","type":["null",{"type":"record","name":"Address","fields":[
              {"name":"city","type":"string"},{"name":"zip","type":"string"}]}]}]}}]}
        """#
        let payload = E.encode { e in
            e.int(1)
            e.string("Ann")
            e.branch(1)
            e.string("Oslo")
            e.bytes([0xFF, 0xFE])
        }
        let failure = try error(schema, payload)
        #expect(failure.path == ["customer", "address", "zip"])
        #expect(failure.offset == 14)
        #expect(failure.description == "Avro: string is not valid UTF-8 at byte 14 in field 'customer.address.zip'")
    }

    @Test func errorPathThroughAnArray() throws {
        let schema = #"""
        {"type":"record","name":"Cart","fields":[{"name":"lines","type":{"type":"array","items":
          {"type":"record","name":"Line","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}}]}
        """#
        let payload = E.encode { e in
            e.long(2)
            e.string("a"); e.int(1)
            e.string("b"); e.long(1 << 33)
            e.long(0)
        }
        let failure = try error(schema, payload)
        #expect(failure.path == ["lines", "qty"])
        #expect(failure.description.hasSuffix("in field 'lines.qty'"))
    }

    // MARK: hostile payloads

    @Test func deepRecursionFailsCleanly() throws {
        let schema = try AvroTestDecoding.compile(Self.linkedList)
        let failure = try AvroTestDecoding.error(schema, linkedList(length: 5000))
        #expect(failure.reason == "nested deeper than \(AvroDatumDecoder.maxDepth) levels")
        #expect(failure.path.count == AvroDatumDecoder.maxDepth)
        #expect(failure.path.allSatisfy { $0 == "next" })
    }

    @Test func recursionUpToTheLimitDecodes() throws {
        let schema = try AvroTestDecoding.compile(Self.linkedList)
        let decoded = try AvroTestDecoding.text(schema, linkedList(length: AvroDatumDecoder.maxDepth))
        #expect(decoded.hasPrefix(#"{"value":0,"next":{"value":1,"next":"#))
        #expect(decoded.hasSuffix(#""next":null"# + String(repeating: "}", count: AvroDatumDecoder.maxDepth)))
        let tooDeep = try AvroTestDecoding.error(schema, linkedList(length: AvroDatumDecoder.maxDepth + 1))
        #expect(tooDeep.reason.contains("nested deeper"))
    }

    /// `depth` arrays nested in one another around one int.
    private func nestedArrays(_ depth: Int) -> (schema: String, payload: [UInt8]) {
        let schema = String(repeating: #"{"type":"array","items":"#, count: depth) + #""int""# + String(repeating: "}", count: depth)
        let payload = [UInt8](repeating: 0x02, count: depth) + [0x54] + [UInt8](repeating: 0x00, count: depth)
        return (schema, payload)
    }

    @Test func nestedArraysWithinTheLimitDecode() throws {
        let (schema, payload) = nestedArrays(AvroDatumDecoder.maxDepth)
        let expected = String(repeating: "[", count: AvroDatumDecoder.maxDepth) + "42" + String(repeating: "]", count: AvroDatumDecoder.maxDepth)
        #expect(try AvroTestDecoding.text(schema, payload) == expected)
    }

    @Test func deeplyNestedArraysFailCleanly() throws {
        // 500 levels: within the JSON parser's nesting limit, so the schema compiles.
        let (schema, payload) = nestedArrays(500)
        let failure = try error(schema, payload)
        #expect(failure.reason == "nested deeper than \(AvroDatumDecoder.maxDepth) levels")
        #expect(failure.offset == AvroDatumDecoder.maxDepth)
    }

    @Test func deeplyNestedMapsFailCleanly() throws {
        let depth = 400
        let schema = String(repeating: #"{"type":"map","values":"#, count: depth) + #""null""# + String(repeating: "}", count: depth)
        let payload = E.encode { e in
            for _ in 0..<depth {
                e.long(1)
                e.string("k")
            }
            for _ in 0..<depth { e.long(0) }
        }
        #expect(try error(schema, payload).reason.hasPrefix("nested deeper than"))
    }

    @Test func recursionThroughArraysCountsEveryLevel() throws {
        let tree = #"{"type":"record","name":"T","fields":[{"name":"kids","type":{"type":"array","items":"T"}}]}"#
        // Each level is a record and an array: two levels of nesting.
        let levels = AvroDatumDecoder.maxDepth / 2
        let fits = E.encode { e in
            for _ in 0..<(levels - 1) { e.long(1) }
            e.long(0)
            for _ in 0..<(levels - 1) { e.long(0) }
        }
        #expect(try AvroTestDecoding.text(tree, fits).hasPrefix(#"{"kids":[{"kids":["#))
        let tooDeep = E.encode { e in
            for _ in 0..<levels { e.long(1) }
            e.long(0)
            for _ in 0..<levels { e.long(0) }
        }
        #expect(try error(tree, tooDeep).reason.hasPrefix("nested deeper than"))
    }

    @Test(.timeLimit(.minutes(1)))
    func hugeBlockCountFailsWithoutHanging() throws {
        let failure = try error(#"{"type":"array","items":"null"}"#, E.encode { $0.long(1 << 60) })
        #expect(failure.reason.hasPrefix("block of 1152921504606846976 items"))
        let sized = try error(#"{"type":"array","items":"long"}"#, E.encode { $0.long(-(1 << 62)); $0.long(8) })
        #expect(sized.reason.contains("items with"))
        let map = try error(#"{"type":"map","values":"null"}"#, E.encode { $0.long(Int64.max) })
        #expect(map.reason.hasPrefix("block of"))
    }

    @Test func blockCountOfInt64MinIsRefused() throws {
        #expect(try error(#"{"type":"array","items":"int"}"#, E.encode { $0.long(Int64.min) }).reason == "block count out of range")
    }

    @Test func blockCountLargerThanTheItemsPresentEndsEarly() throws {
        let failure = try error(#"{"type":"array","items":"int"}"#, E.encode { $0.long(1000); $0.int(1) })
        #expect(failure.reason.contains("ends early"))
    }

    @Test func errorDescriptionFormat() {
        let failure = AvroDecodeError(reason: "boom", offset: 3, path: ["a", "b"])
        #expect(failure.description == "Avro: boom at byte 3 in field 'a.b'")
        #expect(AvroDecodeError(reason: "boom", offset: 0).description == "Avro: boom at byte 0")
    }
}
