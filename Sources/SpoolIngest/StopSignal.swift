import Synchronization

/// A flag that asks a running ingest to stop after the current transaction.
///
/// Safe to set from any thread (a signal-handling task, a test).
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// A signal that has not fired.
    public init() {}

    /// Asks the ingest to stop.
    public func stop() { flag.store(true, ordering: .releasing) }

    /// Whether a stop was asked for.
    public var isStopped: Bool { flag.load(ordering: .acquiring) }
}
