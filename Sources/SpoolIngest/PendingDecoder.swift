import SpoolDecode
import SpoolModel
import SpoolStore

/// Decodes records a capture holds pending (stored while their schema was unavailable, or
/// captured without a registry), a chunk per transaction, so it can stop and resume anywhere.
///
/// Used by `spool decode` (which waits for the registry and stops when it cannot reach it) and
/// at the end of an ingest run (which uses only the schemas already at hand).
public struct PendingDecoder {
    /// The capture (opened for writing: this holds the writer lock).
    public let store: SpoolStore
    private let decoder: BatchDecoder
    private let waitForSchemas: Bool
    /// Records per transaction.
    public var chunkSize = 5_000

    /// A decoder over `store`; with `waitForSchemas` each new schema id is fetched before its
    /// records are decoded, and a registry that cannot be reached ends the run with an error.
    public init(store: SpoolStore, decoder: BatchDecoder, waitForSchemas: Bool) {
        self.store = store
        self.decoder = decoder
        self.waitForSchemas = waitForSchemas
    }

    /// What one run did.
    public struct Outcome: Sendable, Equatable {
        /// Records decoded.
        public var decoded: Int64 = 0
        /// Records that failed to decode.
        public var failed: Int64 = 0
        /// Records the database still holds pending when the run ends (counted in the database,
        /// so a stopped run counts the chunks it did not reach too).
        public var stillPending: Int64 = 0
    }

    /// Decodes every pending record once; `progress` is told after each committed chunk.
    /// Throws `IngestError.registry` when `waitForSchemas` and the registry cannot answer (the
    /// chunks committed before stay decoded). A stop, also one that arrives while waiting for
    /// the registry, ends the run after the last committed chunk, without an error.
    public func run(stop: StopSignal? = nil, progress: ((Outcome) -> Void)? = nil) throws -> Outcome {
        var outcome = Outcome()
        var cursor = PendingRecord.Cursor.start
        while stop?.isStopped != true {
            let records = try store.decoding.pendingRecords(after: cursor, limit: chunkSize, headerNames: Self.schemaIDHeaders)
            guard let last = records.last else { break }
            cursor = last.cursor
            if waitForSchemas, try !fetchSchemas(of: records) { break }
            let results = decode(records)
            // Rows still pending stay as they are: nothing to write for them.
            try store.decoding.saveDecoded(results.filter { $0.state != .pending }, schemas: decoder.catalog.takeNewSchemas())
            outcome.decoded += Int64(results.count { $0.state == .decoded })
            outcome.failed += Int64(results.count { $0.state == .failed })
            progress?(outcome)
        }
        outcome.stillPending = try store.decoding.status().reduce(0) { $0 + $1.pending }
        return outcome
    }

    /// The headers that name a record's key and value schema instead of the framing.
    private static let schemaIDHeaders = [ConfluentFrame.keySchemaIDHeader, ConfluentFrame.valueSchemaIDHeader]

    /// The schema a part names: by its schema-id header when it has one, else by its framing.
    private static func schemaKey(of part: [UInt8]?, header: [UInt8]?) -> SchemaKey? {
        guard let part else { return nil }
        if let header { return header.withUnsafeBytes { try? ConfluentFrame.headerSchemaID($0).key } }
        return part.withUnsafeBytes { ConfluentFrame.schemaID(of: $0) }.map(SchemaKey.id)
    }

    /// Fetches the schemas `records` need; false when a stop was asked for meanwhile.
    private func fetchSchemas(of records: [PendingRecord]) throws -> Bool {
        var ids: [SchemaKey] = []
        for record in records {
            for (part, header) in [(record.key, record.headerValues.first ?? nil), (record.value, record.headerValues.last ?? nil)] {
                guard let id = Self.schemaKey(of: part, header: header), !ids.contains(id) else { continue }
                ids.append(id)
            }
        }
        for id in ids {
            do {
                _ = try decoder.catalog.fetchAndWait(id)
            } catch .stopped {
                return false
            } catch {
                throw IngestError.registry(error)
            }
        }
        return true
    }

    private func decode(_ records: [PendingRecord]) -> [DecodedRecord] {
        var plans: [SchemaKey: SchemaCatalog.Lookup] = [:]
        var columns = DecodedColumns()
        var failures: [String?] = []
        for record in records {
            var failure: String?
            withOptionalBytes(record.key) { key in
                withOptionalBytes(record.value) { value in
                    withOptionalBytes(record.headerValues.first ?? nil) { keyHeader in
                        withOptionalBytes(record.headerValues.last ?? nil) { valueHeader in
                            columns.appendRow { writer in
                                decoder.decodeRow(key: key, value: value, keySchemaHeader: keyHeader, valueSchemaHeader: valueHeader,
                                                  into: &writer, plans: &plans, failure: &failure)
                            }
                        }
                    }
                }
            }
            failures.append(failure)
        }
        return records.indices.map { row in
            let text = columns.text(row: row)
            return DecodedRecord(record: records[row], keyJSON: text.key, valueJSON: text.value, state: columns.states[row],
                                 failure: failures[row])
        }
    }

    private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard let bytes else { return body(nil) }
        return bytes.withUnsafeBytes { body($0) }
    }
}
