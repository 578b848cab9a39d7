import SpoolModel
import SpoolStore

/// Writes the records `spool replay` releases, in release order, as bytes appended to a buffer
/// (no `String` per record in `jsonl`, the default, so a replay into a pipe runs at the
/// consumer's speed).
///
/// - `jsonl`: one object per record: `topic`, `partition`, `offset`, `timestamp` (ms, an
///   integer; -1 when the record has none), `key` and `value` (per `BlobStyle`: text when the
///   bytes are UTF-8, else hex; or hex, or base64; null stays null, an empty one is `""`),
///   `headers` (the JSON array of the `messages.headers` column, or null), and, when the
///   capture holds the record decoded from Confluent framing, `key_json` and `value_json`
///   embedded as JSON (null for a part that was not framed).
/// - `csv`: a header row, then those nine columns (null and empty are both empty cells; a
///   field holding a comma, quote, CR or LF is quoted, every byte kept).
/// - `table`: for people: fixed columns, the time also as ISO-8601, long keys and values cut,
///   headers as `name=value, ...`; every cell passes through `TerminalText.safe`.
///
/// JSON strings are escaped as `JSONText` escapes them, so `jsonl` is safe on a terminal too.
public struct ReplayOutputFormatter {
    /// The output formats of `spool replay`.
    public enum Format: String, CaseIterable, Sendable {
        /// One JSON object per record (the default).
        case jsonl
        /// Comma-separated values with a header row.
        case csv
        /// Aligned columns for people.
        case table
    }

    /// The CSV columns, in order.
    public static let csvColumns = ["topic", "partition", "offset", "timestamp", "key", "value", "headers", "key_json", "value_json"]

    private let format: Format
    private let blobs: BlobStyle

    /// A formatter for `format`, rendering keys and values as `blobs` says.
    public init(format: Format, blobs: BlobStyle) {
        self.format = format
        self.blobs = blobs
    }

    /// What comes before the first record: the CSV header row or the table's header lines;
    /// nothing for `jsonl`.
    public var preamble: String {
        switch format {
        case .jsonl: return ""
        case .csv: return Self.csvColumns.joined(separator: ",") + "\n"
        case .table:
            let header = Self.tableLine(["timestamp", "record", "key", "value", "headers"])
            return header + Self.tableLine(Self.tableWidths.map { String(repeating: "-", count: $0) } + ["-------"])
        }
    }

    /// Appends rows `rows` of `batch` to `out`, in order. `decoded`, row for row with the
    /// batch, holds the capture's `key_json`/`value_json` (see `SpoolCapture.decoded(for:)`).
    public func append(_ batch: MessageBatch, rows: Range<Int>, decoded: DecodedColumns?, to out: inout [UInt8]) {
        var scratch: [UInt8] = []
        switch format {
        case .jsonl:
            let topics = batch.topicNames.map { name in
                var encoded: [UInt8] = []
                var copy = name
                copy.withUTF8 { JSONText.appendString(UnsafeRawBufferPointer($0), to: &encoded) }
                return encoded
            }
            batch.withPayloads { payloads in
                for row in rows {
                    appendJSONLine(batch, payloads, row: row, topic: topics[Int(batch.topicIndexes[row])], decoded: decoded, to: &out)
                }
            }
        case .csv:
            batch.withPayloads { payloads in
                for row in rows { out += Array(csvLine(batch, payloads, row: row, decoded: decoded, scratch: &scratch).utf8) }
            }
        case .table:
            batch.withPayloads { payloads in
                for row in rows { out += Array(tableLine(batch, payloads, row: row, scratch: &scratch).utf8) }
            }
        }
    }

    // MARK: jsonl

    private func appendJSONLine(_ batch: MessageBatch, _ payloads: MessageBatch.Payloads, row: Int, topic: [UInt8],
                                decoded: DecodedColumns?, to out: inout [UInt8]) {
        Self.appendLiteral("{\"topic\":", to: &out)
        out += topic
        Self.appendLiteral(",\"partition\":", to: &out)
        Self.appendDecimal(Int64(batch.partitions[row]), to: &out)
        Self.appendLiteral(",\"offset\":", to: &out)
        Self.appendDecimal(batch.offsets[row], to: &out)
        Self.appendLiteral(",\"timestamp\":", to: &out)
        Self.appendDecimal(batch.timestamps[row], to: &out)
        Self.appendLiteral(",\"key\":", to: &out)
        appendBlob(payloads.key(at: row), to: &out)
        Self.appendLiteral(",\"value\":", to: &out)
        appendBlob(payloads.value(at: row), to: &out)
        Self.appendLiteral(",\"headers\":", to: &out)
        if payloads.headerCount(at: row) == 0 {
            Self.appendLiteral("null", to: &out)
        } else {
            // The stored column's JSON, strings escaped as `JSONText` escapes them.
            HeadersJSON.encode(payloads, row: row, into: &out, escaping: .terminalControls)
        }
        if let decoded, decoded.states[row] == .decoded {
            decoded.withJSON(row: row) { key, value in
                Self.appendLiteral(",\"key_json\":", to: &out)
                Self.appendEmbedded(key, to: &out)
                Self.appendLiteral(",\"value_json\":", to: &out)
                Self.appendEmbedded(value, to: &out)
            }
        }
        Self.appendLiteral("}\n", to: &out)
    }

