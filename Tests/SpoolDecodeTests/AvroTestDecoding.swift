import Testing
@testable import SpoolDecode

/// Compiles a schema and decodes a payload with it, returning the JSON text or the error.
enum AvroTestDecoding {
    /// Compiles `schema` (after `referenced`), failing the test when it does not compile.
    static func compile(_ schema: String, referenced: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> AvroSchema {
        do {
            return try AvroSchemaParser.compile(schema, referenced: referenced)
        } catch {
            Issue.record("schema does not compile: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// The decoded JSON text, or the decode error.
    static func result(_ schema: AvroSchema, _ payload: [UInt8]) -> Result<String, AvroDecodeError> {
        var out: [UInt8] = []
        let failure = payload.withUnsafeBytes { raw -> AvroDecodeError? in
            do throws(AvroDecodeError) {
                try schema.decode(raw, into: &out)
                return nil
            } catch {
                return error
            }
        }
        if let failure { return .failure(failure) }
        return .success(String(decoding: out, as: UTF8.self))
    }

    /// The decoded JSON text; a decode error fails the test and is rethrown.
    static func text(_ schema: String, _ payload: [UInt8], referenced: [String] = [],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let compiled = try compile(schema, referenced: referenced, sourceLocation: sourceLocation)
        return try text(compiled, payload, sourceLocation: sourceLocation)
    }

    /// The decoded JSON text with an already compiled schema.
    static func text(_ schema: AvroSchema, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        switch result(schema, payload) {
        case .success(let text): return text
        case .failure(let error):
            Issue.record("decode failed: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// The decode error; a successful decode fails the test.
    static func error(_ schema: String, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> AvroDecodeError {
        let compiled = try compile(schema, sourceLocation: sourceLocation)
        return try error(compiled, payload, sourceLocation: sourceLocation)
    }

    /// The decode error with an already compiled schema.
    static func error(_ schema: AvroSchema, _ payload: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> AvroDecodeError {
        switch result(schema, payload) {
        case .success(let text):
            Issue.record("expected a decode error, got \(text)", sourceLocation: sourceLocation)
            throw UnexpectedSuccess()
        case .failure(let error): return error
        }
    }

    /// The schema error of `text`; a schema that compiles fails the test.
    static func schemaError(_ text: String, referenced: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> AvroSchemaError {
        do throws(AvroSchemaError) {
            _ = try AvroSchemaParser.compile(text, referenced: referenced)
        } catch {
            return error
        }
        Issue.record("expected a schema error", sourceLocation: sourceLocation)
        throw UnexpectedSuccess()
    }

    struct UnexpectedSuccess: Error {}
}
