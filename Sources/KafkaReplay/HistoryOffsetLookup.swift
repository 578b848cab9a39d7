/// Time lookups over a history and Kafka together: Kafka's rule (the first offset, in offset
/// order, whose timestamp is at or after the time) applied to the union of both logs. The
/// history answers for the offsets it holds; Kafka is asked only where it may hold an earlier
/// answer (offsets below the history's first) or the history has none.
struct HistoryOffsetLookup: OffsetTimeLookup {
    let history: any ReplayHistory
    /// The offsets the history holds, per partition.
    let holdings: [TopicPartition: ReplayRange]
    /// Kafka's watermarks, per partition; empty for a replay of the history alone.
    let kafka: [TopicPartition: Watermarks]
    /// Kafka's own lookups; nil for a replay of the history alone.
    var broker: BrokerOffsetLookup?

    mutating func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64) throws -> [TopicPartition: Int64?] {
        var answers: [TopicPartition: Int64?] = [:]
        var askKafka: [TopicPartition] = []
        for tp in partitions {
            let held = holdings[tp].flatMap { $0.isEmpty ? nil : $0 }
            let answer = try held.flatMap { _ in try history.firstOffset(of: tp, atOrAfter: timestampMs) }
            answers[tp] = answer
            if let marks = kafka[tp], answer == nil || marks.low < (held?.start ?? marks.low) { askKafka.append(tp) }
        }
        guard var broker, !askKafka.isEmpty else { return answers }
        defer { self.broker = broker }
        let fromKafka = try broker.offsetsForTimes(askKafka, timestampMs: timestampMs)
        for tp in askKafka {
            guard let held = answers[tp] ?? nil else {
                answers[tp] = fromKafka[tp] ?? nil
                continue
            }
            // The history answered; Kafka wins only with an offset below the history's first.
            var earlier = fromKafka[tp] ?? nil
            if earlier == nil, let marks = kafka[tp], let first = holdings[tp]?.start, marks.low < first {
                let below = Watermarks(low: marks.low, high: first)
                earlier = try broker.searchOffsets(for: timestampMs, in: [tp: below])[tp].flatMap { $0 < first ? $0 : nil }
            }
            answers[tp] = min(held, earlier ?? held)
        }
        return answers
    }

    mutating func searchOffsets(for timestampMs: Int64, in partitions: [TopicPartition: Watermarks]) throws -> [TopicPartition: Int64] {
        var found: [TopicPartition: Int64] = [:]
        var kafkaOwn: [TopicPartition: Watermarks] = [:]
        for (tp, union) in partitions {
            if let marks = kafka[tp], broker != nil { kafkaOwn[tp] = marks } else { found[tp] = union.high }
        }
        guard var broker, !kafkaOwn.isEmpty else { return found }
        defer { self.broker = broker }
        for (tp, offset) in try broker.searchOffsets(for: timestampMs, in: kafkaOwn) { found[tp] = offset }
        return found
    }

    /// Lets Kafka's probe consumer go.
    mutating func close() { broker?.close() }
}
