import Logging
import SpoolDecode
import SpoolModel
import SpoolStore

/// The ingest pipeline's decoding step: turns each released batch's Confluent-framed keys and
/// values into JSON on the consumer's thread, before the batch goes to the writer (whose thread
/// is the bottleneck), and collects the schemas fetched meanwhile for the same transaction.
///
/// Without a registry every framed record is stored raw and marked pending; a batch with no
/// framed record (and no schema-id header) at all costs one look at each row's first byte and
/// header names.
final class DecodeStage {
    let catalog: SchemaCatalog
    private let decoder: BatchDecoder
    private let logger: Logger
    /// What this run's batches held.
    private(set) var counts = DecodeCounts()

    /// Opens the registry named in `options` over the schemas `store` already keeps. Refused
    /// credentials throw; any other failure of the start-up check (unreachable, an error
    /// status such as 404, a redirect) is a warning: capture never waits on the registry.
    /// `stop` ends every wait for the registry.
    init(options: IngestOptions, store: SpoolStore, logger: Logger, stop: StopSignal) throws {
        self.logger = logger
        var client: SchemaRegistryClient?
        if let config = options.schemaRegistry {
            let registry = SchemaRegistryClient(config: config, isStopped: { stop.isStopped })
            try Self.check(registry, logger: logger)
            client = registry
        }
        let stored = try options.schemaRegistry.map { try store.decoding.storedSchemas(registry: $0.displayURL) } ?? []
        catalog = SchemaCatalog(client: client, stored: stored, firstWait: options.schemaFirstWait)
        decoder = BatchDecoder(catalog: catalog)
    }

    /// The start-up check: only refused credentials (or a bad setting) stop the run.
    private static func check(_ registry: SchemaRegistryClient, logger: Logger) throws {
        do {
            try registry.probe()
        } catch .unauthorized(let url, let status) {
            throw IngestError.registry(.unauthorized(url: url, status: status))
        } catch .badSetting(let text) {
            throw IngestError.registry(.badSetting(text))
        } catch .stopped {
            return
        } catch {
            logger.warning("\(error); records whose schema cannot be fetched are stored raw and marked pending (spool decode finishes them)")
        }
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
                for index in 0..<payloads.headerCount(at: row) where ConfluentFrame.isSchemaIDHeader(payloads.header(index, at: row).name) {
                    return true
                }
            }
            return false
        }
    }
}
