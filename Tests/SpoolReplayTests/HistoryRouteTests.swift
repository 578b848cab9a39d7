import KafkaReplay
import Testing

/// `HistoryRoute`: where each partition's records come from, written out case by case.
@Suite("HistoryRoute")
struct HistoryRouteTests {
    let tp = TopicPartition(topic: "t", partition: 2)

    @Test func aStartInsideTheHistoryReadsItThenKafkaFromItsEnd() throws {
        let plan = try HistoryRoute.plan(tp, start: 10, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 30, high: 90), acceptGaps: false)
        #expect(plan.route == .history(from: 10, until: 40, thenKafkaFrom: 40))
        #expect(plan.skipped == nil)
    }

    @Test func theHistoryAloneEndsAtItsEnd() throws {
        let plan = try HistoryRoute.plan(tp, start: 5, history: ReplayRange(start: 5, end: 40), kafka: nil, acceptGaps: false)
        #expect(plan.route == .history(from: 5, until: 40, thenKafkaFrom: nil))
    }

    @Test func aStartAtOrAfterTheHistoryEndReadsKafka() throws {
        let plan = try HistoryRoute.plan(tp, start: 40, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 30, high: 90), acceptGaps: false)
        #expect(plan.route == .kafka(from: 40))
    }

    @Test func aStartBelowTheHistoryThatKafkaHoldsReadsKafkaAlone() throws {
        let plan = try HistoryRoute.plan(tp, start: 2, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 0, high: 90), acceptGaps: false)
        #expect(plan.route == .kafka(from: 2))
    }

    @Test func offsetsNeitherHoldsAreAGapRefusedOrSkipped() throws {
        #expect(throws: ReplayError.historyGap(topic: "t", partition: 2, missing: ReplayRange(start: 40, end: 55))) {
            try HistoryRoute.plan(tp, start: 5, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 55, high: 90), acceptGaps: false)
        }
        let skipped = try HistoryRoute.plan(tp, start: 5, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 55, high: 90), acceptGaps: true)
        #expect(skipped.route == .history(from: 5, until: 40, thenKafkaFrom: 55))
        #expect(skipped.skipped == ReplayRange(start: 40, end: 55))
        #expect(throws: ReplayError.historyGap(topic: "t", partition: 2, missing: ReplayRange(start: 1, end: 3))) {
            try HistoryRoute.plan(tp, start: 1, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 3, high: 90), acceptGaps: false)
        }
    }

    @Test func aHistoryBeyondKafkasEndIsRefused() {
        #expect(throws: ReplayError.historyAheadOfKafka(topic: "t", partition: 2, historyEnd: 40, highWatermark: 12)) {
            try HistoryRoute.plan(tp, start: 5, history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 0, high: 12), acceptGaps: false)
        }
    }

    @Test func theUnionStartsAtTheSmallerFirstOffsetAndEndsAtKafkasEnd() {
        #expect(HistoryRoute.union(history: ReplayRange(start: 5, end: 40), kafka: Watermarks(low: 30, high: 90)) == Watermarks(low: 5, high: 90))
        #expect(HistoryRoute.union(history: ReplayRange(start: 40, end: 40), kafka: Watermarks(low: 30, high: 90)) == Watermarks(low: 30, high: 90))
        #expect(HistoryRoute.union(history: ReplayRange(start: 5, end: 40), kafka: nil) == Watermarks(low: 5, high: 40))
        #expect(HistoryRoute.union(history: nil, kafka: nil) == nil)
    }
}
