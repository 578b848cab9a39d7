import SpoolModel

/// Decodes the Confluent-framed keys and values of a batch into JSON, with a `SchemaCatalog`.
///
/// A part (key or value) that is not framed is left NULL; a framed part whose schema is not
/// known yet is left NULL and the row marked pending; one that does not match its schema is
/// left NULL, the row marked failed and the reason kept (the first per topic and batch).
public struct BatchDecoder: Sendable {
    /// Where schemas come from.
    public let catalog: SchemaCatalog

    /// A decoder over `catalog`.
    public init(catalog: SchemaCatalog) {
        self.catalog = catalog
    }

    /// Decodes every row of `batch`.
    public func decode(_ batch: MessageBatch) -> DecodedColumns {
        var columns = DecodedColumns()
        var plans: [Int32: SchemaCatalog.Lookup] = [:]
        batch.withPayloads { payloads in
            for row in batch.indices {
                var failure: String?
                columns.appendRow { writer in
                    decodeRow(key: payloads.key(at: row), value: payloads.value(at: row), into: &writer, plans: &plans, failure: &failure)
                }
                if let failure { columns.noteFailure(topic: batch.topic(at: row), row: row, message: failure) }
            }
        }
        return columns
    }

    /// Decodes one row's key then value into `writer`; returns the row's state and sets
    /// `failure` to the reason when a part failed. `plans` caches lookups across rows.
    public func decodeRow(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, into writer: inout DecodedColumns.RowWriter,
                          plans: inout [Int32: SchemaCatalog.Lookup], failure: inout String?) -> DecodedColumns.State {
        writer.begin()
        let keyState = decodePart(key, part: "key", into: &writer, plans: &plans, failure: &failure)
        if keyState == .decoded { writer.finishKey() }
        writer.begin()
        let valueState = decodePart(value, part: "value", into: &writer, plans: &plans, failure: &failure)
        if valueState == .decoded { writer.finishValue() }
        return Self.combine(keyState, valueState)
    }

    /// A row is pending while any part waits, else failed if any failed, else decoded if any was.
    static func combine(_ a: DecodedColumns.State, _ b: DecodedColumns.State) -> DecodedColumns.State {
        for state in [DecodedColumns.State.pending, .failed, .decoded] where a == state || b == state { return state }
        return .none
    }

    private func decodePart(_ bytes: UnsafeRawBufferPointer?, part: String, into writer: inout DecodedColumns.RowWriter,
                            plans: inout [Int32: SchemaCatalog.Lookup], failure: inout String?) -> DecodedColumns.State {
        guard let bytes, let id = ConfluentFrame.schemaID(of: bytes) else { return .none }
        let lookup: SchemaCatalog.Lookup
        if let cached = plans[id] {
            lookup = cached
        } else {
            lookup = catalog.lookup(id)
            plans[id] = lookup
        }
        guard case .ready(let plan) = lookup else { return .pending }
        let payload = ConfluentFrame.payload(of: bytes)
        switch plan {
        case .avro(let schema):
            do {
                try schema.decode(payload, into: &writer.bytes)
                return .decoded
            } catch {
                writer.discard()
                if failure == nil { failure = "\(part) (schema id \(id)): \(error)" }
                return .failed
            }
        case .protobuf(let schema):
            do {
                let (indexes, message) = try ConfluentFrame.messageIndexes(in: payload)
                try schema.decode(message, indexes: indexes, into: &writer.bytes)
                return .decoded
            } catch {
                writer.discard()
                if failure == nil { failure = "\(part) (schema id \(id)): \(error)" }
                return .failed
            }
        case .json:
            if let error = JSONParser.firstError(in: payload) {
                if failure == nil { failure = "\(part) (schema id \(id)): JSON Schema payload is not valid JSON: \(error)" }
                return .failed
            }
            writer.bytes.append(contentsOf: payload)
            return .decoded
        case .unusable(let reason):
            if failure == nil { failure = "\(part): \(reason)" }
            return .failed
        }
    }
}
