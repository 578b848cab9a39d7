import Testing
@testable import KafkaReplay

@Suite("Ordering core over a scripted source", .timeLimit(.minutes(1)))
struct ReplayCoreTests {
    @Test func interleavedPartitionsAreMergedByTimestamp() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [1, 4, 7, 10]),
            ScriptedSource.partition(timestamps: [2, 5, 8, 11]),
            ScriptedSource.partition(timestamps: [3, 6, 9, 12]),
        ], batchSize: 5)
        let released = try drain(driver)
        #expect(released.map(\.timestamp) == Array(1...12))
        #expect(released.map(\.partition) == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    }

    @Test func tiesAreBrokenByPartition() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [5, 5]),
            ScriptedSource.partition(timestamps: [5, 5]),
        ])
        let released = try drain(driver)
        #expect(released.map(\.partition) == [0, 0, 1, 1])
    }

    @Test func aPartitionThatHasDeliveredNothingHoldsEverythingBack() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 20, 30]),
            ScriptedSource.partition(timestamps: [5, 25]),
        ])
        driver.source.available[1] = 0
        for _ in 0..<3 {
            #expect(try driver.poll(timeoutMs: 0).isEmpty)
        }
        #expect(driver.core.heldCount == 3)
        #expect(driver.core.primingWatermark == nil)
        #expect(!driver.core.isLive)
        driver.source.available[1] = 2
        let released = try drain(driver)
        #expect(released.map(\.timestamp) == [5, 10, 20, 25, 30])
    }

    @Test func aSlowPartitionHoldsOthersAtItsLastTimestamp() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 20, 30, 40]),
            ScriptedSource.partition(timestamps: [15, 35]),
        ])
        driver.source.available[1] = 1
        var released: [Message] = []
        for _ in 0..<5 { released += try driver.poll(timeoutMs: 0) }
        #expect(released.map(\.timestamp) == [10, 15])
        #expect(driver.core.primingWatermark == 15)
        driver.source.available[1] = 2
        released += try drain(driver)
        #expect(released.map(\.timestamp) == [10, 15, 20, 30, 35, 40])
    }

    @Test func cutoffSeparatesReplayFromLive() throws {
        // Offsets 0...5 on both partitions; timestamps cross the cutoff (30) halfway.
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 20, 30, 40, 50, 60]),
            ScriptedSource.partition(timestamps: [11, 21, 31, 41, 51, 61]),
        ], cutoff: 30)
        driver.source.available[1] = 2
        var released: [Message] = []
        for _ in 0..<5 { released += try driver.poll(timeoutMs: 0) }
        // Partition 0 caught up at its first message >= cutoff; partition 1 not yet.
        #expect(released.allSatisfy { $0.timestamp <= 30 })
        #expect(released.map(\.timestamp) == [10, 11, 20, 21])
        #expect(!driver.core.isLive)
        #expect(driver.core.cursors[0].caughtUp)
        #expect(driver.core.cursors[0].isLive)
        driver.source.available[1] = 6
        released += try drain(driver)
        // Once both caught up everything held is released, in timestamp order.
        #expect(released.map(\.timestamp).prefix(6) == [10, 11, 20, 21, 30, 31])
        let later = Array(try driver.poll(timeoutMs: 0)) + Array(try driver.poll(timeoutMs: 0))
        #expect(Set((released + later).map(\.timestamp)) == Set([10, 20, 30, 40, 50, 60, 11, 21, 31, 41, 51, 61]))
        expectOrdered(released + later)
    }

    @Test func timestampsGoingBackwardsNeverBreakOffsetOrder() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 50, 5, 60]),
            ScriptedSource.partition(timestamps: [20, 30, 40, 70]),
        ], batchSize: 3)
        let released = try drain(driver)
        #expect(released.count == 8)
        let offsets0 = released.filter { $0.partition == 0 }.map(\.offset)
        let offsets1 = released.filter { $0.partition == 1 }.map(\.offset)
        #expect(offsets0 == [0, 1, 2, 3])
        #expect(offsets1 == [0, 1, 2, 3])
        for state in driver.core.partitionStates() { #expect(state.releasedOffset == 3) }
    }

    @Test func noPollReturnsMoreThanTheBatchSize() throws {
        let driver = scriptedDriver((0..<4).map { p in
            ScriptedSource.partition(timestamps: (0..<100).map { Int64($0 * 4 + p) })
        }, batchSize: 7)
        var sizes: [Int] = []
        var all: [Message] = []
        while !driver.core.isLive {
            let batch = try driver.poll(timeoutMs: 0)
            sizes.append(batch.count)
            all += batch
        }
        #expect(sizes.max() == 7)
        #expect(all.count == 400)
        #expect(all.map(\.timestamp) == (0..<400).map { Int64($0) })
    }

    @Test func emptyPartitionsAreLiveFromTheStart() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [1, 2, 3]),
            [],
        ], ends: [3, 0])
        #expect(driver.core.cursors[1].caughtUp)
        #expect(driver.core.cursors[1].isLive)
        let released = try drain(driver)
        #expect(released.map(\.timestamp) == [1, 2, 3])
    }

    @Test func everythingCaughtUpAtStartIsLiveAtOnce() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [1, 2], startOffset: 10),
            [],
        ], ends: [10, 0], starts: [10, 0])
        #expect(driver.core.isLive)
        #expect(driver.core.primingWatermark == nil)
        // Messages arriving now are live and released at once.
        let batch = try driver.poll(timeoutMs: 0)
        #expect(batch.map(\.offset) == [10, 11])
    }

    @Test func backpressurePausesPartitionsAheadAndBoundsHeldMessages() throws {
        let batchSize = 10
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: (0..<1_000).map { Int64($0) }),
            ScriptedSource.partition(timestamps: (0..<1_000).map { Int64($0) }),
        ], batchSize: batchSize)
        driver.source.available[1] = 1
        var maxHeld = 0
        var sawPaused = false
        var released: [Message] = []
        for _ in 0..<50 {
            released += try driver.poll(timeoutMs: 0)
            maxHeld = max(maxHeld, driver.core.heldCount)
            if driver.core.pausedCount > 0 { sawPaused = true }
        }
        #expect(sawPaused)
        #expect(driver.source.paused == [0])
        #expect(driver.core.partitionStates()[0].isPaused)
        // At most 5 × batch held before pausing, plus one drained batch.
        #expect(maxHeld <= 6 * batchSize + 1)
        driver.source.available[1] = 1_000
        released += try drain(driver)
        #expect(driver.core.pausedCount == 0)
        #expect(driver.source.resumeCalls >= 1)
        #expect(released.count == 2_000)
        expectOrdered(released)
    }

    @Test func liveFollowsReleasedMessages() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: (0..<30).map { Int64($0) }),
        ], batchSize: 10)
        _ = try driver.poll(timeoutMs: 0)
        // All 30 consumed in one drain? At most a batch drained per round, so not all released yet.
        #expect(!driver.core.isLive)
        _ = try drain(driver)
        #expect(driver.core.isLive)
        #expect(driver.core.partitionStates()[0].releasedOffset == 29)
    }

    @Test func endOfPartitionBelowTheHighWatermarkMakesItCaughtUp() throws {
        // Offsets 0...2 carry messages; the end offset 4 is past a control record at offset 3.
        let driver = scriptedDriver([ScriptedSource.partition(timestamps: [1, 2, 3])], ends: [4])
        driver.source.eofOffsets[0] = 4
        let released = try drain(driver)
        #expect(released.count == 3)
        #expect(driver.core.isLive)
    }

    @Test func missingTimestampsAreKeptAndOrderedWithTheirPredecessor() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, -1, 30]),
            ScriptedSource.partition(timestamps: [12, 20, 40]),
        ])
        let released = try drain(driver)
        #expect(released.map(\.timestamp) == [10, -1, 12, 20, 30, 40])
    }

    /// Timestamps that go backwards are ordered by their partition's largest so far, so the
    /// release order is the same however the records arrive (the order written out).
    @Test func backwardsTimestampsGiveOneOrderWhateverTheArrival() throws {
        let partitions = [ScriptedSource.partition(timestamps: [100, 90, 120, 110]), ScriptedSource.partition(timestamps: [95, 105, 115])]
        let expected: [(Int32, Int64)] = [(1, 0), (0, 0), (0, 1), (1, 1), (1, 2), (0, 2), (0, 3)]
        let atOnce = try drain(scriptedDriver(partitions))
        let staged = scriptedDriver(partitions)
        var released: [Message] = []
        for (first, second) in [(2, 1), (4, 1), (4, 2)] {
            staged.source.available[0] = first
            staged.source.available[1] = second
            for _ in 0..<3 { released += try staged.poll(timeoutMs: 0) }
        }
        staged.source.available[1] = 3
        released += try drain(staged)
        for run in [atOnce, released] {
            #expect(run.map { "\($0.partition)@\($0.offset)" } == expected.map { "\($0.0)@\($0.1)" })
        }
        #expect(atOnce.map(\.timestamp) == [95, 100, 90, 105, 115, 120, 110], "each keeps its own timestamp")
    }

    /// A message whose timestamp ties with another partition's last one waits when that
    /// partition ranks first: its next message may tie too (here one going backwards, ordered
    /// at its predecessor's timestamp) and comes first, whenever it arrives.
    @Test func aTieWaitsForThePartitionThatRanksFirst() throws {
        let partitions = [ScriptedSource.partition(timestamps: [10, 5, 50]), ScriptedSource.partition(timestamps: [10, 60])]
        let expected = ["0@0", "0@1", "1@0", "0@2", "1@1"]
        let atOnce = try drain(scriptedDriver(partitions))
        let staged = scriptedDriver(partitions)
        staged.source.available = [1, 1]
        var released: [Message] = Array(try staged.poll(timeoutMs: 0))
        staged.source.available = [2, 1]
        released += try staged.poll(timeoutMs: 0)
        staged.source.available = [3, 2]
        released += try drain(staged)
        #expect(atOnce.map { "\($0.partition)@\($0.offset)" } == expected)
        #expect(released.map { "\($0.partition)@\($0.offset)" } == expected)
    }

    /// Wobbling timestamps (each partition goes back and forth by up to 0.35 s), made available
    /// in many different interleavings: every run releases the same sequence.
    @Test func theReleaseOrderDoesNotDependOnArrival() throws {
        func timestamp(_ index: Int, _ partition: Int) -> Int64 {
            let wobble = Int64((index * 7_919 + partition * 104_729) % 50) * 7
            return 1_000_000 + Int64(index) * 20 - wobble + Int64(partition)
        }
        let partitions = (0..<4).map { partition in ScriptedSource.partition(timestamps: (0..<300).map { timestamp($0, partition) }) }
        func order(_ released: [Message]) -> [String] { released.map { "\($0.partition)@\($0.offset)" } }
        let reference = order(try drain(scriptedDriver(partitions, batchSize: 37)))
        var generator = SplitMix(seed: 42)
        for run in 0..<20 {
            let driver = scriptedDriver(partitions, batchSize: 37)
            driver.source.available = [0, 0, 0, 0]
            var released: [Message] = []
            while driver.source.available.reduce(0, +) < 1_200 {
                let partition = Int(generator.next() % 4)
                driver.source.available[partition] = min(300, driver.source.available[partition] + Int(generator.next() % 40))
                released += try driver.poll(timeoutMs: 0)
            }
            released += try drain(driver)
            #expect(order(released) == reference, "run \(run): first difference at \(zip(order(released), reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        }
    }

    /// A small deterministic generator, so the interleavings are the same on every run.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func redeliveredOffsetsAreIgnored() throws {
        let driver = scriptedDriver([ScriptedSource.partition(timestamps: [1, 2, 3])], ends: [10])
        driver.source.available[0] = 2
        let first = try driver.poll(timeoutMs: 0)
        #expect(first.map(\.offset) == [0, 1])
        driver.source.redeliver[0] = Array(driver.source.items[0].prefix(2))
        driver.source.available[0] = 3
        let second = try driver.poll(timeoutMs: 0)
        #expect(driver.core.duplicatesIgnored == 2)
        #expect(second.map(\.offset) == [2])
        #expect(driver.core.partitionStates()[0].releasedOffset == 2)
    }

    @Test func nullAndEmptyBytesStayDistinct() throws {
        let items = [
            ScriptedSource.Item(offset: 0, timestamp: 1, key: nil, value: nil),
            ScriptedSource.Item(offset: 1, timestamp: 2, key: [], value: []),
            ScriptedSource.Item(offset: 2, timestamp: 3, key: [1, 2], value: nil),
        ]
        let released = try drain(scriptedDriver([items]))
        #expect(released[0].key == nil && released[0].value == nil)
        #expect(released[1].key == [] && released[1].value == [])
        #expect(released[2].key == [1, 2] && released[2].value == nil)
    }
}

