internal import CSQLite

/// Owns one prepared statement; finalized in `deinit`. Not `Sendable`.
///
/// Columns are read by index; `column(_:)` finds a result column's index by name once, so a
/// long SELECT, or one built far from where its rows are read, is read by name and a reordered
/// column list cannot shift the reads silently.
///
/// Related SQLite documentation: https://www.sqlite.org/c3ref/stmt.html
final class SQLiteStatement {
    private let statement: OpaquePointer
    private unowned let connection: SQLiteConnection
    /// Result column indexes by name, filled on first use; -1 marks a name used twice.
    private var columnIndexes: [String: Int32]?

    init(_ statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(statement) }

    /// Resets the statement for another run and clears its bindings.
    func reset() {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// Binds an integer to parameter `index` (1-based).
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement, index, value) }

    /// Binds an integer or NULL.
    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// Binds text (copied) or NULL.
    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_text(statement, index, value, -1, spool_sqlite_transient())
    }

    /// Binds UTF-8 text given as bytes (copied).
    func bindCopy(_ index: Int32, text: [UInt8]) {
        text.withUnsafeBytes { bytes in
            _ = sqlite3_bind_text(statement, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? spool_sqlite_empty_text(),
                                  Int32(bytes.count), spool_sqlite_transient())
        }
    }

    /// Binds text that stays valid until the statement is reset (not copied).
    func bindStatic(_ index: Int32, text: UnsafePointer<CChar>, count: Int) {
        sqlite3_bind_text(statement, index, text, Int32(count), spool_sqlite_static())
    }

    /// Binds UTF-8 text bytes that stay valid until the statement is reset (not copied); `nil` binds NULL.
    func bindStatic(_ index: Int32, textBytes: UnsafeRawBufferPointer?) {
        guard let textBytes else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_text(statement, index, textBytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? spool_sqlite_empty_text(),
                          Int32(textBytes.count), spool_sqlite_static())
    }

    /// Binds bytes that stay valid until the statement is reset (not copied); `nil` binds NULL
    /// and an empty buffer binds an empty BLOB, so the two stay distinct.
    func bindStatic(_ index: Int32, blob: UnsafeRawBufferPointer?) {
        guard let blob else { sqlite3_bind_null(statement, index); return }
        if blob.isEmpty {
            sqlite3_bind_zeroblob(statement, index, 0)
        } else {
            sqlite3_bind_blob64(statement, index, blob.baseAddress, sqlite3_uint64(blob.count), spool_sqlite_static())
        }
    }

    /// Runs one step; true when a row is available.
    @discardableResult
    func step() throws -> Bool {
        let rc = sqlite3_step(statement)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            throw connection.error(rc)
        }
    }

    /// Runs one step and returns SQLite's result code, for a caller that maps the codes itself
    /// (`QueryRunner`); `step` throws the store's errors instead.
    func stepCode() -> Int32 { sqlite3_step(statement) }

    /// Whether SQLite judges the statement read-only.
    var isReadOnly: Bool { sqlite3_stmt_readonly(statement) != 0 }

    /// Runs the statement to completion, then resets it.
    func run() throws {
        defer { reset() }
        while try step() {}
    }

    /// The index of the result column called `name` (its `AS` name, else the column's own), for
    /// the reads below; names are looked up once per statement. A name the statement does not
    /// have, or has twice, is a programming error and traps naming it (reading the wrong index
    /// would go on with NULL or another column's value).
    func column(_ name: String) -> Int32 {
        if columnIndexes == nil {
            var indexes: [String: Int32] = [:]
            for index in 0..<columnCount {
                let name = columnName(index)
                indexes[name] = indexes[name] == nil ? index : -1
            }
            columnIndexes = indexes
        }
        guard let index = columnIndexes?[name], index >= 0 else {
            let sql = sqlite3_sql(statement).map { String(cString: $0) } ?? "?"
            preconditionFailure("result column '\(name)' is \(columnIndexes?[name] == nil ? "missing" : "ambiguous") in: \(sql)")
        }
        return index
    }

    /// Number of result columns.
    var columnCount: Int32 { sqlite3_column_count(statement) }
    /// The name of result column `index`.
    func columnName(_ index: Int32) -> String { String(cString: sqlite3_column_name(statement, index)) }
    /// The SQLite storage class of column `index` in the current row.
    func columnType(_ index: Int32) -> Int32 { sqlite3_column_type(statement, index) }
    /// Whether column `index` is NULL in the current row.
    func isNull(_ index: Int32) -> Bool { sqlite3_column_type(statement, index) == SQLITE_NULL }
    /// Column `index` as an integer.
    func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(statement, index) }
    /// Column `index` as an integer, or nil for NULL.
    func optionalInt64(_ index: Int32) -> Int64? { isNull(index) ? nil : int64(index) }
    /// Column `index` as a double.
    func double(_ index: Int32) -> Double { sqlite3_column_double(statement, index) }
    /// Column `index` as text, or nil for NULL.
    func text(_ index: Int32) -> String? {
        guard let raw = sqlite3_column_text(statement, index) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        return String(decoding: UnsafeBufferPointer(start: raw, count: count), as: UTF8.self)
    }
    /// Column `index` as bytes, or nil for NULL.
    func blob(_ index: Int32) -> [UInt8]? {
        if isNull(index) { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let raw = sqlite3_column_blob(statement, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: count))
    }

    /// Column `index` as SQLite stores it in the current row.
    func value(_ index: Int32) -> QueryValue {
        switch columnType(index) {
        case SQLITE_INTEGER: .integer(int64(index))
        case SQLITE_FLOAT: .real(double(index))
        case SQLITE_TEXT: .text(text(index) ?? "")
        case SQLITE_BLOB: .blob(blob(index) ?? [])
        default: .null
        }
    }

    /// Column `index`'s bytes as SQLite holds them, or nil for NULL (an empty BLOB is an empty
    /// buffer). Valid only until the next `step`, `reset` or finalize: read them at once.
    func lentBlob(_ index: Int32) -> UnsafeRawBufferPointer? {
        if isNull(index) { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let raw = sqlite3_column_blob(statement, index) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: raw, count: count)
    }

    // MARK: by name

    /// Whether column `name` is NULL in the current row.
    func isNull(_ name: String) -> Bool { isNull(column(name)) }
    /// Column `name` as an integer.
    func int64(_ name: String) -> Int64 { int64(column(name)) }
    /// Column `name` as an integer, or nil for NULL.
    func optionalInt64(_ name: String) -> Int64? { optionalInt64(column(name)) }
    /// Column `name` as text, or nil for NULL.
    func text(_ name: String) -> String? { text(column(name)) }
    /// Column `name` as bytes, or nil for NULL.
    func blob(_ name: String) -> [UInt8]? { blob(column(name)) }
}
