import SpoolModel

extension SpoolStore {
    /// Whether the file gives freed pages back (SQLite's incremental auto-vacuum).
    public func returnsFreedPages() throws -> Bool {
        try connection.integer("PRAGMA auto_vacuum") == 2
    }

    /// Rewrites the file with incremental auto-vacuum on (SQLite's VACUUM: atomic, needs free
    /// space for a copy of the database), with the file size before and after, in bytes.
    ///
    /// `stop` is asked while the rewrite runs (every few thousand SQLite steps); once it returns
    /// true, the VACUUM is interrupted and rolled back, and the outcome says `stopped`. That is
    /// checked, not assumed: a VACUUM that committed raises the schema cookie, so the cookie
    /// tells whether the file was rewritten after all (then the outcome is a finished compact).
    /// A stop that comes after the commit lets the WAL checkpoint finish.
    ///
    /// Related SQLite documentation: https://www.sqlite.org/lang_vacuum.html
    public func compact(stop: @escaping () -> Bool = { false }) throws -> CompactOutcome {
        try requireWriter()
        let before = fileSize()
        let cookie = try connection.integer("PRAGMA schema_version")
        if stop() { return CompactOutcome(before: before, after: fileSize(), stopped: true) }
        try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        let finished = try connection.interruptible(stopWhen: stop) { try connection.execute("VACUUM") } != nil
        if !finished, try connection.integer("PRAGMA schema_version") == cookie {
            return CompactOutcome(before: before, after: fileSize(), stopped: true)
        }
        try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return CompactOutcome(before: before, after: fileSize(), stopped: false)
    }
}
