import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import SpoolModel
import Synchronization

/// The schemas a capture decodes with, by id (or by GUID, for records whose schema id is in a
/// header): those stored in the database, and those fetched from the registry in the
/// background as new ones appear.
///
/// Decoding never waits long on the registry: the first sight of an id waits at most
/// `firstWait` for its fetch (so a healthy registry decodes every record); after that, or while
/// the registry is unreachable, records of that id are left pending and the fetch is retried in
/// the background with growing pauses. An id the registry does not have, or whose schema is
/// larger than the answer limit, is settled for good: its records are marked failed with the
/// reason. A stop asked for through the client ends every wait at once. Fetched schemas are
/// handed to the store once (`takeNewSchemas`), so each id is fetched once per database.
public final class SchemaCatalog: Sendable {
    /// What a lookup found.
    public enum Lookup: Sendable {
        /// Decode with this plan.
        case ready(SchemaPlan)
        /// Not known yet: store the record raw and mark it pending.
        case pending
    }

    private enum Entry {
        case ready(SchemaPlan)
        case fetching(started: ContinuousClock.Instant)
        case retryLater(at: ContinuousClock.Instant, pause: Duration)
    }

    private struct State {
        var entries: [SchemaKey: Entry] = [:]
        var newSchemas: [StoredSchema] = []
        var known: Set<SchemaKey> = []
        var warnings: [String] = []
        var unavailableSince: ContinuousClock.Instant?
    }

    /// The registry, nil when none was given (every framed record stays pending).
    public let client: SchemaRegistryClient?
    private let firstWait: Duration
    private let state: Mutex<State>
    private let fetchQueue = DispatchQueue(label: "spool.schema-fetch")
    private let clock = ContinuousClock()

