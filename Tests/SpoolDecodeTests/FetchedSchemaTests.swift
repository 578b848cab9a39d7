import Foundation
import SpoolModel
import Testing
@testable import SpoolDecode

@Suite("Stored schemas, references and plans")
struct FetchedSchemaTests {
    private static let registry = "http://registry:8081"

    private func stored(_ id: Int32, type: String = "AVRO", text: String = #""int""#, references: [Int32] = []) -> StoredSchema {
        let list = references.map { SchemaReference(name: "ref\($0)", subject: "subject-\($0)", version: 1, id: $0) }
        return StoredSchema(registry: Self.registry, id: id, type: type, text: text,
                            referencesJSON: SchemaReference.listText(list), fetchedAt: 1_700_000_000_000)
    }

    private func byID(_ schemas: [StoredSchema]) -> [Int32: StoredSchema] {
        Dictionary(uniqueKeysWithValues: schemas.map { ($0.id, $0) })
    }

    // MARK: FetchedSchema.fromStored

    @Test func schemaWithoutReferences() throws {
        let fetched = try #require(FetchedSchema.fromStored(id: 1, byID: byID([stored(1), stored(2)])))
        #expect(fetched.main.id == 1)
        #expect(fetched.referenced.isEmpty)
    }

    @Test func referencesComeDependenciesFirst() throws {
        // 1 uses 2 and 3; 2 uses 3; 3 uses 4.
        let schemas = [stored(1, references: [2, 3]), stored(2, references: [3]), stored(3, references: [4]), stored(4), stored(5)]
        let fetched = try #require(FetchedSchema.fromStored(id: 1, byID: byID(schemas)))
        #expect(fetched.referenced.map(\.id) == [4, 3, 2])
    }

    @Test func sharedReferenceAppearsOnce() throws {
        // A diamond: 1 uses 2 and 3, both use 4.
        let schemas = [stored(1, references: [2, 3]), stored(2, references: [4]), stored(3, references: [4]), stored(4)]
        let fetched = try #require(FetchedSchema.fromStored(id: 1, byID: byID(schemas)))
        #expect(fetched.referenced.map(\.id) == [4, 2, 3])
    }

    @Test func everyReferenceComesBeforeItsUsers() throws {
        let schemas = [stored(10, references: [11, 12, 13]), stored(11, references: [13]), stored(12, references: [11]), stored(13)]
        let fetched = try #require(FetchedSchema.fromStored(id: 10, byID: byID(schemas)))
        let order = fetched.referenced.map(\.id)
        #expect(Set(order) == [11, 12, 13])
        #expect(order.count == 3)
        for schema in fetched.referenced {
            let position = try #require(order.firstIndex(of: schema.id))
            for dependency in SchemaReference.parseList(schema.referencesJSON) {
                let dependencyID = try #require(dependency.id)
                let dependencyPosition = try #require(order.firstIndex(of: dependencyID))
                #expect(dependencyPosition < position, "\(dependencyID) must precede \(schema.id)")
            }
        }
    }

    @Test func missingReferenceGivesNil() {
        #expect(FetchedSchema.fromStored(id: 1, byID: byID([stored(1, references: [2])])) == nil)
        #expect(FetchedSchema.fromStored(id: 1, byID: byID([stored(1, references: [2]), stored(2, references: [3])])) == nil)
    }

    @Test func missingMainGivesNil() {
        #expect(FetchedSchema.fromStored(id: 9, byID: byID([stored(1)])) == nil)
    }

    @Test func referenceWithoutAnIDGivesNil() {
        var main = stored(1)
        main.referencesJSON = #"[{"name":"x","subject":"s","version":1}]"#
        #expect(FetchedSchema.fromStored(id: 1, byID: byID([main, stored(2)])) == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func cyclicReferencesTerminate() {
        let schemas = [stored(1, references: [2]), stored(2, references: [1])]
        let fetched = FetchedSchema.fromStored(id: 1, byID: byID(schemas))
        #expect(fetched?.referenced.contains { $0.id == 2 } == true)
    }

    // MARK: SchemaReference

    @Test func referenceListRoundTrips() {
        let references = [
            SchemaReference(name: "com.acme.Address", subject: "address-value", version: 3, id: 12),
            SchemaReference(name: "other.json", subject: "sub \"quoted\"", version: 1, id: nil),
        ]
        let text = SchemaReference.listText(references)
        #expect(text == #"[{"name":"com.acme.Address","subject":"address-value","version":3,"id":12},{"name":"other.json","subject":"sub \"quoted\"","version":1}]"#)
        #expect(SchemaReference.parseList(text) == references)
        #expect(SchemaReference.listText([]) == nil)
    }

