internal import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Runs one read-only SQL statement against a Spool database, safe against hostile SQL.
///
/// The file is opened read-only, no database can be attached, extension loading is off, an
/// authorizer allows reads only (no writes, ATTACH, transactions or settings), the statement
/// must be read-only by SQLite's own judgement and alone, and it runs under a time limit and a
/// memory limit. It works while an ingest is writing (WAL).
///
/// Related SQLite documentation: https://www.sqlite.org/security.html
public final class QueryRunner {
    /// The database file.
    public let path: String
    /// The longest a query may run, in seconds.
    public let timeLimitSeconds: Double
    /// What the reader should know before trusting the answer (an unfinished merge, shards
    /// that do not hold every partition), one sentence each; empty for a whole capture.
    public let warnings: [String]
    private let connection: SQLiteConnection
    private let guardContext: QueryGuard

    /// The warnings for one file: an unfinished merge, or one that went on without every partition.
    /// A file that is not a Spool database (queries work on any SQLite file) has none.
    private static func warnings(_ path: String) -> [String] {
        guard let store = try? SpoolStore.openForReading(path: path) else { return [] }
        defer { store.close() }
        return (try? store.readerNotices()) ?? []
    }

    /// Opens `path` for queries. `maxMemoryBytes` caps SQLite's heap (and the largest value).
    /// A file that cannot be read throws `StoreError` naming it.
    public convenience init(path: String, timeLimitSeconds: Double = 30, maxMemoryBytes: Int64 = 1 << 30) throws {
        try self.init(paths: [path], timeLimitSeconds: timeLimitSeconds, maxMemoryBytes: maxMemoryBytes)
    }

    /// Opens several files of one capture (shard files) as one: `messages`, `partition_state`,
    /// `latest`, the per-topic views and the rest read across all of them (see `ShardUnion`),
    /// under the same guards as one file. Sets that are not every shard of one capture are
    /// refused (`StoreError.notOneCapture`); a set missing a shard or partition only with
    /// `allowIncomplete`, and then `warnings` says what is missing.
    public init(paths: [String], timeLimitSeconds: Double = 30, maxMemoryBytes: Int64 = 1 << 30, allowIncomplete: Bool = false) throws {
        self.path = paths.joined(separator: ", ")
        self.timeLimitSeconds = timeLimitSeconds
        let connection: SQLiteConnection
        if paths.count == 1 {
            warnings = Self.warnings(paths[0])
            connection = try SQLiteConnection.openForReading(path: paths[0])
        } else {
            let set = try ShardSet(paths: paths)
            warnings = set.coverageProblems
            connection = try ShardUnion.open(set, allowIncomplete: allowIncomplete)
        }
        // (ShardUnion refuses an empty list, naming it.)
        _ = try connection.integer("SELECT count(*) FROM sqlite_master")
        self.connection = connection
        let guardContext = QueryGuard()
        self.guardContext = guardContext
        try connection.withHandle { db in
            sqlite3_hard_heap_limit64(maxMemoryBytes)
            sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0)
            sqlite3_limit(db, SQLITE_LIMIT_LENGTH, Int32(clamping: min(maxMemoryBytes / 4, 1_000_000_000)))
            _ = spool_sqlite_db_config_int(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0)
            _ = spool_sqlite_db_config_int(db, SQLITE_DBCONFIG_DEFENSIVE, 1)
            _ = spool_sqlite_db_config_int(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
            // The guard lives as long as the runner, which removes both callbacks before closing.
            sqlite3_set_authorizer(db, queryAuthorizer, Unmanaged.passUnretained(guardContext).toOpaque())
            sqlite3_progress_handler(db, 1_000, queryProgress, Unmanaged.passUnretained(guardContext).toOpaque())
        }
    }

    deinit {
        _ = try? connection.withHandle { db in
            sqlite3_set_authorizer(db, nil, nil)
            sqlite3_progress_handler(db, 0, nil, nil)
        }
        connection.close()
    }

    /// Runs `sql`, calling `columns` once with the column names, then `row` for each row.
    public func run(_ sql: String, columns: ([String]) throws -> Void, row: ([QueryValue]) throws -> Void) throws {
        try connection.withHandle { db in try run(sql, on: db, columns: columns, row: row) }
    }

