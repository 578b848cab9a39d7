/// A topic to replay together with its offset policy.
public struct SourceTopic: Hashable, Sendable {
    /// The Kafka topic name.
    public var name: String
    /// Where replay starts on each partition of the topic.
    public var policy: OffsetPolicy

    /// Creates a source topic; call `validateSourceTopic(_:)` to check it.
    public init(name: String, policy: OffsetPolicy) {
        self.name = name
        self.policy = policy
    }

    /// A topic replayed from the earliest offset the broker holds.
    public static func fromEarliest(_ name: String) -> SourceTopic {
        SourceTopic(name: name, policy: .earliest)
    }

    /// A topic that delivers only messages produced after the consumer starts.
    public static func fromLatest(_ name: String) -> SourceTopic {
        SourceTopic(name: name, policy: .latest)
    }

    /// A topic replayed from `ms` milliseconds before now.
    public static func fromRelativeTime(_ name: String, ms: Int64) -> SourceTopic {
        SourceTopic(name: name, policy: .relativeTime(ms: ms))
    }

    /// A topic replayed from the Unix timestamp `ms` (milliseconds, UTC).
    public static func fromAbsoluteTime(_ name: String, ms: Int64) -> SourceTopic {
        SourceTopic(name: name, policy: .absoluteTime(ms: ms))
    }
}
