/// Finds partitions added to the topics a following consumer reads.
///
/// Kafka topics can gain partitions while they are read; librdkafka only logs it for a manual
/// assignment. Every `interval` the discovery asks the metadata for the partition counts: a
/// topic with more partitions than the consumer reads yields the new ones, a topic with fewer,
/// or one that disappeared, ends the replay with an error (Kafka never removes partitions, so
/// the topic was deleted and recreated).
struct PartitionDiscovery {
    let interval: Duration
    private var lastCheck = ContinuousClock.now

    init(interval: Duration) {
        self.interval = interval
    }

    /// Whether the interval has passed since the last check; starts a new interval when it has.
    mutating func isDue() -> Bool {
        let now = ContinuousClock.now
        guard now - lastCheck >= interval else { return false }
        lastCheck = now
        return true
    }

    /// The partitions the metadata lists beyond `known`, in (topic, partition) order; `nil`
    /// when there are none or the brokers did not answer in time (checked again later).
    func newPartitions(client: RDKafkaClient, known: [TopicPartition]) throws -> [TopicPartition]? {
        let readCounts = Dictionary(grouping: known, by: \.topic).mapValues(\.count)
        let leaders: [String: [Int32]]
        do {
            leaders = try client.partitionLeaders(topics: readCounts.keys.sorted(), timeoutMs: 1_000)
        } catch ReplayError.unknownTopic(let name) {
            throw ReplayError.topicDeleted(name: name)
        } catch ReplayError.timedOut {
            return nil
        }
        var added: [TopicPartition] = []
        for (topic, count) in readCounts.sorted(by: { $0.key < $1.key }) {
            let now = leaders[topic]?.count ?? 0
            if now < count { throw ReplayError.partitionsRemoved(topic: topic, reading: count, now: now) }
            added += (Int32(count)..<Int32(now)).map { TopicPartition(topic: topic, partition: $0) }
        }
        return added.isEmpty ? nil : added
    }

    /// A new partition's range: from its first offset to its high watermark now.
    func range(of tp: TopicPartition, client: RDKafkaClient) throws -> ReplayRange {
        let marks = try client.watermarks(tp, timeoutMs: ConsumerManager.requestTimeoutMs)
        return ReplayRange(start: marks.low, end: marks.high)
    }
}
