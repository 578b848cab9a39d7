/// The replay consumer's ordering, cutoff and backpressure logic, free of any I/O.
///
/// Messages come in per partition through `accept`; `release` hands them out merged across
/// partitions by timestamp, never breaking a partition's own offset order, and only as far as
/// it is safe: while some partition has not caught up, a message is released only when its
/// timestamp is at or below both the cutoff and the low-water mark (the smallest last-consumed
/// timestamp over the partitions not yet caught up); once every partition has caught up,
/// everything held is released. A partition that has not caught up and has delivered nothing
/// yet holds everything back, since its next timestamp is unknown.
///
/// A message is ordered by its partition's largest timestamp so far: one whose timestamp goes
/// backwards, or is missing (-1), keeps its own timestamp but is ordered as if it carried the
/// timestamp of the message before it in its partition (a missing one first of all, when it is
/// the partition's first message). Ordering timestamps thus never decrease within a partition,
/// the low-water mark never moves back, and the release order is a function of each
/// partition's records alone, whatever the timing of their arrival: a replay from a capture and
/// Kafka releases exactly what Kafka alone would.
struct ReplayCore {
    /// What the core knows of one partition when it starts reading it.
    struct PartitionSpec {
        var topicPartition: TopicPartition
        var range: ReplayRange
    }

    /// One partition's progress and held messages.
    struct Cursor {
        let topicPartition: TopicPartition
        let topicIndex: Int32
        let range: ReplayRange
        /// The partition's place in (topic, partition) order: breaks timestamp ties.
        var rank: Int
        var startOffset: Int64 { range.start }
        var endOffset: Int64 { range.end }
        var consumedOffset: Int64
        var releasedOffset: Int64
        var lastTimestamp: Int64?
        var lastOrderTimestamp: Int64?
        var caughtUp: Bool
        /// The last offset consumed before the partition caught up; it is live once this is released.
        var mustReleaseThrough: Int64?
        /// Paused by backpressure.
        var paused = false
        /// Fetching stopped for good: caught up in a bounded backfill.
        var stopped = false
        var held = HeldQueue()

        /// The last offset that may be released in a bounded backfill (`Int64.max` otherwise).
        func releasableThrough(stopAtCutoff: Bool) -> Int64 {
            guard stopAtCutoff && caughtUp else { return Int64.max }
            return mustReleaseThrough ?? (startOffset - 1)
        }

        var isLive: Bool {
            guard caughtUp else { return false }
            guard let last = mustReleaseThrough else { return true }
            return releasedOffset >= last
        }
    }

    /// What backpressure asks the source to do.
    struct FlowChange: Equatable {
        var pause: [Int] = []
        var resume: [Int] = []
        var stop: [Int] = []
        var isEmpty: Bool { pause.isEmpty && resume.isEmpty && stop.isEmpty }
    }

    /// The cutoff in Unix ms; `Int64.max` when there is none (live at the start-time end).
    let cutoffMs: Int64
    let batchSize: Int
    /// When true (a bounded backfill), nothing after a partition's catch-up point is released and
    /// a caught-up partition stays paused.
    let stopAtCutoff: Bool
    private(set) var topicNames: [String]
    private var topicIndex: [String: Int32] = [:]
    private(set) var cursors: [Cursor]
    private(set) var heldCount = 0
    /// Messages dropped because their offset was already consumed (a re-delivery).
    private(set) var duplicatesIgnored = 0

    /// Creates the core for these partitions; `batchSize` must be positive. A `nil` cutoff
    /// means none: partitions catch up at the end of their range.
    init(partitions: [PartitionSpec], cutoffMs: Int64?, batchSize: Int, stopAtCutoff: Bool = false) {
        precondition(batchSize > 0, "batchSize is validated by ConsumerManager")
        self.cutoffMs = cutoffMs ?? Int64.max
        self.batchSize = batchSize
        self.stopAtCutoff = stopAtCutoff
        self.topicNames = []
        self.cursors = []
        addPartitions(partitions)
    }

    /// Starts reading more partitions (a topic grew); returns their cursor indexes, in order.
    ///
    /// New cursors go at the end, so the indexes a source already knows stay valid; ranks are
    /// renumbered so timestamp ties still break by (topic, partition). A partition whose range
    /// is not empty is not caught up, so releases wait for its first message as they do at start.
    @discardableResult
    mutating func addPartitions(_ partitions: [PartitionSpec]) -> [Int] {
        var added: [Int] = []
        for spec in partitions.sorted(by: { $0.topicPartition < $1.topicPartition }) {
            let topic = spec.topicPartition.topic
            let index: Int32
            if let known = topicIndex[topic] {
                index = known
            } else {
                index = Int32(topicNames.count)
                topicNames.append(topic)
                topicIndex[topic] = index
            }
            added.append(cursors.count)
            cursors.append(Cursor(topicPartition: spec.topicPartition, topicIndex: index, range: spec.range, rank: 0,
                                  consumedOffset: spec.range.start - 1, releasedOffset: spec.range.start - 1,
                                  lastTimestamp: nil, lastOrderTimestamp: nil,
                                  caughtUp: spec.range.isEmpty, mustReleaseThrough: nil))
        }
        let order = cursors.indices.sorted { cursors[$0].topicPartition < cursors[$1].topicPartition }
        for (rank, index) in order.enumerated() { cursors[index].rank = rank }
        return added
    }

