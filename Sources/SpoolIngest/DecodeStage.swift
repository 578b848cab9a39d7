import Logging
import SpoolDecode
import SpoolModel
import SpoolStore

/// The ingest pipeline's decoding step: turns each released batch's Confluent-framed keys and
/// values into JSON on the consumer's thread, before the batch goes to the writer (whose thread
/// is the bottleneck), and collects the schemas fetched meanwhile for the same transaction.
///
/// Without a registry every framed record is stored raw and marked pending; a batch with no
/// framed record at all costs one look at each row's first byte.
final class DecodeStage {
    let catalog: SchemaCatalog
    private let decoder: BatchDecoder
    private let logger: Logger
    /// What this run's batches held.
    private(set) var counts = DecodeCounts()

    /// Opens the registry named in `options` (refused credentials throw; an unreachable registry
    /// is a warning) over the schemas `store` already keeps.
    init(options: IngestOptions, store: SpoolStore, logger: Logger) throws {
        self.logger = logger
        var client: SchemaRegistryClient?
        if let config = options.schemaRegistry {
            let registry = SchemaRegistryClient(config: config)
            do {
                try registry.probe()
            } catch {
                if case .unavailable = error {
                    logger.warning("\(error); records are stored raw and marked pending until it answers")
                } else {
                    throw IngestError.registry(error)
                }
            }
            client = registry
        }
        let stored = try options.schemaRegistry.map { try store.storedSchemas(registry: $0.displayURL) } ?? []
        catalog = SchemaCatalog(client: client, stored: stored, firstWait: options.schemaFirstWait)
        decoder = BatchDecoder(catalog: catalog)
    }

    /// The batch's decoded columns (nil when no row is framed), counted.
    func decode(_ batch: MessageBatch) -> DecodedColumns? {
        guard Self.hasFramedRow(batch) else { return nil }
        let columns = decoder.decode(batch)
        counts.add(columns.states)
        for (topic, failure) in columns.firstFailures.sorted(by: { $0.key < $1.key }) {
            logger.debug("\(topic): cannot decode a record: \(failure.message)")
        }
        return columns
    }

    /// Schemas fetched since the last call, and the registry warnings to log meanwhile.
    func takeNewSchemas() -> [StoredSchema] {
        for warning in catalog.takeWarnings() { logger.warning("\(warning)") }
        return catalog.takeNewSchemas()
    }

    /// Decodes what this database still holds pending with the schemas now at hand (without
    /// waiting on the registry), in chunks of one transaction each.
    func finishPending(store: SpoolStore, stop: StopSignal) throws {
        guard catalog.client != nil, !stop.isStopped else { return }
        let pending = PendingDecoder(store: store, decoder: decoder, waitForSchemas: false)
        let done = try pending.run(stop: stop)
        counts.pending -= min(counts.pending, done.decoded + done.failed)
        if done.decoded + done.failed > 0 {
            logger.info("decoded \(done.decoded) record(s) that were pending (\(done.failed) failed, \(done.stillPending) still pending)")
        }
    }

    private static func hasFramedRow(_ batch: MessageBatch) -> Bool {
        batch.withPayloads { payloads in
            for row in batch.indices {
                if let value = payloads.value(at: row), value.count >= 5, value[0] == 0 { return true }
                if let key = payloads.key(at: row), key.count >= 5, key[0] == 0 { return true }
            }
            return false
        }
    }
}
