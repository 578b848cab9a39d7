import SpoolIngest

/// Renders a capture snapshot in the Prometheus text exposition format (version 0.0.4).
///
/// The output is what `spool ingest --metrics-file` leaves for node_exporter's textfile
/// collector: every family has `# HELP` and `# TYPE` lines, samples carry no timestamps, times
/// are in seconds and sizes in bytes, and only counters end in `_total`. A family whose every
/// sample is unknown (no commit yet, no lag seen yet) keeps its `# HELP`/`# TYPE` lines and has
/// no samples, which the format allows.
public enum PrometheusText {
    /// The whole file for `metrics`, one line per `# HELP`, `# TYPE` or sample, ending in a newline.
    ///
    /// Partition samples follow the order of `metrics.partitions`; retention counters are sorted
    /// by topic and include a 0 for every captured topic that has lost nothing to retention.
    public static func render(_ metrics: CaptureMetrics, up: Bool = true) -> String {
        var out = Lines()
        out.family("spool_up", "gauge", "1 while spool ingest is capturing and keeping this file up to date; 0 once it has stopped.")
        out.sample("spool_up", [], up ? "1" : "0")
        renderPartitions(metrics.partitions, into: &out)
        renderConsumer(metrics, into: &out)
        renderRetention(metrics, into: &out)
        out.family("spool_database_bytes", "gauge", "Size of the database file plus its write-ahead log, in bytes.")
        out.sample("spool_database_bytes", [], "\(metrics.databaseBytes)")
        return out.text
    }

    /// The per-partition families: records stored, lag, and whether the partition is live.
    private static func renderPartitions(_ partitions: [CaptureMetrics.Partition], into out: inout Lines) {
        out.family("spool_messages_stored_total", "counter",
                   "Records committed to the database per partition (retention does not lower it).")
        for p in partitions { out.sample("spool_messages_stored_total", labels(p), "\(p.storedTotal)") }
        out.family("spool_partition_lag_messages", "gauge",
                   "Records the broker has that are not stored yet (absent until the consumer has seen a watermark).")
        for p in partitions {
            if let lag = p.lagMessages { out.sample("spool_partition_lag_messages", labels(p), "\(lag)") }
        }
        out.family("spool_partition_live", "gauge",
                   "1 when the partition has caught up with the replay end and follows the topic live, else 0.")
        for p in partitions { out.sample("spool_partition_live", labels(p), p.isLive ? "1" : "0") }
    }

    /// The consumer's state: held records, paused partitions, last commit and completeness times.
    private static func renderConsumer(_ metrics: CaptureMetrics, into out: inout Lines) {
        out.family("spool_held_messages", "gauge", "Records held back to keep timestamp order.")
        out.sample("spool_held_messages", [], "\(metrics.heldMessages)")
        out.family("spool_paused_partitions", "gauge", "Partitions paused for backpressure.")
        out.sample("spool_paused_partitions", [], "\(metrics.pausedPartitions)")
        out.family("spool_last_commit_timestamp_seconds", "gauge",
                   "When the last transaction committed, in seconds since the epoch (absent before the first).")
        if let ms = metrics.lastCommitMs { out.sample("spool_last_commit_timestamp_seconds", [], seconds(ms)) }
        out.family("spool_complete_until_timestamp_seconds", "gauge",
                   "Every record with a timestamp at or below this is stored, in seconds since the epoch (absent when unknown).")
        if let ms = metrics.completeUntilMs { out.sample("spool_complete_until_timestamp_seconds", [], seconds(ms)) }
    }

    /// Records deleted by retention, per topic: every topic in the snapshot, sorted, 0 when none.
    private static func renderRetention(_ metrics: CaptureMetrics, into out: inout Lines) {
        out.family("spool_retained_deleted_total", "counter",
                   "Records deleted by --retain or --retain-size since the capture began, per topic.")
        let topics = Set(metrics.retainedDeleted.keys).union(metrics.partitions.map(\.topic)).sorted()
        for topic in topics {
            out.sample("spool_retained_deleted_total", [("topic", topic)], "\(metrics.retainedDeleted[topic] ?? 0)")
        }
    }

    /// The `topic` and `partition` labels of one partition's samples.
    private static func labels(_ p: CaptureMetrics.Partition) -> [(String, String)] {
        [("topic", p.topic), ("partition", "\(p.partition)")]
    }

    /// Milliseconds since the epoch as seconds with exactly three decimals, e.g. `1700000000.123`.
    static func seconds(_ ms: Int64) -> String {
        let magnitude = ms.magnitude
        let fraction = String(magnitude % 1000)
        let padded = String(repeating: "0", count: 3 - fraction.count) + fraction
        return (ms < 0 ? "-" : "") + "\(magnitude / 1000).\(padded)"
    }

    /// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
    static func escapeLabelValue(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// The text being built, line by line.
    private struct Lines {
        var text = ""

        /// Starts a family: its `# HELP` and `# TYPE` lines (`help` must hold no `\` or newline).
        mutating func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        /// One sample line: the name, the labels in the given order (values escaped), the value.
        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(escapeLabelValue($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(value)\n"
        }
    }
}
