import SpoolModel

/// Decodes the Confluent-framed keys and values of a batch into JSON, with a `SchemaCatalog`.
///
/// A part whose schema is named by a `__key_schema_id` / `__value_schema_id` header (Confluent
/// Platform 8) is decoded whole with that schema instead; the first such header counts, as in
/// confluent-kafka's deserializers. A part (key or value) that is neither is left NULL; a framed part whose schema is not
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
        var plans: [SchemaKey: SchemaCatalog.Lookup] = [:]
        batch.withPayloads { payloads in
            for row in batch.indices {
                var failure: String?
                var keyHeader: UnsafeRawBufferPointer?, valueHeader: UnsafeRawBufferPointer?
                var seenKeyHeader = false, seenValueHeader = false
                for index in 0..<payloads.headerCount(at: row) {
                    let header = payloads.header(index, at: row)
                    if !seenKeyHeader, header.name.elementsEqual(ConfluentFrame.keySchemaIDHeader.utf8) {
                        seenKeyHeader = true
                        keyHeader = header.value
                    } else if !seenValueHeader, header.name.elementsEqual(ConfluentFrame.valueSchemaIDHeader.utf8) {
                        seenValueHeader = true
                        valueHeader = header.value
                    }
                }
                columns.appendRow { writer in
                    decodeRow(key: payloads.key(at: row), value: payloads.value(at: row), keySchemaHeader: keyHeader,
                              valueSchemaHeader: valueHeader, into: &writer, plans: &plans, failure: &failure)
                }
                if let failure { columns.noteFailure(topic: batch.topic(at: row), row: row, message: failure) }
            }
        }
        return columns
    }

    /// Decodes one row's key then value into `writer`; returns the row's state and sets
    /// `failure` to the reason when a part failed. `keySchemaHeader` / `valueSchemaHeader` are
    /// the values of the row's first `__key_schema_id` / `__value_schema_id` header, if any.
    /// `plans` caches lookups across rows.
    public func decodeRow(key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, keySchemaHeader: UnsafeRawBufferPointer? = nil,
                          valueSchemaHeader: UnsafeRawBufferPointer? = nil, into writer: inout DecodedColumns.RowWriter,
                          plans: inout [SchemaKey: SchemaCatalog.Lookup], failure: inout String?) -> DecodedColumns.State {
        writer.begin()
        let keyState = decodePart(key, schemaHeader: keySchemaHeader, part: "key", into: &writer, plans: &plans, failure: &failure)
        if keyState == .decoded { writer.finishKey() }
        writer.begin()
        let valueState = decodePart(value, schemaHeader: valueSchemaHeader, part: "value", into: &writer, plans: &plans, failure: &failure)
        if valueState == .decoded { writer.finishValue() }
        return Self.combine(keyState, valueState)
    }

    /// A row is pending while any part waits, else failed if any failed, else decoded if any was.
    static func combine(_ a: DecodedColumns.State, _ b: DecodedColumns.State) -> DecodedColumns.State {
        for state in [DecodedColumns.State.pending, .failed, .decoded] where a == state || b == state { return state }
        return .none
    }

    private func decodePart(_ bytes: UnsafeRawBufferPointer?, schemaHeader: UnsafeRawBufferPointer?, part: String,
                            into writer: inout DecodedColumns.RowWriter, plans: inout [SchemaKey: SchemaCatalog.Lookup],
                            failure: inout String?) -> DecodedColumns.State {
        guard let bytes else { return .none }
        let id: SchemaKey
        let payload: UnsafeRawBufferPointer
        // For Protobuf with a header: the message indexes, which follow the header's schema id.
        var headerIndexes: UnsafeRawBufferPointer?
        if let schemaHeader {
            do {
                let named = try ConfluentFrame.headerSchemaID(schemaHeader)
                id = named.key
                headerIndexes = named.rest
            } catch {
                if failure == nil { failure = "\(part): \(error)" }
                return .failed
            }
            payload = bytes
        } else if let framedID = ConfluentFrame.schemaID(of: bytes) {
            id = .id(framedID)
            payload = ConfluentFrame.payload(of: bytes)
        } else {
            return .none
        }
        let lookup: SchemaCatalog.Lookup
        if let cached = plans[id] {
            lookup = cached
        } else {
            lookup = catalog.lookup(id)
            plans[id] = lookup
        }
        guard case .ready(let plan) = lookup else { return .pending }
        switch plan {
        case .avro(let schema):
            do {
                try schema.decode(payload, into: &writer.bytes)
                return .decoded
            } catch {
                writer.discard()
                if failure == nil { failure = "\(part) (\(id)): \(error)" }
                return .failed
            }
        case .protobuf(let schema):
            do {
                if let headerIndexes {
                    try schema.decode(payload, indexes: try ConfluentFrame.messageIndexes(in: headerIndexes).indexes, into: &writer.bytes)
                } else {
                    let (indexes, message) = try ConfluentFrame.messageIndexes(in: payload)
                    try schema.decode(message, indexes: indexes, into: &writer.bytes)
                }
                return .decoded
            } catch {
                writer.discard()
                if failure == nil { failure = "\(part) (\(id)): \(error)" }
                return .failed
            }
        case .json:
            if let error = JSONParser.firstError(in: payload) {
                if failure == nil { failure = "\(part) (\(id)): JSON Schema payload is not valid JSON: \(error)" }
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
