#if canImport(Glibc)
import Glibc
#endif

/// A `MessageSource` that reads each partition from a `ReplayHistory` first and from Kafka
/// after, switching by offset (see `HistoryRoute`): once a partition's history is read up to
/// its end, Kafka starts fetching it at exactly the next offset. Without Kafka (a replay of the
/// history alone) a partition reports its end once its history is read.
///
/// History records are handed to the core in chunks, straight from the history's lent bytes,
/// round-robin over the partitions that are neither paused nor done with their history.
final class HybridMessageSource: MessageSource {
    /// Where one partition is.
    enum Phase: Equatable {
        /// Reading the history at `next`, up to `until`; then Kafka from `thenKafkaFrom`, or done.
        case history(next: Int64, until: Int64, thenKafkaFrom: Int64?)
        /// Reading Kafka (or nothing more to read).
        case kafka
        /// Stopped, or the history alone is read to its end.
        case done
    }

    private let history: any ReplayHistory
    let kafka: RDKafkaMessageSource?
    private var partitions: [TopicPartition]
    private var phases: [Phase]
    private var paused: [Bool]
    /// Where each partition's history ends (its high watermark when there is no Kafka).
    private let historyEnds: [TopicPartition: Int64]
    private var turn = 0
    /// The most records taken from one partition's history per call (fewer when the batch
    /// size is smaller).
    static let chunk = 256

    /// Partitions in the core's order, each with its route; Kafka partitions that start in
    /// Kafka must be assigned by the caller.
    init(history: any ReplayHistory, kafka: RDKafkaMessageSource?, partitions: [TopicPartition], routes: [HistoryRoute]) {
        self.history = history
        self.kafka = kafka
        self.partitions = partitions
        self.phases = routes.map { route in
            switch route {
            case .kafka: return .kafka
            case let .history(from, until, then): return .history(next: from, until: until, thenKafkaFrom: then)
            }
        }
        self.paused = Array(repeating: false, count: partitions.count)
        var ends: [TopicPartition: Int64] = [:]
        for (tp, route) in zip(partitions, routes) {
            if case let .history(_, until, _) = route { ends[tp] = until }
        }
        self.historyEnds = ends
    }

    /// Partitions whose history is empty switch to Kafka (or report their end) at once.
    func start(into core: inout ReplayCore) throws {
        for index in phases.indices { try finishIfRead(index, &core) }
    }

    func next(timeoutMs: Int32, into core: inout ReplayCore) throws -> Bool {
        if try readHistory(&core) { return true }
        if let kafka { return try kafka.next(timeoutMs: timeoutMs, into: &core) }
        // The history alone, all of it handed over: nothing will come; wait as asked.
        if timeoutMs > 0 { usleep(UInt32(min(timeoutMs, 100)) * 1_000) }
        return false
    }

    /// Hands one chunk of the next partition's history to the core; false when no partition
    /// has history left to read now.
    private func readHistory(_ core: inout ReplayCore) throws -> Bool {
        let count = phases.count
        // Never more than a poll releases, so reading cannot outrun releasing.
        let limit = min(Self.chunk, core.batchSize)
        for step in 0..<count {
            let index = (turn + step) % count
            // A partition already holding two chunks waits for them to be released, as a Kafka
            // partition waits for its bounded fetch queue: the one everybody waits for holds
            // least and is never kept from reading.
            guard !paused[index], core.cursors[index].held.count < 2 * limit,
                  case let .history(next, until, then) = phases[index] else { continue }
            turn = index + 1
            var last = next - 1
            let handed = try history.withRecords(of: partitions[index], from: next, before: until, limit: limit) { record in
                last = record.offset
                core.accept(.message(partitionIndex: index, offset: record.offset, timestamp: record.timestamp,
                                     key: record.key, value: record.value, headers: record.headers))
            }
            // Fewer than asked: the history holds nothing more below `until` (offsets of
            // transaction markers and aborted records are never stored).
            phases[index] = .history(next: handed < limit ? until : last + 1, until: until, thenKafkaFrom: then)
            try finishIfRead(index, &core)
            if handed > 0 { return true }
        }
        return false
    }

    /// A partition read to its history's end goes on in Kafka, or reports its end.
    private func finishIfRead(_ index: Int, _ core: inout ReplayCore) throws {
        guard case let .history(next, until, then) = phases[index], next >= until else { return }
        if let then, let kafka {
            phases[index] = .kafka
            try kafka.startReading([(partitions[index], then)])
        } else {
            phases[index] = .done
            core.accept(.endOfPartition(partitionIndex: index, nextOffset: until))
        }
    }

    func pause(_ partitionIndexes: [Int]) throws {
        for index in partitionIndexes where index < paused.count { paused[index] = true }
        try kafka?.pause(partitionIndexes)
    }

    func resume(_ partitionIndexes: [Int]) throws {
        for index in partitionIndexes where index < paused.count { paused[index] = false }
        try kafka?.resume(partitionIndexes)
    }

    func stop(_ partitionIndexes: [Int]) throws {
        var inKafka: [Int] = []
        for index in partitionIndexes {
            if index >= phases.count || phases[index] == .kafka { inKafka.append(index) }
            if index < phases.count { phases[index] = .done }
        }
        if !inKafka.isEmpty { try kafka?.stop(inKafka) }
    }

    /// Each partition's high watermark as Kafka last reported it; without Kafka, the end of
    /// each partition's history.
    func cachedHighWatermarks() -> [TopicPartition: Int64] {
        kafka?.cachedHighWatermarks() ?? historyEnds
    }
}
