@_spi(MockCluster) import SpoolSampleData
@_spi(MockCluster) import KafkaReplay
import SpoolStore

/// A query bench row (z) times through `spool query` on the new build's capture and the
/// baseline binary's.
///
/// The SQL is written with placeholders filled in from the bench data's size, so every query
/// selects rows that exist: `{T0}` and `{T1}` a time window (`[T0, T1)`, ms), `{KEY}` the hex of
/// an existing key, `{PARTITION}` and `{OFFSET}` an existing record.
struct LayoutQuery {
    /// Which capture a query reads: the plain log, or the one ingested with `--latest bench`.
    enum Capture {
        case log
        case keyed
    }

    /// The query's letter and what it does, e.g. "c. key lookup".
    let label: String
    /// The SQL run on the new build's capture.
    let sql: String
    /// The SQL run on the baseline binary's capture (another query where the old layout lacks
    /// the new one's tables).
    let baselineSQL: String
    /// Which capture it reads.
    let capture: Capture

    // The SQL; edit freely (placeholders as above).
    static let countPerTopicSQL = "SELECT topic, count(*) FROM messages GROUP BY topic"
    static let timeRangeSQL = "SELECT count(*), sum(length(value)) FROM messages WHERE topic = 'bench' AND timestamp >= {T0} AND timestamp < {T1}"
    static let keyLookupSQL = "SELECT partition, offset FROM messages WHERE topic = 'bench' AND key = x'{KEY}'"
    static let naturalLookupSQL = "SELECT * FROM messages WHERE topic = 'bench' AND partition = {PARTITION} AND offset = {OFFSET}"
    static let fastLookupSQL = "SELECT key, value, timestamp FROM records WHERE id = (SELECT id << 44 FROM streams WHERE topic = 'bench' AND partition = {PARTITION}) + {OFFSET}"
    static let latestLookupSQL = "SELECT * FROM \"bench:latest\" WHERE key = x'{KEY}'"

    /// The six queries for bench data of `messages` records over `partitions` partitions.
    static func all(messages: Int, partitions: Int) -> [LayoutQuery] {
        let point = BenchPoint(messages: messages, partitions: partitions)
        func query(_ label: String, _ sql: String, baseline: String? = nil, _ capture: Capture = .log) -> LayoutQuery {
            LayoutQuery(label: label, sql: point.fill(sql), baselineSQL: point.fill(baseline ?? sql), capture: capture)
        }
        return [
            query("a. count per topic", countPerTopicSQL),
            query("b. \(point.windowDescription)", timeRangeSQL),
            query("c. key lookup", keyLookupSQL),
            query("d. lookup by (topic, partition, offset), natural columns", naturalLookupSQL),
            query("e. lookup by (topic, partition, offset), the new layout's fast form (baseline: query d)", fastLookupSQL,
                  baseline: naturalLookupSQL),
            query("f. \"bench:latest\" key lookup (a --latest bench capture)", latestLookupSQL, .keyed),
        ]
    }
}

/// The placeholder values for the bench data: a key, a record and a time window that exist.
///
/// Record `i` of the bench shape is in partition `i % partitions` at offset `i / partitions`
/// with timestamp `1_700_000_000_000 + i` ms and key `key-` + `i` in 12 digits (NULL when
/// `i % 10 == 9`); see `SampleData`.
private struct BenchPoint {
    let messages: Int
    let partitions: Int

    /// The record whose key `{KEY}` names: the middle one, or the one before when its key is NULL.
    var keyIndex: Int {
        let middle = messages / 2
        return middle % 10 == 9 ? middle - 1 : middle
    }

    /// Partition 7 when there is one, else the last.
    var partition: Int { min(7, partitions - 1) }

    /// Offset 12345 when every partition reaches it, else the middle of the shortest partition.
    var offset: Int { min(12_345, messages / partitions / 2) }

    /// One hour from the start of the data's middle third when the data spans three hours, else
    /// that middle third.
    var window: (start: Int64, length: Int64) {
        let third = Int64(messages / 3)
        return (InsertBenchRows.firstTimestamp + third, min(3_600_000, third))
    }

    /// What the window query selects, in words.
    var windowDescription: String {
        if window.length == 3_600_000 { return "one-hour time range" }
        return "time range of \(format(Double(window.length) / 60_000)) min (the middle third of the data)"
    }

    /// `sql` with the placeholders replaced.
    func fill(_ sql: String) -> String {
        sql.replacing("{T0}", with: String(window.start))
            .replacing("{T1}", with: String(window.start + window.length))
            .replacing("{KEY}", with: keyHex)
            .replacing("{PARTITION}", with: String(partition))
            .replacing("{OFFSET}", with: String(offset))
    }

    /// The key of record `keyIndex` as hex digits.
    private var keyHex: String {
        let digits = String(keyIndex)
        let key = "key-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
        return key.utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
