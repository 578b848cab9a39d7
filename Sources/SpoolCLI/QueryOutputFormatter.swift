import SpoolStore

/// Writes query results in one of the `OutputFormat`s.
///
/// CSV and JSON Lines stream row by row; JSON streams the array; the table buffers rows to size
/// its columns. Integers stay integers everywhere; in the table a column named `timestamp`,
/// `*_timestamp`, `complete_until` or `*_at` also shows its value as ISO-8601. A `headers`
/// column holding Spool's header JSON is embedded as JSON (an array, not a string) in `json`
/// and `jsonl`, and shown as `name=value, ...` in tables.
///
/// The table is for people: column names and cells pass through `TerminalText.safe`, so data
/// cannot drive the terminal (`\n`, `\r`, `\u{1b}`, ...). CSV keeps every byte as it is (a
/// field holding a comma, quote, CR or LF is quoted; nothing is escaped, since RFC 4180 has no
/// escapes and changing the data would corrupt it for the programs that read it); JSON and JSON
/// Lines escape every control character (see `JSONText`).
public struct QueryOutputFormatter {
    private let format: OutputFormat
    private let blobs: BlobStyle
    private let write: (String) -> Void
    private var columns: [String] = []
    private var tableRows: [[String]] = []
    private var rowCount = 0

    /// A formatter that hands finished text to `write` (lines end with "\n").
    public init(format: OutputFormat, blobs: BlobStyle, write: @escaping (String) -> Void) {
        self.format = format
        self.blobs = blobs
        self.write = write
    }

    /// Takes the column names; call once before any row.
    public mutating func begin(columns: [String]) {
        self.columns = columns
        switch format {
        case .csv: write(columns.map(Self.csvField).joined(separator: ",") + "\n")
        case .json: write("[")
        case .table, .jsonl: break
        }
    }

    /// Takes one row.
    public mutating func add(_ values: [QueryValue]) {
        switch format {
        case .csv:
            write(values.map { Self.csvField(plain($0)) }.joined(separator: ",") + "\n")
        case .jsonl:
            write(jsonObject(values) + "\n")
        case .json:
            write((rowCount == 0 ? "\n" : ",\n") + jsonObject(values))
        case .table:
            tableRows.append(values.enumerated().map { tableCell($1, column: columns[$0]) })
        }
        rowCount += 1
    }

    /// Finishes the output.
    public mutating func end() {
        switch format {
        case .json: write(rowCount == 0 ? "]\n" : "\n]\n")
        case .table: write(Self.table(header: columns, rows: tableRows) + "(\(rowCount) row\(rowCount == 1 ? "" : "s"))\n")
        case .csv, .jsonl: break
        }
    }

    /// Lays out `rows` under `header` in aligned columns; every name and cell is shown as
    /// `TerminalText.safe` writes it, and the widths count the escaped text.
    public static func table(header rawHeader: [String], rows rawRows: [[String]]) -> String {
        let header = rawHeader.map { TerminalText.safe($0) }
        let rows = rawRows.map { $0.map { TerminalText.safe($0) } }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                cell + String(repeating: " ", count: max(0, widths[index] - cell.count))
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        var out = line(header)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for row in rows { out += line(row) }
        return out
    }

    private func plain(_ value: QueryValue) -> String {
        switch value {
        case .null: return ""
        case .integer(let number): return String(number)
        case .real(let number): return "\(number)"
        case .text(let text): return text
        case .blob(let bytes): return blobs.render(bytes).0
        }
    }

    private func tableCell(_ value: QueryValue, column: String) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let number):
            if Self.isTimeColumn(column), number > 0, number < 32_503_680_000_000 {
                return "\(number) (\(TimeText.iso8601(number)))"
            }
            return String(number)
        case .blob(let bytes):
            let (text, isText) = blobs.render(bytes)
            let shown = isText || blobs != .text ? text : "x'\(text)'"
            return Self.clip(TerminalText.safe(shown))
        case .text(let text):
            if Self.isHeadersColumn(column), let entries = HeaderText.parse(text) {
                return Self.clip(TerminalText.safe(HeaderText.compact(entries)))
            }
            return Self.clip(TerminalText.safe(text))
        case .real:
            return plain(value)
        }
    }

    private func jsonObject(_ values: [QueryValue]) -> String {
        JSONText.object(values.enumerated().map { index, value in
            let encoded: String
            switch value {
            case .null: encoded = "null"
            case .integer(let number): encoded = String(number)
            case .real(let number): encoded = JSONText.number(number)
            case .text(let text):
                encoded = Self.isHeadersColumn(columns[index]) && HeaderText.parse(text) != nil
                    ? JSONText.escapingControls(text) : JSONText.string(text)
            case .blob(let bytes): encoded = JSONText.string(blobs.render(bytes).0)
            }
            return (columns[index], encoded)
        })
    }

    static func isHeadersColumn(_ name: String) -> Bool {
        name.lowercased() == "headers"
    }

    static func isTimeColumn(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered == "timestamp" || lowered.hasSuffix("_timestamp") || lowered == "complete_until"
            || lowered.hasSuffix("_at") || lowered == "cutoff"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// `text` cut to `limit` characters, ending in "…" when cut; an escape such as `\u{1b}` or
    /// `\n` at the cut is dropped whole rather than shown in part.
    static func clip(_ text: String, limit: Int = 80) -> String {
        guard text.count > limit else { return text }
        var kept = text.prefix(limit - 1)
        if let slash = kept.lastIndex(of: "\\") {
            let tail = kept[slash...]
            if !tail.contains("}") && (tail.hasPrefix("\\u{") || "\\u{".hasPrefix(tail)) { kept = kept[..<slash] }
        }
        return String(kept) + "…"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