extension ReplayCoreTests {
    @Test func aBoundedBackfillReleasesNothingPastTheCatchUpPoint() throws {
        let specs = [
            ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "t", partition: 0), range: ReplayRange(start: 0, end: 6)),
            ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "t", partition: 1), range: ReplayRange(start: 0, end: 6)),
        ]
        let driver = ReplayDriver(core: ReplayCore(partitions: specs, cutoffMs: 30, batchSize: 10, stopAtCutoff: true),
                                  source: ScriptedSource([
                                      ScriptedSource.partition(timestamps: [10, 20, 30, 40, 50, 60]),
                                      ScriptedSource.partition(timestamps: [11, 21, 31, 41, 51, 61]),
                                  ]))
        var released: [Message] = []
        for _ in 0..<20 { released += try driver.poll(timeoutMs: 0) }
        #expect(driver.core.isLive)
        #expect(released.map(\.timestamp) == [10, 11, 20, 21])
        #expect(driver.core.partitionStates().map(\.nextOffset) == [2, 2])
        // Fetching stopped for good, which is not backpressure.
        #expect(driver.source.paused == [0, 1])
        #expect(driver.core.pausedCount == 0)
        #expect(driver.core.cursors.allSatisfy { $0.stopped })
    }

    @Test func completeUntilTrailsTheLowWaterMarkAndHeldMessages() throws {
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 20, 30, 40]),
            ScriptedSource.partition(timestamps: [15, 35]),
        ], ends: [100, 100], cutoff: 1_000)
        driver.source.available[1] = 1
        #expect(driver.core.completeUntil == nil)
        for _ in 0..<3 { _ = try driver.poll(timeoutMs: 0) }
        // Partition 1 stopped at 15: everything up to 14 is released on both partitions.
        #expect(driver.core.completeUntil == 14)
        driver.source.available[1] = 2
        for _ in 0..<3 { _ = try driver.poll(timeoutMs: 0) }
        #expect(driver.core.completeUntil == 34)
    }
}

