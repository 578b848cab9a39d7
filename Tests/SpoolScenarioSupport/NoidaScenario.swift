import SpoolTestSupport

/// The setup of tests on the second broker: a temporary directory and a running `noida-db`
/// (what librdkafka's mock cannot do: growing a topic, transaction markers, time lookups), with
/// topics made and filled through the confluent-kafka client (`KafkaTool`).
///
///     let scenario = try NoidaScenario()
///     try scenario.topic("orders", partitions: 2)
///     let produced = try scenario.produce("orders", count: 20, keyPrefix: "k")
///     // ... ingest from scenario.brokers into scenario.file("a.sqlite") ...
public final class NoidaScenario {
    /// The test's temporary directory (removed with the scenario).
    public let directory: TemporaryDirectory
    /// The broker (stopped with the scenario).
    public let broker: NoidaBroker

    /// A fresh directory and a started broker.
    public init() throws {
        broker = try NoidaBroker()
        directory = TemporaryDirectory()
    }

    /// The broker's bootstrap servers.
    public var brokers: String { broker.bootstrap }

    /// The scenario's directory.
    public var path: String { directory.path }

    /// The path of `name` inside the scenario's directory.
    public func file(_ name: String) -> String { directory.file(name) }

    /// Creates `name` with `partitions` partitions and the topic `configs` (`NAME=VALUE`).
    public func topic(_ name: String, partitions: Int, configs: [String] = []) throws {
        try KafkaTool.createTopic(name, partitions: partitions, brokers: brokers, configs: configs)
    }

    /// Produces `count` records into `topic` (see `KafkaTool.produce`); returns them with their
    /// partitions and offsets.
    @discardableResult
    public func produce(_ topic: String, count: Int, partition: Int32? = nil, keyPrefix: String? = nil, valuePrefix: String = "value-",
                        timestampMs: Int64? = nil, timestampStepMs: Int64 = 0, transactionalID: String? = nil, abort: Bool = false,
                        headers: [String] = []) throws -> [ProducedRecord] {
        try KafkaTool.produce(topic, count: count, brokers: brokers, partition: partition, keyPrefix: keyPrefix, valuePrefix: valuePrefix,
                              timestampMs: timestampMs, timestampStepMs: timestampStepMs, transactionalID: transactionalID, abort: abort,
                              headers: headers)
    }
}
