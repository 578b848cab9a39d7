import KafkaReplay
import SpoolStore

/// How a run starts: a continuation of an interrupted bounded backfill, or a new run that
/// resumes every stored partition and starts new ones by their topic's policy.
struct RunPlan {
    var cutoff: Int64
    var startOffsets: [TopicPartition: Int64]
    var endOffsets: [TopicPartition: Int64]
    var savedRanges: [TopicPartition: ReplayRange]
    var continuedRunID: Int64?

    static func make(store: SpoolStore, options: IngestOptions) throws -> RunPlan {
        let stored = try store.resumeOffsets()
        let wanted = Set(options.topics.map(\.name))
        // Only partitions of the topics asked for are resumed; other stored topics are left alone.
        let resumable = stored.filter { wanted.contains($0.key.topic) }
        if !options.follow, let run = try store.latestRun(), run.bounded, run.status != .live,
           Set(run.topics) == Set(options.topics), options.cutoff == .now || options.cutoff == .at(run.cutoff) {
            var starts: [TopicPartition: Int64] = [:]
            var ends: [TopicPartition: Int64] = [:]
            for (tp, range) in run.ranges {
                starts[tp] = resumable[tp] ?? range.start
                ends[tp] = range.end
            }
            return RunPlan(cutoff: run.cutoff, startOffsets: starts, endOffsets: ends, savedRanges: run.ranges,
                           continuedRunID: run.id)
        }
        let cutoff: Int64
        switch options.cutoff {
        case .now: cutoff = WallClock.nowMs()
        case .at(let ms): cutoff = ms
        }
        return RunPlan(cutoff: cutoff, startOffsets: resumable, endOffsets: [:], savedRanges: [:], continuedRunID: nil)
    }
}