extension ReplayCoreTests {
    @Test func heldBytesSurviveArenaCompaction() throws {
        // Headers too: none, one, duplicate names, a null and an empty value, binary bytes.
        func headers(_ index: Int) -> [MessageHeader] {
            switch index % 5 {
            case 0: return []
            case 1: return [MessageHeader(name: "trace", value: Array("t-\(index)".utf8))]
            case 2: return [MessageHeader(name: "a", value: nil), MessageHeader(name: "a", value: [])]
            case 3: return [MessageHeader(name: "bin", value: [0, 255, UInt8(truncatingIfNeeded: index)])]
            default: return (0..<7).map { MessageHeader(name: "h\($0)", value: Array(repeating: 65, count: $0 * index % 40)) }
            }
        }
        func item(_ index: Int, partition: Int) -> ScriptedSource.Item {
            ScriptedSource.Item(offset: Int64(index), timestamp: Int64(index * 2 + partition),
                                key: index % 3 == 0 ? nil : Array("k\(partition)-\(index)".utf8),
                                value: Array(repeating: UInt8(truncatingIfNeeded: index), count: index % 50),
                                headers: headers(index + partition))
        }
        let first = (0..<5_000).map { item($0, partition: 0) }
        let second = (0..<5_000).map { item($0, partition: 1) }
        let driver = scriptedDriver([first, second], batchSize: 2_000)
        driver.source.available[1] = 0
        for _ in 0..<3 { _ = try driver.poll(timeoutMs: 0) }
        #expect(driver.core.heldCount == 5_000)
        driver.source.available[1] = 5_000
        let released = try drain(driver)
        #expect(released.count == 10_000)
        for message in released {
            let expected = item(Int(message.offset), partition: Int(message.partition))
            #expect(message.key == expected.key && message.value == expected.value && message.timestamp == expected.timestamp)
            #expect(message.headers == expected.headers, "headers of \(message.partition)@\(message.offset)")
        }
    }

