/// Runs `ReplayCore` over a `MessageSource`: the body of `ConsumerManager.poll`.
///
/// Each poll first drains what the source has ready (without blocking, at most a batch), applies
/// backpressure, and releases what is safe; only when nothing can be released does it block on
/// the source, until the timeout.
final class ReplayDriver<Source: MessageSource> {
    private(set) var core: ReplayCore
    let source: Source

    init(core: ReplayCore, source: Source) {
        self.core = core
        self.source = source
    }

    /// Returns up to `batchSize` released messages, waiting at most `timeoutMs` for them.
    func poll(timeoutMs: Int) throws -> MessageBatch {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(max(0, timeoutMs)))
        var batch = MessageBatch()
        batch.setTopicNames(core.topicNames)
        batch.reserve(rows: min(core.batchSize, max(core.heldCount, 64)))
        while true {
            var drained = 0
            while drained < core.batchSize, try source.next(timeoutMs: 0, into: &core) {
                drained += 1
            }
            try applyFlowChanges()
            if core.release(into: &batch, limit: core.batchSize) > 0 {
                try applyFlowChanges()
                return batch
            }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero { return batch }
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