    // MARK: input

    /// Takes one event from the source.
    mutating func accept(_ event: SourceEvent) {
        switch event {
        case let .message(index, offset, timestamp, key, value, headers):
            acceptMessage(index, offset: offset, timestamp: timestamp, key: key, value: value, headers: headers)
        case let .endOfPartition(index, nextOffset):
            if !cursors[index].caughtUp && nextOffset >= cursors[index].endOffset {
                markCaughtUp(index)
            }
        }
    }

    private mutating func acceptMessage(_ index: Int, offset: Int64, timestamp: Int64,
                                        key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, headers: [RawHeader]) {
        if offset <= cursors[index].consumedOffset {
            duplicatesIgnored += 1
            return
        }
        let orderTimestamp = max(timestamp >= 0 ? timestamp : Int64.min, cursors[index].lastOrderTimestamp ?? Int64.min)
        if !cursors[index].caughtUp && orderTimestamp >= cutoffMs {
            // This message is past the cutoff: it belongs to the live part.
            markCaughtUp(index)
        }
        cursors[index].held.append(offset: offset, timestamp: timestamp, orderTimestamp: orderTimestamp,
                                   key: key, value: value, headers: headers)
        heldCount += 1
        cursors[index].consumedOffset = offset
        cursors[index].lastTimestamp = timestamp
        cursors[index].lastOrderTimestamp = orderTimestamp
        if !cursors[index].caughtUp && offset + 1 >= cursors[index].endOffset {
            markCaughtUp(index)
        }
    }

    private mutating func markCaughtUp(_ index: Int) {
        cursors[index].caughtUp = true
        let consumed = cursors[index].consumedOffset
        cursors[index].mustReleaseThrough = consumed >= cursors[index].startOffset ? consumed : nil
    }

    // MARK: state

    /// Whether every partition has caught up and released everything before that point.
    var isLive: Bool { cursors.allSatisfy(\.isLive) }

    /// How many partitions are paused by backpressure.
    var pausedCount: Int { cursors.reduce(0) { $0 + ($1.paused ? 1 : 0) } }

    /// The smallest last-consumed (ordering) timestamp over partitions not caught up.
    ///
    /// `.unknown` when such a partition has consumed nothing yet; `.none` when all caught up.
    enum LowWaterMark: Equatable { case none, unknown, at(Int64) }

    var lowWaterMark: LowWaterMark {
        var mark: Int64?
        for cursor in cursors where !cursor.caughtUp {
            guard let last = cursor.lastOrderTimestamp else { return .unknown }
            mark = min(mark ?? last, last)
        }
        return mark.map { .at($0) } ?? .none
    }

    /// The timestamp up to which messages may be released now; `nil` when nothing may be, and
    /// `Int64.max` once every partition has caught up.
    var releaseLimit: Int64? {
        switch lowWaterMark {
        case .none: return Int64.max
        case .unknown: return nil
        case .at(let mark): return min(mark, cutoffMs)
        }
    }

    /// The low-water mark while any partition is not live; `nil` when all are live or while it
    /// is not yet known (a partition that must deliver has not delivered anything).
    var primingWatermark: Int64? {
        if isLive { return nil }
        switch lowWaterMark {
        case .at(let mark): return mark
        case .none: return cutoffMs
        case .unknown: return nil
        }
    }

    /// The timestamp up to which every message of every partition has been released, assuming
    /// timestamps do not decrease within a partition; `nil` before anything is known.
    ///
    /// While replaying it is one below the low-water mark (a partition's next message may share
    /// its last timestamp) and the cutoff; once every partition has caught up, one below the
    /// cutoff. It never passes a held message that is still to be released.
    var completeUntil: Int64? {
        var bound: Int64
        switch lowWaterMark {
        case .unknown: return nil
        case .none: bound = cutoffMs == Int64.min ? Int64.min : cutoffMs - 1
        case .at(let mark): bound = min(mark == Int64.min ? Int64.min : mark - 1, cutoffMs == Int64.min ? Int64.min : cutoffMs - 1)
        }
        for cursor in cursors {
            guard let head = cursor.held.first, head.offset <= cursor.releasableThrough(stopAtCutoff: stopAtCutoff) else { continue }
            bound = min(bound, head.orderTimestamp == Int64.min ? Int64.min : head.orderTimestamp - 1)
        }
        return bound
    }

    /// A snapshot of every partition, in (topic, partition) order.
    func partitionStates() -> [PartitionState] {
        cursors.map { cursor in
            PartitionState(topic: cursor.topicPartition.topic, partition: cursor.topicPartition.partition,
                           replayStartOffset: cursor.startOffset, replayEndOffset: cursor.endOffset,
                           consumedOffset: cursor.consumedOffset, releasedOffset: cursor.releasedOffset,
                           lastConsumedTimestamp: cursor.lastTimestamp,
                           isLive: cursor.isLive, isPaused: cursor.paused)
        }
    }

