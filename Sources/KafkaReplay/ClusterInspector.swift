import Logging

/// Reads a cluster's current watermarks without consuming anything (for `spool status`).
public enum ClusterInspector {
    /// The watermarks of every partition of `topics`, and the cluster id when reported.
    ///
    /// Throws `ReplayError.unknownTopic` naming a missing topic, or a timeout naming the request.
    public static func watermarks(config: [String: String], topics: [String],
                                  timeoutMs: Int32 = ConsumerManager.requestTimeoutMs,
                                  logger: Logger = Logger(label: "spool.kafka")) throws -> (clusterID: String?, partitions: [TopicPartition: Watermarks]) {
        let client = try RDKafkaClient(kind: .consumer, config: ConsumerManager.effectiveConfig(config), logger: logger)
        let counts = try client.partitionCounts(topics: topics, timeoutMs: timeoutMs)
        var result: [TopicPartition: Watermarks] = [:]
        for topic in topics {
            for partition in 0..<Int32(counts[topic] ?? 0) {
                let tp = TopicPartition(topic: topic, partition: partition)
                result[tp] = try client.watermarks(tp, timeoutMs: timeoutMs)
            }
        }
        return (client.clusterID(timeoutMs: timeoutMs), result)
    }
}
