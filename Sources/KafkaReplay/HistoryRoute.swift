/// Where one partition's records come from when a `ReplayHistory` holds some of them: the pure
/// rules behind a replay from a capture and Kafka, tested without either.
///
/// Per partition the switch is by offset, never by time: offsets the history holds
/// (`first..<next`) are read from it, every later offset from Kafka, starting exactly at `next`.
/// A start below the history's first offset is read from Kafka alone (Kafka then holds every
/// offset from the start on, and the history adds nothing to it). Offsets neither holds are a
/// gap: refused, or skipped when the caller accepts gaps.
package enum HistoryRoute: Equatable {
    /// Kafka from this offset on.
    case kafka(from: Int64)
    /// The history from `from` up to `until`, then Kafka from `thenKafkaFrom` (`until`, or past a
    /// gap that was accepted), or nothing more (nil: a replay of the history alone).
    case history(from: Int64, until: Int64, thenKafkaFrom: Int64?)

    /// The offsets a partition can be read from: the history's and Kafka's together. `low` is the
    /// smaller first offset; `high` is Kafka's high watermark, or the history's end without Kafka.
    package static func union(history: ReplayRange?, kafka: Watermarks?) -> Watermarks? {
        switch (history, kafka) {
        case let (history?, kafka?):
            return Watermarks(low: history.isEmpty ? kafka.low : min(history.start, kafka.low), high: max(kafka.high, kafka.low))
        case let (history?, nil):
            return Watermarks(low: history.start, high: history.end)
        case let (nil, kafka?):
            return kafka
        case (nil, nil):
            return nil
        }
    }

    /// The route of `partition` starting at `start`. Throws `ReplayError.historyGap` for
    /// offsets neither holds (unless `acceptGaps`: then reading skips to the next held offset)
    /// and `ReplayError.historyAheadOfKafka` when the history holds offsets Kafka has not
    /// reached (the topic was recreated). `kafka` is nil for a replay of the history alone.
    package static func plan(_ partition: TopicPartition, start: Int64, history: ReplayRange?, kafka: Watermarks?,
                             acceptGaps: Bool) throws -> (route: HistoryRoute, skipped: ReplayRange?) {
        guard let history, !history.isEmpty, start < history.end, start >= history.start else {
            return try kafkaFrom(partition, start: start, kafka: kafka, acceptGaps: acceptGaps)
        }
        guard let kafka else { return (.history(from: start, until: history.end, thenKafkaFrom: nil), nil) }
        if history.end > kafka.high {
            throw ReplayError.historyAheadOfKafka(topic: partition.topic, partition: partition.partition,
                                                  historyEnd: history.end, highWatermark: kafka.high)
        }
        if history.end < kafka.low {
            let gap = ReplayRange(start: history.end, end: kafka.low)
            guard acceptGaps else { throw ReplayError.historyGap(topic: partition.topic, partition: partition.partition, missing: gap) }
            return (.history(from: start, until: history.end, thenKafkaFrom: kafka.low), gap)
        }
        return (.history(from: start, until: history.end, thenKafkaFrom: history.end), nil)
    }

    /// Kafka alone from `start`: a start below Kafka's low watermark is a gap.
    private static func kafkaFrom(_ partition: TopicPartition, start: Int64, kafka: Watermarks?,
                                  acceptGaps: Bool) throws -> (route: HistoryRoute, skipped: ReplayRange?) {
        guard let kafka else { return (.history(from: start, until: start, thenKafkaFrom: nil), nil) }
        guard start < kafka.low else { return (.kafka(from: start), nil) }
        let gap = ReplayRange(start: start, end: kafka.low)
        guard acceptGaps else { throw ReplayError.historyGap(topic: partition.topic, partition: partition.partition, missing: gap) }
        return (.kafka(from: kafka.low), gap)
    }
}
