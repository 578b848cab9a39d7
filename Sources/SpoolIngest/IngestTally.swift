import KafkaReplay
import SpoolModel

/// What a running ingest has stored and which partitions it reads, for progress and the summary.
struct IngestTally {
    private let storedBefore: [String: Int64]
    private(set) var storedThisRun: [String: Int64] = [:]
    private var partitions: Set<TopicPartition>

    /// Counts start from what the database held (`storedBefore`, per topic) and the partitions
    /// the consumer reads at start.
    init(storedBefore: [String: Int64], topics: [String], partitions: [TopicPartition]) {
        var before = storedBefore
        for topic in topics where before[topic] == nil { before[topic] = 0 }
        self.storedBefore = before
        self.partitions = Set(partitions)
        for topic in topics { storedThisRun[topic] = 0 }
    }

    /// Messages stored by this run per topic.
    var storedThisRunPerTopic: [String: Int64] { storedThisRun }

    /// Notes the partitions in `states` not seen before (a topic grew) and returns their ranges.
    mutating func admit(_ states: [PartitionState]) -> [TopicPartition: ReplayRange] {
        guard states.count != partitions.count else { return [:] }
        var added: [TopicPartition: ReplayRange] = [:]
        for state in states where partitions.insert(state.topicPartition).inserted {
            added[state.topicPartition] = state.replayRange
        }
        return added
    }

    /// Adds the batch's rows per topic (counting per topic index, not row by row lookups).
    mutating func count(_ batch: MessageBatch) {
        var perTopic = [Int64](repeating: 0, count: batch.topicNames.count)
        for index in batch.topicIndexes { perTopic[Int(index)] += 1 }
        for (index, name) in batch.topicNames.enumerated() where perTopic[index] > 0 {
            storedThisRun[name, default: 0] += perTopic[index]
        }
    }

    /// A progress snapshot. Work left counts only what can still be read: a live partition has
    /// none, whatever its high watermark says (transaction markers occupy offsets but are never
    /// delivered); one still replaying has the offsets between its next offset and its end.
    func snapshot(_ manager: ConsumerManager, elapsed: Double) -> IngestProgress {
        var byTopic: [String: IngestProgress.TopicProgress] = [:]
        for state in manager.partitionState() {
            var entry = byTopic[state.topic] ?? IngestProgress.TopicProgress(
                topic: state.topic, stored: (storedBefore[state.topic] ?? 0) + (storedThisRun[state.topic] ?? 0),
                storedThisRun: storedThisRun[state.topic] ?? 0, remaining: 0, livePartitions: 0, partitions: 0)
            entry.partitions += 1
            if state.isLive {
                entry.livePartitions += 1
            } else {
                entry.remaining += max(0, state.replayEndOffset - state.nextOffset)
            }
            byTopic[state.topic] = entry
        }
        return IngestProgress(topics: byTopic.values.sorted { $0.topic < $1.topic }, elapsedSeconds: elapsed,
                              heldMessages: manager.heldMessageCount, pausedPartitions: manager.pausedPartitionCount,
                              isLive: manager.isLive)
    }
}
