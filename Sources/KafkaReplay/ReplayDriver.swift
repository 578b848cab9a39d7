/// Runs `ReplayCore` over a `MessageSource`: the body of `ConsumerManager.poll`.
///
/// Each poll first drains what the source has ready (without blocking, at most a batch), applies
/// backpressure, and releases what is safe; only when nothing can be released does it block on
/// the source, until the timeout.
///
/// When the source fails, what it delivered before the failure is still released (so a caller
/// stores it and a resume starts right at the fault), and the error is thrown by the next poll.
final class ReplayDriver<Source: MessageSource> {
    private(set) var core: ReplayCore
    let source: Source
    private var pendingError: (any Error)?

    init(core: ReplayCore, source: Source) {
        self.core = core
        self.source = source
    }

    /// Returns up to `batchSize` released messages, waiting at most `timeoutMs` for them.
    func poll(timeoutMs: Int) throws -> MessageBatch {
        if let error = pendingError {
            pendingError = nil
            throw error
        }
        var batch = MessageBatch()
        batch.setTopicNames(core.topicNames)
        batch.reserve(rows: min(core.batchSize, max(core.heldCount, 64)))
        do {
            try fill(&batch, timeoutMs: timeoutMs)
            return batch
        } catch {
            guard core.release(into: &batch, limit: core.batchSize - batch.count) > 0 else { throw error }
            pendingError = error
            return batch
        }
    }

    private func fill(_ batch: inout MessageBatch, timeoutMs: Int) throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(max(0, timeoutMs)))
        while true {
            // Counted in messages, not calls: a source may hand over several per call (a
            // history hands a chunk), and backpressure must look in before a batch's worth.
            var drained = 0
            while drained < core.batchSize {
                let held = core.heldCount
                guard try source.next(timeoutMs: 0, into: &core) else { break }
                drained += max(1, core.heldCount - held)
            }
            try applyFlowChanges()
            if core.release(into: &batch, limit: core.batchSize) > 0 {
                try applyFlowChanges()
                return
            }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return }
            let waitMs = Int32(clamping: min(remaining.milliseconds, 100))
            _ = try source.next(timeoutMs: max(waitMs, 1), into: &core)
        }
    }

    private func applyFlowChanges() throws {
        let change = core.updateFlow()
        if !change.pause.isEmpty { try source.pause(change.pause) }
        if !change.resume.isEmpty { try source.resume(change.resume) }
        if !change.stop.isEmpty { try source.stop(change.stop) }
    }
}
