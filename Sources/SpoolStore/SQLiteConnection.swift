internal import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// Owns one `sqlite3` connection. Not `Sendable`: one owner drives a connection.
///
/// Related SQLite documentation: https://www.sqlite.org/c3ref/open.html
final class SQLiteConnection {
    let path: String
    private var handle: OpaquePointer?

    /// Opens `path`; `create` also creates a missing file. Nothing is written by opening.
    init(path: String, readOnly: Bool, create: Bool, uri: Bool = false) throws {
        self.path = uri ? String(path.dropFirst(5).prefix { $0 != "?" }) : path
        var flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        if uri { flags |= SQLITE_OPEN_URI }
        flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        _ = Self.processSetup
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StoreError.cannotOpen(path: self.path, reason: message)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Process-wide SQLite settings, made once before the first connection opens: allocation
    /// statistics off (nothing reads them, and keeping them takes a global mutex per allocation).
    private static let processSetup: Void = {
        _ = spool_sqlite_disable_memstatus()
    }()

    /// Closes the connection; later calls fail. Safe to call twice.
    func close() {
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    /// Calls `body` with the raw handle; the pointer must not escape `body`. Throws when the
    /// connection is closed.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        guard let handle else { throw StoreError.inconsistent(path: path, reason: "the database connection is closed") }
        return try body(handle)
    }

    /// How many rows the last INSERT, UPDATE or DELETE on this connection changed.
    func changes() throws -> Int {
        try withHandle { Int(sqlite3_changes($0)) }
    }

    /// The rowid of the last row inserted on this connection.
    func lastInsertRowID() throws -> Int64 {
        try withHandle { sqlite3_last_insert_rowid($0) }
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws {
        let rc = try withHandle { sqlite3_exec($0, sql, nil, nil, nil) }
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    /// The statement in `slot`, prepared (persistent) into it on first use.
    func prepareOnce(_ slot: inout SQLiteStatement?, _ sql: @autoclosure () -> String) throws -> SQLiteStatement {
        if let existing = slot { return existing }
        let prepared = try prepare(sql(), persistent: true)
        slot = prepared
        return prepared
    }

    /// Prepares one statement.
    func prepare(_ sql: String, persistent: Bool = false) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = try withHandle { sqlite3_prepare_v3($0, sql, -1, flags, &statement, nil) }
        guard rc == SQLITE_OK, let statement else { throw error(rc) }
        return SQLiteStatement(statement, connection: self)
    }

    /// The first column of the first row of `sql`, as an integer (`nil` for no row or NULL).
    func integer(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    /// The first column of the first row of `sql`, as text (`nil` for no row or NULL).
    func text(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// Sets how long a statement waits for another connection's lock before failing.
    func setBusyTimeout(ms: Int) throws {
        _ = try withHandle { sqlite3_busy_timeout($0, Int32(ms)) }
        busyTimeoutMs = Int32(ms)
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws
    /// (the first error is the one rethrown). `immediate` takes the write lock up front.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/lang_transaction.html
    func inTransaction<R>(immediate: Bool = true, _ body: () throws -> R) throws -> R {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if let handle, sqlite3_get_autocommit(handle) == 0 {
                _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// The error for result code `rc`, with SQLite's message and the file.
    func error(_ rc: Int32) -> StoreError {
        let primary = rc & 0xff
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .locked(path: path, waitedMs: Int(busyTimeoutMs))
        case SQLITE_NOTADB:
            return .notSpoolDatabase(path: path, reason: "not an SQLite database")
        case SQLITE_FULL:
            return .storage(path: path, code: rc, message: "the disk or the database's size limit is full (\(message)); free space and rerun")
        case SQLITE_READONLY:
            return .storage(path: path, code: rc, message: "the file is read-only (\(message)); check its permissions and its folder's")
        case SQLITE_CANTOPEN:
            return .cannotOpen(path: path, reason: "\(message); check the file and its folder exist and are writable")
        case SQLITE_CORRUPT:
            return .storage(path: path, code: rc, message: "the database is damaged (\(message))")
        default:
            return .storage(path: path, code: rc, message: message)
        }
    }

    var busyTimeoutMs: Int32 = 0
}

extension SQLiteConnection {
    /// Opens `path` read-only for status, verify and queries.
    ///
    /// A WAL database needs its `-shm` file; in a folder the user cannot write, SQLite cannot
    /// create it. Then, when no WAL content is waiting (so nothing could be missed), the file is
    /// opened immutable; otherwise the error says what to do instead of SQLite's "attempt to
    /// write a readonly database".
    /// A busy lock (a writer starting up, say) is waited out for `busyTimeoutMs`.
    static func openForReading(path: String, busyTimeoutMs: Int = 5_000) throws -> SQLiteConnection {
        guard access(path, F_OK) == 0 else {
            throw StoreError.cannotOpen(path: path, reason: "no such file; check the path, or run spool ingest to create it")
        }
        guard access(path, R_OK) == 0 else {
            throw StoreError.cannotOpen(path: path, reason: "permission denied; the file is not readable by this user")
        }
        let connection = try SQLiteConnection(path: path, readOnly: true, create: false)
        do {
            try connection.setBusyTimeout(ms: busyTimeoutMs)
            _ = try connection.integer("SELECT count(*) FROM sqlite_master")
            return connection
        } catch let error as StoreError {
            connection.close()
            let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            let folderWritable = access(folder.isEmpty ? "/" : folder, W_OK) == 0
            if folderWritable { throw error }
            var walInfo = stat()
            let walHasContent = stat(path + "-wal", &walInfo) == 0 && walInfo.st_size > 0
            if walHasContent {
                throw StoreError.cannotOpen(path: path, reason: "it is a WAL database in a folder this user cannot write (\(folder)), and its -wal file holds data not yet in the main file; read it as a user who can write the folder, or copy the database, its -wal and -shm files elsewhere")
            }
            let immutable = try SQLiteConnection(path: "file:" + path + "?immutable=1", readOnly: true, create: false, uri: true)
            try immutable.setBusyTimeout(ms: busyTimeoutMs)
            _ = try immutable.integer("SELECT count(*) FROM sqlite_master")
            return immutable
        }
    }
}
