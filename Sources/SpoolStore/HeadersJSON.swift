import SpoolModel

/// The `headers` column: a record's headers as a JSON array, one object per header in order.
///
/// `{"key": NAME, "value": TEXT}` when the value is UTF-8 text, `{"key": NAME, "value": null}`
/// for a null value, `{"key": NAME, "value_base64": B64}` otherwise (standard base64 with
/// padding). Text is used only for well-formed UTF-8 without NUL bytes: SQLite's JSON functions
/// end a string at an escaped NUL, so such values are kept as base64 to rebuild them exactly. A
/// name that is not such text (librdkafka hands names as C strings, so this does not happen with
/// Kafka clients) is kept as `key_base64` the same way.
package enum HeadersJSON {
    /// Appends the JSON array of row `row`'s headers to `out` (the row has at least one). Text
    /// is escaped by `JSONWriter` with `escapes` added (none for the stored column).
    package static func encode(_ payloads: MessageBatch.Payloads, row: Int, into out: inout [UInt8],
                               escaping escapes: JSONWriter.Escapes = JSONWriter.Escapes(rawValue: 0)) {
        out.append(UInt8(ascii: "["))
        for index in 0..<payloads.headerCount(at: row) {
            let header = payloads.header(index, at: row)
            // A member name goes in with its punctuation as one literal: one append, not four.
            if index > 0 { out.append(UInt8(ascii: ",")) }
            if isText(header.name) {
                appendLiteral("{\"key\":", into: &out)
                JSONWriter.appendString(header.name, to: &out, escaping: escapes)
            } else {
                appendLiteral("{\"key_base64\":", into: &out)
                JSONWriter.appendBase64(header.name, to: &out)
            }
            if let value = header.value {
                if isText(value) {
                    appendLiteral(",\"value\":", into: &out)
                    JSONWriter.appendString(value, to: &out, escaping: escapes)
                } else {
                    appendLiteral(",\"value_base64\":", into: &out)
                    JSONWriter.appendBase64(value, to: &out)
                }
                out.append(UInt8(ascii: "}"))
            } else {
                appendLiteral(",\"value\":null}", into: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Whether `bytes` can be stored as a JSON string and read back exactly.
    package static func isText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.contains(0) && UTF8Validation.isValid(bytes)
    }

    private static func appendLiteral(_ text: StaticString, into out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }
}
