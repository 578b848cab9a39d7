internal import CMalloc
import Dispatch
import SpoolModel
import SpoolStore
import Synchronization

/// Writes released batches on a thread of its own, so consuming and writing overlap.
///
/// The consumer hands over each batch with the partition state after it; the writer commits
/// them in order, one transaction each. At most `capacity` batches wait, so memory stays
/// bounded and a slow disk slows the consumer instead of piling up data. The first write error
/// stops the writer; the next `submit` or `finish` rethrows it.
final class BatchWriter: Sendable {
    /// What one transaction stores.
    private struct Job: Sendable {
        var batch: MessageBatch
        var checkpoints: [PartitionState]
        var completeUntil: Int64?
        var addedPartitions: SpoolStore.AddedPartitions?
        var decoded: DecodedColumns?
        var schemas: [StoredSchema]
    }

    /// Hands the store to the writer queue. `@unchecked Sendable` because `SpoolStore` is not
    /// `Sendable`: between `init` and `finish` only the writer queue touches the store (the
    /// consumer thread never does), and `finish` waits for the queue before the owner uses it again.
    private final class StoreHandle: @unchecked Sendable {
        let store: SpoolStore
        init(_ store: SpoolStore) { self.store = store }
    }

    private let handle: StoreHandle
    private let queue = DispatchQueue(label: "spool.writer")
    private let slots: DispatchSemaphore
    private let failure = Mutex<Error?>(nil)
    private let commits = Atomic<Int>(0)

    /// A writer for `store` with at most `capacity` batches waiting.
    init(store: SpoolStore, capacity: Int) {
        handle = StoreHandle(store)
        slots = DispatchSemaphore(value: max(1, capacity))
    }

    /// Queues one transaction; waits while `capacity` are already waiting.
    func submit(batch: MessageBatch, checkpoints: [PartitionState], completeUntil: Int64?,
                addedPartitions: SpoolStore.AddedPartitions? = nil, decoded: DecodedColumns? = nil,
                schemas: [StoredSchema] = []) throws {
        try rethrowFailure()
        slots.wait()
        let job = Job(batch: batch, checkpoints: checkpoints, completeUntil: completeUntil, addedPartitions: addedPartitions,
                      decoded: decoded, schemas: schemas)
        queue.async { [self] in
            defer { slots.signal() }
            guard failure.withLock({ $0 == nil }) else { return }
            do {
                try handle.store.write(batch: job.batch, checkpoints: job.checkpoints, completeUntil: job.completeUntil,
                                       addedPartitions: job.addedPartitions, decoded: job.decoded, schemas: job.schemas)
                // Batches are built on the consumer thread and freed here; glibc keeps such
                // freed memory in per-thread arenas, so hand it back now and then to keep the
                // resident size flat over long runs.
                if commits.add(1, ordering: .relaxed).newValue % 64 == 0 { malloc_trim(0) }
            } catch {
                failure.withLock { if $0 == nil { $0 = error } }
            }
        }
    }

    /// Waits until every queued transaction is committed; rethrows the first write error.
    func finish() throws {
        queue.sync {}
        try rethrowFailure()
    }

    private func rethrowFailure() throws {
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
