/// Everything that can go wrong opening or writing a Spool database.
///
/// Each case names the file and says what to do; `description` is written for a person.
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file exists but is not a Spool database (another application's SQLite file, or not
    /// SQLite at all). It was left untouched.
    case notSpoolDatabase(path: String, reason: String)
    /// The database was written by a newer Spool.
    case newerSchema(path: String, databaseVersion: Int, supportedVersion: Int)
    /// A migration recorded in the database differs from the one built into this binary.
    case migrationChanged(path: String, version: Int, name: String)
    /// Another process is writing to the database.
    case inUse(path: String, holder: String?)
    /// Another connection held SQLite's write lock for longer than the busy timeout.
    case locked(path: String, waitedMs: Int)
    /// The file or its folder cannot be opened or written.
    case cannotOpen(path: String, reason: String)
    /// SQLite reported an error (disk full, I/O error, read-only file, corruption, ...).
    case storage(path: String, code: Int32, message: String)
    /// The stored data contradicts itself or the request.
    case inconsistent(path: String, reason: String)
    /// `spool merge` refused its inputs or target (nothing was written).
    case mergeRefused(path: String, reason: String)
    /// A path the command would write is, or resolves to, a database or one of its companion
    /// files (nothing was written).
    case pathConflict(path: String, reason: String)
    /// Files given together are not every shard of one capture (nothing was read as one).
    case notOneCapture(problems: [String], hint: String)
    /// A record whose place in the log cannot be stored (an offset beyond what the layout holds).
    case unstorable(path: String, reason: String)

    /// A sentence that names the file, the cause and what to do.
    public var description: String {
        switch self {
        case .notSpoolDatabase(let path, let reason):
            return "\(path) is not a Spool database (\(reason)); Spool did not change it. Give a file spool ingest wrote (for ingest, another --db file)."
        case .newerSchema(let path, let found, let supported):
            return "\(path) has schema version \(found), but this spool supports up to version \(supported); use a newer spool."
        case .migrationChanged(let path, let version, let name):
            return "\(path) recorded migration \(version) (\(name)) with a different checksum than this spool's; the database was made by a different build and is refused."
        case .inUse(let path, let holder):
            return "\(path) is in use by another writer\(holder.map { " (\($0))" } ?? ""); only one spool ingest may write a database at a time."
        case .locked(let path, let waitedMs):
            return "\(path) is locked: another connection held SQLite's write lock for more than \(waitedMs) ms; nothing was written. Close the other writer and retry."
        case .cannotOpen(let path, let reason):
            return "cannot open \(path): \(reason)"
        case .storage(let path, let code, let message) where code & 0xff == 11:
            return "storage error on \(path): \(message); run spool verify \(path) for details, then restore a copy or capture again"
        case .storage(let path, _, let message):
            return "storage error on \(path): \(message)"
        case .inconsistent(let path, let reason):
            return "\(path): \(reason)"
        case .mergeRefused(let path, let reason):
            return "\(path): \(reason); nothing was written"
        case .pathConflict(_, let reason):
            return "\(reason); nothing was written"
        case .notOneCapture(let problems, let hint):
            return "the files are not every shard of one capture: " + problems.joined(separator: "; ") + "; \(hint)"
        case .unstorable(let path, let reason):
            return "\(path): \(reason); nothing of the batch was written"
        }
    }
}

extension StoreError {
    /// Whether the error says the file is damaged or not a database at all (SQLite's
    /// `SQLITE_CORRUPT` or `SQLITE_NOTADB`), as opposed to missing, locked or refused.
    public var isDamage: Bool {
        switch self {
        case .storage(_, let code, _): return code & 0xff == 11 || code & 0xff == 26
        case .notSpoolDatabase(_, let reason): return reason == "not an SQLite database" || reason.hasPrefix("SQLite cannot read it")
        default: return false
        }
    }

    /// The damage in a few words (for a verify report), without the advice meant for writers.
    var damageText: String {
        switch self {
        case .storage(_, _, let message): return message
        case .notSpoolDatabase(_, let reason): return reason
        default: return description
        }
    }
}

