/// A Kafka protocol or librdkafka error code, for injecting faults into `MockKafkaCluster`.
@_spi(MockCluster) public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable {
    /// The numeric code as librdkafka defines it (`rd_kafka_resp_err_t`).
    public var rawValue: Int32
    /// Wraps a numeric code.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// No error.
    public static let noError = KafkaErrorCode(rawValue: 0)
    /// The broker disconnects the client (librdkafka's `_TRANSPORT`).
    public static let transport = KafkaErrorCode(rawValue: -195)
    /// `OFFSET_OUT_OF_RANGE`.
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    /// `UNKNOWN_TOPIC_OR_PART`.
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    /// `LEADER_NOT_AVAILABLE`.
    public static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    /// `NOT_LEADER_FOR_PARTITION`.
    public static let notLeaderForPartition = KafkaErrorCode(rawValue: 6)
    /// `REQUEST_TIMED_OUT`.
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    /// `MSG_SIZE_TOO_LARGE`.
    public static let messageSizeTooLarge = KafkaErrorCode(rawValue: 10)
    /// `TOPIC_AUTHORIZATION_FAILED`.
    public static let topicAuthorizationFailed = KafkaErrorCode(rawValue: 29)
    /// `KAFKA_STORAGE_ERROR`.
    public static let kafkaStorageError = KafkaErrorCode(rawValue: 56)
}

/// A Kafka protocol request type, for injecting faults into `MockKafkaCluster`.
@_spi(MockCluster) public struct KafkaAPIKey: RawRepresentable, Hashable, Sendable {
    /// The protocol's ApiKey number.
    public var rawValue: Int16
    /// Wraps an ApiKey number.
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// Produce (0).
    public static let produce = KafkaAPIKey(rawValue: 0)
    /// Fetch (1).
    public static let fetch = KafkaAPIKey(rawValue: 1)
    /// ListOffsets (2).
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    /// Metadata (3).
    public static let metadata = KafkaAPIKey(rawValue: 3)
}
