/// A parsed JSON document, for schemas and registry answers (not for record payloads).
///
/// Numbers keep their text, so integers of any size come back exact; objects keep their
/// members in document order.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as written.
    case number(String)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object, members in document order.
    case object([(String, JSONValue)])

    /// Parses UTF-8 JSON text; throws `JSONSyntaxError` naming the byte where it went wrong.
    public init(parsing text: String) throws(JSONSyntaxError) {
        try self.init(parsing: text, strings: .document)
    }

    /// Parses UTF-8 JSON text whose strings follow `rules`.
    package init(parsing text: String, strings rules: JSONParser.StringRules) throws(JSONSyntaxError) {
        let result = Array(text.utf8).withUnsafeBytes { bytes in
            var parser = JSONParser(bytes, buildsValues: true, strings: rules)
            return Result { () throws(JSONSyntaxError) -> JSONValue in try parser.parseDocument() }
        }
        self = try result.get()
    }

    /// Member `name` of an object (the first one), nil for other values or a missing member.
    public subscript(name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == name }?.1
    }

    /// The string, if this is one.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The integer, if this is a number that is one.
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Compact JSON text for the value.
    public var jsonText: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): JSONWriter.appendString(text, to: &out, escaping: .namedBackspaceAndFormFeed)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(name, to: &out, escaping: .namedBackspaceAndFormFeed)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Structural equality: numbers by their text, object members in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}
