/// What the brokers can tell about offsets by time: the seam that keeps `StartOffsetResolver`
/// free of I/O (librdkafka in production, a table in tests).
protocol OffsetTimeLookup {
    /// The first offset at or after `timestampMs` on each partition; `nil` where the broker
    /// answers "no offset" (nothing at or after the time, or no time index).
    mutating func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64) throws -> [TopicPartition: Int64?]
    /// The first offset at or after `timestampMs` found by reading the partitions (binary search
    /// over their messages); the high watermark where no message is that late.
    mutating func searchOffsets(for timestampMs: Int64, in partitions: [TopicPartition: Watermarks]) throws -> [TopicPartition: Int64]
}

/// Decides where each partition's replay starts and ends: the pure part of creating a
/// `ConsumerManager`, tested without a broker.
///
/// Rules, per partition of a topic:
/// - a start offset given by the caller (a resume) wins; it must lie within the watermarks,
///   else `ReplayError.offsetOutOfRange`;
/// - otherwise the topic's policy: `earliest` → low watermark, `latest` → high watermark, a time
///   → the broker's answer (clamped to the watermarks), or, where it answers "no offset", the
///   offset found by reading the partition;
/// - the range ends at the caller's end offset (a continued bounded backfill) or the high
///   watermark, whichever is lower.
enum StartOffsetResolver {
    /// The resolved ranges, and the partitions whose start had to be found by reading them.
    struct Resolution: Equatable {
        var ranges: [TopicPartition: ReplayRange] = [:]
        var searched: [TopicPartition: Int64] = [:]
    }

    /// Resolves the ranges of every partition of `topic` (those in `watermarks`).
    static func resolve(topic: SourceTopic, watermarks: [TopicPartition: Watermarks],
                        startOffsets: [TopicPartition: Int64], endOffsets: [TopicPartition: Int64] = [:],
                        nowMs: Int64, lookup: inout some OffsetTimeLookup) throws -> Resolution {
        let partitions = watermarks.keys.filter { $0.topic == topic.name }.sorted()
        var starts: [TopicPartition: Int64] = [:]
        var byPolicy: [TopicPartition] = []
        for tp in partitions {
            let marks = watermarks[tp]!
            if let requested = startOffsets[tp] {
                guard requested >= marks.low && requested <= marks.high else {
                    throw ReplayError.offsetOutOfRange(topic: tp.topic, partition: tp.partition, requested: requested,
                                                       earliest: marks.low, latest: marks.high)
                }
                starts[tp] = requested
            } else {
                byPolicy.append(tp)
            }
        }
        var resolution = Resolution()
        switch topic.policy {
        case .earliest:
            for tp in byPolicy { starts[tp] = watermarks[tp]!.low }
        case .latest:
            for tp in byPolicy { starts[tp] = watermarks[tp]!.high }
        case .relativeTime(let ms):
            resolution.searched = try resolveTimes(byPolicy, timestampMs: nowMs - ms, watermarks, &starts, &lookup)
        case .absoluteTime(let ms):
            resolution.searched = try resolveTimes(byPolicy, timestampMs: ms, watermarks, &starts, &lookup)
        }
        for tp in partitions {
            let high = watermarks[tp]!.high
            resolution.ranges[tp] = ReplayRange(start: starts[tp]!, end: min(endOffsets[tp] ?? high, high))
        }
        return resolution
    }

    /// Fills `starts` for partitions resolved by time; returns those found by reading.
    private static func resolveTimes(_ partitions: [TopicPartition], timestampMs: Int64,
                                     _ watermarks: [TopicPartition: Watermarks], _ starts: inout [TopicPartition: Int64],
                                     _ lookup: inout some OffsetTimeLookup) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let answers = try lookup.offsetsForTimes(partitions, timestampMs: timestampMs)
        var unanswered: [TopicPartition: Watermarks] = [:]
        for tp in partitions {
            let marks = watermarks[tp]!
            if let answer = answers[tp] ?? nil {
                starts[tp] = min(max(answer, marks.low), marks.high)
            } else {
                unanswered[tp] = marks
            }
        }
        guard !unanswered.isEmpty else { return [:] }
        // "No offset": either nothing is at or after the time, or the broker has no time index.
        let found = try lookup.searchOffsets(for: timestampMs, in: unanswered)
        var searched: [TopicPartition: Int64] = [:]
        for (tp, marks) in unanswered {
            let offset = min(max(found[tp] ?? marks.high, marks.low), marks.high)
            starts[tp] = offset
            if offset < marks.high { searched[tp] = offset }
        }
        return searched
    }
}