    // MARK: release

    /// Moves up to `limit` releasable messages into `batch`, merged by timestamp (ties by topic,
    /// then partition); returns how many it moved.
    ///
    /// A head is releasable when nothing still to come can precede it: its (ordering timestamp,
    /// rank) is below the (last ordering timestamp, rank) of every other partition that has not
    /// caught up — so a partition whose last message ties with it and ranks first is waited for —
    /// and, while any partition has not caught up, at or below the cutoff.
    mutating func release(into batch: inout MessageBatch, limit: Int) -> Int {
        guard limit > 0, heldCount > 0, let ceiling = releaseLimit else { return 0 }
        // Partitions added since the batch was started may bring a topic name.
        if batch.topicNames.count != topicNames.count { batch.setTopicNames(topicNames) }
        let waits = WaitBounds(cursors)
        var heap = CursorHeap()
        for index in cursors.indices {
            if let key = releasableHead(index, ceiling: ceiling, waits: waits) { heap.push(key) }
        }
        var released = 0
        while released < limit, let top = heap.popMin() {
            let index = top.index
            // Release a run from this partition while it stays ahead of every other head.
            while released < limit {
                let entry = cursors[index].held.releaseFirst(into: &batch,
                                                             topicIndex: cursors[index].topicIndex,
                                                             partition: cursors[index].topicPartition.partition)
                cursors[index].releasedOffset = entry.offset
                released += 1
                guard let key = releasableHead(index, ceiling: ceiling, waits: waits) else { break }
                if let other = heap.min, other < key {
                    heap.push(key)
                    break
                }
            }
        }
        heldCount -= released
        return released
    }

    /// The heap key of partition `index`'s first held message when it may be released now.
    private func releasableHead(_ index: Int, ceiling: Int64, waits: WaitBounds) -> CursorHeap.Key? {
        let cursor = cursors[index]
        guard let first = cursor.held.first, first.orderTimestamp <= ceiling,
              first.offset <= cursor.releasableThrough(stopAtCutoff: stopAtCutoff) else { return nil }
        let key = CursorHeap.Key(timestamp: first.orderTimestamp, rank: cursor.rank, index: index)
        if let bound = waits.bound(excluding: index), !(key < bound) { return nil }
        return key
    }

    /// The two smallest (last ordering timestamp, rank) over the partitions not caught up: what
    /// any message still to come is at or above. A partition is never held back by itself.
    private struct WaitBounds {
        var smallest: CursorHeap.Key?
        var second: CursorHeap.Key?

        init(_ cursors: [Cursor]) {
            for (index, cursor) in cursors.enumerated() where !cursor.caughtUp {
                guard let last = cursor.lastOrderTimestamp else { continue }
                let key = CursorHeap.Key(timestamp: last, rank: cursor.rank, index: index)
                if smallest.map({ key < $0 }) ?? true {
                    second = smallest
                    smallest = key
                } else if second.map({ key < $0 }) ?? true {
                    second = key
                }
            }
        }

        func bound(excluding index: Int) -> CursorHeap.Key? {
            smallest?.index == index ? second : smallest
        }
    }

    // MARK: backpressure

    /// Decides which partitions to pause or resume, and records the decision.
    ///
    /// Above 5 × batchSize held, partitions whose last timestamp is ahead of the low-water mark
    /// are paused. Paused partitions resume when fewer than batchSize are held, when every
    /// unpaused partition has caught up, or when a partition becomes the low-water mark itself
    /// (so the partition everybody waits for is never the one stopped).
    mutating func updateFlow() -> FlowChange {
        var change = FlowChange()
        let mark = lowWaterMark
        func ahead(_ cursor: Cursor) -> Bool {
            guard let last = cursor.lastOrderTimestamp else { return false }
            switch mark {
            case .none: return false
            case .unknown: return true
            case .at(let value): return last > value
            }
        }
        if stopAtCutoff {
            // A bounded backfill needs nothing past a partition's catch-up point.
            for index in cursors.indices where cursors[index].caughtUp && !cursors[index].stopped {
                cursors[index].stopped = true
                cursors[index].paused = false
                change.stop.append(index)
            }
        }
        if heldCount > 5 * batchSize {
            for index in cursors.indices where !cursors[index].paused && !cursors[index].stopped && ahead(cursors[index]) {
                cursors[index].paused = true
                change.pause.append(index)
            }
        }
        let anyPaused = cursors.contains(where: \.paused)
        guard anyPaused else { return change }
        let unpausedAllCaughtUp = cursors.allSatisfy { $0.paused || $0.caughtUp }
        let resumeAll = heldCount < batchSize || unpausedAllCaughtUp
        for index in cursors.indices where cursors[index].paused {
            if resumeAll || (!cursors[index].caughtUp && !ahead(cursors[index])) {
                cursors[index].paused = false
                change.resume.append(index)
            }
        }
        return change
    }
}
