import SpoolModel

/// Reads Spool's `headers` JSON for display: `spool query` embeds it as JSON in `json`/`jsonl`
/// and shows it compactly in tables.
///
/// Only the shape Spool writes is accepted (an array of objects whose members are strings or
/// null); anything else is shown as the plain text it is.
public enum HeaderText {
    /// One header as stored: its name and its value as text, base64 or null.
    public struct Entry: Equatable, Sendable {
        /// The header name.
        public var name: String
        /// The value: text, base64 text (not UTF-8 text), or nil for null.
        public var value: String?
        /// Whether `value` is base64 (`value_base64` in the JSON).
        public var isBase64: Bool
    }

    /// The headers in `json`, or nil when it is not Spool's header JSON. Strings are read as
    /// `HeadersJSON.decode` reads them for a replay (`JSONParser.StringRules.exactBytes`).
    public static func parse(_ json: String) -> [Entry]? {
        guard let items = try? JSONValue(parsing: json, strings: .exactBytes), case .array(let elements) = items else { return nil }
        var entries: [Entry] = []
        for element in elements {
            guard case .object(let members) = element, members.count == 2 else { return nil }
            var fields: [String: JSONValue] = [:]
            for (key, value) in members { fields[key] = value }
            let name: String
            if case .string(let text)? = fields["key"] {
                name = text
            } else if case .string(let encoded)? = fields["key_base64"] {
                name = "b64:" + encoded
            } else {
                return nil
            }
            switch (fields["value"], fields["value_base64"]) {
            case (.string(let text)?, nil): entries.append(Entry(name: name, value: text, isBase64: false))
            case (.null?, nil): entries.append(Entry(name: name, value: nil, isBase64: false))
            case (nil, .string(let encoded)?): entries.append(Entry(name: name, value: encoded, isBase64: true))
            default: return nil
            }
        }
        return entries
    }

    /// `name=value, ...` for a table cell: null as `NULL`, binary values as `b64:...`.
    public static func compact(_ entries: [Entry]) -> String {
        entries.map { entry in
            let value = entry.value.map { entry.isBase64 ? "b64:" + $0 : $0 } ?? "NULL"
            return entry.name + "=" + value
        }.joined(separator: ", ")
    }
}
