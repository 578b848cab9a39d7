import Testing
@testable import SpoolDecode

@Suite("Avro binary to JSON: primitives and complex types")
struct AvroDecodeTests {
    private typealias E = AvroTestEncoder

    private func text(_ schema: String, _ payload: [UInt8], referenced: [String] = [],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try AvroTestDecoding.text(schema, payload, referenced: referenced, sourceLocation: sourceLocation)
    }

    // MARK: primitives

    @Test func nullTakesNoBytes() throws {
        #expect(try text(#""null""#, []) == "null")
    }

    @Test func booleans() throws {
        #expect(try text(#""boolean""#, [1]) == "true")
        #expect(try text(#""boolean""#, [0]) == "false")
    }

    @Test(arguments: [
        (Int32(0), "0"), (1, "1"), (-1, "-1"), (63, "63"), (-64, "-64"), (64, "64"), (-65, "-65"),
        (300, "300"), (-123_456, "-123456"), (Int32.max, "2147483647"), (Int32.min, "-2147483648"),
    ])
    func ints(value: Int32, expected: String) throws {
        #expect(try text(#""int""#, E.encode { $0.int(value) }) == expected)
    }

    @Test(arguments: [
        (Int64(0), "0"), (-1, "-1"), (4_294_967_296, "4294967296"),
        (9_007_199_254_740_993, "9007199254740993"), (-9_007_199_254_740_993, "-9007199254740993"),
        (Int64.max, "9223372036854775807"), (Int64.min, "-9223372036854775808"),
    ])
    func longs(value: Int64, expected: String) throws {
        #expect(try text(#""long""#, E.encode { $0.long(value) }) == expected)
    }

