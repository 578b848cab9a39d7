import Testing
@testable import KafkaReplay

/// A deterministic `MessageSource`: per-partition scripted messages, delivered round-robin over
/// partitions that are neither paused nor held back, with an end-of-partition event after each
/// partition's last available message.
final class ScriptedSource: MessageSource {
    struct Item {
        var offset: Int64
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [MessageHeader] = []
    }

    var items: [[Item]]
    private var positions: [Int]
    /// How many of each partition's items may be delivered so far.
    var available: [Int]
    private(set) var paused: Set<Int> = []
    private(set) var stopped: Set<Int> = []
    private(set) var resumeCalls = 0
    private var eofSent: Set<Int> = []
    private var turn = 0
    /// The offset each partition's end-of-partition event reports (default: after its last item).
    var eofOffsets: [Int: Int64] = [:]
    /// Offsets to deliver a second time (as a broker re-fetch would), per partition.
    var redeliver: [Int: [Item]] = [:]
    /// Partitions the topic gains once `after` messages were delivered (as discovery would add them).
    private var growth: [(after: Int, specs: [ReplayCore.PartitionSpec], items: [[Item]])] = []
    private(set) var delivered = 0
    /// Fails (as librdkafka does on a message it cannot read) once this many were delivered.
    var failAfter: (deliveries: Int, error: ReplayError)?

    init(_ items: [[Item]]) {
        self.items = items
        positions = Array(repeating: 0, count: items.count)
        available = items.map(\.count)
    }

    /// Items with offsets from 0 and the given timestamps.
    static func partition(timestamps: [Int64], startOffset: Int64 = 0) -> [Item] {
        timestamps.enumerated().map { index, ts in
            Item(offset: startOffset + Int64(index), timestamp: ts, key: [UInt8(index % 256)], value: Array("v\(index)".utf8))
        }
    }

    /// Adds partitions (with their scripted items) to the core after `after` deliveries.
    func grow(after: Int, _ partitions: [(ReplayCore.PartitionSpec, [Item])]) {
        // The core gives new partitions indexes in (topic, partition) order.
        let ordered = partitions.sorted { $0.0.topicPartition < $1.0.topicPartition }
        growth.append((after, ordered.map(\.0), ordered.map(\.1)))
    }

    func next(timeoutMs: Int32, into core: inout ReplayCore) throws -> Bool {
        if let failAfter, delivered >= failAfter.deliveries { throw failAfter.error }
        if let first = growth.first, delivered >= first.after {
            growth.removeFirst()
            let indexes = core.addPartitions(first.specs)
            #expect(indexes == Array(items.count..<items.count + first.specs.count), "new partitions get the next indexes")
            items += first.items
            positions += Array(repeating: 0, count: first.items.count)
            available += first.items.map(\.count)
        }
        for step in 0..<items.count {
            let p = (turn + step) % items.count
            guard !paused.contains(p) else { continue }
            if var pending = redeliver[p], !pending.isEmpty {
                let item = pending.removeFirst()
                redeliver[p] = pending
                deliver(item, p, &core)
                return true
            }
            if positions[p] < min(available[p], items[p].count) {
                let item = items[p][positions[p]]
                positions[p] += 1
                turn = p + 1
                deliver(item, p, &core)
                return true
            }
        }
        for p in items.indices where !paused.contains(p) && !eofSent.contains(p) && positions[p] == items[p].count {
            eofSent.insert(p)
            let next = eofOffsets[p] ?? (items[p].last.map { $0.offset + 1 } ?? 0)
            core.accept(.endOfPartition(partitionIndex: p, nextOffset: next))
            return true
        }
        return false
    }

    private func deliver(_ item: Item, _ p: Int, _ core: inout ReplayCore) {
        delivered += 1
        func with(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> Void) {
            guard let bytes else { return body(nil) }
            bytes.withUnsafeBytes { body($0) }
        }
        // Lend the headers' bytes the way librdkafka does: all from one buffer, valid for the call.
        var buffer: [UInt8] = []
        var places: [(name: Range<Int>, value: Range<Int>?)] = []
        for header in item.headers {
            let nameStart = buffer.count
            buffer += Array(header.name.utf8)
            let valueStart = buffer.count
            buffer += header.value ?? []
            places.append((nameStart..<valueStart, header.value.map { _ in valueStart..<buffer.count }))
        }
        buffer.withUnsafeBytes { bytes in
            let headers = places.map { place in
                RawHeader(name: UnsafeRawBufferPointer(rebasing: bytes[place.name]),
                          value: place.value.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) })
            }
            with(item.key) { key in
                with(item.value) { value in
                    core.accept(.message(partitionIndex: p, offset: item.offset, timestamp: item.timestamp, key: key, value: value,
                                         headers: headers))
                }
            }
        }
    }

    func pause(_ partitionIndexes: [Int]) throws {
        paused.formUnion(partitionIndexes)
    }

    func resume(_ partitionIndexes: [Int]) throws {
        resumeCalls += 1
        paused.subtract(partitionIndexes)
    }

    func stop(_ partitionIndexes: [Int]) throws {
        stopped.formUnion(partitionIndexes)
        paused.formUnion(partitionIndexes)
    }
}

/// A driver over a scripted source for partitions `t[0]`, `t[1]`, ... of topic "t".
func scriptedDriver(_ partitions: [[ScriptedSource.Item]], ends: [Int64]? = nil, starts: [Int64]? = nil,
                    cutoff: Int64 = Int64.max, batchSize: Int = 10) -> ReplayDriver<ScriptedSource> {
    let specs = partitions.enumerated().map { index, items in
        ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "t", partition: Int32(index)),
                                 range: ReplayRange(start: starts?[index] ?? (items.first?.offset ?? 0),
                                                    end: ends?[index] ?? (items.last.map { $0.offset + 1 } ?? 0)))
    }
    return ReplayDriver(core: ReplayCore(partitions: specs, cutoffMs: cutoff, batchSize: batchSize),
                        source: ScriptedSource(partitions))
}

/// Polls a scripted driver until live, returning every released message.
func drain(_ driver: ReplayDriver<ScriptedSource>, maxPolls: Int = 10_000) throws -> [Message] {
    var released: [Message] = []
    var polls = 0
    while !driver.core.isLive && polls < maxPolls {
        polls += 1
        let batch = try driver.poll(timeoutMs: 0)
        #expect(batch.count <= driver.core.batchSize)
        released.append(contentsOf: batch)
    }
    #expect(driver.core.isLive, "not live after \(maxPolls) polls")
    return released
}