    /// A catalog over `stored` schemas (this registry's rows of the `schemas` table) and `client`.
    public init(client: SchemaRegistryClient?, stored: [StoredSchema], firstWait: Duration = .seconds(2)) {
        self.client = client
        self.firstWait = firstWait
        var initial = State()
        let byID = Dictionary(stored.filter { $0.guid == nil }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        initial.known = Set(stored.map(\.schemaKey))
        // The first stored row of an id (or GUID) wins.
        for schema in stored where initial.entries[schema.schemaKey] == nil {
            if let fetched = FetchedSchema.fromStored(main: schema, byID: byID) {
                initial.entries[schema.schemaKey] = .ready(SchemaPlan.compile(fetched))
            }
        }
        state = Mutex(initial)
    }

    /// The plan for schema id `id`, starting (and briefly waiting for) a fetch when it is not known.
    public func lookup(_ id: Int32) -> Lookup { lookup(.id(id)) }

    /// The plan for the schema `key` names, starting (and briefly waiting for) a fetch when it
    /// is not known.
    public func lookup(_ key: SchemaKey) -> Lookup {
        let now = clock.now
        let (found, startedAt): (Lookup?, ContinuousClock.Instant?) = state.withLock { state in
            switch state.entries[key] {
            case .ready(let plan): return (.ready(plan), nil)
            case .fetching(let started): return (nil, started)
            case .retryLater(let at, _) where now < at: return (.pending, nil)
            case .retryLater, nil:
                guard client != nil else { return (.pending, nil) }
                state.entries[key] = .fetching(started: now)
                return (nil, now)
            }
        }
        if let found { return found }
        if startedAt == now { startFetch(key) }
        return waitForFetch(key, until: startedAt! + firstWait)
    }

    /// Fetches schema id `id` now and waits for the answer (for `spool decode`); throws what the registry said.
    public func fetchAndWait(_ id: Int32) throws(RegistryError) -> SchemaPlan { try fetchAndWait(.id(id)) }

    /// Fetches the schema `key` names now and waits for the answer (for `spool decode`); throws
    /// what the registry said.
    public func fetchAndWait(_ key: SchemaKey) throws(RegistryError) -> SchemaPlan {
        if case .ready(let plan) = state.withLock({ $0.entries[key] }) { return plan }
        guard let client else { throw .unavailable(url: "(none)", reason: "no --schema-registry given") }
        switch Result(catching: { () throws(RegistryError) -> FetchedSchema in try client.fetch(key, fetchedAt: WallClock.nowMs()) }) {
        case .success(let fetched): return record(fetched)
        case .failure(let error) where Self.isFinal(error): return remember(key, .unusable(error.description))
        case .failure(let error): throw error
        }
    }

    /// Schemas fetched since the last call, for the store to keep (each id once).
    public func takeNewSchemas() -> [StoredSchema] {
        state.withLock { state in
            defer { state.newSchemas = [] }
            return state.newSchemas
        }
    }

    /// Warnings since the last call (registry outages and recoveries), for the log.
    public func takeWarnings() -> [String] {
        state.withLock { state in
            defer { state.warnings = [] }
            return state.warnings
        }
    }

    /// Whether any id is known to be waiting for a fetch to succeed.
    public var hasPendingFetches: Bool {
        state.withLock { state in
            state.entries.values.contains { if case .ready = $0 { false } else { true } }
        }
    }

    private func waitForFetch(_ id: SchemaKey, until deadline: ContinuousClock.Instant) -> Lookup {
        while true {
            let entry = state.withLock { $0.entries[id] }
            if case .ready(let plan) = entry { return .ready(plan) }
            if case .retryLater = entry { return .pending }
            if clock.now >= deadline || client?.stopRequested == true { return .pending }
            sleepBriefly()
        }
    }

    private func startFetch(_ id: SchemaKey) {
        guard let client else { return }
        fetchQueue.async { [self] in
            switch Result(catching: { () throws(RegistryError) -> FetchedSchema in try client.fetch(id, fetchedAt: WallClock.nowMs()) }) {
            case .success(let fetched): _ = record(fetched)
            case .failure(let error) where Self.isFinal(error): _ = remember(id, .unusable(error.description))
            case .failure(let error): backOff(id, reason: error)
            }
        }
    }

    /// Keeps a fetched schema (and its references) for lookups and for the store.
    private func record(_ fetched: FetchedSchema) -> SchemaPlan {
        let plan = SchemaPlan.compile(fetched)
        state.withLock { state in
            for schema in fetched.referenced + [fetched.main] where state.known.insert(schema.schemaKey).inserted {
                state.newSchemas.append(schema)
            }
            state.entries[fetched.main.schemaKey] = .ready(plan)
            if state.unavailableSince != nil, let client {
                state.warnings.append("schema registry \(client.config.displayURL) answers again; new records are decoded (run `spool decode` or let the run finish for the pending ones)")
                state.unavailableSince = nil
            }
        }
        return plan
    }

    /// Whether `error` settles `id` for good: the registry has no such id, or its schema is
    /// larger than the answer limit. Records using it are marked failed with the reason.
    private static func isFinal(_ error: RegistryError) -> Bool {
        switch error {
        case .notFound, .guidNotFound, .tooLarge: true
        default: false
        }
    }

    private func remember(_ id: SchemaKey, _ plan: SchemaPlan) -> SchemaPlan {
        state.withLock { $0.entries[id] = .ready(plan) }
        return plan
    }

    private func backOff(_ id: SchemaKey, reason: RegistryError) {
        state.withLock { state in
            var pause = Duration.seconds(1)
            if case .retryLater(_, let previous) = state.entries[id] { pause = min(previous * 2, .seconds(60)) }
            state.entries[id] = .retryLater(at: clock.now + pause, pause: pause)
            if case .stopped = reason { return }
            if state.unavailableSince == nil {
                state.unavailableSince = clock.now
                state.warnings.append("\(reason); records are stored raw and marked pending, fetching is retried in the background")
            }
        }
    }
}

/// Sleeps 2 ms (polling for a fetch that is on its way).
private func sleepBriefly() {
    var request = timespec(tv_sec: 0, tv_nsec: 2_000_000)
    nanosleep(&request, nil)
}