    private func appendBlob(_ bytes: UnsafeRawBufferPointer?, to out: inout [UInt8]) {
        guard let bytes else { return Self.appendLiteral("null", to: &out) }
        blobs.appendJSON(bytes, to: &out)
    }

    private static func appendEmbedded(_ json: UnsafeRawBufferPointer?, to out: inout [UInt8]) {
        guard let json else { return appendLiteral("null", to: &out) }
        JSONText.appendEscapingControls(json, to: &out)
    }

    private static func appendLiteral(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Appends `value` in decimal without building a `String`.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    // MARK: csv

    private func csvLine(_ batch: MessageBatch, _ payloads: MessageBatch.Payloads, row: Int, decoded: DecodedColumns?,
                         scratch: inout [UInt8]) -> String {
        let json = decoded.flatMap { $0.states[row] == .decoded ? $0.text(row: row) : nil }
        let fields = [
            batch.topic(at: row), String(batch.partitions[row]), String(batch.offsets[row]), String(batch.timestamps[row]),
            plain(payloads.key(at: row)), plain(payloads.value(at: row)), headersText(payloads, row: row, scratch: &scratch) ?? "",
            json?.key ?? "", json?.value ?? "",
        ]
        return fields.map(QueryOutputFormatter.csvField).joined(separator: ",") + "\n"
    }

    private func plain(_ bytes: UnsafeRawBufferPointer?) -> String {
        bytes.map { blobs.render(Array($0)).0 } ?? ""
    }

    /// Row `row`'s headers as the `messages.headers` JSON, nil when it has none.
    private func headersText(_ payloads: MessageBatch.Payloads, row: Int, scratch: inout [UInt8]) -> String? {
        guard payloads.headerCount(at: row) > 0 else { return nil }
        scratch.removeAll(keepingCapacity: true)
        HeadersJSON.encode(payloads, row: row, into: &scratch)
        return String(decoding: scratch, as: UTF8.self)
    }

    // MARK: table

    /// The widths of the table's columns but the last (headers, not padded).
    private static let tableWidths = [24, 24, 20, 48]

    private func tableLine(_ batch: MessageBatch, _ payloads: MessageBatch.Payloads, row: Int, scratch: inout [UInt8]) -> String {
        let timestamp = batch.timestamps[row]
        let time = timestamp >= 0 && timestamp < 32_503_680_000_000 ? TimeText.iso8601(timestamp) : String(timestamp)
        let record = "\(batch.topic(at: row))[\(batch.partitions[row])]@\(batch.offsets[row])"
        let headers = headersText(payloads, row: row, scratch: &scratch).map { json in
            HeaderText.parse(json).map(HeaderText.compact) ?? json
        } ?? ""
        return Self.tableLine([time, record, tableCell(payloads.key(at: row), limit: 20), tableCell(payloads.value(at: row), limit: 48), headers])
    }

    private func tableCell(_ bytes: UnsafeRawBufferPointer?, limit: Int) -> String {
        guard let bytes else { return "NULL" }
        let (text, isText) = blobs.render(Array(bytes))
        return QueryOutputFormatter.clip(TerminalText.safe(isText || blobs != .text ? text : "x'\(text)'"), limit: limit)
    }

    /// One table line: each cell made terminal-safe, padded to its column's width (a longer
    /// cell pushes the rest along), the last cell cut at 60 characters.
    private static func tableLine(_ cells: [String]) -> String {
        var line = ""
        for (index, raw) in cells.enumerated() {
            let cell = TerminalText.safe(raw)
            if index < tableWidths.count {
                line += cell + String(repeating: " ", count: max(0, tableWidths[index] - cell.count)) + "  "
            } else {
                line += QueryOutputFormatter.clip(cell, limit: 60)
            }
        }
        return line.trimmingTrailingSpaces() + "\n"
    }
}