    @Test(arguments: [
        (Float(0.1), "0.1"), (1, "1.0"), (-1.5, "-1.5"), (0, "0.0"), (-0.0, "-0.0"),
        (Float.greatestFiniteMagnitude, "3.4028235e+38"), (16_777_216, "16777216.0"), (1e-7, "1e-07"),
    ])
    func floats(value: Float, expected: String) throws {
        let decoded = try text(#""float""#, E.encode { $0.float(value) })
        #expect(decoded == expected)
    }

    @Test(arguments: [
        (0.1, "0.1"), (-1234.5, "-1234.5"), (1e300, "1e+300"), (Double.leastNonzeroMagnitude, "5e-324"), (1.0 / 3.0, "0.3333333333333333"),
        (Double(9_007_199_254_740_993), "9007199254740992.0"),
    ])
    func doubles(value: Double, expected: String) throws {
        #expect(try text(#""double""#, E.encode { $0.double(value) }) == expected)
    }

    @Test func nonFiniteNumbersAreStrings() throws {
        #expect(try text(#""float""#, E.encode { $0.float(.nan) }) == #""NaN""#)
        #expect(try text(#""float""#, E.encode { $0.float(.infinity) }) == #""Infinity""#)
        #expect(try text(#""float""#, E.encode { $0.float(-.infinity) }) == #""-Infinity""#)
        #expect(try text(#""double""#, E.encode { $0.double(.nan) }) == #""NaN""#)
        #expect(try text(#""double""#, E.encode { $0.double(.infinity) }) == #""Infinity""#)
        #expect(try text(#""double""#, E.encode { $0.double(-.infinity) }) == #""-Infinity""#)
        // A NaN with a payload and the sign bit set is still "NaN".
        #expect(try text(#""double""#, E.encode { $0.raw([0x01, 0, 0, 0, 0, 0, 0xF8, 0xFF]) }) == #""NaN""#)
    }

    @Test func bytesAreBase64() throws {
        #expect(try text(#""bytes""#, E.encode { $0.bytes([0, 255]) }) == #""AP8=""#)
        #expect(try text(#""bytes""#, E.encode { $0.bytes([]) }) == #""""#)
        #expect(try text(#""bytes""#, E.encode { $0.bytes(Array("Man".utf8)) }) == #""TWFu""#)
    }

    @Test func fixedIsBase64() throws {
        #expect(try text(#"{"type":"fixed","name":"F","size":3}"#, [1, 2, 3]) == #""AQID""#)
        #expect(try text(#"{"type":"fixed","name":"F","size":0}"#, []) == #""""#)
    }

    @Test func stringsAreEscaped() throws {
        let original = "say \"hi\" \\ back\nline\ttab\r\u{8}\u{C}\u{1}\u{1F}\u{7F} é 名前 😀 /"
        let expected = #""say \"hi\" \\ back\nline\ttab\r\b\f\u0001\u001f"# + "\u{7F} é 名前 😀 /\""
        #expect(try text(#""string""#, E.encode { $0.string(original) }) == expected)
        #expect(try text(#""string""#, E.encode { $0.string("") }) == #""""#)
        #expect(try text(#""string""#, E.encode { $0.bytes([0x61, 0x00, 0x62]) }) == #""a\u0000b""#)
    }

    @Test func primitiveAsObjectForm() throws {
        #expect(try text(#"{"type":"long"}"#, E.encode { $0.long(-5) }) == "-5")
        #expect(try text(#"{"type":{"type":"string"}}"#, E.encode { $0.string("x") }) == #""x""#)
    }

    // MARK: records and enums

    @Test func recordFieldsInSchemaOrder() throws {
        let schema = #"""
        {"type":"record","name":"R","fields":[
          {"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"ok","type":"boolean"},
          {"name":"score","type":"double"},{"name":"nothing","type":"null"}]}
        """#
        let payload = E.encode { e in
            e.long(42)
            e.string("Ann")
            e.boolean(true)
            e.double(2.5)
        }
        #expect(try text(schema, payload) == #"{"id":42,"name":"Ann","ok":true,"score":2.5,"nothing":null}"#)
    }

    @Test func emptyRecord() throws {
        #expect(try text(#"{"type":"record","name":"E","fields":[]}"#, []) == "{}")
    }

    @Test func nestedRecords() throws {
        let schema = #"""
        {"type":"record","name":"Order","fields":[
          {"name":"id","type":"int"},
          {"name":"customer","type":{"type":"record","name":"Customer","fields":[
            {"name":"name","type":"string"},
            {"name":"address","type":{"type":"record","name":"Address","fields":[
              {"name":"city","type":"string"},{"name":"zip","type":"string"}]}}]}},
          {"name":"total","type":"float"}]}
        """#
        let payload = E.encode { e in
            e.int(7)
            e.string("Bo")
            e.string("Oslo")
            e.string("0150")
            e.float(9.5)
        }
        #expect(try text(schema, payload)
                == #"{"id":7,"customer":{"name":"Bo","address":{"city":"Oslo","zip":"0150"}},"total":9.5}"#)
    }

    @Test func enumIsItsSymbol() throws {
        let schema = #"{"type":"enum","name":"Suit","symbols":["SPADES","HEARTS","DIAMONDS","CLUBS"]}"#
        #expect(try text(schema, E.encode { $0.int(0) }) == #""SPADES""#)
        #expect(try text(schema, E.encode { $0.int(3) }) == #""CLUBS""#)
    }

    // MARK: arrays and maps

    @Test func arrayInOneBlock() throws {
        let payload = E.encode { $0.blocks([[1, -2, 3] as [Int64]]) { $0.long($1) } }
        #expect(try text(#"{"type":"array","items":"long"}"#, payload) == "[1,-2,3]")
    }

    @Test func emptyArrayAndMap() throws {
        #expect(try text(#"{"type":"array","items":"long"}"#, [0]) == "[]")
        #expect(try text(#"{"type":"map","values":"long"}"#, [0]) == "{}")
    }

    @Test func arrayInSeveralBlocks() throws {
        let payload = E.encode { $0.blocks([["a"], ["b", "c"], ["d"]]) { $0.string($1) } }
        #expect(payload.first == 2, "first block count 1, zig-zag encoded")
        #expect(try text(#"{"type":"array","items":"string"}"#, payload) == #"["a","b","c","d"]"#)
    }

    @Test func arrayBlocksWithNegativeCountAndByteSize() throws {
        let payload = E.encode { $0.blocks([[1, 2], [300]] as [[Int32]], sized: true) { $0.int($1) } }
        // The count -2 zig-zags to 3; the block's two one-byte ints make a size of 2, which zig-zags to 4.
        #expect(Array(payload.prefix(2)) == [3, 4])
        #expect(try text(#"{"type":"array","items":"int"}"#, payload) == "[1,2,300]")
    }

    @Test func mixedSizedAndPlainBlocks() throws {
        var e = AvroTestEncoder()
        e.long(-1)
        e.long(1)
        e.boolean(true)
        e.long(2)
        e.boolean(false)
        e.boolean(true)
        e.long(0)
        #expect(try text(#"{"type":"array","items":"boolean"}"#, e.data) == "[true,false,true]")
    }

    @Test func arrayOfNullsAndOfEmptyRecords() throws {
        #expect(try text(#"{"type":"array","items":"null"}"#, E.encode { $0.long(3); $0.long(0) }) == "[null,null,null]")
        let empty = #"{"type":"array","items":{"type":"record","name":"E","fields":[]}}"#
        #expect(try text(empty, E.encode { $0.long(2); $0.long(0) }) == "[{},{}]")
    }

    @Test func mapKeepsEntryOrderAndEscapesKeys() throws {
        let payload = E.encode { $0.map([("b", Int64(1)), ("a\"q", 2), ("ü", -3)]) { $0.long($1) } }
        #expect(try text(#"{"type":"map","values":"long"}"#, payload) == #"{"b":1,"a\"q":2,"ü":-3}"#)
    }

    @Test func mapInSizedBlocks() throws {
        let payload = E.encode { e in
            e.blocks([[("x", "1")], [("y", "2"), ("z", "3")]], sized: true) { e, entry in
                e.string(entry.0)
                e.string(entry.1)
            }
        }
        #expect(try text(#"{"type":"map","values":"string"}"#, payload) == #"{"x":"1","y":"2","z":"3"}"#)
    }

    @Test func nestedArraysAndMaps() throws {
        let schema = #"{"type":"map","values":{"type":"array","items":"int"}}"#
        let payload = E.encode { e in
            e.map([("p", [Int32(1), 2]), ("q", [])]) { e, items in e.blocks(items.isEmpty ? [] : [items]) { $0.int($1) } }
        }
        #expect(try text(schema, payload) == #"{"p":[1,2],"q":[]}"#)
    }

    // MARK: unions

    @Test func unionIsTheBareValue() throws {
        let schema = #"["null","string","long",{"type":"record","name":"P","fields":[{"name":"x","type":"int"}]}]"#
        #expect(try text(schema, E.encode { $0.branch(0) }) == "null")
        #expect(try text(schema, E.encode { $0.branch(1); $0.string("hi") }) == #""hi""#)
        #expect(try text(schema, E.encode { $0.branch(2); $0.long(-9) }) == "-9")
        #expect(try text(schema, E.encode { $0.branch(3); $0.int(5) }) == #"{"x":5}"#)
    }

    @Test func optionalFieldsInARecord() throws {
        let schema = #"""
        {"type":"record","name":"R","fields":[
          {"name":"a","type":["null","int"],"default":null},{"name":"b","type":["null","int"]}]}
        """#
        let payload = E.encode { e in
            e.branch(0)
            e.branch(1)
            e.int(12)
        }
        #expect(try text(schema, payload) == #"{"a":null,"b":12}"#)
    }

    // MARK: names

    @Test func namedTypeReusedByName() throws {
        let schema = #"""
        {"type":"record","name":"Shipment","fields":[
          {"name":"from","type":{"type":"record","name":"Point","fields":[{"name":"x","type":"int"},{"name":"y","type":"int"}]}},
          {"name":"to","type":"Point"},
          {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["AIR","SEA"]}},
          {"name":"alt","type":"Kind"},
          {"name":"hash","type":{"type":"fixed","name":"H","size":2}},
          {"name":"hash2","type":"H"},
          {"name":"stops","type":{"type":"array","items":"Point"}}]}
        """#
        let payload = E.encode { e in
            e.int(1); e.int(2)
            e.int(3); e.int(4)
            e.int(1)
            e.int(0)
            e.fixed([0xAB, 0xCD])
            e.fixed([0, 0])
            e.blocks([[(5, 6)] as [(Int32, Int32)]]) { e, point in
                e.int(point.0)
                e.int(point.1)
            }
        }
        #expect(try text(schema, payload)
                == #"{"from":{"x":1,"y":2},"to":{"x":3,"y":4},"kind":"SEA","alt":"AIR","hash":"q80=","hash2":"AAA=","stops":[{"x":5,"y":6}]}"#)
    }

    @Test func namespacesShortAndFullNames() throws {
        let schema = #"""
        {"type":"record","name":"Order","namespace":"com.acme","fields":[
          {"name":"ship","type":{"type":"record","name":"Address","fields":[{"name":"zip","type":"string"}]}},
          {"name":"bill","type":"Address"},
          {"name":"billFull","type":"com.acme.Address"},
          {"name":"other","type":{"type":"record","name":"Other","namespace":"org.x","fields":[
            {"name":"a","type":"com.acme.Address"},
            {"name":"c","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}}]}},
          {"name":"color","type":"org.x.Color"},
          {"name":"dotted","type":{"type":"fixed","name":"net.y.Tag","namespace":"ignored","size":1}}]}
        """#
        let compiled = try AvroTestDecoding.compile(schema)
        #expect(compiled.fullNames == ["com.acme.Order", "com.acme.Address", "org.x.Other", "org.x.Color", "net.y.Tag"])
        let payload = E.encode { e in
            e.string("1")
            e.string("2")
            e.string("3")
            e.string("4")
            e.int(1)
            e.int(0)
            e.fixed([0xFF])
        }
        #expect(try AvroTestDecoding.text(compiled, payload)
                == #"{"ship":{"zip":"1"},"bill":{"zip":"2"},"billFull":{"zip":"3"},"other":{"a":{"zip":"4"},"c":"GREEN"},"color":"RED","dotted":"/w=="}"#)
    }

    @Test func nestedTypeInheritsTheEnclosingNamespace() throws {
        let schema = #"""
        {"type":"record","name":"a.b.Outer","fields":[
          {"name":"i","type":{"type":"record","name":"Inner","fields":[]}},
          {"name":"j","type":"a.b.Inner"}]}
        """#
        let compiled = try AvroTestDecoding.compile(schema)
        #expect(compiled.fullNames == ["a.b.Outer", "a.b.Inner"])
        #expect(try AvroTestDecoding.text(compiled, []) == #"{"i":{},"j":{}}"#)
    }

    @Test func recursiveLinkedList() throws {
        let schema = #"""
        {"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"]}]}
        """#
        let payload = E.encode { e in
            for value: Int32 in [1, 2, 3] {
                e.int(value)
                e.branch(value == 3 ? 0 : 1)
            }
        }
        #expect(try text(schema, payload) == #"{"value":1,"next":{"value":2,"next":{"value":3,"next":null}}}"#)
    }

    @Test func recursiveTreeThroughAnArray() throws {
        let schema = #"""
        {"type":"record","name":"Tree","fields":[{"name":"label","type":"string"},{"name":"children","type":{"type":"array","items":"Tree"}}]}
        """#
        let payload = E.encode { e in
            e.string("root")
            e.long(2)
            e.string("l"); e.long(0)
            e.string("r"); e.long(0)
            e.long(0)
        }
        #expect(try text(schema, payload) == #"{"label":"root","children":[{"label":"l","children":[]},{"label":"r","children":[]}]}"#)
    }

    // MARK: references

    @Test func referencedSchemaSuppliesANamedType() throws {
        let address = #"""
        {"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"},{"name":"zip","type":"string"}]}
        """#
        let main = #"""
        {"type":"record","name":"Customer","namespace":"com.shop","fields":[
          {"name":"name","type":"string"},{"name":"home","type":"com.acme.Address"},{"name":"work","type":["null","com.acme.Address"]}]}
        """#
        let compiled = try AvroTestDecoding.compile(main, referenced: [address])
        #expect(compiled.fullNames == ["com.acme.Address", "com.shop.Customer"])
        let payload = E.encode { e in
            e.string("Cy")
            e.string("Main St 1"); e.string("12345")
            e.branch(1); e.string("Dock 9"); e.string("54321")
        }
        #expect(try AvroTestDecoding.text(compiled, payload)
                == #"{"name":"Cy","home":{"street":"Main St 1","zip":"12345"},"work":{"street":"Dock 9","zip":"54321"}}"#)
    }

    @Test func laterReferenceMayUseAnEarlierOne() throws {
        let zip = #"{"type":"fixed","name":"com.acme.Zip","size":2}"#
        let address = #"{"type":"record","name":"com.acme.Address","fields":[{"name":"zip","type":"Zip"}]}"#
        let main = #"{"type":"array","items":"com.acme.Address"}"#
        let payload = E.encode { $0.blocks([[[UInt8(1), 2]]]) { $0.fixed($1) } }
        #expect(try text(main, payload, referenced: [zip, address]) == #"[{"zip":"AQI="}]"#)
    }

    @Test func withoutItsReferenceTheSchemaDoesNotCompile() throws {
        let main = #"{"type":"record","name":"C","fields":[{"name":"home","type":"com.acme.Address"}]}"#
        let error = try AvroTestDecoding.schemaError(main)
        #expect(error.reason.contains("unknown type 'com.acme.Address'"))
    }
}
