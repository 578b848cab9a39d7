/// Finds partitions added to the topics a following consumer reads.
///
/// Kafka topics can gain partitions while they are read; librdkafka only logs it for a manual
/// assignment. Every `interval` the discovery asks the metadata for the partition counts: a
/// topic with more partitions than the consumer reads yields the new ones, a topic with fewer,
/// or one that disappeared, ends the replay with an error (Kafka never removes partitions, so
/// the topic was deleted and recreated).
///
/// With a shard (`--shard I/N`) only the new partitions the shard owns are read; the counts it
/// compares against are the topics' whole partition counts, owned or not.
struct PartitionDiscovery {
    let interval: Duration
    private var lastCheck = ContinuousClock.now
    /// Each topic's partition count when last seen, owned or not.
    private var counts: [String: Int]
    private let shard: ShardSpec?

    /// Checks every `interval` for partitions beyond `counts` (each topic's partition count now).
    init(interval: Duration, counts: [String: Int], shard: ShardSpec? = nil) {
        self.interval = interval
        self.counts = counts
        self.shard = shard
    }

    /// Whether the interval has passed since the last check; starts a new interval when it has.
    mutating func isDue() -> Bool {
        let now = ContinuousClock.now
        guard now - lastCheck >= interval else { return false }
        lastCheck = now
        return true
    }

    /// The partitions the metadata lists beyond the counts last seen that this consumer reads
    /// (all, or the shard's), in (topic, partition) order; `nil` when there are none or the
    /// brokers did not answer in time (checked again later).
    mutating func newPartitions(client: RDKafkaClient) throws -> [TopicPartition]? {
        let leaders: [String: [Int32]]
        do {
            leaders = try client.partitionLeaders(topics: counts.keys.sorted(), timeoutMs: 1_000)
        } catch ReplayError.unknownTopic(let name) {
            throw ReplayError.topicDeleted(name: name)
        } catch ReplayError.timedOut {
            return nil
        }
        var added: [TopicPartition] = []
        for (topic, count) in counts.sorted(by: { $0.key < $1.key }) {
            let now = leaders[topic]?.count ?? 0
            if now < count { throw ReplayError.partitionsRemoved(topic: topic, reading: count, now: now) }
            added += (Int32(count)..<Int32(now)).map { TopicPartition(topic: topic, partition: $0) }
            counts[topic] = now
        }
        added = added.filter { shard?.owns($0) ?? true }
        return added.isEmpty ? nil : added
    }

    /// A new partition's range: from its first offset to its high watermark now.
    func range(of tp: TopicPartition, client: RDKafkaClient) throws -> ReplayRange {
        let marks = try client.watermarks(tp, timeoutMs: ConsumerManager.requestTimeoutMs)
        return ReplayRange(start: marks.low, end: marks.high)
    }
}
