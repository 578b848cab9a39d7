import Testing
@testable import SpoolDecode
import SpoolModel

@Suite("Avro schema compilation")
struct AvroSchemaParserTests {
    private func reason(_ text: String, referenced: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try AvroTestDecoding.schemaError(text, referenced: referenced, sourceLocation: sourceLocation).reason
    }

    @Test func compilesEveryPrimitiveByName() throws {
        for name in ["null", "boolean", "int", "long", "float", "double", "bytes", "string"] {
            let schema = try AvroTestDecoding.compile("\"\(name)\"")
            #expect(schema.fullNames.isEmpty)
        }
    }

    @Test func unknownTypeName() throws {
        #expect(try reason(#""integer""#) == "unknown type 'integer'")
        #expect(try reason(#"{"type":"Missing"}"#) == "unknown type 'Missing'")
        #expect(try reason(#"{"type":"record","name":"R","namespace":"com.acme","fields":[{"name":"a","type":"Nope"}]}"#)
                == "unknown type 'Nope' (namespace 'com.acme')")
    }

    @Test func shortNameDoesNotResolveOutsideItsNamespace() throws {
        let schema = #"""
        {"type":"record","name":"Order","namespace":"com.acme","fields":[
          {"name":"ship","type":{"type":"record","name":"Address","fields":[]}},
          {"name":"other","type":{"type":"record","name":"Other","namespace":"org.x","fields":[{"name":"a","type":"Address"}]}}]}
        """#
        #expect(try reason(schema) == "unknown type 'Address' (namespace 'org.x')")
    }

    @Test func typeUsedBeforeItsDefinitionIsUnknown() throws {
        let schema = #"""
        {"type":"record","name":"R","fields":[{"name":"a","type":"P"},{"name":"b","type":{"type":"record","name":"P","fields":[]}}]}
        """#
        #expect(try reason(schema) == "unknown type 'P'")
    }

    @Test func duplicateName() throws {
        let schema = #"""
        {"type":"record","name":"R","fields":[
          {"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},
          {"name":"b","type":{"type":"fixed","name":"E","size":1}}]}
        """#
        #expect(try reason(schema) == "type 'E' is defined twice")
        #expect(try reason(#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#)
                == "type 'R' is defined twice")
    }

    @Test func sameShortNameInDifferentNamespacesIsFine() throws {
        let schema = #"""
        {"type":"record","name":"R","namespace":"a","fields":[
          {"name":"x","type":{"type":"enum","name":"E","symbols":["X"]}},
          {"name":"y","type":{"type":"enum","name":"E","namespace":"b","symbols":["Y"]}}]}
        """#
        #expect(try AvroTestDecoding.compile(schema).fullNames == ["a.R", "a.E", "b.E"])
    }

    @Test func duplicateAcrossReferenceAndMain() throws {
        let reference = #"{"type":"fixed","name":"com.acme.Id","size":4}"#
        #expect(try reason(#"{"type":"fixed","name":"Id","namespace":"com.acme","size":8}"#, referenced: [reference])
                == "type 'com.acme.Id' is defined twice")
    }

    @Test func namedTypeMayNotTakeAPrimitiveName() throws {
        #expect(try reason(#"{"type":"fixed","name":"int","size":4}"#) == "type 'int' is defined twice")
    }

    @Test func unionInsideUnion() throws {
        #expect(try reason(#"["null",["int","string"]]"#) == "a union may not hold another union directly")
    }

    @Test func emptyUnion() throws {
        #expect(try reason("[]") == "an empty union has no value")
    }

    @Test func recordProblems() throws {
        #expect(try reason(#"{"type":"record","name":"R"}"#) == #"record 'R' has no "fields" array"#)
        #expect(try reason(#"{"type":"record","name":"R","fields":{}}"#) == #"record 'R' has no "fields" array"#)
        #expect(try reason(#"{"type":"record","name":"R","fields":[{"name":"a"}]}"#) == #"a field of record 'R' lacks "name" or "type""#)
        #expect(try reason(#"{"type":"record","name":"R","fields":[{"type":"int"}]}"#) == #"a field of record 'R' lacks "name" or "type""#)
        #expect(try reason(#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}"#)
                == "record 'R' has field 'a' twice")
        #expect(try reason(#"{"type":"record","fields":[]}"#).hasPrefix(#"a named type lacks "name""#))
        #expect(try reason(#"{"type":"record","name":"","fields":[]}"#).hasPrefix(#"a named type lacks "name""#))
    }

    @Test func errorTypeIsARecord() throws {
        let decoded = try AvroTestDecoding.text(#"{"type":"error","name":"Oops","fields":[{"name":"code","type":"int"}]}"#, [0x04])
        #expect(decoded == #"{"code":2}"#)
    }

    @Test func enumProblems() throws {
        #expect(try reason(#"{"type":"enum","name":"E"}"#) == #"enum 'E' has no "symbols""#)
        #expect(try reason(#"{"type":"enum","name":"E","symbols":[]}"#) == #"enum 'E' has no "symbols""#)
        #expect(try reason(#"{"type":"enum","name":"E","symbols":["A",1]}"#) == "enum 'E' has a symbol that is not a string")
    }

    @Test func fixedProblems() throws {
        #expect(try reason(#"{"type":"fixed","name":"F"}"#) == #"fixed 'F' has no valid "size""#)
        #expect(try reason(#"{"type":"fixed","name":"F","size":-1}"#) == #"fixed 'F' has no valid "size""#)
        #expect(try reason(#"{"type":"fixed","name":"F","size":"4"}"#) == #"fixed 'F' has no valid "size""#)
        #expect(try reason(#"{"type":"fixed","name":"F","size":1.5}"#) == #"fixed 'F' has no valid "size""#)
    }

    @Test func arrayAndMapProblems() throws {
        #expect(try reason(#"{"type":"array"}"#) == #"array without "items""#)
        #expect(try reason(#"{"type":"map"}"#) == #"map without "values""#)
        #expect(try reason(#"{"type":"array","items":"nope"}"#) == "unknown type 'nope'")
    }

    @Test func objectWithoutType() throws {
        #expect(try reason(#"{"name":"x"}"#).hasPrefix(#"missing "type""#))
    }

    @Test func schemaThatIsNotANameObjectOrArray() throws {
        #expect(try reason("5") == "a schema must be a name, an object or an array, not 5")
        #expect(try reason(#"{"type":true}"#) == "a schema must be a name, an object or an array, not true")
        #expect(try reason("null") == "a schema must be a name, an object or an array, not null")
    }

    @Test func schemaThatIsNotJSON() throws {
        let failure = try AvroTestDecoding.schemaError(#"{"type":"int",}"#)
        #expect(failure.reason.hasPrefix("not JSON (invalid JSON at byte "))
        #expect(failure.description.hasPrefix("invalid Avro schema: not JSON"))
    }

    @Test func errorInAReferencedSchemaIsReported() throws {
        #expect(try reason(#""int""#, referenced: [#"{"type":"enum","name":"E","symbols":[]}"#]) == #"enum 'E' has no "symbols""#)
    }

    @Test func fullNamesListEveryNamedTypeInDefinitionOrder() throws {
        let schema = #"""
        {"type":"record","name":"A","namespace":"n","fields":[
          {"name":"b","type":{"type":"array","items":{"type":"record","name":"B","fields":[
            {"name":"c","type":{"type":"enum","name":"C","symbols":["X"]}}]}}},
          {"name":"d","type":{"type":"map","values":{"type":"fixed","name":"m.D","size":1}}},
          {"name":"e","type":["null",{"type":"record","name":"E","fields":[{"name":"f","type":"B"}]}]}]}
        """#
        #expect(try AvroTestDecoding.compile(schema).fullNames == ["n.A", "n.B", "n.C", "m.D", "n.E"])
    }

    @Test func oneCompiledSchemaDecodesManyPayloads() throws {
        let schema = try AvroTestDecoding.compile(#"{"type":"record","name":"R","fields":[{"name":"n","type":"long"}]}"#)
        for value: Int64 in [0, 1, -1, 1 << 40] {
            #expect(try AvroTestDecoding.text(schema, AvroTestEncoder.varint(value)) == "{\"n\":\(value)}")
        }
    }

    @Test func deeplyNestedSchemaCompilesWithinTheJSONLimit() throws {
        let depth = JSONParser.maxDepth - 1
        let text = String(repeating: #"{"type":"array","items":"#, count: depth) + #""int""# + String(repeating: "}", count: depth)
        _ = try AvroTestDecoding.compile(text)
        let tooDeep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(try reason(tooDeep).contains("nested deeper than 512 levels"))
    }

    @Test func fieldNamesAreWrittenAsJSONStrings() throws {
        // The parser does not police Avro's name rules; whatever it accepts must still give valid JSON.
        let decoded = try AvroTestDecoding.text(#"{"type":"record","name":"R","fields":[{"name":"a\"b","type":"null"}]}"#, [])
        #expect(decoded == #"{"a\"b":null}"#)
    }
}
