/// How hard each committed batch is pushed to disk (SQLite's `synchronous` in WAL mode).
///
/// Related SQLite documentation: https://www.sqlite.org/pragma.html#pragma_synchronous
public enum Durability: String, CaseIterable, Sendable {
    /// `synchronous=NORMAL`: a crash of Spool loses nothing committed; a power loss may roll back
    /// the last batches, data and offsets together, and they are read again on resume.
    case normal
    /// `synchronous=FULL`: every commit is on disk before the next batch is read.
    case full
}
