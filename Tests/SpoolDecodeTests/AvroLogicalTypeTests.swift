import Testing
@testable import SpoolDecode

@Suite("Avro logical types as JSON text")
struct AvroLogicalTypeTests {
    private typealias E = AvroTestEncoder

    private func text(_ schema: String, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try AvroTestDecoding.text(schema, payload, sourceLocation: sourceLocation)
    }

    // MARK: decimal

    private static let decimalBytes = #"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#

    @Test(arguments: [
        ([UInt8]([0x30, 0x39]), "123.45"),
        ([0xCF, 0xC7], "-123.45"),
        ([0x00], "0.00"),
        ([], "0.00"),
        ([0x05], "0.05"),
        ([0xFF], "-0.01"),
        ([0x64], "1.00"),
        ([0x00, 0x80], "1.28"),
        ([0x80], "-1.28"),
        ([0xFF, 0x00], "-2.56"),
        ([0x00, 0x00, 0x00, 0x01], "0.01"),
        ([0xFF, 0xFF, 0xFF, 0xFF], "-0.01"),
    ])
    func decimalOnBytes(unscaled: [UInt8], expected: String) throws {
        #expect(try text(Self.decimalBytes, E.encode { $0.bytes(unscaled) }) == "\"\(expected)\"")
    }

    @Test func decimalWithScaleZero() throws {
        let schema = #"{"type":"bytes","logicalType":"decimal","precision":5}"#
        #expect(try text(schema, E.encode { $0.bytes([0x2A]) }) == #""42""#)
        #expect(try text(schema, E.encode { $0.bytes([0xFF]) }) == #""-1""#)
        #expect(try text(schema, E.encode { $0.bytes([0x00]) }) == #""0""#)
        #expect(try text(schema, E.encode { $0.bytes([]) }) == #""0""#)
    }

    @Test func decimalWithScaleEqualToPrecision() throws {
        let schema = #"{"type":"bytes","logicalType":"decimal","precision":3,"scale":3}"#
        #expect(try text(schema, E.encode { $0.bytes([0x03, 0xE7]) }) == #""0.999""#)
        #expect(try text(schema, E.encode { $0.bytes([0xFF]) }) == #""-0.001""#)
    }

    @Test func decimalOfTwentyBytes() throws {
        let schema = #"{"type":"bytes","logicalType":"decimal","precision":60,"scale":10}"#
        // 2^152 and -2^152.
        let positive = [UInt8(0x01)] + [UInt8](repeating: 0, count: 19)
        let negative = [UInt8(0xFF)] + [UInt8](repeating: 0, count: 19)
        #expect(try text(schema, E.encode { $0.bytes(positive) }) == #""570899077082383952423314387779798054.5530986496""#)
        #expect(try text(schema, E.encode { $0.bytes(negative) }) == #""-570899077082383952423314387779798054.5530986496""#)
        // 10^20 - 1 has twenty nines.
        let ninetyNines: [UInt8] = [0x05, 0x6B, 0xC7, 0x5E, 0x2D, 0x63, 0x0F, 0xFF, 0xFF]
        #expect(try text(schema, E.encode { $0.bytes(ninetyNines) }) == #""9999999999.9999999999""#)
    }

    @Test func decimalOnFixed() throws {
        let schema = #"{"type":"fixed","name":"Money","size":8,"logicalType":"decimal","precision":18,"scale":4}"#
        #expect(try text(schema, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xED, 0x29, 0x79]) == #""-123.4567""#)
        #expect(try text(schema, [0, 0, 0, 0, 0, 0, 0, 0]) == #""0.0000""#)
        #expect(try text(schema, [0, 0, 0, 0, 0, 0, 0x01, 0xF4]) == #""0.0500""#)
        #expect(try text(schema, [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == #""922337203685477.5807""#)
        #expect(try text(schema, [0x80, 0, 0, 0, 0, 0, 0, 0]) == #""-922337203685477.5808""#)
    }

