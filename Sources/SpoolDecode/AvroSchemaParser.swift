import SpoolModel

/// Compiles Avro schema JSON (Avro 1.11 specification) into an `AvroSchema`.
///
/// Named types (records, enums, fixed) get full names from their namespace or the enclosing
/// one, may be used by name after (or, for recursion, inside) their definition, and may come
/// from referenced schemas compiled first (Schema Registry `references`).
public struct AvroSchemaParser {
    private var definitions: [AvroNode?] = []
    private var fullNames: [String] = []
    private var indexByName: [String: Int] = [:]

    private static let primitives: [String: AvroNode] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long,
        "float": .float, "double": .double, "bytes": .bytes, "string": .string,
    ]

    /// A parser with no named types yet.
    public init() {}

    /// Compiles `text`, after the named types of `referenced` (each compiled in order, so a
    /// referenced schema may use the ones before it).
    public static func compile(_ text: String, referenced: [String] = []) throws(AvroSchemaError) -> AvroSchema {
        var parser = AvroSchemaParser()
        for reference in referenced {
            _ = try parser.parseNode(try json(reference), namespace: "")
        }
        let root = try parser.parseNode(try json(text), namespace: "")
        return try parser.finish(root: root)
    }

    private static func json(_ text: String) throws(AvroSchemaError) -> JSONValue {
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw AvroSchemaError(reason: "not JSON (\(error))")
        }
    }

    private func finish(root: AvroNode) throws(AvroSchemaError) -> AvroSchema {
        var named: [AvroNode] = []
        for (index, definition) in definitions.enumerated() {
            guard let definition else { throw AvroSchemaError(reason: "type '\(fullNames[index])' is never completed") }
            named.append(definition)
        }
        return AvroSchema(root: root, named: named, fullNames: fullNames)
    }

    mutating func parseNode(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> AvroNode {
        switch json {
        case .string(let name):
            return try resolve(name, namespace: namespace)
        case .array(let branches):
            var nodes: [AvroNode] = []
            for branch in branches {
                let node = try parseNode(branch, namespace: namespace)
                if case .union = node { throw AvroSchemaError(reason: "a union may not hold another union directly") }
                nodes.append(node)
            }
            guard !nodes.isEmpty else { throw AvroSchemaError(reason: "an empty union has no value") }
            return .union(branches: nodes)
        case .object:
            return try parseObject(json, namespace: namespace)
        default:
            throw AvroSchemaError(reason: "a schema must be a name, an object or an array, not \(json.jsonText)")
        }
    }

    private mutating func parseObject(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> AvroNode {
        guard let type = json["type"] else { throw AvroSchemaError(reason: "missing \"type\" in \(json.jsonText.prefix(200))") }
        let base: AvroNode
        switch type.stringValue {
        case "record", "error": base = try parseRecord(json, namespace: namespace)
        case "enum": base = try parseEnum(json, namespace: namespace)
        case "fixed": base = try parseFixed(json, namespace: namespace)
        case "array":
            guard let items = json["items"] else { throw AvroSchemaError(reason: "array without \"items\"") }
            base = .array(items: try parseNode(items, namespace: namespace))
        case "map":
            guard let values = json["values"] else { throw AvroSchemaError(reason: "map without \"values\"") }
            base = .map(values: try parseNode(values, namespace: namespace))
        default:
            base = try parseNode(type, namespace: namespace)
        }
        guard let logical = json["logicalType"]?.stringValue else { return base }
        return logicalNode(logical, json: json, base: base)
    }

    /// A logical type the spec allows on `base`, or `base` itself (the spec says to ignore the rest).
    private func logicalNode(_ name: String, json: JSONValue, base: AvroNode) -> AvroNode {
        let underlying = underlyingKind(base)
        let logical: AvroLogicalType?
        switch (name, underlying) {
        case ("decimal", "bytes"), ("decimal", "fixed"):
            let precision = json["precision"]?.intValue ?? 0
            let scale = json["scale"]?.intValue ?? 0
            logical = precision > 0 && scale >= 0 && scale <= precision ? .decimal(precision: precision, scale: scale) : nil
        case ("uuid", "string"): logical = .uuid
        case ("date", "int"): logical = .date
        case ("time-millis", "int"): logical = .timeMillis
        case ("time-micros", "long"): logical = .timeMicros
        case ("timestamp-millis", "long"): logical = .timestampMillis
        case ("timestamp-micros", "long"): logical = .timestampMicros
        case ("timestamp-nanos", "long"): logical = .timestampNanos
        case ("local-timestamp-millis", "long"): logical = .localTimestampMillis
        case ("local-timestamp-micros", "long"): logical = .localTimestampMicros
        case ("local-timestamp-nanos", "long"): logical = .localTimestampNanos
        case ("duration", "fixed12"): logical = .duration
        default: logical = nil
        }
        guard let logical else { return base }
        return .logical(logical, base: base)
    }

    private func underlyingKind(_ node: AvroNode) -> String {
        switch node {
        case .int: "int"
        case .long: "long"
        case .bytes: "bytes"
        case .string: "string"
        case .fixed(_, let size): size == 12 ? "fixed12" : "fixed"
        case .named(let index): definitions[index].map(underlyingKind) ?? "record"
        default: "other"
        }
    }

    private mutating func parseRecord(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> AvroNode {
        let (fullName, inner) = try define(json, namespace: namespace)
        guard let fieldList = json["fields"]?.arrayValue else { throw AvroSchemaError(reason: "record '\(fullName)' has no \"fields\" array") }
        var fields: [AvroField] = []
        var seen = Set<String>()
        for field in fieldList {
            guard let name = field["name"]?.stringValue, let type = field["type"] else {
                throw AvroSchemaError(reason: "a field of record '\(fullName)' lacks \"name\" or \"type\"")
            }
            guard seen.insert(name).inserted else { throw AvroSchemaError(reason: "record '\(fullName)' has field '\(name)' twice") }
            var key: [UInt8] = []
            JSONWriter.appendString(name, to: &key, escaping: .namedBackspaceAndFormFeed)
            key.append(UInt8(ascii: ":"))
            fields.append(AvroField(name: name, jsonKey: key, type: try parseNode(type, namespace: inner)))
        }
        return complete(fullName, .record(name: fullName, fields: fields))
    }

    private mutating func parseEnum(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> AvroNode {
        let (fullName, _) = try define(json, namespace: namespace)
        guard let symbols = json["symbols"]?.arrayValue, !symbols.isEmpty else {
            throw AvroSchemaError(reason: "enum '\(fullName)' has no \"symbols\"")
        }
        var encoded: [[UInt8]] = []
        for symbol in symbols {
            guard let text = symbol.stringValue else { throw AvroSchemaError(reason: "enum '\(fullName)' has a symbol that is not a string") }
            var bytes: [UInt8] = []
            JSONWriter.appendString(text, to: &bytes, escaping: .namedBackspaceAndFormFeed)
            encoded.append(bytes)
        }
        return complete(fullName, .enumeration(name: fullName, symbols: encoded))
    }

    private mutating func parseFixed(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> AvroNode {
        let (fullName, _) = try define(json, namespace: namespace)
        guard let size = json["size"]?.intValue, size >= 0 else { throw AvroSchemaError(reason: "fixed '\(fullName)' has no valid \"size\"") }
        return complete(fullName, .fixed(name: fullName, size: size))
    }

    /// Registers a named type before its body is parsed (so it can refer to itself); returns its
    /// full name and the namespace its body's names are relative to.
    private mutating func define(_ json: JSONValue, namespace: String) throws(AvroSchemaError) -> (String, String) {
        guard let name = json["name"]?.stringValue, !name.isEmpty else {
            throw AvroSchemaError(reason: "a named type lacks \"name\" in \(json.jsonText.prefix(200))")
        }
        let fullName: String
        if name.contains(".") {
            fullName = name
        } else {
            let space = json["namespace"]?.stringValue ?? namespace
            fullName = space.isEmpty ? name : space + "." + name
        }
        guard indexByName[fullName] == nil, Self.primitives[fullName] == nil else {
            throw AvroSchemaError(reason: "type '\(fullName)' is defined twice")
        }
        indexByName[fullName] = definitions.count
        definitions.append(nil)
        fullNames.append(fullName)
        let inner = fullName.split(separator: ".").dropLast().joined(separator: ".")
        return (fullName, inner)
    }

    private mutating func complete(_ fullName: String, _ node: AvroNode) -> AvroNode {
        let index = indexByName[fullName]!
        definitions[index] = node
        return .named(index)
    }

    private func resolve(_ name: String, namespace: String) throws(AvroSchemaError) -> AvroNode {
        if let primitive = Self.primitives[name] { return primitive }
        let candidates = name.contains(".") || namespace.isEmpty ? [name] : [namespace + "." + name, name]
        for candidate in candidates {
            if let index = indexByName[candidate] { return .named(index) }
        }
        throw AvroSchemaError(reason: "unknown type '\(name)'" + (namespace.isEmpty ? "" : " (namespace '\(namespace)')"))
    }
}
