import SpoolModel
import Testing
@testable import SpoolDecode

@Suite("Schema catalog over stored schemas")
struct SchemaCatalogTests {
    private static let registry = "http://registry:8081"

    private func stored(_ id: Int32, _ type: String = "AVRO", _ text: String = #""long""#, references: String? = nil) -> StoredSchema {
        StoredSchema(registry: Self.registry, id: id, type: type, text: text, referencesJSON: references, fetchedAt: 0)
    }

    private func isPending(_ lookup: SchemaCatalog.Lookup) -> Bool {
        if case .pending = lookup { return true }
        return false
    }

    @Test func storedSchemasAreReadyWithoutARegistry() throws {
        let catalog = SchemaCatalog(client: nil, stored: [stored(1), stored(2, "JSON", "{}"), stored(3, "PROTOBUF", "message {")])
        guard case .ready(.avro(let schema)) = catalog.lookup(1) else {
            Issue.record("id 1 should be an Avro plan")
            return
        }
        #expect(try AvroTestDecoding.text(schema, AvroTestEncoder.varint(-2)) == "-2")
        guard case .ready(.json) = catalog.lookup(2) else {
            Issue.record("id 2 should be a JSON plan")
            return
        }
        guard case .ready(.unusable(let reason)) = catalog.lookup(3) else {
            Issue.record("id 3 should be unusable")
            return
        }
        #expect(reason.contains("Protobuf schema does not build"))
        #expect(!catalog.hasPendingFetches)
        #expect(catalog.takeNewSchemas().isEmpty)
        #expect(catalog.takeWarnings().isEmpty)
    }

    @Test(.timeLimit(.minutes(1)))
    func unknownIDWithoutARegistryIsPendingAtOnce() {
        let catalog = SchemaCatalog(client: nil, stored: [], firstWait: .seconds(30))
        let started = ContinuousClock.now
        #expect(isPending(catalog.lookup(8)))
        #expect(isPending(catalog.lookup(8)))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(!catalog.hasPendingFetches)
    }

    @Test func storedSchemaWithAMissingReferenceIsNotReady() {
        let catalog = SchemaCatalog(client: nil, stored: [
            stored(1, "AVRO", #"{"type":"array","items":"X"}"#, references: #"[{"name":"X","subject":"x","version":1,"id":2}]"#),
        ])
        #expect(isPending(catalog.lookup(1)))
    }

    @Test func firstStoredRowWinsForADuplicateID() {
        let catalog = SchemaCatalog(client: nil, stored: [stored(1, "JSON", "{}"), stored(1, "PROTOBUF", "")])
        guard case .ready(.json) = catalog.lookup(1) else {
            Issue.record("the first row for id 1 should win")
            return
        }
    }

    @Test func fetchAndWaitWithoutARegistry() throws {
        let catalog = SchemaCatalog(client: nil, stored: [stored(1)])
        guard case .avro = try catalog.fetchAndWait(1) else {
            Issue.record("stored id 1 should be returned without a registry")
            return
        }
        let error = #expect(throws: RegistryError.self) { try catalog.fetchAndWait(2) }
        #expect(error == .unavailable(url: "(none)", reason: "no --schema-registry given"))
    }

    @Test(.timeLimit(.minutes(1)))
    func unreachableRegistryLeavesRecordsPendingAndNeverLeaksCredentials() async throws {
        // Port 1 on the loopback interface: nothing listens, so the connection is refused at once.
        let config = try SchemaRegistryConfig(url: "http://alice:hunter2@127.0.0.1:1",
                                              settings: ["max.retries": "0", "request.timeout.ms": "2000"])
        let catalog = SchemaCatalog(client: SchemaRegistryClient(config: config), stored: [], firstWait: .milliseconds(300))

        let error = #expect(throws: RegistryError.self) { try catalog.fetchAndWait(5) }
        if case .unavailable(let url, _) = error {
            #expect(url == "http://127.0.0.1:1")
        } else {
            Issue.record("expected .unavailable, got \(String(describing: error))")
        }
        #expect(error.map { !"\($0)".contains("hunter2") } == true)

        #expect(isPending(catalog.lookup(6)))
        var warnings: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while warnings.isEmpty && ContinuousClock.now < deadline {
            warnings = catalog.takeWarnings()
            if warnings.isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("schema registry http://127.0.0.1:1 is unavailable") == true, "\(warnings)")
        #expect(!warnings.joined().contains("hunter2"))
        #expect(catalog.hasPendingFetches)
        #expect(catalog.takeNewSchemas().isEmpty)
        // Still backing off: a second lookup does not wait and stays pending.
        #expect(isPending(catalog.lookup(6)))
    }
}
