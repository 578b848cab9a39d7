@_spi(MockCluster) import KafkaReplay
import SpoolTestSupport

/// The setup most capture tests start from: a temporary directory and an in-process mock
/// cluster, with topics made and filled through it; what was produced is kept for the
/// exactly-once expectation.
///
///     let scenario = try MockScenario()
///     let produced = try scenario.topic("orders", partitions: 3, perPartition: 100)
///     // ... ingest into scenario.file("a.sqlite") ...
///     try expectExactlyOnce(scenario.file("a.sqlite"), topic: "orders", produced: produced, partitions: 3)
@_spi(MockCluster) public final class MockScenario {
    /// The test's temporary directory (removed with the scenario).
    public let directory: TemporaryDirectory
    /// The mock cluster (stopped with the scenario).
    public let cluster: MockKafkaCluster

    /// A fresh directory and a mock cluster of `brokers` brokers.
    public init(brokers: Int = 1) throws {
        directory = TemporaryDirectory()
        cluster = try MockKafkaCluster(brokers: brokers, logger: quietLogger())
    }

    /// The cluster's bootstrap servers.
    public var brokers: String { cluster.bootstrapServers }

    /// The path of `name` inside the scenario's directory.
    public func file(_ name: String) -> String { directory.file(name) }

    /// Creates `name` with `partitions` partitions and produces `perPartition` messages into each
    /// (see `produce`); returns them in producing order.
    @discardableResult
    public func topic(_ name: String, partitions: Int32, perPartition: Int = 0, valueSize: Int = 40) throws -> [MockMessage] {
        try cluster.createTopic(name, partitions: Int(partitions))
        return try produce(name, partitions: partitions, indices: 0..<perPartition, valueSize: valueSize)
    }

    /// Produces messages `indices` of each partition of `topic` (`testMessages` with null keys
    /// and values among them: message i of partition p has timestamp base + 10 i + p), in
    /// chunks of at most 20,000; returns them in producing order.
    @discardableResult
    public func produce(_ topic: String, partitions: Int32, indices: Range<Int>, base: Int64 = 1_700_000_000_000,
                        valueSize: Int = 40) throws -> [MockMessage] {
        try Self.produce(into: cluster, topic: topic, partitions: partitions, indices: indices, base: base, valueSize: valueSize)
    }

    /// `produce(_:partitions:indices:)` into a cluster a test made itself.
    @discardableResult
    public static func produce(into cluster: MockKafkaCluster, topic: String, partitions: Int32, indices: Range<Int>,
                               base: Int64 = 1_700_000_000_000, valueSize: Int = 40) throws -> [MockMessage] {
        let all = testMessages(partitions: partitions, indices: indices, base: base, valueSize: valueSize, withNulls: true)
            .map { MockMessage(partition: $0.partition, key: $0.key, value: $0.value, timestamp: $0.timestamp) }
        for start in stride(from: 0, to: all.count, by: 20_000) {
            try cluster.produce(topic: topic, Array(all[start..<min(start + 20_000, all.count)]))
        }
        return all
    }
}