    @Test func badReferenceEntriesAreSkipped() {
        let text = #"[{"name":"a","subject":"s","version":1},{"name":"b"},{"name":"c","subject":"s","version":"1"},5,{"name":"d","subject":"t","version":2,"id":99999999999}]"#
        #expect(SchemaReference.parseList(text) == [
            SchemaReference(name: "a", subject: "s", version: 1, id: nil),
            SchemaReference(name: "d", subject: "t", version: 2, id: nil),
        ])
        #expect(SchemaReference.parseList(nil).isEmpty)
        #expect(SchemaReference.parseList("not json").isEmpty)
        #expect(SchemaReference.parseList(#"{"name":"a"}"#).isEmpty)
    }

    // MARK: SchemaPlan.compile

    @Test func avroPlanDecodesWithItsReferences() throws {
        let address = stored(2, text: #"{"type":"record","name":"com.acme.Address","fields":[{"name":"zip","type":"string"}]}"#)
        let customer = stored(1, text: #"{"type":"record","name":"Customer","fields":[{"name":"home","type":"com.acme.Address"}]}"#,
                              references: [2])
        let fetched = try #require(FetchedSchema.fromStored(id: 1, byID: byID([customer, address])))
        guard case .avro(let schema) = SchemaPlan.compile(fetched) else {
            Issue.record("expected an Avro plan")
            return
        }
        #expect(schema.fullNames == ["com.acme.Address", "Customer"])
        #expect(try AvroTestDecoding.text(schema, AvroTestEncoder.encode { $0.string("0150") }) == #"{"home":{"zip":"0150"}}"#)
    }

    @Test func jsonPlan() {
        guard case .json = SchemaPlan.compile(FetchedSchema(main: stored(3, type: "JSON", text: #"{"type":"object"}"#), referenced: [])) else {
            Issue.record("expected a JSON plan")
            return
        }
    }

    @Test func protobufPlanFromText() throws {
        let plan = SchemaPlan.compile(FetchedSchema(main: stored(5, type: "PROTOBUF", text: "syntax = \"proto3\"; package p; message M { int32 a = 1; }"),
                                                    referenced: []))
        guard case .protobuf(let schema) = plan else {
            Issue.record("expected a Protobuf plan")
            return
        }
        #expect(try schema.messageName(indexes: [0]) == "p.M")
    }

    @Test func protobufReferenceIsFoundUnderItsImportPath() throws {
        // The reference is stored as text; the main schema as the registry's serialized
        // descriptor (base64), which wins over its text.
        let common = stored(2, type: "PROTOBUF", text: "syntax = \"proto3\"; package c; message Money { int64 cents = 1; }")
        let descriptor = ProtobufTestEncoder.encode { file in
            file.string(1, "whatever.proto")
            file.string(3, "ref2")                             // dependency: the reference's name
            file.message(4) { message in
                message.string(1, "Order")
                // total: .c.Money = 1 (label optional 1, type message 11, type_name 6)
                message.message(2) { $0.string(1, "total"); $0.varint(3, 1); $0.varint(4, 1); $0.varint(5, 11); $0.string(6, ".c.Money") }
            }
            file.string(12, "proto3")
        }
        var main = stored(9, type: "PROTOBUF", text: "this text is not used", references: [2])
        main.serialized = Data(descriptor).base64EncodedString()
        guard case .protobuf(let schema) = SchemaPlan.compile(FetchedSchema(main: main, referenced: [common])) else {
            Issue.record("expected a Protobuf plan")
            return
        }
        var out: [UInt8] = []
        try [UInt8]([0x0A, 0x02, 0x08, 0x07]).withUnsafeBytes { try schema.decode($0, indexes: [0], into: &out) }
        #expect(String(decoding: out, as: UTF8.self) == #"{"total":{"cents":7}}"#)
    }

    @Test func protobufThatDoesNotBuildIsUnusable() {
        let plan = SchemaPlan.compile(FetchedSchema(main: stored(5, type: "PROTOBUF", text: "message {"), referenced: []))
        guard case .unusable(let reason) = plan else {
            Issue.record("expected an unusable plan")
            return
        }
        #expect(reason.hasPrefix("schema id 5: Protobuf schema does not build: the .proto text of spool-schema-id-5.proto does not parse"))
    }

    @Test func invalidAvroIsUnusable() {
        let plan = SchemaPlan.compile(FetchedSchema(main: stored(7, text: #"{"type":"record","name":"R"}"#), referenced: []))
        guard case .unusable(let reason) = plan else {
            Issue.record("expected an unusable plan")
            return
        }
        #expect(reason == #"schema id 7: invalid Avro schema: record 'R' has no "fields" array"#)
    }
}
