import KafkaReplay
import Logging
import SpoolModel

extension ConsumerManager {
    /// Replays a Spool capture, then continues live from Kafka: the kafkars spellings plus a
    /// capture.
    ///
    /// Per partition, the offsets the capture holds (from its first kept offset up to its
    /// `next_offset`) come from the capture, every later offset from Kafka, starting exactly
    /// at the capture's `next_offset`; offset policies resolve over both (`earliest` is the
    /// smaller first offset, a time policy Kafka's rule over both logs, `latest` Kafka's end).
    /// Release order is the same whether a record came from the file or from Kafka. Without
    /// `bootstrap.servers` in `config` the capture is replayed alone, each partition live at
    /// the capture's end as it was when the replay opened.
    ///
    /// - Parameters:
    ///   - capture: the capture to read first (see `SpoolCapture`).
    ///   - acceptGaps: skip offsets that neither the capture nor Kafka holds instead of
    ///     throwing `ReplayError.historyGap` naming them.
    ///   - The rest as in `init(config:topics:cutoffMs:batchSize:...)`.
    public convenience init(config: [String: String], topics: [SourceTopic], capture: SpoolCapture, cutoffMs: Int64? = nil,
                            batchSize: Int = 10_000, startOffsets: [TopicPartition: Int64] = [:],
                            endOffsets: [TopicPartition: Int64] = [:], stopAtCutoff: Bool = false, acceptGaps: Bool = false,
                            logger: Logger = Logger(label: "spool.kafka")) throws {
        try self.init(config: config, topics: topics, cutoffMs: cutoffMs, batchSize: batchSize, startOffsets: startOffsets,
                      endOffsets: endOffsets, stopAtCutoff: stopAtCutoff, shard: nil, history: capture, acceptGaps: acceptGaps,
                      logger: logger)
    }
}
