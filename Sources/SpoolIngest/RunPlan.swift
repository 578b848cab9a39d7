import SpoolModel
import SpoolStore

/// How a run starts: a continuation of an interrupted bounded backfill, or a new run that
/// resumes every stored partition and starts new ones by their topic's policy.
struct RunPlan {
    /// The cutoff between replay and live.
    var cutoff: Int64
    /// Where each stored (or continued) partition resumes reading.
    var startOffsets: [TopicPartition: Int64]
    /// The ranges of the run being continued (empty for a new run); their ends bound the replay.
    var savedRanges: [TopicPartition: ReplayRange]
    /// The run being continued, if any.
    var continuedRunID: Int64?

    /// The topics as the consumer is given them. A topic with stored partitions is being
    /// resumed, so a partition of it without stored state was added since: it starts at its
    /// earliest offset (the topic's own policy then applies to no stored partition), so nothing
    /// produced to it is missed.
    func consumerTopics(_ topics: [SourceTopic]) -> [SourceTopic] {
        let resumed = Set(startOffsets.keys.map(\.topic))
        return topics.map { resumed.contains($0.name) ? .fromEarliest($0.name) : $0 }
    }

    static func make(store: SpoolStore, options: IngestOptions) throws -> RunPlan {
        let stored = try store.resumeOffsets()
        let wanted = Set(options.topics.map(\.name))
        // Only partitions of the topics asked for are resumed; other stored topics are left alone.
        let resumable = stored.filter { wanted.contains($0.key.topic) }
        if !options.follow, let run = try store.runs.latest(), run.bounded, run.status != .live,
           Set(run.topics) == Set(options.topics), options.cutoff == .now || options.cutoff == .at(run.cutoff) {
            var starts: [TopicPartition: Int64] = [:]
            for (tp, range) in run.ranges { starts[tp] = resumable[tp] ?? range.start }
            return RunPlan(cutoff: run.cutoff, startOffsets: starts, savedRanges: run.ranges, continuedRunID: run.id)
        }
        let cutoff: Int64
        switch options.cutoff {
        case .now: cutoff = WallClock.nowMs()
        case .at(let ms): cutoff = ms
        }
        return RunPlan(cutoff: cutoff, startOffsets: resumable, savedRanges: [:], continuedRunID: nil)
    }
}
