import Testing
@testable import SpoolDecode

@Suite("Protobuf schemas and records to JSON (libprotobuf through the C++ shim)")
struct ProtobufSchemaTests {
    private typealias E = ProtobufTestEncoder

    private func schema(_ text: String, references: [ProtobufSchema.File] = []) throws(ProtobufSchemaError) -> ProtobufSchema {
        try ProtobufSchema(files: references + [.init(name: "main.proto", source: .text(text))])
    }

    private func json(_ schema: ProtobufSchema, _ payload: [UInt8], indexes: [Int64] = [0]) throws -> String {
        var out: [UInt8] = []
        try payload.withUnsafeBytes { try schema.decode($0, indexes: indexes, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    private func failure(_ schema: ProtobufSchema, _ payload: [UInt8], indexes: [Int64] = [0]) -> String? {
        var out: [UInt8] = Array("kept".utf8)
        do {
            try payload.withUnsafeBytes { try schema.decode($0, indexes: indexes, into: &out) }
            return nil
        } catch let error as ProtobufDecodeError {
            #expect(out == Array("kept".utf8), "a failed decode must leave the output as it was")
            return error.reason
        } catch {
            return "unexpected error \(error)"
        }
    }

    /// FileDescriptorProto {name: "order.proto", package: "shop", syntax: "proto3",
    /// message_type: [Order {id int64 = 1; note string = 2}]}, encoded field by field from
    /// descriptor.proto's numbers (FileDescriptorProto.name 1, package 2, message_type 4,
    /// syntax 12; DescriptorProto.name 1, field 2; FieldDescriptorProto.name 1, number 3,
    /// label 4 (1 = optional), type 5 (3 = int64, 9 = string)).
    private let orderDescriptor: [UInt8] = E.encode { file in
        file.string(1, "order.proto")
        file.string(2, "shop")
        file.message(4) { message in
            message.string(1, "Order")
            message.message(2) { $0.string(1, "id"); $0.varint(3, 1); $0.varint(4, 1); $0.varint(5, 3) }
            message.message(2) { $0.string(1, "note"); $0.varint(3, 2); $0.varint(4, 1); $0.varint(5, 9) }
        }
        file.string(12, "proto3")
    }

    @Test func decodesWithASerializedFileDescriptorProto() throws {
        let schema = try ProtobufSchema(files: [.init(name: "x.proto", source: .serialized(orderDescriptor))])
        #expect(try schema.messageName(indexes: [0]) == "shop.Order")
        // id = 7_000_000_000 (beyond 32 bits), note unset: proto3 prints its default.
        #expect(try json(schema, E.encode { $0.varint(1, 7_000_000_000) }) == #"{"id":7000000000,"note":""}"#)
        #expect(try json(schema, []) == #"{"id":0,"note":""}"#)
    }

    @Test func scalarsFollowTheReadmeTable() throws {
        let schema = try schema("""
            syntax = "proto3";
            message All {
              int32 i32 = 1; int64 i64 = 2; uint32 u32 = 3; uint64 u64 = 4; sint64 s64 = 5; fixed64 f64 = 6;
              bool flag = 7; string text = 8; bytes data = 9; double d = 10; float f = 11; Color color = 12;
              sfixed32 sf32 = 13; fixed32 fx32 = 14;
            }
            enum Color { RED = 0; GREEN = 1; }
            """)
        let payload = E.encode { e in
            e.varint(1, UInt64(bitPattern: -5))           // int32 -5: ten bytes, sign-extended
            e.varint(2, UInt64(bitPattern: Int64.min))
            e.varint(3, 4_000_000_000)
            e.varint(4, UInt64.max)                        // above 2^63-1: a string
            e.varint(5, 3)                                 // zigzag 3 = -2
            e.fixed64(6, 9_223_372_036_854_775_807)        // 2^63-1: still a number
            e.varint(7, 1)
            e.string(8, "a\"b\n\u{1}é")
            e.bytes(9, [0xFF, 0x00, 0x10])
            e.fixed64(10, 0.1.bitPattern)
            e.varint(12, 1)
        }
        #expect(try json(schema, payload) == """
            {"i32":-5,"i64":-9223372036854775808,"u32":4000000000,"u64":"18446744073709551615","s64":-2,\
            "f64":9223372036854775807,"flag":true,"text":"a\\"b\\n\\u0001é","data":"/wAQ","d":0.1,"f":0,\
            "color":"GREEN","sf32":0,"fx32":0}
            """)
        // An enum number the schema does not name is written as the number.
        #expect(try json(schema, E.encode { $0.varint(12, 9) }).contains(#""color":9"#))
        // NaN and infinities as strings, as for Avro.
        #expect(try json(schema, E.encode { $0.fixed64(10, Double.infinity.bitPattern) }).contains(#""d":"Infinity""#))
        #expect(try json(schema, E.encode { $0.fixed64(10, Double.nan.bitPattern) }).contains(#""d":"NaN""#))
    }

    @Test func presenceOneofRepeatedAndMaps() throws {
        let schema = try schema("""
            syntax = "proto3";
            message Outer {
              Inner inner = 1;
              optional int32 maybe = 2;
              oneof choice { string name = 3; int32 number = 4; }
              repeated int32 list = 5;
              map<string, Inner> by_key = 6;
              message Inner { int32 x = 1; }
            }
            """)
        // Nothing set: the message field and the optional are null, the oneof has no member.
        #expect(try json(schema, []) == #"{"inner":null,"maybe":null,"list":[],"by_key":{}}"#)
        let payload = E.encode { e in
            e.message(1) { $0.varint(1, 3) }
            e.varint(2, 0)                                 // optional set to its default: present
            e.varint(4, 8)                                 // the oneof's second member
            e.varint(5, 1); e.varint(5, 2)                 // unpacked repeated
            e.message(6) { $0.string(1, "b"); $0.message(2) { $0.varint(1, 2) } }
            e.message(6) { $0.string(1, "a"); $0.message(2) { $0.varint(1, 1) } }
        }
        #expect(try json(schema, payload) == #"{"inner":{"x":3},"maybe":0,"number":8,"list":[1,2],"by_key":{"a":{"x":1},"b":{"x":2}}}"#)
    }

    @Test func messageIndexesCountMapEntriesAmongNestedTypes() throws {
        // Top-level: [0] First, [1] Second. Second's nested types in declaration order, the map
        // field's synthetic entry type counted where the map is: Before (0), ValuesEntry (1),
        // Later (2). A decoder that skipped map entries would read [1, 1] as Later.
        let schema = try schema("""
            syntax = "proto3";
            package p;
            message First { int32 a = 1; }
            message Second {
              message Before { string b = 1; }
              map<string, int32> values = 1;
              message Later { string l = 1; }
              Later later = 2;
            }
            """)
        #expect(try schema.messageName(indexes: [0]) == "p.First")
        #expect(try schema.messageName(indexes: [1]) == "p.Second")
        #expect(try schema.messageName(indexes: [1, 0]) == "p.Second.Before")
        #expect(try schema.messageName(indexes: [1, 1]) == "p.Second.ValuesEntry")
        #expect(try schema.messageName(indexes: [1, 2]) == "p.Second.Later")
        #expect(try json(schema, E.encode { $0.string(1, "z") }, indexes: [1, 2]) == #"{"l":"z"}"#)
        #expect(try json(schema, E.encode { $0.varint(1, 5) }, indexes: [0]) == #"{"a":5}"#)
        #expect(failure(schema, [], indexes: [2]) == "message index 2 (position 1) is out of range: there are 2 top-level messages in the schema")
        #expect(failure(schema, [], indexes: [1, 3]) == "message index 3 (position 2) is out of range: there are 3 nested types in p.Second")
        #expect(failure(schema, [], indexes: [-1]) == "message index -1 (position 1) is out of range: there are 2 top-level messages in the schema")
        #expect(failure(schema, [], indexes: []) == "no message index")
    }

    @Test func recursionStopsAtTheDepthLimit() throws {
        let schema = try schema("syntax = \"proto3\"; message Node { Node next = 1; int32 v = 2; }")
        func nested(_ depth: Int) -> [UInt8] {
            var bytes = E.encode { $0.varint(2, 1) }
            for _ in 1..<depth { bytes = E.encode { $0.bytes(1, bytes) } }
            return bytes
        }
        #expect(try json(schema, nested(2)) == #"{"next":{"next":null,"v":1},"v":0}"#)
        #expect(try json(schema, nested(ProtobufSchema.maxDepth)).hasPrefix(#"{"next":{"next":"#))
        #expect(failure(schema, nested(ProtobufSchema.maxDepth + 1)) == "messages are nested deeper than 64 levels (at Node)")
    }

    @Test func bytesThatAreNotTheMessageFailWithItsName() throws {
        let schema = try schema("syntax = \"proto3\"; package p; message M { string s = 1; }")
        // Field 1 says 100 bytes follow; there are 2.
        #expect(failure(schema, [0x0A, 100, 0x61, 0x62]) == "the bytes are not a valid p.M message")
        // Field number 0 does not exist in the wire format.
        #expect(failure(schema, [0x00, 0x01]) == "the bytes are not a valid p.M message")
    }

    @Test func wellKnownTypesArePlainValues() throws {
        let schema = try schema("""
            syntax = "proto3";
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/duration.proto";
            import "google/protobuf/wrappers.proto";
            import "google/protobuf/struct.proto";
            import "google/protobuf/any.proto";
            import "confluent/type/decimal.proto";
            import "google/type/date.proto";
            message W {
              google.protobuf.Timestamp at = 1;
              google.protobuf.Duration took = 2;
              google.protobuf.Int64Value count = 3;
              google.protobuf.StringValue label = 4;
              google.protobuf.Struct attrs = 5;
              google.protobuf.Any extra = 6;
              confluent.type.Decimal price = 7;
              google.type.Date day = 8;
            }
            message Tag { string t = 1; }
            """)
        let payload = E.encode { e in
            e.message(1) { $0.varint(1, 1_706_704_496); $0.varint(2, 789_000_000) }   // 2024-01-31T12:34:56.789Z
            e.message(2) { $0.varint(1, 90); $0.varint(2, 500_000_000) }
            e.message(3) { $0.varint(1, 42) }
            e.message(5) { s in                                                       // {"k": [1.5, null, "x", true]}
                s.message(1) { entry in
                    entry.string(1, "k")
                    entry.message(2) { value in
                        value.message(6) { list in
                            list.message(1) { $0.fixed64(2, 1.5.bitPattern) }
                            list.message(1) { $0.varint(1, 0) }
                            list.message(1) { $0.string(3, "x") }
                            list.message(1) { $0.varint(4, 1) }
                        }
                    }
                }
            }
            e.message(6) { any in
                any.string(1, "type.googleapis.com/Tag")
                any.bytes(2, E.encode { $0.string(1, "hot") })
            }
            e.message(7) { $0.bytes(1, [0xFB, 0x2E]); $0.varint(2, 4); $0.varint(3, 2) }  // -1234 scale 2
            e.message(8) { $0.varint(1, 2024); $0.varint(2, 2); $0.varint(3, 29) }
        }
        #expect(try json(schema, payload) == """
            {"at":"2024-01-31T12:34:56.789Z","took":"90.500s","count":42,"label":null,\
            "attrs":{"k":[1.5,null,"x",true]},"extra":{"@type":"type.googleapis.com/Tag","t":"hot"},\
            "price":"-12.34","day":{"year":2024,"month":2,"day":29}}
            """)
        // An Any whose type is not in the pool keeps its bytes; a Timestamp before year 1 fails.
        let unknownAny = E.encode { $0.message(6) { $0.string(1, "type.googleapis.com/x.Gone"); $0.bytes(2, [1, 2]) } }
        #expect(try json(schema, unknownAny).contains(#""extra":{"@type":"type.googleapis.com/x.Gone","value":"AQI="}"#))
        let tooEarly = E.encode { $0.message(1) { $0.varint(1, UInt64(bitPattern: -62_135_596_801)) } }
        #expect(failure(schema, tooEarly) == "a google.protobuf.Timestamp is out of range (seconds -62135596801, nanos 0)")
    }

    @Test func referencesResolveByImportPath() throws {
        let common = ProtobufSchema.File(name: "shop/common.proto", source: .text("syntax = \"proto3\"; package shop; message Money { int64 cents = 1; }"))
        let schema = try schema("""
            syntax = "proto3";
            import "shop/common.proto";
            message Order { shop.Money total = 1; }
            """, references: [common])
        #expect(try json(schema, E.encode { $0.message(1) { $0.varint(1, 250) } }) == #"{"total":{"cents":250}}"#)
    }

    /// google/type's postal address and phone number are built in like the other google/type files.
    @Test func postalAddressAndPhoneNumberAreBuiltIn() throws {
        let built = try schema("""
            syntax = "proto3";
            import "google/type/postal_address.proto";
            import "google/type/phone_number.proto";
            message Contact { google.type.PostalAddress address = 1; google.type.PhoneNumber phone = 2; }
            """)
        let payload = E.encode {
            $0.message(1) { $0.varint(1, 2); $0.string(2, "CH"); $0.string(9, "Bahnhofstrasse 1"); $0.string(11, "Spool") }
            $0.message(2) { $0.string(1, "+41441234567"); $0.string(3, "12") }
        }
        let text = try json(built, payload)
        #expect(text.contains(#""revision":2"#) && text.contains(#""region_code":"CH""#) && text.contains(#""address_lines":["Bahnhofstrasse 1"]"#)
                && text.contains(#""organization":"Spool""#), "\(text)")
        #expect(text.contains(#""e164_number":"+41441234567""#) && text.contains(#""extension":"12""#) && !text.contains("short_code"), "\(text)")
    }

    @Test func schemasThatDoNotBuildSayWhy() {
        #expect(throws: ProtobufSchemaError(reason: "it imports shop/missing.proto, which is not among the schema's references")) {
            try schema("syntax = \"proto3\"; import \"shop/missing.proto\"; message M {}")
        }
        #expect(throws: ProtobufSchemaError(reason: "it imports google/type/shipping.proto, a well-known file Spool does not carry")) {
            try schema("syntax = \"proto3\"; import \"google/type/shipping.proto\"; message M {}")
        }
        do {
            _ = try schema("syntax = \"proto3\"; message M { int32 x = ; }")
            Issue.record("a .proto text that does not parse must throw")
        } catch {
            #expect(error.reason.hasPrefix("the .proto text of main.proto does not parse: line 1, column"))
        }
        do {
            _ = try schema("syntax = \"proto3\"; message M { Unknown x = 1; }")
            Issue.record("an unknown type must throw")
        } catch {
            #expect(error.reason.contains("\"Unknown\" is not defined"))
        }
        #expect(throws: ProtobufSchemaError(reason: "the serialized descriptor of x.proto is not a FileDescriptorProto")) {
            try ProtobufSchema(files: [.init(name: "x.proto", source: .serialized([0xFF, 0xFF]))])
        }
    }
}

@Suite("Protobuf doubles to JSON")
struct ProtobufDoubleTextTests {
    /// Each double and its text: the shortest text that reads back as the same double, fixed or
    /// scientific, whichever is shorter (written out here from that rule; 100 is `100`).
    static let cases: [(Double, String)] = [
        (0.07, "0.07"), (500.05, "500.05"), (1.5, "1.5"), (0.1 + 0.2, "0.30000000000000004"), (123_456_789.123, "123456789.123"),
        (1e20, "1e+20"), (100, "100"), (100.5, "100.5"), (1e21, "1e+21"), (-2.5e-7, "-2.5e-07"), (Double.leastNonzeroMagnitude, "5e-324"),
        (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"), (1.0 / 3, "0.3333333333333333"), (0, "0"),
        (1e15 + 0.3, "1000000000000000.2"),
    ]

    @Test func theFewestDigitsThatReadBack() throws {
        let schema = try ProtobufSchema(files: [.init(name: "d.proto", source: .text(#"syntax = "proto3"; message D { double d = 1; }"#))])
        for (value, text) in Self.cases {
            var out: [UInt8] = []
            let payload = ProtobufTestEncoder.encode { $0.fixed64(1, value.bitPattern) }
            try payload.withUnsafeBytes { try schema.decode($0, indexes: [0], into: &out) }
            #expect(String(decoding: out, as: UTF8.self) == #"{"d":\#(text)}"#, "\(value)")
        }
    }
}
