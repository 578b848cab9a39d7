import Foundation
import SpoolModel

/// What a schema id decodes with, once its schema is known.
public enum SchemaPlan: Sendable {
    /// Avro binary, decoded with this schema.
    case avro(AvroSchema)
    /// JSON Schema: the payload is the JSON itself (checked to be valid).
    case json
    /// Protobuf: the message indexes pick a message of this schema, whose bytes follow.
    case protobuf(ProtobufSchema)
    /// Known but not decodable here (an unknown type, an invalid schema, an id the registry
    /// does not have): every record using it fails with this reason.
    case unusable(String)

    /// Compiles a fetched schema (referenced schemas first) into a plan.
    public static func compile(_ fetched: FetchedSchema) -> SchemaPlan {
        switch fetched.main.type {
        case "AVRO":
            do {
                return .avro(try AvroSchemaParser.compile(fetched.main.text, referenced: fetched.referenced.map(\.text)))
            } catch {
                return .unusable("\(fetched.main.schemaKey): \(error)")
            }
        case "JSON": return .json
        case "PROTOBUF":
            do {
                return .protobuf(try ProtobufSchema(files: protobufFiles(fetched)))
            } catch {
                return .unusable("\(fetched.main.schemaKey): \(error)")
            }
        default:
            return .unusable("\(fetched.main.schemaKey) is \(fetched.main.type), which Spool does not decode (Avro, JSON Schema and Protobuf only)")
        }
    }

    /// The files of a Protobuf schema, its own last: each referenced schema under the import
    /// path it is referenced by, from its serialized descriptor when the registry gave one,
    /// else from its text.
    static func protobufFiles(_ fetched: FetchedSchema) -> [ProtobufSchema.File] {
        var importPaths: [Int32: String] = [:]
        for schema in fetched.referenced + [fetched.main] {
            for reference in SchemaReference.parseList(schema.referencesJSON) {
                if let id = reference.id { importPaths[id] = reference.name }
            }
        }
        func source(_ schema: StoredSchema) -> ProtobufSchema.File.Source {
            if let serialized = schema.serialized, let bytes = Data(base64Encoded: serialized) { return .serialized(Array(bytes)) }
            return .text(schema.text)
        }
        let references = fetched.referenced.map { schema in
            ProtobufSchema.File(name: importPaths[schema.id] ?? "schema-\(schema.id).proto", source: source(schema))
        }
        let name = switch fetched.main.schemaKey {
        case .id(let id): "spool-schema-id-\(id).proto"
        case .guid(let guid): "spool-schema-guid-\(guid).proto"
        }
        return references + [ProtobufSchema.File(name: name, source: source(fetched.main))]
    }
}

/// A schema and the schemas its references need, dependencies first.
public struct FetchedSchema: Sendable {
    /// The schema itself.
    public var main: StoredSchema
    /// Every schema it references, directly or not, each before the ones that use it.
    public var referenced: [StoredSchema]

    /// Bundles a schema with its references.
    public init(main: StoredSchema, referenced: [StoredSchema]) {
        self.main = main
        self.referenced = referenced
    }

    /// Rebuilds a fetched schema for `id` from stored rows (nil when a needed one is missing).
    public static func fromStored(id: Int32, byID: [Int32: StoredSchema]) -> FetchedSchema? {
        guard let main = byID[id] else { return nil }
        return fromStored(main: main, byID: byID)
    }

    /// Rebuilds a fetched schema for the stored `main` (kept by id or by GUID) and the schemas
    /// its references name among `byID` (nil when a needed one is missing).
    public static func fromStored(main: StoredSchema, byID: [Int32: StoredSchema]) -> FetchedSchema? {
        var ordered: [StoredSchema] = []
        var visiting = Set<Int32>()
        func collect(_ schema: StoredSchema) -> Bool {
            for reference in SchemaReference.parseList(schema.referencesJSON) {
                guard let referencedID = reference.id, let child = byID[referencedID] else { return false }
                if ordered.contains(where: { $0.id == referencedID }) || !visiting.insert(referencedID).inserted { continue }
                guard collect(child) else { return false }
                ordered.append(child)
            }
            return true
        }
        guard collect(main) else { return nil }
        return FetchedSchema(main: main, referenced: ordered)
    }
}

/// One entry of a schema's `references`: a named type found under a subject's version.
public struct SchemaReference: Sendable, Equatable {
    /// The name the schema uses (an Avro full name, a JSON Schema `$ref`).
    public var name: String
    /// The subject holding it.
    public var subject: String
    /// The subject's version.
    public var version: Int
    /// The global id that version resolved to (filled in once fetched).
    public var id: Int32?

    /// Parses a `references` JSON array (as the registry sends it, or as stored); bad entries are skipped.
    public static func parseList(_ text: String?) -> [SchemaReference] {
        guard let text, let json = try? JSONValue(parsing: text), let entries = json.arrayValue else { return [] }
        return entries.compactMap { entry in
            guard let name = entry["name"]?.stringValue, let subject = entry["subject"]?.stringValue,
                  let version = entry["version"]?.intValue else { return nil }
            return SchemaReference(name: name, subject: subject, version: version, id: entry["id"]?.intValue.flatMap { Int32(exactly: $0) })
        }
    }

    /// The JSON array text for `references` (nil for none).
    public static func listText(_ references: [SchemaReference]) -> String? {
        guard !references.isEmpty else { return nil }
        return JSONValue.array(references.map { reference in
            var members: [(String, JSONValue)] = [("name", .string(reference.name)), ("subject", .string(reference.subject)),
                                                  ("version", .number(String(reference.version)))]
            if let id = reference.id { members.append(("id", .number(String(id)))) }
            return .object(members)
        }).jsonText
    }
}
