import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// One `spool query --format csv FILE SQL` run as a process: its data rows and wall seconds.
///
/// A run counts only when it exits 0 and prints at least one row holding a value other than
/// empty (NULL) or 0, so a bench never times an error or an empty answer (a count of 0 is a
/// query that selected nothing).
struct QueryProcess {
    /// The CSV lines after the header, one per row.
    let rows: [String]
    /// Wall seconds from start to exit, process start included.
    let seconds: Double

    /// Runs `executable query --format csv file sql`; throws a `BenchError` with the query's
    /// standard error when it fails, and when it prints no row with a value.
    static func run(_ executable: String, file: String, sql: String) throws -> QueryProcess {
        let output = work + "/query.csv", errors = work + "/query.err"
        let child = try ChildProcess(executable, ["query", "--format", "csv", file, sql], stdoutPath: output, stderrPath: errors)
        let outcome = child.wait()
        guard outcome.status == 0 else {
            let reason = TextFile.read(errors).map(Self.oneLine) ?? ""
            throw BenchError("exit \(outcome.status): \(reason.isEmpty ? "(no error output)" : reason)")
        }
        let rows = (TextFile.read(output) ?? "").split(separator: "\n").dropFirst().map(String.init)
        guard rows.contains(where: Self.holdsValue) else {
            throw BenchError(rows.isEmpty ? "no rows" : "only zeros and NULLs: \(rows.prefix(3).joined(separator: " | "))")
        }
        return QueryProcess(rows: rows, seconds: outcome.seconds)
    }

    /// Whether a CSV line holds a field that is neither empty (NULL) nor 0. Fields are split at
    /// every comma, quoted or not: enough to tell a value from none.
    private static func holdsValue(_ line: String) -> Bool {
        line.split(separator: ",", omittingEmptySubsequences: false).contains { $0 != "" && $0 != "0" }
    }

    /// `text` on one line.
    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
