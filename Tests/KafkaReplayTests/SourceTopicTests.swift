import Testing
@testable import KafkaReplay

@Suite("Source topics, validation and schemas")
struct SourceTopicTests {
    @Test func factoriesSetThePolicy() {
        #expect(SourceTopic.fromEarliest("a").policy == .earliest)
        #expect(SourceTopic.fromLatest("a").policy == .latest)
        #expect(SourceTopic.fromRelativeTime("a", ms: 5).policy == .relativeTime(ms: 5))
        #expect(SourceTopic.fromAbsoluteTime("a", ms: 7).policy == .absoluteTime(ms: 7))
        #expect(SourceTopic.fromEarliest("orders.v1").name == "orders.v1")
    }

    @Test(arguments: ["orders", "orders.v1", "a-b_c.D9", String(repeating: "x", count: 249), "...", "_"])
    func validNamesPass(name: String) throws {
        try validateSourceTopic(.fromEarliest(name))
    }

    @Test(arguments: [
        ("", "at least 1 character"),
        (".", "cannot be '.' or '..'"),
        ("..", "cannot be '.' or '..'"),
        (String(repeating: "x", count: 250), "at most 249"),
        ("with space", "is not allowed"),
        ("slash/topic", "is not allowed"),
        ("ünïcode", "is not allowed"),
    ])
    func invalidNamesNameTheRule(name: String, rule: String) {
        #expect {
            try validateSourceTopic(.fromEarliest(name))
        } throws: { error in
            guard case .invalidTopic(let badName, let reason) = error as? ReplayError else { return false }
            return badName == name && reason.contains(rule)
        }
    }

    @Test func negativeTimesAreRefused() {
        #expect(throws: ReplayError.self) { try validateSourceTopic(.fromRelativeTime("a", ms: -1)) }
        #expect(throws: ReplayError.self) { try validateSourceTopic(.fromAbsoluteTime("a", ms: -5)) }
        #expect(throws: Never.self) { try validateSourceTopic(.fromAbsoluteTime("a", ms: 0)) }
    }

    @Test func policySeedSpellingRoundTrips() {
        for policy in [OffsetPolicy.earliest, .latest, .relativeTime(ms: 3_600_000), .absoluteTime(ms: 1_700_000_000_000)] {
            #expect(OffsetPolicy(seedSpelling: policy.description) == policy)
        }
        #expect(OffsetPolicy(seedSpelling: "relative_time:abc") == nil)
        #expect(OffsetPolicy(seedSpelling: "yesterday") == nil)
    }

    @Test func messageSchemaMatchesTheSeed() {
        // The seed's MESSAGE_SCHEMA, field by field.
        let seed = [
            SchemaField(name: "key", type: .binary, nullable: true),
            SchemaField(name: "value", type: .binary, nullable: true),
            SchemaField(name: "topic", type: .utf8, nullable: false),
            SchemaField(name: "partition", type: .int32, nullable: false),
            SchemaField(name: "offset", type: .int64, nullable: false),
            SchemaField(name: "timestamp", type: .timestampMillisUTC, nullable: false),
        ]
        #expect(messageSchema == seed)
        #expect(getMessageSchema() == seed)
        // The type spellings are PyArrow's.
        #expect(messageSchema.map(\.type.rawValue) == ["binary", "binary", "utf8", "int32", "int64", "timestamp[ms, tz=UTC]"])
    }

    @Test func partitionStateSchemaMatchesTheSeed() {
        // The seed's PARTITION_STATE_SCHEMA, field by field.
        let seed = [
            SchemaField(name: "topic", type: .utf8, nullable: false),
            SchemaField(name: "partition", type: .int32, nullable: false),
            SchemaField(name: "replay_start_offset", type: .int64, nullable: false),
            SchemaField(name: "replay_end_offset", type: .int64, nullable: false),
            SchemaField(name: "consumed_offset", type: .int64, nullable: false),
            SchemaField(name: "released_offset", type: .int64, nullable: false),
            SchemaField(name: "last_consumed_timestamp", type: .timestampMillisUTC, nullable: true),
            SchemaField(name: "is_live", type: .bool, nullable: false),
            SchemaField(name: "is_paused", type: .bool, nullable: false),
        ]
        #expect(partitionStateSchema == seed)
        #expect(getPartitionStateSchema() == seed)
        #expect(partitionStateSchema.map(\.type.rawValue) == [
            "utf8", "int32", "int64", "int64", "int64", "int64", "timestamp[ms, tz=UTC]", "bool", "bool",
        ])
    }

    @Test func batchesKeepColumnsAndRows() {
        let messages = [
            Message(key: nil, value: [1], topic: "a", partition: 0, offset: 5, timestamp: 10),
            Message(key: [], value: nil, topic: "b", partition: 2, offset: 7, timestamp: 11),
        ]
        let batch = MessageBatch(messages)
        #expect(Array(batch) == messages)
        #expect(batch.topicNames == ["a", "b"])
        #expect(batch.offsets == [5, 7])
        #expect(batch.withKey(at: 0) { $0 == nil })
        #expect(batch.withKey(at: 1) { $0?.count } == 0)
        var seen = 0
        for message in batch { seen += message.topic.isEmpty ? 0 : 1 }
        #expect(seen == 2)
    }

    @Test func redactorHidesSecretValues() {
        let redactor = SecretRedactor(config: ["sasl.password": "hunter2", "ssl.key.password": "k3y", "client.id": "me"])
        #expect(redactor.redact("login with hunter2 and k3y as me") == "login with [redacted] and [redacted] as me")
        #expect(SecretRedactor.masked(["sasl.password": "x", "a": "b"]) == ["sasl.password": "[redacted]", "a": "b"])
    }
}
