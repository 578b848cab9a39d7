/// The output formats of `spool query` and `spool status`.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// Aligned columns for people; timestamps also shown as ISO-8601.
    case table
    /// Comma-separated values with a header row (RFC 4180 quoting).
    case csv
    /// One JSON array of objects keyed by column name.
    case json
    /// One JSON object per line.
    case jsonl
}
