import KafkaReplay
import SpoolStore
import Testing
@testable import SpoolRestore
import SpoolCLI

/// The destination checks as pure functions: each refusal alone, and the settings that pass.
@Suite("destination checks")
struct DestinationCheckTests {
    static let now: Int64 = 1_800_000_000_000
    static let day: Int64 = 86_400_000

    /// A check of 3 partitions whose oldest record is `ageDays` old.
    static func check(ageDays: Int64 = 10, nullKeys: Int64 = 0, largest: Int64 = 1_000, newestAheadMs: Int64 = 0) -> DestinationCheck {
        let selection = PartitionSelection(partition: 2, firstOffset: 0, count: 5, oldestTimestamp: now - ageDays * day,
                                           newestTimestamp: now + newestAheadMs, largestRecordBytes: largest, nullKeys: nullKeys, untimed: 0)
        return DestinationCheck(mapping: TopicMapping(source: "src", target: "dst"), selections: [2: selection], nowMs: now)
    }

    static func topic(partitions: Int = 3, _ configs: [String: String] = [:]) -> TopicDescription {
        TopicDescription(partitionCount: partitions, configs: ["retention.ms": "-1", "cleanup.policy": "delete"].merging(configs) { $1 },
                         configsUnavailable: nil)
    }

    @Test("a fitting destination passes", arguments: [
        ["message.timestamp.type": "CreateTime"],
        ["retention.ms": "\(11 * day)"],
        ["message.timestamp.difference.max.ms": "9223372036854775807"],
        ["message.timestamp.before.max.ms": "\(11 * day)"],
        ["cleanup.policy": "compact"],
        ["max.message.bytes": "1048588"],
    ])
    func passes(configs: [String: String]) {
        let (refusals, warnings) = Self.check().problems(with: Self.topic(configs))
        #expect(refusals.isEmpty, "\(configs)")
        #expect(warnings.isEmpty)
    }

    @Test("each unfit setting refuses with a sentence naming it", arguments: [
        (["message.timestamp.type": "LogAppendTime"], "message.timestamp.type=LogAppendTime"),
        (["retention.ms": "\(9 * day)"], "retention.ms=\(9 * day)"),
        (["message.timestamp.difference.max.ms": "\(day)"], "message.timestamp.difference.max.ms=\(day)"),
        (["message.timestamp.before.max.ms": "\(day)"], "message.timestamp.before.max.ms=\(day)"),
        (["max.message.bytes": "900"], "max.message.bytes=900"),
    ])
    func refuses(configs: [String: String], phrase: String) {
        let refusals = Self.check().problems(with: Self.topic(configs)).refusals
        #expect(refusals.count == 1)
        #expect(refusals.first?.contains(phrase) == true, "\(refusals)")
    }

    @Test("too few partitions, null keys into a compacted topic, and timestamps too far ahead refuse")
    func otherRefusals() {
        #expect(Self.check().problems(with: Self.topic(partitions: 2)).refusals.first?.contains("has 2 partition(s)") == true)
        let compacted = Self.check(nullKeys: 4).problems(with: Self.topic(["cleanup.policy": "compact,delete"])).refusals
        #expect(compacted.first?.contains("4 record(s) to restore have a null key") == true, "\(compacted)")
        let ahead = Self.check(newestAheadMs: 2 * Self.day).problems(with: Self.topic(["message.timestamp.after.max.ms": "\(Self.day)"])).refusals
        #expect(ahead.first?.contains("message.timestamp.after.max.ms") == true, "\(ahead)")
    }

    @Test("configuration that cannot be described is a warning, partitions are still checked")
    func undescribed() {
        let topic = TopicDescription(partitionCount: 1, configs: nil, configsUnavailable: "the broker does not support DescribeConfigs")
        let (refusals, warnings) = Self.check().problems(with: topic)
        #expect(refusals.count == 1)
        #expect(warnings.first?.contains("could not be checked (the broker does not support DescribeConfigs)") == true)
    }
}

/// The committed offsets' metadata and the topic specs.
@Suite("restore progress metadata and topic mappings")
struct RestoreMetadataTests {
    @Test("a cursor's metadata reads back; foreign metadata is not taken for Spool's")
    func cursorMetadata() {
        let cursor = PartitionCursor(next: 120, restored: 77, destinationEnd: 4_005)
        #expect(PartitionCursor(committedOffset: 120, metadata: cursor.metadata) == cursor)
        #expect(PartitionCursor(committedOffset: 5, metadata: "") == nil)
        #expect(PartitionCursor(committedOffset: 5, metadata: "spool-restore/1 end=x") == nil)
        #expect(PartitionCursor(committedOffset: 5, metadata: "kafka-connect") == nil)
        let selected = PartitionCursor(next: 9, restored: 3, destinationEnd: 12, selection: "9f3a")
        #expect(PartitionCursor(committedOffset: 9, metadata: selected.metadata)?.selection == "9f3a")
        #expect(PartitionCursor(committedOffset: 9, metadata: selected.metadata) == selected)
    }

    @Test("SRC and SRC:DST parse; an empty side is refused")
    func mappings() throws {
        #expect(try TopicMapping.parse("orders") == TopicMapping(source: "orders", target: "orders"))
        #expect(try TopicMapping.parse("orders:copy") == TopicMapping(source: "orders", target: "copy"))
        #expect(throws: RestoreError.self) { try TopicMapping.parse("orders:") }
        #expect(throws: RestoreError.self) { try TopicMapping.parse(":copy") }
    }
}

/// The summary's wording for the cases a user meets.
@Suite("restore summary text")
struct RestoreSummaryTextTests {
    @Test("an empty selection, a finished restore, a stopped one and a verify difference each read as what happened")
    func lines() {
        var outcome = TopicRestoreOutcome(mapping: TopicMapping(source: "a", target: "b"), restoreID: "r")
        #expect(RestoreSummaryText.lines(outcomes: [outcome], verifications: [:]).first?.contains("holds no record of 'a' in the selected window") == true)
        outcome.selected = 10
        outcome.alreadyRestored = 10
        #expect(RestoreSummaryText.lines(outcomes: [outcome], verifications: [:]).first?.contains("all 10 records were already restored") == true)
        outcome.alreadyRestored = 4
        outcome.written = 3
        outcome.stopped = true
        #expect(RestoreSummaryText.lines(outcomes: [outcome], verifications: [:]).first?.contains("stopped; 7 of 10 records") == true)
        let differs = PartitionVerification(partition: 1, expected: 10, found: 11, firstDifference: PartitionVerification.Difference(destination: 10, source: -1),
                                            expectedChecksum: 1, foundChecksum: 2)
        let text = RestoreSummaryText.lines(outcomes: [], verifications: ["b": [differs]]).joined(separator: "\n")
        #expect(text.contains("0 of 1 partition(s) equal"), "\(text)")
        #expect(text.contains("b[1]: 11 record(s), the capture selected 10; offset 10 and after are not from the capture"), "\(text)")
    }
}
