/// Everything that can go wrong creating or polling a `ConsumerManager` or the mock cluster.
///
/// Each case carries what is needed to name the thing at fault (topic, partition, offset,
/// configuration key) in its `description`, which is written for a person and never contains a
/// secret configuration value.
public enum ReplayError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A topic name or policy breaks a rule; `reason` says which.
    case invalidTopic(name: String, reason: String)
    /// The same topic was listed twice.
    case duplicateTopic(name: String)
    /// The broker does not know the topic.
    case unknownTopic(name: String)
    /// An argument other than a topic is out of range (batch size, timeout, cutoff).
    case invalidArgument(name: String, reason: String)
    /// librdkafka refused a configuration property.
    case configuration(key: String, reason: String)
    /// A requested start offset is not held by the broker.
    case offsetOutOfRange(topic: String, partition: Int32, requested: Int64, earliest: Int64, latest: Int64)
    /// A blocking request (metadata, watermarks, timestamps) got no answer in time.
    case timedOut(operation: String, seconds: Double)
    /// An error reported by librdkafka or the broker.
    case kafka(code: Int32, name: String, message: String, fatal: Bool)
    /// A message cannot be fetched because it is larger than the configured maximum; `waiting`
    /// names the partitions still to read with their next offsets.
    case messageTooLarge(waiting: [TopicPartition: Int64], detail: String)
    /// A topic disappeared from the cluster while it was being read.
    case topicDeleted(name: String)
    /// A topic has fewer partitions than are being read (it was deleted and recreated).
    case partitionsRemoved(topic: String, reading: Int, now: Int)
    /// Offsets that neither the capture nor Kafka holds lie on the replay's way.
    case historyGap(topic: String, partition: Int32, missing: ReplayRange)
    /// The capture holds offsets Kafka has not reached: the topic was deleted and recreated.
    case historyAheadOfKafka(topic: String, partition: Int32, historyEnd: Int64, highWatermark: Int64)

    /// A sentence that names what failed and what to do.
    public var description: String {
        switch self {
        case .invalidTopic(let name, let reason):
            return "invalid topic '\(name)': \(reason)"
        case .duplicateTopic(let name):
            return "topic '\(name)' is listed more than once; list each topic once"
        case .unknownTopic(let name):
            return "topic '\(name)' does not exist on the cluster; check the name and the brokers"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        case .configuration(let key, let reason):
            return key == "*" ? "Kafka configuration: \(reason)" : "Kafka configuration property '\(key)': \(reason)"
        case .offsetOutOfRange(let topic, let partition, let requested, let earliest, let latest):
            return "offset \(requested) of \(topic)[\(partition)] is not available: the broker holds offsets \(earliest) to \(latest - 1) (earliest \(earliest), high watermark \(latest))"
        case .timedOut(let operation, let seconds):
            return "no answer from Kafka within \(seconds) s while \(operation); check the brokers are reachable"
        case .kafka(_, let name, let message, let fatal):
            return "Kafka error \(name)\(fatal ? " (fatal)" : ""): \(message)"
        case .messageTooLarge(let waiting, let detail):
            let places = waiting.sorted { $0.key < $1.key }.map { "\($0.key) at offset \($0.value)" }.joined(separator: ", ")
            return "a message is larger than the configured maximum and cannot be read\(places.isEmpty ? "" : "; not yet read: \(places)"). Raise receive.message.max.bytes and fetch.max.bytes with -X (librdkafka: \(detail))"
        case .topicDeleted(let name):
            return "topic '\(name)' no longer exists on the cluster (deleted while it was being read); what was read so far is stored"
        case .historyGap(let topic, let partition, let missing):
            return "offsets \(missing.start)...\(missing.end - 1) of \(topic)[\(partition)] are neither in the capture nor in Kafka (deleted by Kafka's retention before they were captured, or by the capture's retention); rerun with --accept-gaps to skip them"
        case .historyAheadOfKafka(let topic, let partition, let historyEnd, let high):
            return "the capture holds \(topic)[\(partition)] up to offset \(historyEnd - 1), beyond Kafka's high watermark \(high); the topic was probably deleted and recreated, so the capture and Kafka cannot be joined. Replay the capture alone (without --brokers)"
        case .partitionsRemoved(let topic, let reading, let now):
            return "topic '\(topic)' now has \(now) partition(s) but \(reading) were being read; Kafka never removes partitions, so the topic was probably deleted and recreated. What was read so far is stored; capture the new topic into a new --db file"
        }
    }
}