    @Test func decimalOnFixedUsedByNameInARecord() throws {
        let schema = #"""
        {"type":"record","name":"R","fields":[
          {"name":"a","type":{"type":"fixed","name":"D2","size":2}},
          {"name":"b","type":{"type":"D2","logicalType":"decimal","precision":4,"scale":1}}]}
        """#
        #expect(try text(schema, [0x00, 0x01, 0xFF, 0xF6]) == #"{"a":"AAE=","b":"-1.0"}"#)
    }

    @Test func decimalSignIsNotPrintedForZeroInAnyWidth() throws {
        #expect(try text(Self.decimalBytes, E.encode { $0.bytes([0x00, 0x00, 0x00]) }) == #""0.00""#)
    }

    @Test func invalidDecimalFallsBackToTheBaseType() throws {
        // scale > precision
        #expect(try text(#"{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}"#, E.encode { $0.bytes([0, 255]) }) == #""AP8=""#)
        // no precision
        #expect(try text(#"{"type":"bytes","logicalType":"decimal","scale":1}"#, E.encode { $0.bytes([1]) }) == #""AQ==""#)
        // negative scale
        #expect(try text(#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":-1}"#, E.encode { $0.bytes([1]) }) == #""AQ==""#)
        // not a number
        #expect(try text(#"{"type":"bytes","logicalType":"decimal","precision":"4"}"#, E.encode { $0.bytes([1]) }) == #""AQ==""#)
        // on a type decimal does not apply to
        #expect(try text(#"{"type":"string","logicalType":"decimal","precision":4}"#, E.encode { $0.string("7") }) == #""7""#)
        #expect(try text(#"{"type":"fixed","name":"F","size":1,"logicalType":"decimal","precision":2,"scale":5}"#, [0x01]) == #""AQ==""#)
    }

    // MARK: uuid

    @Test func uuidIsItsString() throws {
        let uuid = "123e4567-e89b-12d3-a456-426614174000"
        #expect(try text(#"{"type":"string","logicalType":"uuid"}"#, E.encode { $0.string(uuid) }) == "\"\(uuid)\"")
    }

    @Test func uuidOnFixedIsBase64() throws {
        #expect(try text(#"{"type":"fixed","name":"U","size":2,"logicalType":"uuid"}"#, [0, 255]) == #""AP8=""#)
    }

    // MARK: date and time

    @Test(arguments: [
        (Int32(0), "1970-01-01"), (19_782, "2024-02-29"), (-1, "1969-12-31"), (-719_162, "0001-01-01"),
        (11_017, "2000-03-01"), (2_932_896, "9999-12-31"), (59, "1970-03-01"), (-25_567, "1900-01-01"), (-719_469, "0000-02-29"),
        (Int32.max, "5881580-07-11"), (Int32.min, "-5877641-06-23"),
    ])
    func date(days: Int32, expected: String) throws {
        #expect(try text(#"{"type":"int","logicalType":"date"}"#, E.encode { $0.int(days) }) == "\"\(expected)\"")
    }

    @Test(arguments: [(Int32(0), "00:00:00.000"), (45_296_789, "12:34:56.789"), (86_399_999, "23:59:59.999"), (1, "00:00:00.001")])
    func timeMillis(value: Int32, expected: String) throws {
        #expect(try text(#"{"type":"int","logicalType":"time-millis"}"#, E.encode { $0.int(value) }) == "\"\(expected)\"")
    }

    @Test(arguments: [(Int64(0), "00:00:00.000000"), (45_296_789_012, "12:34:56.789012"), (86_399_999_999, "23:59:59.999999")])
    func timeMicros(value: Int64, expected: String) throws {
        #expect(try text(#"{"type":"long","logicalType":"time-micros"}"#, E.encode { $0.long(value) }) == "\"\(expected)\"")
    }

    @Test(arguments: [
        ("timestamp-millis", Int64(1_706_704_496_789), "2024-01-31T12:34:56.789Z"),
        ("timestamp-micros", 1_706_704_496_789_012, "2024-01-31T12:34:56.789012Z"),
        ("timestamp-nanos", 1_706_704_496_789_012_345, "2024-01-31T12:34:56.789012345Z"),
        ("local-timestamp-millis", 1_706_704_496_789, "2024-01-31T12:34:56.789"),
        ("local-timestamp-micros", 1_706_704_496_789_012, "2024-01-31T12:34:56.789012"),
        ("local-timestamp-nanos", 1_706_704_496_789_012_345, "2024-01-31T12:34:56.789012345"),
        ("timestamp-millis", 0, "1970-01-01T00:00:00.000Z"),
        ("timestamp-millis", -1, "1969-12-31T23:59:59.999Z"),
        ("timestamp-millis", -86_400_001, "1969-12-30T23:59:59.999Z"),
        ("timestamp-micros", -1, "1969-12-31T23:59:59.999999Z"),
        ("timestamp-nanos", -1, "1969-12-31T23:59:59.999999999Z"),
        ("local-timestamp-millis", -1, "1969-12-31T23:59:59.999"),
        ("timestamp-millis", -62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        ("timestamp-nanos", Int64.max, "2262-04-11T23:47:16.854775807Z"),
        ("timestamp-nanos", Int64.min, "1677-09-21T00:12:43.145224192Z"),
        ("timestamp-millis", Int64.max, "292278994-08-17T07:12:55.807Z"),
        ("timestamp-millis", Int64.min, "-292275055-05-16T16:47:04.192Z"),
        ("timestamp-micros", Int64.min, "-290308-12-21T19:59:05.224192Z"),
    ])
    func timestamps(logical: String, value: Int64, expected: String) throws {
        let schema = #"{"type":"long","logicalType":"\#(logical)"}"#
        let decoded = try text(schema, E.encode { $0.long(value) })
        #expect(decoded == "\"\(expected)\"")
    }

    @Test func timeMicrosAtTheExtremesDoesNotTrap() throws {
        let schema = #"{"type":"long","logicalType":"time-micros"}"#
        for value in [Int64.min, Int64.max] {
            let decoded = try text(schema, E.encode { $0.long(value) })
            #expect(decoded.hasPrefix("\"") && decoded.hasSuffix("\""), "\(decoded)")
        }
    }

    @Test func logicalTypesInARecord() throws {
        let schema = #"""
        {"type":"record","name":"Event","fields":[
          {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"day","type":["null",{"type":"int","logicalType":"date"}]},
          {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}
        """#
        let payload = E.encode { e in
            e.long(0)
            e.branch(1)
            e.int(1)
            e.bytes([0x01, 0x00])
        }
        #expect(try text(schema, payload) == #"{"at":"1970-01-01T00:00:00.000Z","day":"1970-01-02","amount":"2.56"}"#)
    }

    // MARK: duration

    @Test func durationIsAnObject() throws {
        let schema = #"{"type":"fixed","name":"D","size":12,"logicalType":"duration"}"#
        #expect(try text(schema, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]) == #"{"months":1,"days":2,"milliseconds":3}"#)
        #expect(try text(schema, [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0, 0, 0x10, 0x27, 0, 0])
                == #"{"months":4294967295,"days":256,"milliseconds":10000}"#)
    }

    // MARK: logical types that do not apply

    @Test func logicalTypesOnTheWrongBaseAreIgnored() throws {
        #expect(try text(#"{"type":"long","logicalType":"date"}"#, E.encode { $0.long(5) }) == "5")
        #expect(try text(#"{"type":"int","logicalType":"timestamp-millis"}"#, E.encode { $0.int(5) }) == "5")
        #expect(try text(#"{"type":"long","logicalType":"time-millis"}"#, E.encode { $0.long(5) }) == "5")
        #expect(try text(#"{"type":"int","logicalType":"time-micros"}"#, E.encode { $0.int(5) }) == "5")
        #expect(try text(#"{"type":"string","logicalType":"date"}"#, E.encode { $0.string("x") }) == #""x""#)
        #expect(try text(#"{"type":"bytes","logicalType":"uuid"}"#, E.encode { $0.bytes([1]) }) == #""AQ==""#)
        #expect(try text(#"{"type":"fixed","name":"D8","size":8,"logicalType":"duration"}"#, [0, 0, 0, 0, 0, 0, 0, 0]) == #""AAAAAAAAAAA=""#)
        #expect(try text(#"{"type":"bytes","logicalType":"duration"}"#, E.encode { $0.bytes([]) }) == #""""#)
    }

    @Test func unknownLogicalTypesAreIgnored() throws {
        #expect(try text(#"{"type":"int","logicalType":"made-up"}"#, E.encode { $0.int(-3) }) == "-3")
        #expect(try text(#"{"type":"string","logicalType":"json"}"#, E.encode { $0.string("{}") }) == #""{}""#)
        #expect(try text(#"{"type":"int","logicalType":7}"#, E.encode { $0.int(1) }) == "1")
    }
}