    @Test func partitionsAddedWhileFollowingAreReadFromTheirFirstOffsetInOrder() throws {
        // A followed topic with two live partitions gains partitions 2 and 3 after four messages.
        let driver = scriptedDriver([
            ScriptedSource.partition(timestamps: [10, 30, 50, 70]),
            ScriptedSource.partition(timestamps: [20, 40, 60, 80]),
        ])
        driver.source.grow(after: 4, [
            (ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "t", partition: 3), range: ReplayRange(start: 0, end: 2)),
             ScriptedSource.partition(timestamps: [25, 65])),
            (ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "t", partition: 2), range: ReplayRange(start: 5, end: 8)),
             ScriptedSource.partition(timestamps: [15, 45, 75], startOffset: 5)),
        ])
        var released: [Message] = []
        for _ in 0..<50 { released += try driver.poll(timeoutMs: 0) }
        #expect(driver.core.isLive)
        // Every message exactly once, each partition in offset order.
        for (partition, offsets) in [(0, [0, 1, 2, 3]), (1, [0, 1, 2, 3]), (2, [5, 6, 7]), (3, [0, 1])] {
            #expect(released.filter { $0.partition == Int32(partition) }.map(\.offset) == offsets.map(Int64.init), "t[\(partition)]")
        }
        #expect(released.count == 13)
        // The state lists all four in (topic, partition) order, starting where they were added.
        let states = driver.core.partitionStates().sorted { $0.partition < $1.partition }
        #expect(states.map(\.partition) == [0, 1, 2, 3])
        #expect(states.map(\.replayStartOffset) == [0, 0, 5, 0])
        #expect(states.map(\.nextOffset) == [4, 4, 8, 2])
    }

    @Test func timestampTiesBreakByPartitionEvenForAddedPartitions() throws {
        let driver = scriptedDriver([ScriptedSource.partition(timestamps: [100]), ScriptedSource.partition(timestamps: [100])],
                                    cutoff: 50)
        // Partition 0 is caught up by its first message (past the cutoff); the added partition
        // 0 of topic "a" sorts first, so at equal timestamps it is released first.
        driver.source.grow(after: 0, [
            (ReplayCore.PartitionSpec(topicPartition: TopicPartition(topic: "a", partition: 0), range: ReplayRange(start: 0, end: 1)),
             ScriptedSource.partition(timestamps: [100])),
        ])
        var released: [Message] = []
        for _ in 0..<20 { released += try driver.poll(timeoutMs: 0) }
        #expect(released.map(\.topic) == ["a", "t", "t"])
        #expect(released.map(\.partition) == [0, 0, 1])
    }

    @Test func whatWasReadBeforeASourceFailureIsReleasedAndTheErrorComesNext() throws {
        let driver = scriptedDriver([ScriptedSource.partition(timestamps: [10, 20, 30, 40])])
        let failure = ReplayError.messageTooLarge(waiting: [:], detail: "offset 2 is too large")
        driver.source.failAfter = (2, failure)
        // Offsets 0 and 1 were read before the failure: released, so they can be stored.
        let first = try driver.poll(timeoutMs: 0)
        #expect(first.map(\.offset) == [0, 1])
        #expect(throws: failure) { try driver.poll(timeoutMs: 0) }
        #expect(driver.core.partitionStates().map(\.nextOffset) == [2])
    }
}