    private func run(_ sql: String, on db: OpaquePointer, columns: ([String]) throws -> Void,
                     row: ([QueryValue]) throws -> Void) throws {
        guardContext.denial = nil
        var prepared: OpaquePointer?
        var tailOffset = 0
        let rc = sql.withCString { start -> Int32 in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v2(db, start, -1, &prepared, &tail)
            if let tail { tailOffset = start.distance(to: tail) }
            return rc
        }
        if rc != SQLITE_OK {
            sqlite3_finalize(prepared)
            if let denial = guardContext.denial { throw QueryError.refused(reason: denial) }
            throw QueryError.invalid(message: String(cString: sqlite3_errmsg(db)))
        }
        guard let prepared else { throw QueryError.invalid(message: "the SQL holds no statement") }
        let statement = SQLiteStatement(prepared, connection: connection)
        // Kept alive to the end: SQLite's error message is read after a failed step.
        try withExtendedLifetime(statement) {
            let rest = String(decoding: Array(sql.utf8).dropFirst(tailOffset), as: UTF8.self)
            if !Self.isBlankOrComment(rest) { throw QueryError.multipleStatements }
            if !statement.isReadOnly {
                throw QueryError.refused(reason: "the statement would change a database or a file")
            }
            let count = statement.columnCount
            try columns((0..<count).map(statement.columnName))
            guardContext.deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(timeLimitSeconds * 1000)))
            defer { guardContext.deadline = nil }
            while true {
                let step = statement.stepCode()
                if step == SQLITE_DONE { return }
                guard step == SQLITE_ROW else {
                    let message = String(cString: sqlite3_errmsg(db))
                    switch step & 0xff {
                    case SQLITE_INTERRUPT: throw QueryError.timeLimit(seconds: timeLimitSeconds)
                    case SQLITE_NOMEM, SQLITE_TOOBIG: throw QueryError.memoryLimit(message: message)
                    case SQLITE_AUTH: throw QueryError.refused(reason: guardContext.denial ?? message)
                    default: throw QueryError.invalid(message: message)
                    }
                }
                try row((0..<count).map(statement.value))
            }
        }
    }

    /// Whether `text` holds nothing but whitespace, semicolons and SQL comments.
    static func isBlankOrComment(_ text: String) -> Bool {
        var chars = Substring(text)
        while let first = chars.first {
            if first == " " || first == "\n" || first == "\t" || first == "\r" || first == ";" {
                chars = chars.dropFirst()
            } else if chars.hasPrefix("--") {
                guard let end = chars.firstIndex(of: "\n") else { return true }
                chars = chars[chars.index(after: end)...]
            } else if chars.hasPrefix("/*") {
                guard let end = chars.firstRange(of: "*/") else { return true }
                chars = chars[end.upperBound...]
            } else {
                return false
            }
        }
        return true
    }
}

/// What the authorizer and progress callbacks share with the runner.
///
/// Only touched on the thread running the query (SQLite calls both callbacks synchronously).
final class QueryGuard {
    var denial: String?
    var deadline: ContinuousClock.Instant?
}

/// PRAGMAs a query may read (never set).
private let readablePragmas: Set<String> = [
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "function_list", "collation_list", "pragma_list", "compile_options", "page_count", "page_size", "freelist_count",
    "user_version", "schema_version", "application_id", "journal_mode", "encoding", "database_list",
]

/// Functions a query may not call even though they only read.
private let forbiddenFunctions: Set<String> = ["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"]

private func queryAuthorizer(_ context: UnsafeMutableRawPointer?, _ action: Int32, _ first: UnsafePointer<CChar>?,
                             _ second: UnsafePointer<CChar>?, _ database: UnsafePointer<CChar>?,
                             _ trigger: UnsafePointer<CChar>?) -> Int32 {
    guard let context else { return SQLITE_DENY }
    let guardState = Unmanaged<QueryGuard>.fromOpaque(context).takeUnretainedValue()
    let arg1 = first.map { String(cString: $0) }
    let arg2 = second.map { String(cString: $0) }
    func deny(_ reason: String) -> Int32 {
        if guardState.denial == nil { guardState.denial = reason }
        return SQLITE_DENY
    }
    switch action {
    case SQLITE_SELECT, SQLITE_READ, SQLITE_RECURSIVE:
        return SQLITE_OK
    case SQLITE_FUNCTION:
        let name = (arg2 ?? "").lowercased()
        return forbiddenFunctions.contains(name) ? deny("the function \(name)() is not allowed") : SQLITE_OK
    case SQLITE_PRAGMA:
        let name = (arg1 ?? "").lowercased()
        if arg2 != nil { return deny("PRAGMA \(name) may not be set") }
        return readablePragmas.contains(name) ? SQLITE_OK : deny("PRAGMA \(name) is not allowed")
    case SQLITE_UPDATE where arg1 == "sqlite_master" || arg1 == "sqlite_temp_master":
        // Table-valued functions (json_each, json_tree) ask for this while being prepared; it
        // changes nothing. A real write to the schema is still refused: the statement must be
        // read-only (checked after preparing) and the connection is opened read-only.
        return SQLITE_OK
    case SQLITE_ATTACH, SQLITE_DETACH:
        return deny("ATTACH and DETACH are not allowed")
    case SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
        return deny("transactions are not allowed")
    default:
        return deny("only reading is allowed (\(arg1 ?? "statement") would change something)")
    }
}

private func queryProgress(_ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let context else { return 0 }
    let guardState = Unmanaged<QueryGuard>.fromOpaque(context).takeUnretainedValue()
    if let deadline = guardState.deadline, ContinuousClock.now >= deadline { return 1 }
    return 0
}
