import Testing
@testable import KafkaReplay

/// A broker's time answers written out as tables: what offsets_for_times says, and what reading
/// the partition would find.
struct TableLookup: OffsetTimeLookup {
    var answers: [TopicPartition: Int64?] = [:]
    var searchable: [TopicPartition: Int64] = [:]
    private(set) var askedTimes: [Int64] = []
    private(set) var searched: [TopicPartition] = []

    mutating func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64) throws -> [TopicPartition: Int64?] {
        askedTimes.append(timestampMs)
        var result: [TopicPartition: Int64?] = [:]
        for tp in partitions { result[tp] = answers[tp] ?? nil }
        return result
    }

    mutating func searchOffsets(for timestampMs: Int64, in partitions: [TopicPartition: Watermarks]) throws -> [TopicPartition: Int64] {
        searched += partitions.keys.sorted()
        var result: [TopicPartition: Int64] = [:]
        for (tp, marks) in partitions { result[tp] = searchable[tp] ?? marks.high }
        return result
    }
}

@Suite struct StartOffsetResolverTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)
    let p2 = TopicPartition(topic: "t", partition: 2)
    var marks: [TopicPartition: Watermarks] {
        [p0: Watermarks(low: 5, high: 50), p1: Watermarks(low: 0, high: 10), p2: Watermarks(low: 7, high: 7)]
    }

    func resolve(_ policy: OffsetPolicy, starts: [TopicPartition: Int64] = [:], ends: [TopicPartition: Int64] = [:],
                 lookup: inout TableLookup) throws -> StartOffsetResolver.Resolution {
        try StartOffsetResolver.resolve(topic: SourceTopic(name: "t", policy: policy), watermarks: marks,
                                        startOffsets: starts, endOffsets: ends, nowMs: 1_000_000, lookup: &lookup)
    }

    @Test func earliestAndLatestUseTheWatermarks() throws {
        var lookup = TableLookup()
        let earliest = try resolve(.earliest, lookup: &lookup)
        #expect(earliest.ranges == [p0: ReplayRange(start: 5, end: 50), p1: ReplayRange(start: 0, end: 10),
                                    p2: ReplayRange(start: 7, end: 7)])
        let latest = try resolve(.latest, lookup: &lookup)
        #expect(latest.ranges == [p0: ReplayRange(start: 50, end: 50), p1: ReplayRange(start: 10, end: 10),
                                  p2: ReplayRange(start: 7, end: 7)])
        #expect(lookup.askedTimes.isEmpty && lookup.searched.isEmpty)
    }

    @Test func timeAnswersAreClampedAndNoOffsetIsSearched() throws {
        var lookup = TableLookup(answers: [p0: 2, p1: 8, p2: nil], searchable: [:])
        let resolution = try resolve(.absoluteTime(ms: 123), lookup: &lookup)
        // 2 is below p0's low watermark 5; p2 answered "no offset" and is empty: its high watermark.
        #expect(resolution.ranges == [p0: ReplayRange(start: 5, end: 50), p1: ReplayRange(start: 8, end: 10),
                                      p2: ReplayRange(start: 7, end: 7)])
        #expect(lookup.askedTimes == [123])
        #expect(lookup.searched == [p2])
        #expect(resolution.searched.isEmpty)
    }

    @Test func aBrokerWithoutTimeIndexFallsBackToReadingThePartition() throws {
        var lookup = TableLookup(answers: [:], searchable: [p0: 30, p1: 10])
        let resolution = try resolve(.relativeTime(ms: 60_000), lookup: &lookup)
        #expect(lookup.askedTimes == [1_000_000 - 60_000])
        #expect(resolution.ranges[p0] == ReplayRange(start: 30, end: 50))
        #expect(resolution.ranges[p1] == ReplayRange(start: 10, end: 10))
        // Only a start found inside the partition counts as found by reading.
        #expect(resolution.searched == [p0: 30])
    }

    @Test func startOffsetsOverrideThePolicyOnlyWhereGiven() throws {
        var lookup = TableLookup(answers: [p1: 4], searchable: [:])
        let resolution = try resolve(.absoluteTime(ms: 77), starts: [p0: 20, p2: 7], lookup: &lookup)
        #expect(resolution.ranges == [p0: ReplayRange(start: 20, end: 50), p1: ReplayRange(start: 4, end: 10),
                                      p2: ReplayRange(start: 7, end: 7)])
        // Only the partition without a start offset was looked up by time.
        #expect(lookup.askedTimes == [77])
        #expect(lookup.searched.isEmpty)
    }

    @Test func savedEndsBoundTheRangeButNeverPassTheHighWatermark() throws {
        var lookup = TableLookup()
        let resolution = try resolve(.earliest, ends: [p0: 40, p1: 99], lookup: &lookup)
        #expect(resolution.ranges[p0] == ReplayRange(start: 5, end: 40))
        #expect(resolution.ranges[p1] == ReplayRange(start: 0, end: 10))
    }

    @Test func aStartOffsetOutsideTheWatermarksIsRefusedNamingThem() throws {
        var lookup = TableLookup()
        #expect(throws: ReplayError.offsetOutOfRange(topic: "t", partition: 0, requested: 3, earliest: 5, latest: 50)) {
            try resolve(.earliest, starts: [p0: 3], lookup: &lookup)
        }
        #expect(throws: ReplayError.offsetOutOfRange(topic: "t", partition: 1, requested: 11, earliest: 0, latest: 10)) {
            try resolve(.earliest, starts: [p1: 11], lookup: &lookup)
        }
    }
}
